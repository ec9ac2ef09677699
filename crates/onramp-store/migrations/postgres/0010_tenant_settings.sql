-- A tenant's settings for its people (onramp's extension): the organisation's display name, its accent
-- colour (#rrggbb) and logo on every page and email, and the profile fields users may edit themselves. One
-- row per tenant, written by the first update; a tenant without a row reads the defaults (all empty). The
-- logo is kept as base64 text with its type (checked from its bytes) and its SHA-256, which names its URL.
-- Same text on both backends.
CREATE TABLE tenant_settings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    accent_color TEXT NOT NULL,
    logo_content_type TEXT NOT NULL,
    logo_sha256 TEXT NOT NULL,
    logo_base64 TEXT NOT NULL,
    user_editable_fields_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX tenant_settings_logo ON tenant_settings (logo_sha256);
