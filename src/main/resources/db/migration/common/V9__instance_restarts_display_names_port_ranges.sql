-- What a person called an instance (the Panel's "Minecraft 1.21"); its name stays a DNS label.
ALTER TABLE instances ADD COLUMN display_name VARCHAR(256);
-- Refines observed_state, whose check predates these states and cannot change here: 'crashloop'
-- (observed_state 'exited') or 'paused' (observed_state 'running'); NULL otherwise.
ALTER TABLE instances ADD COLUMN observed_condition VARCHAR(16);
-- The reconciler's restart bookkeeping: the last run's exit code, deaths and refused starts in a row,
-- and when it tries again (exponential back-off).
ALTER TABLE instances ADD COLUMN exit_code INTEGER;
ALTER TABLE instances ADD COLUMN crashes INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE instances ADD COLUMN start_failures INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE instances ADD COLUMN next_attempt_at TIMESTAMP WITH TIME ZONE;

-- The host ports a node lets instances publish (both ends included).
ALTER TABLE nodes ADD COLUMN host_port_min INTEGER DEFAULT 1024 NOT NULL;
ALTER TABLE nodes ADD COLUMN host_port_max INTEGER DEFAULT 65535 NOT NULL;

-- The events' retention deletes by age.
CREATE INDEX instance_events_at ON instance_events (at);
