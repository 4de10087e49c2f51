-- An image may declare that its process reads a console: its instances' containers are created with
-- stdin open. An instance keeps what it was deployed with, whatever later happens to its image.
ALTER TABLE images ADD COLUMN stdin BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE instances ADD COLUMN stdin BOOLEAN DEFAULT FALSE NOT NULL;

-- Single-use tickets that open an instance's console (a browser's WebSocket cannot send a credential
-- header). Only the SHA-256 of a ticket is kept. A ticket stands for the credential that asked for it (a
-- session or an API key, by id), which is checked again when the ticket is redeemed; one atomic update
-- sets used_at, so a ticket opens one console at most.
CREATE TABLE console_tickets (
    id              UUID        PRIMARY KEY,
    token_hash      VARCHAR(64) NOT NULL,
    user_id         UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    instance_id     UUID        NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    credential_kind VARCHAR(16) NOT NULL,
    credential_id   VARCHAR(64) NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at         TIMESTAMP WITH TIME ZONE,
    CONSTRAINT console_tickets_kind_valid CHECK (credential_kind IN ('ACCESS_TOKEN', 'API_KEY'))
);
CREATE UNIQUE INDEX console_tickets_hash ON console_tickets (token_hash);
-- the purge deletes by age
CREATE INDEX console_tickets_expires ON console_tickets (expires_at);
