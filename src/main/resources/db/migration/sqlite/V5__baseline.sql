-- The schema at version 5, in SQLite's dialect. Versions 1-5 (db/migration/postgresql) were written
-- for H2 and PostgreSQL and use what SQLite lacks (identity columns, ALTER TABLE ... DROP CONSTRAINT);
-- an SQLite database starts here with the same tables, columns, keys and checks. From version 6 on,
-- both stores run the same files (db/migration/common).
--
-- Types keep their PostgreSQL names so the two schemas read alike. SQLite stores UUIDs as their text
-- form and times as fixed-width ISO-8601 text in UTC with microseconds (see db/SqliteTypes), so that
-- text order is time order.

CREATE TABLE users (
    id               UUID PRIMARY KEY,
    username         VARCHAR(64)  NOT NULL,
    username_key     VARCHAR(64)  NOT NULL,
    email            VARCHAR(254),
    password_hash    VARCHAR(255),
    role             VARCHAR(16)  NOT NULL,
    -- 1 for the owner, NULL for everyone else: the unique index makes a second owner impossible.
    owner_slot       SMALLINT,
    totp_secret      VARCHAR(255) NOT NULL,
    totp_last_step   BIGINT       NOT NULL DEFAULT 0,
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    disabled         BOOLEAN      NOT NULL DEFAULT FALSE,
    CONSTRAINT users_role_valid CHECK (role IN ('viewer', 'manager', 'admin', 'owner')),
    CONSTRAINT users_owner_slot CHECK (
        (role = 'owner' AND owner_slot IS NOT NULL AND owner_slot = 1)
        OR (role <> 'owner' AND owner_slot IS NULL))
);
CREATE UNIQUE INDEX users_username_key ON users (username_key);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE UNIQUE INDEX users_single_owner ON users (owner_slot);

