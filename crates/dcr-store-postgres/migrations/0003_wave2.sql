-- Wave 2: audiences and lifecycle policy per application, retired statements, RFC 7592
-- registration access tokens, why a client was revoked and by whom, and access tokens
-- revoked one by one (RFC 7009) in the revocation log.
ALTER TABLE applications ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]'; -- JSON array
ALTER TABLE applications ADD COLUMN max_registrations_per_hour_per_statement BIGINT;
ALTER TABLE applications ADD COLUMN max_registrations_per_hour BIGINT;
ALTER TABLE applications ADD COLUMN expire_inactive_after_days BIGINT;
ALTER TABLE applications ADD COLUMN revoked_by TEXT;

-- A retired statement registers no new clients; those it made keep working.
ALTER TABLE software_statements ADD COLUMN retired_at BIGINT;
ALTER TABLE software_statements ADD COLUMN retired_by TEXT;
ALTER TABLE software_statements ADD COLUMN revoked_by TEXT;
-- The statement a rotation issued in this one's place.
ALTER TABLE software_statements ADD COLUMN successor TEXT;

ALTER TABLE clients ADD COLUMN registration_token_hash BYTEA;
-- client | bulk | inactivity | self: how the client itself was cut off.
ALTER TABLE clients ADD COLUMN revoked_via TEXT;
ALTER TABLE clients ADD COLUMN revoked_by TEXT;

ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check
    CHECK (kind IN ('client', 'statement', 'application', 'token'));
CREATE INDEX revocations_by_time ON revocations (revoked_at);
