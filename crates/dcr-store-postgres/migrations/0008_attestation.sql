-- Platform attestation at registration (docs/api.md, Attested installs): per
-- application, how strictly an attestation is asked for, per platform, and what it
-- accepts from App Attest and Key Attestation; per client, the verdict on the
-- attestation it registered with (JSON), when it sent one.
ALTER TABLE applications ADD COLUMN attestation_policy TEXT NOT NULL DEFAULT '{"default":"off"}';
ALTER TABLE applications ADD COLUMN attestation_settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN attestation TEXT;
