-- Login-throttle buckets shared by every instance on this store: failures counted here lock
-- an account (or a client) on all of them. Keys are hashes or masked addresses, never emails.
CREATE TABLE IF NOT EXISTS throttle_buckets (
    bucket       TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_buckets_last ON throttle_buckets(last_failure);
