-- Credentials bound to the install (docs/api.md, Binding credentials to the install):
-- how each client authenticates and the public key it registered; when it last
-- presented a DPoP proof (what a `require` policy would cut off); per application,
-- how strictly keys and DPoP are asked for, per platform, and the client attesters it
-- trusts; the proofs already used (jti), so a proof used on one node is refused on
-- every other. That table is UNLOGGED: a proof lives a minute, and after a crash the
-- freshness window is all that would be lost.
ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'client_secret';
ALTER TABLE clients ADD COLUMN jwk TEXT;
ALTER TABLE clients ADD COLUMN jkt TEXT;
ALTER TABLE clients ADD COLUMN dpop_seen_at BIGINT;
ALTER TABLE applications ADD COLUMN bound_credentials TEXT NOT NULL DEFAULT '{"default":"off"}';
ALTER TABLE applications ADD COLUMN client_attesters TEXT NOT NULL DEFAULT '[]';
CREATE UNLOGGED TABLE seen_jtis (
    kind       TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, jti)
);
CREATE INDEX seen_jtis_by_expiry ON seen_jtis (expires_at);
