-- The operations console: tokens issued per client, added at each token-count flush
-- (the client page).
ALTER TABLE clients ADD COLUMN tokens_issued BIGINT NOT NULL DEFAULT 0;
