package dev.pier.runtime;

/**
 * The request conflicts with the container's state on the engine: a container with that name already
 * exists (create), or it is running and removal was not forced.
 */
public final class ContainerConflictException extends ContainerRuntimeException {
    public ContainerConflictException(String message, Throwable cause) {
        super(message, cause);
    }

    public ContainerConflictException(String message) {
        this(message, null);
    }
}
