package dev.pier.runtime;

import java.util.OptionalInt;

/**
 * The engine answered and refused or failed the operation for another reason (a host port already
 * allocated, limits it cannot apply, a registry error during a pull, an internal engine error). The
 * message says so in Pier's words; the engine's own answer goes to the server log only, never into the
 * message, since messages reach API clients.
 */
public final class RuntimeOperationException extends ContainerRuntimeException {
    private final int takenHostPort;

    public RuntimeOperationException(String message, Throwable cause) {
        this(message, cause, 0);
    }

    public RuntimeOperationException(String message) {
        this(message, null);
    }

    private RuntimeOperationException(String message, Throwable cause, int takenHostPort) {
        super(message, cause);
        this.takenHostPort = takenHostPort;
    }

    /** The engine could not publish a host port because something on the node holds it. */
    public static RuntimeOperationException hostPortTaken(int port, Throwable cause) {
        return new RuntimeOperationException("host port " + port + " is already in use on the node", cause, port);
    }

    /** The host port the node found taken, when that is why it refused. */
    public OptionalInt takenHostPort() {
        return takenHostPort > 0 ? OptionalInt.of(takenHostPort) : OptionalInt.empty();
    }
}
