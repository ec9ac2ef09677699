-- The tenant's onboarding settings (c1.api.settings.v1.OnboardingSettings): one row per tenant, written by
-- the first update or ensure of the onboarding conversation; a tenant without a row reads the defaults
-- (NOT_STARTED, empty). Statuses are stored as NOT_STARTED, IN_PROGRESS, COMPLETE or DISMISSED, and move
-- only by conditional updates; lists are JSON text. Same text on both backends.
CREATE TABLE onboarding_settings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    status TEXT NOT NULL CHECK (status IN ('NOT_STARTED', 'IN_PROGRESS', 'COMPLETE', 'DISMISSED')),
    mcp_status TEXT NOT NULL CHECK (mcp_status IN ('NOT_STARTED', 'IN_PROGRESS', 'COMPLETE', 'DISMISSED')),
    -- Empty until a conversation is associated or ensured; the ensure sets it only while it is empty.
    conversation_id TEXT NOT NULL,
    mcp_goal TEXT NOT NULL,
    mcp_targets_json TEXT NOT NULL,
    intents_json TEXT NOT NULL,
    org_industry TEXT NOT NULL,
    org_size TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
