-- Indexes of the admin console's lists and overview (issue #14): onboards by status, flow and user, newest
-- first; audit events by action and by object type and id, in id order (by actor and by object id alone:
-- 0017); outbox messages that failed; counts of users and invitations by status. Same text on both backends.
CREATE INDEX onboards_tenant_status ON onboards (tenant_id, status, id);
CREATE INDEX onboards_tenant_flow ON onboards (tenant_id, flow_id, id);
CREATE INDEX onboards_tenant_user ON onboards (tenant_id, user_id, id);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, id);
CREATE INDEX audit_events_object_type ON audit_events (tenant_id, object_type, object_id, id);
CREATE INDEX outbox_failed ON outbox (tenant_id, failed_at) WHERE failed_at IS NOT NULL;
CREATE INDEX users_tenant_status ON users (tenant_id, status);
CREATE INDEX invitations_tenant_status ON invitations (tenant_id, status, expires_at);
