-- Apps and their owners.
-- An app is soft-deleted (deleted_at set) so that its id is never reused and the audit log can still name it.
-- Booleans are BIGINT 0/1 and the annotations a JSON object as TEXT, so that every column decodes the same
-- way on both backends.

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon_url TEXT NOT NULL,
    monthly_cost_usd BIGINT NOT NULL,
    grant_policy_id TEXT NOT NULL,
    revoke_policy_id TEXT NOT NULL,
    certify_policy_id TEXT NOT NULL,
    default_request_catalog_id TEXT NOT NULL,
    instructions TEXT NOT NULL,
    identity_matching TEXT NOT NULL,
    strict_access_entitlement_provisioning BIGINT NOT NULL,
    is_manually_managed BIGINT NOT NULL,
    revoke_grant_sources BIGINT NOT NULL,
    enable_connector_sourced_ownership BIGINT NOT NULL,
    is_directory BIGINT NOT NULL,
    annotations_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- Lets app_owners reference an app together with its tenant, so an ownership cannot cross tenants; it also
-- serves the tenant's app list in id order.
CREATE UNIQUE INDEX apps_tenant_and_id ON apps (tenant_id, id);

-- One row per (app, role slug, user): a v2 user ownership. A v1 "owner" is the row with role slug 'owner'.
CREATE TABLE app_owners (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    role_slug TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
-- A user owns an app at most once per role slug (and may hold several slugs).
CREATE UNIQUE INDEX app_owners_app_role_user ON app_owners (app_id, role_slug, user_id);
-- Owner lists and searches page by ownership id within one app.
CREATE INDEX app_owners_app_id ON app_owners (app_id, id);
-- For the user side of the foreign key (and questions such as "what does this user own").
CREATE INDEX app_owners_user_id ON app_owners (user_id);
