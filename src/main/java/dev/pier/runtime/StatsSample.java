package dev.pier.runtime;

import java.time.Instant;

/**
 * One resource-usage sample of a container, computed as {@code docker stats} computes it.
 *
 * @param time             when the engine read it
 * @param cpuPercent       CPU use since the previous sample, in percent of one core (200 = two cores busy);
 *                         0 when the engine has no previous sample yet
 * @param memoryBytes      memory in use: usage minus inactive file cache ({@code inactive_file} on cgroup v2,
 *                         {@code total_inactive_file} on cgroup v1), as {@code docker stats} shows it
 * @param memoryLimitBytes the container's memory limit
 * @param netRxBytes       bytes received, summed over its interfaces
 * @param netTxBytes       bytes sent, summed over its interfaces
 * @param blockReadBytes   bytes read from block devices
 * @param blockWriteBytes  bytes written to block devices
 * @param pids             processes (and threads) in the container
 * @param counters         the engine's CPU counters at {@code time}, to measure the next sample's CPU use
 *                         against; null when it gave none
 */
public record StatsSample(
        Instant time,
        double cpuPercent,
        long memoryBytes,
        long memoryLimitBytes,
        long netRxBytes,
        long netTxBytes,
        long blockReadBytes,
        long blockWriteBytes,
        long pids,
        CpuCounters counters) {

    /**
     * The engine's CPU counters of one sample.
     *
     * @param containerNanos CPU time the container used since it started
     * @param systemNanos    CPU time the whole host used (all its cores), since it booted
     * @param onlineCpus     the host's cores
     */
    public record CpuCounters(long containerNanos, long systemNanos, int onlineCpus) {

        /** CPU use between {@code earlier} and these, in percent of one core; 0 when it cannot be told. */
        public double percentSince(CpuCounters earlier) {
            long container = containerNanos - earlier.containerNanos;
            long system = systemNanos - earlier.systemNanos;
            if (earlier.systemNanos <= 0 || system <= 0 || container <= 0) {
                return 0; // no earlier sample, or another run of the container (its counter began again)
            }
            return (double) container / system * onlineCpus * 100.0;
        }
    }
}
