-- Key rotation: when a key stopped signing. Retired keys stay published while tokens
-- they signed can be live, and keep verifying the statements they signed.
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
