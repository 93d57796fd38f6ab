-- Credentials bound to the install (docs/api.md, Binding credentials to the install):
-- how each client authenticates and the public key it registered; when it last
-- presented a DPoP proof (what a `require` policy would cut off); per application,
-- how strictly keys and DPoP are asked for, per platform, and the client attesters it
-- trusts; the proofs already used (jti), for single use across the nodes of a shared
-- store (one SQLite process keeps them in memory; the table is there for the schema's
-- sake).
ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'client_secret';
ALTER TABLE clients ADD COLUMN jwk TEXT;
ALTER TABLE clients ADD COLUMN jkt TEXT;
ALTER TABLE clients ADD COLUMN dpop_seen_at INTEGER;
ALTER TABLE applications ADD COLUMN bound_credentials TEXT NOT NULL DEFAULT '{"default":"off"}';
ALTER TABLE applications ADD COLUMN client_attesters TEXT NOT NULL DEFAULT '[]';
CREATE TABLE seen_jtis (
    kind       TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, jti)
);
CREATE INDEX seen_jtis_by_expiry ON seen_jtis (expires_at);
