-- A local user's TOTP second factor (RFC 6238, SHA-1, 6 digits, 30 s). `secret` is the base32 seed: a seed
-- must be readable to check codes, so it cannot be hashed (ARCHITECTURE.md says why it is not sealed).
-- `confirmed_at` is NULL while the user has not yet typed a first code; only a confirmed row is asked for
-- at sign-in. `last_step` is the time step of the last code accepted: a code is accepted only for a later
-- step (a conditional update), so no code works twice. `failures`/`last_failure_at` count wrong codes in a
-- row, as `password_failures` does for passwords.
CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Single-use recovery codes of a confirmed TOTP, as SHA-256 of the code (80 random bits each).
CREATE TABLE totp_recovery_codes (
    code_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    used_at BIGINT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX totp_recovery_codes_user ON totp_recovery_codes (tenant_id, user_id);
