-- Browser sessions of local users (the account and onboarding pages). The cookie carries a 256-bit random
-- token; only its SHA-256 is kept here. A session is `signed_in`, or `second_factor` while the password was
-- right and a TOTP or recovery code is still to come (such a session opens nothing else). A session ends
-- at `expires_at` (its absolute limit) or when `last_seen_at` is older than the idle limit; both are
-- checked by the application, and expired rows are deleted when met. Signing out deletes the row.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    stage TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
