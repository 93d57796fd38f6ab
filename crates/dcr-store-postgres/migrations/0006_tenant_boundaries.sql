-- Tenant boundaries (docs/security.md, Tenant isolation):
-- * channel ids and user emails are unique per programmer, not per deployment, so a
--   tenant can neither learn nor block another tenant's names;
-- * an audience URI has one owner (`audiences`): claimed by the first application
--   naming it, or assigned by an operator. Audiences several programmers already
--   named before this migration are recorded as contested (no owner, the claimants
--   listed) and keep working until an operator resolves them.
ALTER TABLE channels DROP CONSTRAINT channels_id_key CASCADE;
ALTER TABLE channels ADD CONSTRAINT channels_programmer_id_id_key UNIQUE (programmer_id, id);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_channel_fkey
    FOREIGN KEY (programmer_id, channel_id) REFERENCES channels (programmer_id, id);

ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_programmer_id_email_key UNIQUE (programmer_id, email);
ALTER TABLE users ADD CONSTRAINT users_channel_fkey
    FOREIGN KEY (programmer_id, channel_id) REFERENCES channels (programmer_id, id);
CREATE INDEX users_by_email ON users (email, seq);

CREATE TABLE audiences (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audience      TEXT    NOT NULL UNIQUE,
    -- NULL while contested: several programmers named it before owners existed
    -- (they are in audience_claims).
    programmer_id TEXT    REFERENCES programmers (id),
    -- 'claimed' (by its first application), 'assigned' (by an operator) or 'contested'.
    how           TEXT    NOT NULL CHECK (how IN ('claimed', 'assigned', 'contested')),
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX audiences_by_programmer ON audiences (programmer_id, seq);
CREATE TABLE audience_claims (
    audience      TEXT    NOT NULL REFERENCES audiences (audience),
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    PRIMARY KEY (audience, programmer_id)
);
CREATE INDEX audience_claims_by_programmer ON audience_claims (programmer_id);
CREATE TEMPORARY TABLE named_audiences ON COMMIT DROP AS
    SELECT DISTINCT json_array_elements_text(a.audiences::json) AS audience, a.programmer_id
    FROM applications a;
INSERT INTO audiences (audience, programmer_id, how, updated_at)
    SELECT audience,
           CASE WHEN COUNT(*) = 1 THEN MIN(programmer_id) END,
           CASE WHEN COUNT(*) = 1 THEN 'claimed' ELSE 'contested' END,
           EXTRACT(EPOCH FROM now())::bigint
    FROM named_audiences GROUP BY audience ORDER BY audience;
-- Claims are kept only for contested audiences: the others have their owner.
INSERT INTO audience_claims (audience, programmer_id)
    SELECT n.audience, n.programmer_id FROM named_audiences n
    JOIN audiences a ON a.audience = n.audience AND a.how = 'contested';
-- Access tokens revoked one by one (RFC 7009) past what a node keeps in memory are
-- looked up by their jti.
CREATE INDEX revocations_by_target ON revocations (target);
