-- From here on, one file per version for both stores (PostgreSQL and SQLite).

-- A counter per kind of data that servers keep copies of in memory (credentials and users,
-- instances, nodes, images). Every write bumps its kind's counter in its own transaction, whichever
-- process makes it (a server, the CLI, another server on the same PostgreSQL); each server polls the
-- counters and drops the copies whose counter moved. Replaces the single cache_epoch, which only
-- credentials used.
CREATE TABLE change_counters (
    topic   VARCHAR(32) PRIMARY KEY,
    counter BIGINT      NOT NULL
);
INSERT INTO change_counters (topic, counter) VALUES ('auth', 0);
INSERT INTO change_counters (topic, counter) VALUES ('instances', 0);
INSERT INTO change_counters (topic, counter) VALUES ('nodes', 0);
INSERT INTO change_counters (topic, counter) VALUES ('images', 0);
DROP TABLE cache_epoch;

-- Idempotency-Key on create routes: the first answer to a (caller, key) pair is kept, sealed under the
-- master key (it may hold a secret shown once, such as a new API key), and given again to a retry.
-- A row is 'pending' while its request runs; a pending row older than its lease may be taken over.
CREATE TABLE idempotency_keys (
    owner        VARCHAR(64)  NOT NULL,
    key_hash     VARCHAR(64)  NOT NULL,
    request_hash VARCHAR(64)  NOT NULL,
    state        VARCHAR(8)   NOT NULL,
    status       INTEGER,
    content_type VARCHAR(128),
    body         TEXT,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (owner, key_hash),
    CONSTRAINT idempotency_state_valid CHECK (state IN ('pending', 'done'))
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
