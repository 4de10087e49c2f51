package dev.pier.http;

import dev.pier.auth.AuthService;
import dev.pier.auth.KeyResolver;
import dev.pier.auth.PasswordAuth;
import dev.pier.auth.Recheck;
import dev.pier.security.Principal;

import java.util.Optional;
import java.util.UUID;

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

    /**
     * The credential behind {@code p} as it stands now, for a stream that outlives the request that
     * opened it: the same decision a new request would get, by the credential's id (a stream keeps no
     * secret). Throws {@code Unauthenticated} when the credential no longer holds.
     */
    public Recheck recheck(Principal p) {
        return switch (p.kind()) {
            case ACCESS_TOKEN -> sessions.recheckSession(UUID.fromString(p.credentialId()), p.clientAddr());
            case API_KEY -> keys.recheck(UUID.fromString(p.credentialId()), p.clientAddr());
            case SYSTEM -> new Recheck(p, Optional.empty());
            case REFRESH_TOKEN, PASSWORD ->
                throw new IllegalArgumentException("a " + p.kind() + " credential opens no stream");
        };
    }

    /** Username + password, and the TOTP code (in its own field or as six digits after the password). */
    public Principal resolve(Credentials.Password p, String clientAddr) {
        return passwords.authenticate(p.username(), p.password(), p.code(), clientAddr);
    }
}
