-- Users without an email (issue #16): SCIM makes `emails` optional, and identity providers push service
-- accounts and people who have no address yet. Such a user keeps '' in `users.email` (the column stays NOT
-- NULL TEXT on both backends: SQLite cannot drop a NOT NULL without rebuilding the table), and the unique
-- index of live emails skips '', so that any number of users without an email live side by side.
DROP INDEX users_email_live;
CREATE UNIQUE INDEX users_email_live ON users (tenant_id, email) WHERE status <> 'DELETED' AND email <> '';
