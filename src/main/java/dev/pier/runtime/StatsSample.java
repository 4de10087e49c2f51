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
        long pids) {}
