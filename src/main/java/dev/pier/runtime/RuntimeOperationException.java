package dev.pier.runtime;

/**
 * The engine answered and refused or failed the operation for another reason (a host port already
 * allocated, limits it cannot apply, a registry error during a pull, an internal engine error). The
 * message carries the engine's own explanation.
 */
public final class RuntimeOperationException extends ContainerRuntimeException {
    public RuntimeOperationException(String message, Throwable cause) {
        super(message, cause);
    }

    public RuntimeOperationException(String message) {
        this(message, null);
    }
}
