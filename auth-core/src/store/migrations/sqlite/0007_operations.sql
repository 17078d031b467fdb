-- Operating the instance (issue 12): disabled accounts, stored audit events, rotated signing keys.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- Append-only; pruned by age (`audit.retention`). `seq` orders events (newest first).
CREATE TABLE IF NOT EXISTS audit_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       BIGINT NOT NULL,
    event    TEXT NOT NULL,
    source   TEXT NOT NULL,
    actor_id TEXT,
    user_id  TEXT,
    org_id   TEXT,
    detail   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events(at);

-- The key that signs is the row `session`; rotated keys keep verifying until `retired_at` is
-- older than the longest session.
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;

-- Session changes for the other processes on this file (SQLite cannot push): each instance
-- polls the rows after the last one it saw. Rows older than a few minutes are deleted.
CREATE TABLE IF NOT EXISTS session_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    origin     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    session_id TEXT NOT NULL
);
