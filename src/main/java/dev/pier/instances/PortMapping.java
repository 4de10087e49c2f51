package dev.pier.instances;

/** A container port published on a host port of the instance's node. */
public record PortMapping(int containerPort, int hostPort, String protocol) {}
