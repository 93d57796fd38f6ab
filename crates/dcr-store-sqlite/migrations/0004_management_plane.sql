-- Dashboard users and sessions, the append-only audit log, per-application token
-- counts, and where each registration came from.
ALTER TABLE clients ADD COLUMN source_ip TEXT;

CREATE TABLE users (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('programmer-admin', 'channel-admin')),
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    channel_id    TEXT    REFERENCES channels (id),
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);
CREATE INDEX users_by_programmer ON users (programmer_id, seq);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    programmer_id TEXT,
    action        TEXT    NOT NULL,
    target_kind   TEXT    NOT NULL,
    target_id     TEXT    NOT NULL,
    source_ip     TEXT
);
CREATE INDEX audit_by_programmer ON audit_events (programmer_id, seq);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE application_usage (
    application_id TEXT    PRIMARY KEY REFERENCES applications (id),
    tokens_issued  INTEGER NOT NULL
);
