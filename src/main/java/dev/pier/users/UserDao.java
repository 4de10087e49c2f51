package dev.pier.users;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(UserRow.class)
public interface UserDao {
    String COLUMNS =
            "id, username, username_key, email, password_hash, role, totp_secret, totp_last_step, disabled, created_at, updated_at, external_id";

    @SqlQuery("SELECT " + COLUMNS + " FROM users WHERE username_key = :key")
    Optional<UserRow> findByUsernameKey(@Bind("key") String usernameKey);

    @SqlQuery("SELECT " + COLUMNS + " FROM users WHERE id = :id")
    Optional<UserRow> findById(@Bind("id") UUID id);

    @SqlQuery("SELECT " + COLUMNS + " FROM users WHERE email = :email")
    Optional<UserRow> findByEmail(@Bind("email") String email);

    @SqlQuery("SELECT " + COLUMNS + " FROM users WHERE external_id = :externalId")
    Optional<UserRow> findByExternalId(@Bind("externalId") String externalId);

    @SqlQuery("SELECT " + COLUMNS + " FROM users ORDER BY created_at, username_key")
    List<UserRow> listAll();

    @SqlQuery("SELECT COUNT(*) FROM users WHERE role = 'owner'")
    int countOwners();

    @SqlUpdate("""
            INSERT INTO users (id, username, username_key, email, password_hash, role, owner_slot, totp_secret,
                               totp_last_step, created_at, updated_at, external_id)
            VALUES (:id, :username, :usernameKey, :email, :passwordHash, :role,
                    CASE WHEN :role = 'owner' THEN 1 ELSE NULL END, :totpSecret, 0, :now, :now, :externalId)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("username") String username,
            @Bind("usernameKey") String usernameKey,
            @Bind("email") String email,
            @Bind("passwordHash") String passwordHash,
            @Bind("role") String role,
            @Bind("totpSecret") String totpSecret,
            @Bind("now") Instant now,
            @Bind("externalId") String externalId);

    @SqlUpdate("UPDATE users SET totp_secret = :secret, totp_last_step = 0, updated_at = :now WHERE id = :id")
    int replaceSecret(@Bind("id") UUID id, @Bind("secret") String sealedSecret, @Bind("now") Instant now);

    @SqlUpdate("UPDATE users SET password_hash = :hash, updated_at = :now WHERE id = :id")
    int setPassword(@Bind("id") UUID id, @Bind("hash") String hash, @Bind("now") Instant now);

    /**
     * Consumes a TOTP time step: succeeds only if no code of this step or a later one was used before.
     * One atomic update, so two parallel logins with the same code cannot both win.
     */
    @SqlUpdate("UPDATE users SET totp_last_step = :step WHERE id = :id AND totp_last_step < :step")
    int consumeStep(@Bind("id") UUID id, @Bind("step") long step);

    /** Ends every session of a user: access and refresh tokens alike. */
    @SqlUpdate("DELETE FROM sessions WHERE user_id = :id")
    int deleteSessions(@Bind("id") UUID id);

    /** Disables every API key of a user; re-enabling the user leaves them disabled. */
    @SqlUpdate("UPDATE api_keys SET enabled = FALSE, updated_at = :now WHERE user_id = :id AND enabled = TRUE")
    int disableKeys(@Bind("id") UUID id, @Bind("now") Instant now);

    @SqlUpdate("UPDATE users SET disabled = :disabled, updated_at = :now WHERE id = :id AND role <> 'owner'")
    int setDisabled(@Bind("id") UUID id, @Bind("disabled") boolean disabled, @Bind("now") Instant now);

    @SqlUpdate("UPDATE users SET role = :role, updated_at = :now WHERE id = :id AND role <> 'owner'")
    int setRoleOfNonOwner(@Bind("id") UUID id, @Bind("role") String role, @Bind("now") Instant now);

    @SqlUpdate("DELETE FROM users WHERE id = :id AND role <> 'owner'")
    int deleteNonOwner(@Bind("id") UUID id);
}
