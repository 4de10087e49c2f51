package dev.pier.http;

import dev.pier.auth.AuthService;
import dev.pier.auth.KeyResolver;
import dev.pier.security.Principal;

/** Resolves any presented credential, session token or API key, to a principal. */
public final class Authenticator {
    private final AuthService sessions;
    private final KeyResolver keys;

    public Authenticator(AuthService sessions, KeyResolver keys) {
        this.sessions = sessions;
        this.keys = keys;
    }

    public Principal resolve(String credential, String clientAddr, boolean acceptRefresh) {
        if (keys.recognises(credential)) {
            return keys.resolve(credential, clientAddr);
        }
        return sessions.authenticate(credential, clientAddr, acceptRefresh);
    }
}
