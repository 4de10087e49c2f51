package dev.pier.runtime;

/**
 * The engine could not be reached, or stopped answering: connection refused or timed out, the socket
 * missing, a TLS handshake failing, or no response in time. The node is offline as far as Pier knows;
 * the operation may or may not have taken effect if the connection broke after the request was sent.
 */
public final class RuntimeUnavailableException extends ContainerRuntimeException {
    public RuntimeUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public RuntimeUnavailableException(String message) {
        super(message, null);
    }
}
