-- An instance whose volume outgrew its disk limit is stopped and may not start until it is under the limit
-- again or the limit is raised; the flag outlives a restart of Pier.
ALTER TABLE instances ADD COLUMN disk_over BOOLEAN DEFAULT FALSE NOT NULL;
