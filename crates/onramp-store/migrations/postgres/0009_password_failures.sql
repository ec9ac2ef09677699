-- A local user's run of wrong passwords: how many guesses in a row were wrong (a guess counts from before its
-- password is checked until it is found right), and when the last was made. The application makes each guess
-- past the first few wait longer; a right password deletes the row. Kept in the database so that every node
-- sees the same count.
CREATE TABLE password_failures (
    user_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
