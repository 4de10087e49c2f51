package dev.pier.runtime;

import java.io.IOException;

/**
 * What Pier's transport says when an engine did not give a usable answer: it missed its deadline, sent a
 * redirect, an answer or a line over the size limit, or an answer that is not the Docker API. An I/O failure,
 * so callers see the engine as unreachable ({@link RuntimeUnavailableException}); the message is in Pier's
 * words and never quotes what the engine sent.
 */
final class EngineAnswerException extends IOException {
    /** Why the answer was refused; everything but {@link #DEADLINE} is the engine misbehaving. */
    enum Kind {
        DEADLINE,
        REDIRECT,
        TOO_LARGE,
        NOT_DOCKER,
        ADDRESS_REFUSED
    }

    private final Kind kind;

    EngineAnswerException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    EngineAnswerException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }

    /** Whether the engine broke the protocol (as opposed to being slow, or its address being refused). */
    boolean misbehaved() {
        return kind == Kind.REDIRECT || kind == Kind.TOO_LARGE || kind == Kind.NOT_DOCKER;
    }
}
