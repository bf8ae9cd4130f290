-- SQLite twin of migrations/postgres/0006_jobs_leases.sql.
-- The job queue and worker (issue 8): dedupe keys, leases, finish times; the periodic
-- schedule's last ticks; named leases that serialize partner calls; users' last login.
--
-- A job's dedupe key is unique among unfinished jobs (queued or running): enqueueing the
-- same key again while one waits is a no-op, and the key is free again once it finished.
-- A running job holds a lease until lease_expires_at; a worker that dies stops renewing
-- it, and once it expires another worker claims the job again.
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT CHECK (dedupe_key IS NULL OR length(dedupe_key) BETWEEN 1 AND 255);
ALTER TABLE jobs ADD COLUMN lease_expires_at TEXT;
ALTER TABLE jobs ADD COLUMN finished_on TEXT;
-- Partial indexes keep each job in the few indexes of its state, so the hot path (claim,
-- finish) maintains little: the claim walks jobs_due in order and stops after the first
-- free rows; the recovery of dead workers reads jobs_leased.
CREATE UNIQUE INDEX jobs_dedupe_unfinished ON jobs (dedupe_key)
    WHERE status IN ('queued', 'running') AND dedupe_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (queue, run_after, id) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status = 'running';
DROP INDEX jobs_status_run_after;

-- One row per periodic job: the last tick some worker enqueued. A worker wins a tick with a
-- compare-and-set on last_tick, so each tick runs once across all workers.
CREATE TABLE job_schedule (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
    last_tick TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

-- Named leases (e.g. `enrollment:7:12`, `edx-user:7`): held across a partner call, which
-- never runs inside a database transaction. Expired leases are free to take.
CREATE TABLE leases (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
    holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 100),
    expires_at TEXT NOT NULL,
    created_on TEXT NOT NULL
);

ALTER TABLE users ADD COLUMN last_login TEXT;
