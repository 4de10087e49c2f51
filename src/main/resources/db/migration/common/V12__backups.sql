-- Backups of instances' data volumes, kept in Pier's backup store (a directory; the file is <id>.tar.gz).
-- A backup outlives its instance (a restore after a delete is what it is for): no foreign key, and the
-- instance's name is kept with it. While a restore from it runs, restore_into names the instance,
-- restore_desired the desired state that instance goes back to and restore_started when it began; a server
-- finishes the restores that began before it started (a crash cut them short), never one that another
-- process (the CLI) runs now.
CREATE TABLE backups (
    id              UUID         PRIMARY KEY,
    instance_id     UUID         NOT NULL,
    instance_name   VARCHAR(64)  NOT NULL,
    node_id         UUID         NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    live            BOOLEAN      NOT NULL,
    note            VARCHAR(255),
    size_bytes      BIGINT,
    sha256          VARCHAR(64),
    error           VARCHAR(1024),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at    TIMESTAMP WITH TIME ZONE,
    restore_into    UUID,
    restore_desired VARCHAR(16),
    restore_started TIMESTAMP WITH TIME ZONE,
    CONSTRAINT backups_state_valid CHECK (state IN ('pending', 'running', 'completed', 'failed'))
);
CREATE INDEX backups_instance ON backups (instance_id, created_at);
