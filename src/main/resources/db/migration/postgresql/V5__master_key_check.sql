-- A fingerprint of the master key this database's secrets are sealed with: an HMAC of a fixed label
-- under the key, never the key itself. A server started with another key stops with a clear message
-- instead of failing on the first secret it cannot open.
ALTER TABLE installation ADD COLUMN key_check VARCHAR(64);
