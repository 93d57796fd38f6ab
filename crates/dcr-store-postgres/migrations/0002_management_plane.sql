-- Dashboard users and sessions, the append-only audit log, per-application token
-- counts, and where each registration came from.
ALTER TABLE clients ADD COLUMN source_ip TEXT;

CREATE TABLE users (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('programmer-admin', 'channel-admin')),
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    channel_id    TEXT    REFERENCES channels (id),
    created_at    BIGINT  NOT NULL,
    disabled_at   BIGINT
);
CREATE INDEX users_by_programmer ON users (programmer_id, seq);

CREATE TABLE sessions (
    token_hash BYTEA   PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    csrf_token TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE audit_events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT  NOT NULL,
    actor         TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    programmer_id TEXT,
    action        TEXT    NOT NULL,
    target_kind   TEXT    NOT NULL,
    target_id     TEXT    NOT NULL,
    source_ip     TEXT
);
CREATE INDEX audit_by_programmer ON audit_events (programmer_id, seq);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE application_usage (
    application_id TEXT   PRIMARY KEY REFERENCES applications (id),
    tokens_issued  BIGINT NOT NULL
);
