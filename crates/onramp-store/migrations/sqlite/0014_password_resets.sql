-- Password reset links: 256-bit secrets kept as SHA-256, one hour long, single use. Opening a link reads
-- the row; only setting the new password marks it used (a conditional update), in the transaction that
-- changes the password and deletes the user's sessions.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX password_resets_secret_hash ON password_resets (secret_hash);
CREATE INDEX password_resets_user ON password_resets (tenant_id, user_id);
