package dev.pier.http;

import dev.pier.auth.AuthService;
import dev.pier.auth.KeyResolver;
import dev.pier.auth.PasswordAuth;
import dev.pier.security.Principal;

/** Resolves any presented credential, session token, API key or password with its TOTP code, to a principal. */
public final class Authenticator {
    private final AuthService sessions;
    private final KeyResolver keys;
    private final PasswordAuth passwords;

    public Authenticator(AuthService sessions, KeyResolver keys, PasswordAuth passwords) {
        this.sessions = sessions;
        this.keys = keys;
        this.passwords = passwords;
    }

    public Principal resolve(String credential, String clientAddr, boolean acceptRefresh) {
        if (keys.recognises(credential)) {
            return keys.resolve(credential, clientAddr);
        }
        return sessions.authenticate(credential, clientAddr, acceptRefresh);
    }

    /** Username + password, and the TOTP code (in its own field or as six digits after the password). */
    public Principal resolve(Credentials.Password p, String clientAddr) {
        return passwords.authenticate(p.username(), p.password(), p.code(), clientAddr);
    }
}
