-- A tenant's groups (issue #16): the groups an identity provider pushes by SCIM beside the built-in roles,
-- which SCIM lists as groups too. Same text on both backends.
--
-- `name_key` is the trimmed, lowercased name, written by the store: a name is unique in its tenant without
-- case. `external_id` is the identity provider's id of the group, unique in its tenant when given.
CREATE TABLE scim_groups (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX scim_groups_name ON scim_groups (tenant_id, name_key);
CREATE UNIQUE INDEX scim_groups_external_id ON scim_groups (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- A group's members: live users of its tenant. Deleting a user deletes its rows here (in the store, as
-- users are deleted by status, not by row); deleting a group deletes them by the cascade.
CREATE TABLE scim_group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members (user_id);
