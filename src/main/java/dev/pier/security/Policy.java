package dev.pier.security;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;

/**
 * Every authorization rule that depends on more than the route's own requirement lives here, so the
 * rules can be read, and tested, in one place.
 */
public final class Policy {
    private Policy() {}

    /** The route-level check: role at least {@code min} and a credential level that allows {@code scope}. */
    public static void require(Principal p, Role min, Scope scope) {
        if (!p.role().atLeast(min)) {
            throw new PierException.Denied(
                    Reason.ACCESS_DENIED,
                    "access denied: requires role " + min.wire() + ", you are "
                            + p.role().wire());
        }
        if (!p.level().allows(scope)) {
            throw new PierException.Denied(
                    Reason.INSUFFICIENT_LEVEL,
                    "access denied: this API key's level '" + p.level().wire() + "' does not allow this");
        }
    }

    /** Admins manage users below admin; only the owner manages admins. */
    public static void requireCanManage(Principal actor, Role targetRole) {
        require(actor, Role.ADMIN, Scope.USERS);
        if (targetRole.atLeast(Role.ADMIN) && actor.role() != Role.OWNER) {
            throw new PierException.Denied(Reason.ACCESS_DENIED, "access denied: only the owner manages admins");
        }
    }

    public static void requireCanManage(Principal actor, Account target) {
        if (target.role() == Role.OWNER && actor.role() == Role.OWNER) {
            require(actor, Role.OWNER, Scope.USERS);
            return;
        }
        requireCanManage(actor, target.role());
    }

    /** Whether {@link #requireCanManage(Principal, Account)} would let the actor manage the target. */
    public static boolean canManage(Principal actor, Account target) {
        if (!actor.level().allows(Scope.USERS)) {
            return false;
        }
        if (target.role() == Role.OWNER) {
            return actor.role() == Role.OWNER;
        }
        if (target.role().atLeast(Role.ADMIN)) {
            return actor.role() == Role.OWNER;
        }
        return actor.role().atLeast(Role.ADMIN);
    }

    /**
     * Sessions: anyone may end their own; admins and the owner anyone's (SPEC §2), except that the
     * owner's sessions are ended only by the owner. Ending a session changes nothing else about its user,
     * so unlike managing it is not limited to the users below the actor.
     */
    public static boolean canRevoke(Principal actor, Account target) {
        if (actor.isSelf(target.id()) || actor.kind() == Principal.Kind.SYSTEM) {
            return true;
        }
        if (target.role() == Role.OWNER) {
            return false;
        }
        return actor.role().atLeast(Role.ADMIN) && actor.level().allows(Scope.USERS);
    }

    /**
     * API keys: anyone may change their own; admins anyone's (SPEC §1), except that the owner's keys are
     * changed and ended only by the owner.
     */
    public static boolean canChangeKeysOf(Principal actor, Account owner) {
        if (actor.kind() == Principal.Kind.SYSTEM) {
            return true;
        }
        if (actor.isSelf(owner.id())) {
            return actor.level().allows(Scope.KEYS);
        }
        if (owner.role() == Role.OWNER) {
            return false;
        }
        return actor.role().atLeast(Role.ADMIN) && actor.level().allows(Scope.KEYS);
    }
}
