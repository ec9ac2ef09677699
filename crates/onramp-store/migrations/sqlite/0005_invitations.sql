-- Local directories, their invitations, invitees' passwords, and the outbox of messages to deliver.
-- Same text on both backends. Booleans are BIGINT 0/1 and lists JSON text, as elsewhere.

-- A local directory is a configuration on an app (the app's is_directory is set while it exists).
CREATE TABLE local_directories (
    app_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    invitation_ttl_seconds BIGINT NOT NULL,
    is_default BIGINT NOT NULL,
    onboarding_flow_id TEXT,
    default_profile_type_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    allow_self_registration BIGINT NOT NULL,
    self_registration_domains_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps (tenant_id, id)
);
CREATE INDEX local_directories_tenant ON local_directories (tenant_id, app_id);
-- At most one default directory per tenant.
CREATE UNIQUE INDEX local_directories_default ON local_directories (tenant_id) WHERE is_default = 1;

-- An invitation outlives its directory's configuration (its history stays readable), so it references the
-- app. Its secret is kept only as a SHA-256; status is PENDING, ACCEPTED, REVOKED or EXPIRED. A PENDING row
-- past expires_at is expired to every reader; the sweep writes EXPIRED later.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    directory_app_id TEXT NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    initial_role_ids_json TEXT NOT NULL,
    sponsor_user_id TEXT,
    onboarding_flow_id TEXT,
    purpose TEXT NOT NULL,
    job_id TEXT NOT NULL,
    invited_by_user_id TEXT,
    status TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    created_user_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, directory_app_id) REFERENCES apps (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_secret_hash ON invitations (secret_hash);
-- One pending invitation per email and directory.
CREATE UNIQUE INDEX invitations_pending_email ON invitations (tenant_id, directory_app_id, email)
    WHERE status = 'PENDING';
CREATE INDEX invitations_tenant ON invitations (tenant_id, id);
CREATE INDEX invitations_pending_expiry ON invitations (expires_at) WHERE status = 'PENDING';

-- A local user's password (argon2id PHC string), set when the invitee accepts.
CREATE TABLE user_passwords (
    user_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Messages to deliver, written in the transaction of the change that causes them. A worker claims due rows
-- (pushing next_attempt_at forward by a lease), sends, then marks them sent or schedules a retry. The body
-- of an invitation message holds its link (the secret) only until the message is sent or cancelled: both
-- empty it.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    cancelled_at BIGINT,
    failed_at BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_subject ON outbox (subject_id);
