-- The console's user page (issue #14) shows a user's audit trail: the events about them and the events
-- they acted in, newest first. Same text on both backends.
CREATE INDEX audit_events_object ON audit_events (tenant_id, object_id, id);
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_user_id, id);
