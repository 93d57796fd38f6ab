-- dcr schema, PostgreSQL. Timestamps are Unix seconds. `seq` orders lists and backs cursors.

CREATE TABLE programmers (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE channels (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    name          TEXT    NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX channels_by_programmer ON channels (programmer_id, seq);

CREATE TABLE applications (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    name          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    level         TEXT    NOT NULL CHECK (level IN ('programmer', 'channel')),
    channels      TEXT    NOT NULL, -- JSON array of channel ids
    platforms     TEXT    NOT NULL, -- JSON array
    scopes        TEXT    NOT NULL, -- JSON array
    domains       TEXT    NOT NULL, -- JSON array
    custom_scheme TEXT    NOT NULL UNIQUE,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX applications_by_programmer ON applications (programmer_id, seq);

CREATE TABLE software_statements (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    jti            TEXT    NOT NULL UNIQUE,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    programmer_id  TEXT    NOT NULL REFERENCES programmers (id),
    kid            TEXT    NOT NULL,
    issued_at      BIGINT NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    revoked_at     BIGINT
);
CREATE INDEX statements_by_application ON software_statements (application_id, seq);

CREATE TABLE clients (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    programmer_id  TEXT    NOT NULL REFERENCES programmers (id),
    statement_jti  TEXT    NOT NULL REFERENCES software_statements (jti),
    secret_hash    BYTEA    NOT NULL,
    redirect_uris  TEXT    NOT NULL, -- JSON array
    device_info    TEXT    NOT NULL, -- JSON object, normalised
    platform       TEXT    NOT NULL,
    user_agent     TEXT,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    revoked_at     BIGINT
);
CREATE INDEX clients_by_application ON clients (application_id, seq);

CREATE TABLE api_keys (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    key_hash      BYTEA    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    programmer_id TEXT    REFERENCES programmers (id),
    channel_id    TEXT    REFERENCES channels (id),
    name          TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE signing_keys (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid                TEXT    NOT NULL UNIQUE,
    alg                TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    sealed_private_key BYTEA    NOT NULL,
    public_jwk         TEXT    NOT NULL,
    created_at         BIGINT NOT NULL
);

-- Append-only log of revocations; the revocation feed reads it by seq.
CREATE TABLE revocations (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('client', 'statement', 'application')),
    target        TEXT    NOT NULL,
    programmer_id TEXT    NOT NULL,
    revoked_at    BIGINT NOT NULL
);

-- Revocations take this row's lock before they append to the log, so log entries
-- commit in `seq` order and a feed cursor can never skip one that commits late.
CREATE TABLE revocation_order (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    n        BIGINT  NOT NULL
);
INSERT INTO revocation_order (n) VALUES (0);

ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
