package dev.pier.auth;

import dev.pier.security.Principal;

import java.time.Instant;
import java.util.Optional;

/**
 * A credential checked again, for a stream that outlives the request that opened it: who it stands for
 * now (their current role and level), and until when it holds if nothing changes (empty: no end).
 */
public record Recheck(Principal principal, Optional<Instant> until) {}