CREATE TABLE sessions (
    id                 UUID PRIMARY KEY,
    user_id            UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access_hash        VARCHAR(64) NOT NULL,
    access_expires_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    refresh_hash       VARCHAR(64) NOT NULL,
    refresh_expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    client_addr        VARCHAR(64),
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    refreshed_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE UNIQUE INDEX sessions_access_hash ON sessions (access_hash);
CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE retired_refresh_tokens (
    refresh_hash VARCHAR(64) PRIMARY KEY,
    session_id   UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    retired_at   TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX retired_refresh_session ON retired_refresh_tokens (session_id);

CREATE TABLE login_failures (
    kind          VARCHAR(8)   NOT NULL,
    subject       VARCHAR(128) NOT NULL,
    failures      INTEGER      NOT NULL,
    window_start  TIMESTAMP WITH TIME ZONE NOT NULL,
    locked_until  TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (kind, subject)
);

-- AUTOINCREMENT: an id is never reused, so the newest-first order of the log is its id order.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TIMESTAMP WITH TIME ZONE NOT NULL,
    actor_id      UUID,
    actor_name    VARCHAR(64),
    credential_id VARCHAR(64),
    client_addr   VARCHAR(64),
    action        VARCHAR(64)  NOT NULL,
    target        VARCHAR(255),
    outcome       VARCHAR(16)  NOT NULL,
    detail        VARCHAR(1024)
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE cache_epoch (
    id    INTEGER PRIMARY KEY,
    epoch BIGINT NOT NULL
);
INSERT INTO cache_epoch (id, epoch) VALUES (1, 0);

CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    user_id      UUID         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash     VARCHAR(64)  NOT NULL,
    description  VARCHAR(255) NOT NULL,
    access_level VARCHAR(8)   NOT NULL,
    enabled      BOOLEAN      NOT NULL,
    expires_at   TIMESTAMP WITH TIME ZONE,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    last_used_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT api_keys_level_valid CHECK (access_level IN ('basic', 'apikey', 'full'))
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE nodes (
    id           UUID PRIMARY KEY,
    name         VARCHAR(64)  NOT NULL,
    tags         VARCHAR(255) NOT NULL,
    ram_mib      BIGINT       NOT NULL,
    disk_mib     BIGINT       NOT NULL,
    processor    VARCHAR(255) NOT NULL,
    endpoint     VARCHAR(512) NOT NULL,
    tls_ca       VARCHAR(16384),
    tls_cert     VARCHAR(16384),
    tls_key      VARCHAR(16384),
    status       VARCHAR(16)  NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT nodes_capacity CHECK (ram_mib >= 0 AND disk_mib >= 0),
    CONSTRAINT nodes_status_valid CHECK (status IN ('unknown', 'online', 'offline'))
);
CREATE UNIQUE INDEX nodes_name ON nodes (name);

CREATE TABLE images (
    id          UUID PRIMARY KEY,
    name        VARCHAR(64)   NOT NULL,
    reference   VARCHAR(255)  NOT NULL,
    description VARCHAR(1024) NOT NULL,
    command     VARCHAR(8192) NOT NULL,
    ports       VARCHAR(2048) NOT NULL,
    variables   VARCHAR(16384) NOT NULL,
    default_slot SMALLINT,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT images_default_slot CHECK (default_slot IS NULL OR default_slot = 1)
);
CREATE UNIQUE INDEX images_name ON images (name);
CREATE UNIQUE INDEX images_single_default ON images (default_slot);

CREATE TABLE instances (
    id             UUID PRIMARY KEY,
    name           VARCHAR(63)   NOT NULL,
    owner_id       UUID REFERENCES users (id) ON DELETE SET NULL,
    node_id        UUID          NOT NULL REFERENCES nodes (id),
    image_id       UUID REFERENCES images (id) ON DELETE SET NULL,
    image_ref      VARCHAR(255)  NOT NULL,
    command        VARCHAR(8192) NOT NULL,
    memory_mib     INTEGER       NOT NULL,
    disk_mib       INTEGER       NOT NULL,
    cpu            DOUBLE PRECISION NOT NULL,
    ports          VARCHAR(4096) NOT NULL,
    primary_port   INTEGER,
    variables      VARCHAR(32768) NOT NULL,
    desired_state  VARCHAR(16)   NOT NULL,
    observed_state VARCHAR(16)   NOT NULL,
    suspended      BOOLEAN       NOT NULL,
    container_id   VARCHAR(128),
    last_error     VARCHAR(1024),
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT instances_desired_valid CHECK (desired_state IN ('running', 'stopped', 'deleted')),
    CONSTRAINT instances_observed_valid CHECK (observed_state IN
        ('creating', 'running', 'stopped', 'exited', 'failed', 'deleting', 'unknown')),
    CONSTRAINT instances_limits CHECK (memory_mib > 0 AND cpu > 0 AND disk_mib >= 0)
);
CREATE UNIQUE INDEX instances_name ON instances (name);
CREATE INDEX instances_node ON instances (node_id);
CREATE INDEX instances_owner ON instances (owner_id);

CREATE TABLE instance_ports (
    node_id     UUID        NOT NULL REFERENCES nodes (id),
    host_port   INTEGER     NOT NULL,
    protocol    VARCHAR(3)  NOT NULL,
    instance_id UUID        NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    PRIMARY KEY (node_id, host_port, protocol),
    CONSTRAINT instance_ports_protocol CHECK (protocol IN ('tcp', 'udp')),
    CONSTRAINT instance_ports_range CHECK (host_port BETWEEN 1 AND 65535)
);
CREATE INDEX instance_ports_instance ON instance_ports (instance_id);

CREATE TABLE instance_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id UUID,
    node_id     UUID,
    at          TIMESTAMP WITH TIME ZONE NOT NULL,
    kind        VARCHAR(32)   NOT NULL,
    detail      VARCHAR(1024)
);
CREATE INDEX instance_events_instance ON instance_events (instance_id);

CREATE TABLE installation (
    id              INTEGER PRIMARY KEY,
    installation_id UUID NOT NULL,
    key_check       VARCHAR(64)
);
