package dev.pier.auth;

import dev.pier.security.Principal;

/** The API key side of authentication; keys are recognisable by their prefix. */
public interface KeyResolver {
    boolean recognises(String credential);

    Principal resolve(String key, String clientAddr);
}
