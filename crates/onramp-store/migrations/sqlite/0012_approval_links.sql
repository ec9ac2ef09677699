-- The signed links that let an onboard's approver approve or reject its manager-approval step from an email.
-- The secret (256 random bits) is kept only as its SHA-256 (`secret_hash`); opening the link reads the row,
-- deciding marks it used (`used_at`, by an update conditional on it being unused), so each link decides once.
CREATE TABLE approval_links (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    onboard_id TEXT NOT NULL REFERENCES onboards (id),
    step_key TEXT NOT NULL,
    approver_user_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, approver_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX approval_links_onboard ON approval_links (onboard_id);
