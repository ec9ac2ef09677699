-- Onboarding flows and onboards (one invitee's run through a flow).

CREATE TABLE onboarding_flows (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    steps_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX onboarding_flows_tenant ON onboarding_flows (tenant_id, id);

-- An onboard keeps a copy of its flow's steps from when it started, so that editing the flow does not change
-- runs under way, and the state of each step. At most one onboard per invitation is live (not failed).
CREATE TABLE onboards (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    invitation_id TEXT NOT NULL REFERENCES invitations (id),
    directory_app_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    user_id TEXT,
    status TEXT NOT NULL,
    failure_reason TEXT NOT NULL,
    steps_json TEXT NOT NULL,
    states_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX onboards_invitation_live ON onboards (invitation_id) WHERE status <> 'failed';
CREATE INDEX onboards_tenant ON onboards (tenant_id, id);
CREATE INDEX onboards_flow_live ON onboards (flow_id) WHERE status IN ('created', 'in_progress');
