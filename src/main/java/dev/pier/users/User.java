package dev.pier.users;

import dev.pier.security.Account;
import dev.pier.security.Role;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * A user as the services see it: never serialized directly, so the secret columns cannot leak.
 *
 * @param externalId the id a Panel client chose for the user, if it chose one
 */
public record User(
        UUID id,
        String username,
        Optional<String> email,
        Role role,
        boolean disabled,
        Instant createdAt,
        Instant updatedAt,
        Optional<String> externalId)
        implements Account {

    /** The id the Panel API shows: the client's own id when it gave one, else the user's id. */
    public String panelId() {
        return externalId.orElse(id.toString());
    }
}
