package dev.pier.security;

/** The kind of operation a route performs, checked against a credential's {@link AccessLevel}. */
public enum Scope {
    /** reads state */
    READ,
    /** changes instances, nodes, images */
    WRITE,
    /** changes users or their sessions */
    USERS,
    /** reads or changes API keys */
    KEYS
}
