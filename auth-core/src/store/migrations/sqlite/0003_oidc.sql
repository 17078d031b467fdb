-- What RP-initiated and back-channel logout need to know about an OIDC session.
CREATE TABLE IF NOT EXISTS oidc_sessions (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    idp_sid    TEXT,
    id_token   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_sessions_sub ON oidc_sessions(issuer, subject);
CREATE INDEX IF NOT EXISTS oidc_sessions_sid ON oidc_sessions(issuer, idp_sid);

-- Login states already used at the callback: single use across every instance.
CREATE TABLE IF NOT EXISTS oidc_used_states (
    state_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
