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

    /**
     * Whether the engine was reached but did not answer in time (a busy engine looks like this for a
     * moment; a frozen one for good), as opposed to a refused or broken connection.
     */
    public boolean timedOut() {
        for (Throwable t = getCause(); t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof EngineAnswerException e && e.kind() == EngineAnswerException.Kind.DEADLINE) {
                return true;
            }
            if (t instanceof java.net.SocketTimeoutException || t instanceof java.util.concurrent.TimeoutException) {
                return true;
            }
        }
        return false;
    }
}
