-- no-transaction
-- Tenant boundaries (docs/security.md, Tenant isolation):
-- * channel ids and user emails are unique per programmer, not per deployment, so a
--   tenant can neither learn nor block another tenant's names;
-- * an audience URI has one owner (`audiences`): claimed by the first application
--   naming it, or assigned by an operator. Audiences several programmers already
--   named before this migration are recorded as contested (no owner, the claimants
--   listed) and keep working until an operator resolves them.
--
-- SQLite cannot change a UNIQUE constraint in place: `channels`, and the two tables
-- whose foreign keys name a channel (`api_keys`, `users`), are rebuilt (SQLite's
-- documented 12-step procedure). Foreign keys are off while the tables are swapped, so
-- this migration runs outside sqlx's transaction and opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE channels_new (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL,
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    name          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (programmer_id, id)
);
INSERT INTO channels_new (seq, id, programmer_id, name, created_at)
    SELECT seq, id, programmer_id, name, created_at FROM channels;
DROP TABLE channels;
ALTER TABLE channels_new RENAME TO channels;
CREATE INDEX channels_by_programmer ON channels (programmer_id, seq);

CREATE TABLE api_keys_new (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    key_hash      BLOB    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    programmer_id TEXT    REFERENCES programmers (id),
    channel_id    TEXT,
    name          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    FOREIGN KEY (programmer_id, channel_id) REFERENCES channels (programmer_id, id)
);
INSERT INTO api_keys_new (seq, id, key_hash, role, programmer_id, channel_id, name,
                          created_at, revoked_at)
    SELECT seq, id, key_hash, role, programmer_id, channel_id, name, created_at, revoked_at
    FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;

CREATE TABLE users_new (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('programmer-admin', 'channel-admin')),
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    channel_id    TEXT,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER,
    UNIQUE (programmer_id, email),
    FOREIGN KEY (programmer_id, channel_id) REFERENCES channels (programmer_id, id)
);
INSERT INTO users_new (seq, id, email, password_hash, role, programmer_id, channel_id,
                       created_at, disabled_at)
    SELECT seq, id, email, password_hash, role, programmer_id, channel_id, created_at,
           disabled_at
    FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_by_programmer ON users (programmer_id, seq);
CREATE INDEX users_by_email ON users (email, seq);

CREATE TABLE audiences (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    audience      TEXT    NOT NULL UNIQUE,
    -- NULL while contested: several programmers named it before owners existed
    -- (they are in audience_claims).
    programmer_id TEXT    REFERENCES programmers (id),
    -- 'claimed' (by its first application), 'assigned' (by an operator) or 'contested'.
    how           TEXT    NOT NULL CHECK (how IN ('claimed', 'assigned', 'contested')),
    updated_at    INTEGER NOT NULL
);
CREATE INDEX audiences_by_programmer ON audiences (programmer_id, seq);
CREATE TABLE audience_claims (
    audience      TEXT    NOT NULL REFERENCES audiences (audience),
    programmer_id TEXT    NOT NULL REFERENCES programmers (id),
    PRIMARY KEY (audience, programmer_id)
);
CREATE INDEX audience_claims_by_programmer ON audience_claims (programmer_id);
INSERT INTO audience_claims (audience, programmer_id)
    SELECT DISTINCT aud.value, a.programmer_id
    FROM applications a, json_each(a.audiences) aud;
INSERT INTO audiences (audience, programmer_id, how, updated_at)
    SELECT audience,
           CASE WHEN COUNT(*) = 1 THEN MIN(programmer_id) END,
           CASE WHEN COUNT(*) = 1 THEN 'claimed' ELSE 'contested' END,
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM audience_claims GROUP BY audience ORDER BY audience;
-- Claims are kept only for contested audiences: the others have their owner.
DELETE FROM audience_claims
    WHERE audience IN (SELECT audience FROM audiences WHERE how = 'claimed');

-- Access tokens revoked one by one (RFC 7009) past what a node keeps in memory are
-- looked up by their jti.
CREATE INDEX revocations_by_target ON revocations (target);

PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
