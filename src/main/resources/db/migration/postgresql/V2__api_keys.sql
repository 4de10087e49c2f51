-- API keys (= API tokens): stored only as a SHA-256 hash of the full key; the plaintext is shown once.
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

-- A disabled user cannot log in, and every token and key of theirs stops working.
ALTER TABLE users ADD COLUMN disabled BOOLEAN DEFAULT FALSE NOT NULL;
