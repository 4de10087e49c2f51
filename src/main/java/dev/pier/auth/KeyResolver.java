package dev.pier.auth;

import dev.pier.security.Principal;

import java.util.UUID;

/** The API key side of authentication; keys are recognisable by their prefix. */
public interface KeyResolver {
    boolean recognises(String credential);

    Principal resolve(String key, String clientAddr);

    /** The key with this id as it stands now; {@code Unauthenticated} when it no longer holds. */
    Recheck recheck(UUID keyId, String clientAddr);
}
