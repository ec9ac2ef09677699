-- The change feed that keeps every node's search index fresh. Each transaction that writes users takes the
-- next number from change_feed (locking its one row until commit, so numbers are taken in commit order) and
-- stamps it on every users row it writes. A node's index catches up by reading the users rows after the
-- last (change_seq, id) it applied.

CREATE TABLE change_feed (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO change_feed (id, seq) VALUES (1, 0);

ALTER TABLE users ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_change_seq ON users (change_seq, id);
