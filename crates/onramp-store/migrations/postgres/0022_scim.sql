-- SCIM 2.0 provisioning (issue #16). Same text on both backends but for the one backfill below.
--
-- A provisioning connection: one identity provider pushing users and groups into one tenant, acting with
-- one role. Its bearer token (256 random bits) is shown once; only its SHA-256 is kept. `last_used_at` is
-- written at most once a minute, so that a busy connection does not turn every read into a write.
CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    role_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX scim_tokens_token_hash ON scim_tokens (token_hash);
CREATE INDEX scim_tokens_tenant_id ON scim_tokens (tenant_id, id);

-- The identity provider's own id of a user (SCIM `externalId`): unique per tenant among live users, and
-- found by an index lookup when an IdP filters on it.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id_live ON users (tenant_id, external_id)
    WHERE external_id IS NOT NULL AND status <> 'DELETED';

-- The user's first username, lowercased (SCIM `userName`), so that an IdP's `userName eq` filter, which
-- Okta and Entra ID send before every create, is an index lookup. Written by the store from `usernames`
-- with every write of a user; filled in here for the users written before. Unique among the live users of
-- a directory origin (those an IdP provisions, where SCIM requires a unique userName); the API has always
-- let other users share a username. (The backfill's JSON expression is the one line that differs by backend.)
ALTER TABLE users ADD COLUMN user_name TEXT;
UPDATE users SET user_name = lower(usernames_json::jsonb ->> 0);
CREATE INDEX users_tenant_user_name ON users (tenant_id, user_name) WHERE status <> 'DELETED';
CREATE UNIQUE INDEX users_user_name_directory ON users (tenant_id, user_name)
    WHERE origin = 'USER_ORIGIN_DIRECTORY' AND status <> 'DELETED' AND user_name IS NOT NULL;
