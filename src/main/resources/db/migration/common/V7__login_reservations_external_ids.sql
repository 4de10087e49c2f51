-- Login limits as one atomic operation (no SELECT ... FOR UPDATE): an attempt is admitted by a
-- conditional UPDATE that also reserves it (in_flight), so parallel attempts cannot all pass the
-- check before any failure is counted. A reservation older than a minute (a crashed process) no
-- longer counts. Password failures are counted apart from code failures, so a success of one factor
-- never clears the other's count; the lock uses their sum.
ALTER TABLE login_failures ADD COLUMN password_failures INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE login_failures ADD COLUMN in_flight INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE login_failures ADD COLUMN reserved_at TIMESTAMP WITH TIME ZONE;

-- The id a Panel client gave a user (its document lets the client choose any string); the user's own
-- id stays a UUID. NULLs never collide in a unique index.
ALTER TABLE users ADD COLUMN external_id VARCHAR(255);
CREATE UNIQUE INDEX users_external_id ON users (external_id);
