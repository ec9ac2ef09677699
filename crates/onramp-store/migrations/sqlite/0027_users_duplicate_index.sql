-- users_tenant_id (0001) and users_tenant_and_id (0002) index the same columns, (tenant_id, id); the unique
-- one serves every lookup the other did, so every write of a user paid for a second copy of it (issue #15:
-- import throughput). Same text on both backends.
DROP INDEX users_tenant_id;
