-- When the turn of a live onboard began (`Onboard::turn`'s `since`, in microseconds), written with every
-- write of the onboard, so that the console's overview finds the onboards waiting longer than a threshold in
-- one indexed query (issue #14); NULL once the onboard has ended. The rows written before this migration
-- are filled in by the store when it opens (the turn is computed from the steps, which SQL does not read).
-- Same text on both backends.
ALTER TABLE onboards ADD COLUMN turn_since BIGINT;
CREATE INDEX onboards_tenant_turn_since ON onboards (tenant_id, turn_since, id) WHERE status IN ('created', 'in_progress');
