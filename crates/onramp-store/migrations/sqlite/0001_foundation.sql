-- Foundation: tenants, users, role grants, client credentials, API keys, signing keys, assertion nonces,
-- the deployment key-value table and the append-only audit log.
-- Ids are 24-hex ObjectIds as TEXT; times are BIGINT microseconds since the Unix epoch, UTC.

CREATE TABLE deployment (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL,
    user_type TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- Email is unique per tenant among users that are not deleted.
CREATE UNIQUE INDEX users_email_live ON users (tenant_id, email) WHERE status <> 'DELETED';
CREATE INDEX users_tenant_id ON users (tenant_id, id);

CREATE TABLE role_grants (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    client_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    -- The Ed25519 public key (base64url). The client secret is the private key and is never stored.
    public_key TEXT NOT NULL,
    -- JSON array of the role ids this credential is scoped to.
    role_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX credentials_client_id ON credentials (client_id);
CREATE INDEX credentials_tenant_id ON credentials (tenant_id, id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    display_name TEXT NOT NULL,
    -- SHA-256 (hex) of the 256-bit key; the key itself is shown once and never stored.
    key_hash TEXT NOT NULL,
    role_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY,
    -- One key per generation: two nodes rotating at once cannot both add one.
    generation BIGINT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The key signs until rotate_at and verifies until retire_at.
    rotate_at BIGINT NOT NULL,
    retire_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX signing_keys_generation ON signing_keys (generation);

CREATE TABLE assertion_nonces (
    nonce TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX assertion_nonces_expires_at ON assertion_nonces (expires_at);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    actor_user_id TEXT,
    actor_credential_id TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    request_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
