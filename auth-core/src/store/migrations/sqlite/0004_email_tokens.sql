-- Whether the user proved they own their email address (a mailed link, or an IdP that
-- verified it). Existing accounts start unverified.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- One-time links sent by email: password reset and email verification. Only the SHA-256 of
-- the token is stored; a token is bound to its purpose, its user and the address it was for.
CREATE TABLE IF NOT EXISTS email_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('reset', 'verify')),
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX IF NOT EXISTS email_tokens_user ON email_tokens(user_id, purpose);
