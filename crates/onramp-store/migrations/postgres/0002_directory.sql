-- The directory: the rest of the ConductorOne user object, managers and directory memberships.

ALTER TABLE users ADD COLUMN directory_status TEXT NOT NULL DEFAULT 'ENABLED';
ALTER TABLE users ADD COLUMN department TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN employment_status TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN employment_type TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN delegated_user_id TEXT REFERENCES users (id);
-- JSON arrays of strings; the primary email is also in users.email.
ALTER TABLE users ADD COLUMN emails_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN usernames_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN employee_ids_json TEXT NOT NULL DEFAULT '[]';
-- A JSON object (protobuf Struct).
ALTER TABLE users ADD COLUMN profile_json TEXT NOT NULL DEFAULT '{}';
-- The nine provenance lists, as one JSON object keyed by their wire names.
ALTER TABLE users ADD COLUMN sources_json TEXT NOT NULL DEFAULT '{}';

-- Lets other tables reference a user together with its tenant, so a reference cannot cross tenants.
CREATE UNIQUE INDEX users_tenant_and_id ON users (tenant_id, id);
-- It makes the plain index of 0001 on the same columns redundant.
DROP INDEX users_tenant_id;

CREATE TABLE user_managers (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (user_id, manager_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, manager_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX user_managers_manager_id ON user_managers (manager_id);

CREATE TABLE user_directories (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    directory_id TEXT NOT NULL,
    PRIMARY KEY (user_id, directory_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
