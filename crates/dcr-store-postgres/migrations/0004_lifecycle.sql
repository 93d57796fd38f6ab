-- Client lifecycle at scale: registration quotas, activity rollups, bulk revocation
-- and inactivity expiry.

-- What a rollup groups clients by, copied from their device info at registration.
ALTER TABLE clients ADD COLUMN os_name TEXT;
ALTER TABLE clients ADD COLUMN model TEXT;
-- The later of registration and last use: what inactivity is measured from.
ALTER TABLE clients ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE clients SET last_seen_at = COALESCE(last_used_at, created_at);
CREATE INDEX clients_by_statement ON clients (statement_jti, status);
CREATE INDEX clients_by_registration ON clients (application_id, created_at);
CREATE INDEX clients_by_last_seen ON clients (application_id, status, last_seen_at);

-- Registrations per hour, per statement and per application: quotas and spikes.
CREATE TABLE registration_counts (
    scope TEXT    NOT NULL CHECK (scope IN ('statement', 'application')),
    id    TEXT    NOT NULL,
    hour  BIGINT NOT NULL, -- Unix seconds / 3600
    n     BIGINT NOT NULL,
    PRIMARY KEY (scope, id, hour)
);

-- Registrations and tokens per day, per statement (an application's are the sum).
CREATE TABLE daily_activity (
    application_id TEXT    NOT NULL,
    statement_jti  TEXT    NOT NULL,
    day            BIGINT NOT NULL, -- Unix seconds / 86400
    registrations  BIGINT NOT NULL DEFAULT 0,
    tokens         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (application_id, statement_jti, day)
);

-- Clients that stand (not revoked or expired, nor cut off through their statement or
-- application), per application, by platform, OS and model.
CREATE TABLE client_breakdown (
    application_id TEXT    NOT NULL,
    dimension      TEXT    NOT NULL CHECK (dimension IN ('platform', 'os', 'model')),
    value          TEXT    NOT NULL,
    active         BIGINT NOT NULL,
    PRIMARY KEY (application_id, dimension, value)
);
INSERT INTO client_breakdown (application_id, dimension, value, active)
    SELECT c.application_id, 'platform', c.platform, COUNT(*) FROM clients c
    JOIN software_statements s ON s.jti = c.statement_jti
    JOIN applications a ON a.id = c.application_id
    WHERE c.status = 'active' AND s.status = 'active' AND a.status = 'active'
    GROUP BY c.application_id, c.platform;

-- A registration spike is audited once per statement per day.
CREATE TABLE spike_alerts (
    statement_jti TEXT    NOT NULL,
    day           BIGINT NOT NULL,
    PRIMARY KEY (statement_jti, day)
);

-- One node at a time runs the inactivity sweep: it holds this lease while it does.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at BIGINT NOT NULL
);
