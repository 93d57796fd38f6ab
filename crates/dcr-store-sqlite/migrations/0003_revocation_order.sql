-- Revocations take this row's lock before they append to the log (as on PostgreSQL,
-- where it matters; SQLite has one writer anyway), so both stores share one query set.
CREATE TABLE revocation_order (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    n        INTEGER NOT NULL
);
INSERT INTO revocation_order (only_row, n) VALUES (1, 0);
