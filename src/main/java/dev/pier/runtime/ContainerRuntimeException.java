package dev.pier.runtime;

/**
 * Root of the errors a {@link ContainerRuntime} throws. They say what went wrong in Pier's terms, never
 * in the Docker client's, so callers map them to domain errors without knowing docker-java exists.
 */
public abstract sealed class ContainerRuntimeException extends RuntimeException
        permits RuntimeUnavailableException,
                ContainerNotFoundException,
                ImageNotFoundException,
                ContainerConflictException,
                RuntimeOperationException {

    ContainerRuntimeException(String message, Throwable cause) {
        super(message, cause);
    }
}
