//! Every SQL text of the store, as named constants in plain Rust where rustfmt,
//! rust-analyzer and grep see them. One text serves both backends: `$N` placeholders
//! (SQLite accepts them too) and portable SQL; what really differs per database is in
//! [`Dialect`](crate::Dialect). [`SqlStore`](crate::SqlStore) runs them
//! (`Query::new(sql::SELECT_PROGRAMMER).bind(..)`). What cannot be a constant is
//! assembled there with [`Query::push_bind`](crate::Query::push_bind), every value
//! bound: the admin's client filters, and batches whose length is known only at run
//! time (`IN (...)` lists, multi-row `VALUES`).
//!
//! Queries that compose a column list are joined at compile time (`concatcp!`), so a
//! request never formats a query string.

use const_format::concatcp;

// Column lists (the decoders in `decode.rs` read these names).

pub const APP_COLUMNS: &str = "seq, id, programmer_id, name, version, level, channels, platforms, \
     scopes, domains, custom_scheme, audiences, max_registrations_per_hour_per_statement, \
     max_registrations_per_hour, expire_inactive_after_days, bound_credentials, client_attesters, \
     attestation_policy, attestation_settings, status, created_at, revoked_at, revoked_by";
pub const STATEMENT_COLUMNS: &str = "seq, jti, application_id, programmer_id, kid, issued_at, \
     status, revoked_at, revoked_by, retired_at, retired_by, successor";
pub const API_KEY_COLUMNS: &str =
    "seq, id, key_hash, role, programmer_id, channel_id, name, created_at, revoked_at";
pub const CLIENT_COLUMNS: &str = "seq, id, application_id, programmer_id, statement_jti, secret_hash, \
     redirect_uris, device_info, platform, user_agent, source_ip, status, created_at, last_used_at, \
     revoked_at, revoked_via, revoked_by, registration_token_hash, os_name, model, tokens_issued, \
     auth_method, jwk, jkt, dpop_seen_at, attestation";
/// A client with its statement's and application's standing; `WHERE` follows.
pub const STANDING_SELECT: &str = "SELECT c.seq, c.id, c.application_id, c.programmer_id, \
     c.statement_jti, c.secret_hash, c.redirect_uris, c.device_info, c.platform, c.user_agent, \
     c.source_ip, c.status, c.created_at, c.last_used_at, c.revoked_at, c.revoked_via, \
     c.revoked_by, c.registration_token_hash, c.os_name, c.model, c.tokens_issued, \
     c.auth_method, c.jwk, c.jkt, c.dpop_seen_at, c.attestation, \
     s.status AS statement_status, s.revoked_at AS statement_revoked_at, \
     a.seq AS app_seq, a.id AS app_id, a.programmer_id AS app_programmer_id, \
     a.name AS app_name, a.version AS app_version, a.level AS app_level, \
     a.channels AS app_channels, a.platforms AS app_platforms, a.scopes AS app_scopes, \
     a.domains AS app_domains, a.custom_scheme AS app_custom_scheme, \
     a.audiences AS app_audiences, \
     a.max_registrations_per_hour_per_statement AS app_max_registrations_per_hour_per_statement, \
     a.max_registrations_per_hour AS app_max_registrations_per_hour, \
     a.expire_inactive_after_days AS app_expire_inactive_after_days, \
     a.bound_credentials AS app_bound_credentials, a.client_attesters AS app_client_attesters, \
     a.attestation_policy AS app_attestation_policy, \
     a.attestation_settings AS app_attestation_settings, \
     a.status AS app_status, a.created_at AS app_created_at, \
     a.revoked_at AS app_revoked_at, a.revoked_by AS app_revoked_by \
     FROM clients c \
     JOIN software_statements s ON s.jti = c.statement_jti \
     JOIN applications a ON a.id = c.application_id";

pub const USER_COLUMNS: &str =
    "seq, id, email, password_hash, role, programmer_id, channel_id, created_at, disabled_at";
pub const AUDIT_COLUMNS: &str =
    "seq, at, actor, role, programmer_id, action, target_kind, target_id, source_ip";

// Queries, in the order of the `Store` methods that run them.
pub const BUMP_REVOCATION_ORDER: &str = "UPDATE revocation_order SET n = n + 1";
pub const PING: &str = "SELECT 1";
pub const INSERT_PROGRAMMER: &str = "\
    INSERT INTO programmers (id, name, created_at) VALUES ($1, $2, $3)";
pub const SELECT_PROGRAMMER: &str = "\
    SELECT seq, id, name, created_at FROM programmers WHERE id = $1";
pub const LIST_PROGRAMMERS: &str = "\
    SELECT seq, id, name, created_at FROM programmers WHERE seq > $1 ORDER BY seq LIMIT $2";
pub const INSERT_CHANNEL: &str = "\
    INSERT INTO channels (id, programmer_id, name, created_at) VALUES ($1, $2, $3, $4)";
pub const SELECT_CHANNEL: &str = "\
    SELECT seq, id, programmer_id, name, created_at FROM channels \
    WHERE programmer_id = $1 AND id = $2";
pub const LIST_CHANNELS: &str = "\
    SELECT seq, id, programmer_id, name, created_at FROM channels \
    WHERE programmer_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
pub const INSERT_APPLICATION: &str = "\
    INSERT INTO applications (id, programmer_id, name, version, level, channels, \
    platforms, scopes, domains, custom_scheme, audiences, \
    max_registrations_per_hour_per_statement, max_registrations_per_hour, \
    expire_inactive_after_days, status, created_at, revoked_at, bound_credentials, client_attesters, \
    attestation_policy, attestation_settings) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
    $20, $21)";
pub const LIST_APPLICATIONS: &str = concatcp!(
    "SELECT ",
    APP_COLUMNS,
    " FROM applications \
        WHERE programmer_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
);
pub const INSERT_STATEMENT: &str = "\
    INSERT INTO software_statements (jti, application_id, programmer_id, kid, issued_at, \
    status, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const SELECT_STATEMENT: &str = concatcp!(
    "SELECT ",
    STATEMENT_COLUMNS,
    " FROM software_statements WHERE jti = $1"
);
pub const LIST_STATEMENTS: &str = concatcp!(
    "SELECT ",
    STATEMENT_COLUMNS,
    " FROM software_statements \
        WHERE application_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
);
pub const SELECT_CLIENT_STANDING: &str = concatcp!(STANDING_SELECT, " WHERE c.id = $1");
pub const COUNT_REGISTRATION_WITHIN_QUOTA: &str = "\
    INSERT INTO registration_counts (scope, id, hour, n) VALUES ($1, $2, $3, 1) \
    ON CONFLICT (scope, id, hour) DO UPDATE SET n = registration_counts.n + 1 \
    WHERE registration_counts.n < $4 RETURNING n";
pub const LIST_CLIENTS: &str = concatcp!(
    STANDING_SELECT,
    " WHERE c.application_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3"
);
pub const LIST_CLIENTS_NEWEST: &str = concatcp!(
    STANDING_SELECT,
    " WHERE c.application_id = $1 AND ($2 = 0 OR c.seq < $2) \
        ORDER BY c.seq DESC LIMIT $3"
);
pub const APPLICATIONS_EXPIRING_INACTIVE: &str = "\
    SELECT id, expire_inactive_after_days FROM applications \
    WHERE status = 'active' AND expire_inactive_after_days IS NOT NULL ORDER BY seq";
pub const TRY_LEASE: &str = "\
    INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
    WHERE leases.holder = excluded.holder OR leases.expires_at < $4 RETURNING holder";
pub const RELEASE_LEASE: &str = "DELETE FROM leases WHERE name = $1 AND holder = $2";
pub const RECORD_SPIKE: &str = "\
    INSERT INTO spike_alerts (statement_jti, day) VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub const APPLICATIONS_REGISTERING: &str = "\
    SELECT DISTINCT s.application_id FROM registration_counts r \
    JOIN software_statements s ON s.jti = r.id \
    WHERE r.scope = 'statement' AND r.hour = $1 AND r.n > $2";
pub const DAILY_ACTIVITY: &str = "\
    SELECT statement_jti, day, registrations, tokens FROM daily_activity \
    WHERE application_id = $1 AND day >= $2 ORDER BY day";
pub const HOURLY_REGISTRATIONS: &str = "\
    SELECT r.id, r.hour, r.n FROM registration_counts r \
    JOIN software_statements s ON s.jti = r.id \
    WHERE r.scope = 'statement' AND s.application_id = $1 AND r.hour >= $2";
pub const CLIENT_BREAKDOWN: &str = "\
    SELECT dimension, value, active FROM client_breakdown \
    WHERE application_id = $1 AND active > 0 ORDER BY dimension, active DESC, value";
pub const TOUCH_CLIENT: &str = "\
    UPDATE clients SET last_used_at = $1, last_seen_at = $1 WHERE id = $2";
pub const SET_APPLICATION_POLICY: &str = "\
    UPDATE applications SET max_registrations_per_hour_per_statement = $1, \
    max_registrations_per_hour = $2, expire_inactive_after_days = $3, bound_credentials = $4, \
    attestation_policy = $5 WHERE id = $6";
pub const INSERT_API_KEY: &str = "\
    INSERT INTO api_keys (id, key_hash, role, programmer_id, channel_id, name, \
    created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const SELECT_API_KEY_BY_HASH: &str = concatcp!(
    "SELECT ",
    API_KEY_COLUMNS,
    " FROM api_keys WHERE key_hash = $1"
);
pub const COUNT_API_KEYS: &str = "SELECT COUNT(*) AS n FROM api_keys";
pub const LIST_API_KEYS: &str = concatcp!(
    "SELECT ",
    API_KEY_COLUMNS,
    " FROM api_keys \
        WHERE (CAST($1 AS TEXT) IS NULL OR programmer_id = $1) AND seq > $2 ORDER BY seq LIMIT $3"
);
pub const REVOKE_API_KEY: &str = "\
    UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
pub const REVOCATIONS_SINCE: &str = "\
    SELECT seq, kind, target, programmer_id, revoked_at FROM revocations \
    WHERE seq > $1 AND revoked_at >= $2 AND ($3 IS NULL OR programmer_id = $3) \
    ORDER BY seq LIMIT $4";
pub const CHANNEL_DIRECTORY: &str = "\
    SELECT seq, id, programmer_id, name, created_at FROM channels \
    WHERE (CAST($1 AS TEXT) IS NULL OR programmer_id = $1) ORDER BY seq";
pub const LIST_AUDIT: &str = concatcp!(
    "SELECT ",
    AUDIT_COLUMNS,
    " FROM audit_events \
        WHERE ($1 = 0 OR seq < $1) \
        AND ($2 IS NULL OR programmer_id = $2) AND ($3 IS NULL OR actor = $3) \
        AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR target_id = $5) \
        AND ($6 IS NULL OR at >= $6) AND ($7 IS NULL OR at <= $7) \
        AND ($9 = 0 OR role <> 'device') \
        ORDER BY seq DESC LIMIT $8"
);
pub const INSERT_USER: &str = "\
    INSERT INTO users (id, email, password_hash, role, programmer_id, channel_id, \
    created_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const LIST_USERS: &str = concatcp!(
    "SELECT ",
    USER_COLUMNS,
    " FROM users WHERE programmer_id = $1 AND seq > $2 \
        ORDER BY seq LIMIT $3"
);
pub const DISABLE_USER: &str = "\
    UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL";
pub const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
pub const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at < $1";
pub const INSERT_SESSION: &str = "\
    INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
    VALUES ($1, $2, $3, $4, $5)";
pub const SELECT_SESSION: &str = "\
    SELECT token_hash, user_id, csrf_token, created_at, expires_at FROM sessions \
    WHERE token_hash = $1";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";
pub const LIST_SIGNING_KEYS: &str = "\
    SELECT kid, alg, state, sealed_private_key, public_jwk, created_at, retired_at \
    FROM signing_keys ORDER BY seq";
pub const INSERT_SIGNING_KEY: &str = "\
    INSERT INTO signing_keys (kid, alg, state, sealed_private_key, public_jwk, \
    created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const COUNT_NEXT_SIGNING_KEYS: &str =
    "SELECT COUNT(*) AS n FROM signing_keys WHERE state = 'next'";
pub const RETIRE_ACTIVE_SIGNING_KEY: &str = "\
    UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE state = 'active'";
pub const PROMOTE_NEXT_SIGNING_KEY: &str = "\
    UPDATE signing_keys SET state = 'active' WHERE kid = \
    (SELECT kid FROM signing_keys WHERE state = 'next' ORDER BY seq LIMIT 1)";
pub const INSERT_NEXT_SIGNING_KEY: &str = "\
    INSERT INTO signing_keys (kid, alg, state, sealed_private_key, public_jwk, \
    created_at, retired_at) VALUES ($1, $2, 'next', $3, $4, $5, NULL)";
pub const RETIRE_NEXT_SIGNING_KEY: &str = "\
    UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE state = 'next'";
pub const STATEMENT_STATUS: &str = "SELECT status FROM software_statements WHERE jti = $1";
pub const RETIRE_STATEMENT: &str = "\
    UPDATE software_statements SET retired_at = COALESCE(retired_at, $1), \
    retired_by = COALESCE(retired_by, $2), successor = COALESCE($3, successor) WHERE jti = $4";
pub const TOKEN_REVOKED: &str = "\
    SELECT seq FROM revocations WHERE target = $1 AND kind = 'token' LIMIT 1";
pub const INSERT_REVOCATION: &str = "\
    INSERT INTO revocations (kind, target, programmer_id, revoked_at) VALUES ($1, $2, $3, $4)";
pub const INSERT_AUDIT_EVENT: &str = "\
    INSERT INTO audit_events (at, actor, role, programmer_id, action, target_kind, \
    target_id, source_ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

// Rows read back by key.
pub const SELECT_APPLICATION: &str =
    concatcp!("SELECT ", APP_COLUMNS, " FROM applications WHERE id = $1");
pub const SELECT_CLIENT: &str = concatcp!("SELECT ", CLIENT_COLUMNS, " FROM clients WHERE id = $1");
pub const STATEMENT_EXISTS: &str = "SELECT jti FROM software_statements WHERE jti = $1";
pub const SELECT_API_KEY: &str =
    concatcp!("SELECT ", API_KEY_COLUMNS, " FROM api_keys WHERE id = $1");
pub const SELECT_USER: &str = concatcp!("SELECT ", USER_COLUMNS, " FROM users WHERE id = $1");
/// Users with one email, one per programmer at most (bounded: a person in more
/// programmers than this signs in with `programmer` named).
pub const SELECT_USERS_BY_EMAIL: &str = concatcp!(
    "SELECT ",
    USER_COLUMNS,
    " FROM users WHERE email = $1 ORDER BY seq LIMIT 20"
);

// Revocations: flip the row if it is active (`$1` at, `$2` id, `$3` actor; a client
// also `$4`, how it was revoked).
pub const REVOKE_STATEMENT: &str = "\
    UPDATE software_statements SET status = 'revoked', revoked_at = $1, revoked_by = $3 \
    WHERE jti = $2 AND status = 'active'";
pub const REVOKE_APPLICATION: &str = "\
    UPDATE applications SET status = 'revoked', revoked_at = $1, revoked_by = $3 \
    WHERE id = $2 AND status = 'active'";
pub const REVOKE_CLIENT: &str = "\
    UPDATE clients SET status = 'revoked', revoked_at = $1, revoked_by = $3, revoked_via = $4 \
    WHERE id = $2 AND status = 'active'";

/// The standing clients a revocation cuts off, grouped by breakdown key: the
/// condition on `c` follows, then `STANDING_GROUP_BY`.
pub const STANDING_GROUPS: &str = "\
    SELECT c.application_id, c.platform, COALESCE(c.os_name, '') AS os, \
    COALESCE(c.model, '') AS model, COUNT(*) AS n \
    FROM clients c \
    JOIN software_statements s ON s.jti = c.statement_jti \
    JOIN applications a ON a.id = c.application_id \
    WHERE c.status = 'active' AND s.status = 'active' AND a.status = 'active' AND ";
pub const STANDING_GROUP_BY: &str =
    " GROUP BY c.application_id, c.platform, COALESCE(c.os_name, ''), COALESCE(c.model, '')";
pub const STANDING_GROUPS_OF_CLIENT: &str =
    concatcp!(STANDING_GROUPS, "c.id = $1", STANDING_GROUP_BY);
pub const STANDING_GROUPS_OF_STATEMENT: &str =
    concatcp!(STANDING_GROUPS, "c.statement_jti = $1", STANDING_GROUP_BY);
pub const STANDING_GROUPS_OF_APPLICATION: &str =
    concatcp!(STANDING_GROUPS, "c.application_id = $1", STANDING_GROUP_BY);

// Audiences: one owner each (`audiences`); the claimants of a contested one in
// `audience_claims`.
pub const AUDIENCE_COLUMNS: &str = "seq, audience, programmer_id, how, updated_at";
pub const CLAIM_AUDIENCE: &str = "\
    INSERT INTO audiences (audience, programmer_id, how, updated_at) \
    VALUES ($1, $2, 'claimed', $3) ON CONFLICT (audience) DO NOTHING";
pub const AUDIENCE_OWNER: &str = "SELECT programmer_id FROM audiences WHERE audience = $1";
pub const AUDIENCE_CLAIMED_BY: &str = "\
    SELECT programmer_id FROM audience_claims WHERE audience = $1 AND programmer_id = $2";
pub const SELECT_AUDIENCE: &str = concatcp!(
    "SELECT ",
    AUDIENCE_COLUMNS,
    " FROM audiences WHERE audience = $1"
);
/// `$1`: a programmer (owned, or claimed while contested) or NULL for all; `$2`: 1 for
/// contested ones only.
pub const LIST_AUDIENCES: &str = concatcp!(
    "SELECT ",
    AUDIENCE_COLUMNS,
    " FROM audiences WHERE (CAST($1 AS TEXT) IS NULL OR programmer_id = $1 \
        OR audience IN (SELECT audience FROM audience_claims WHERE programmer_id = $1)) \
        AND ($2 = 0 OR how = 'contested') AND seq > $3 ORDER BY seq LIMIT $4"
);
pub const AUDIENCE_CLAIMANTS: &str = "\
    SELECT audience, programmer_id FROM audience_claims WHERE audience = $1 ORDER BY programmer_id";
pub const ASSIGN_AUDIENCE: &str = "\
    INSERT INTO audiences (audience, programmer_id, how, updated_at) \
    VALUES ($1, $2, 'assigned', $3) ON CONFLICT (audience) DO UPDATE SET \
    programmer_id = excluded.programmer_id, how = 'assigned', updated_at = excluded.updated_at";
pub const DELETE_AUDIENCE_CLAIMS: &str = "DELETE FROM audience_claims WHERE audience = $1";
/// Other programmers' applications whose audience list may name one (`$2`: a `LIKE`
/// pattern around its JSON spelling; the caller keeps exact matches only).
pub const APPLICATIONS_NAMING_AUDIENCE: &str = "\
    SELECT id, programmer_id, audiences FROM applications \
    WHERE programmer_id <> $1 AND audiences LIKE $2 ORDER BY seq";
pub const SET_APPLICATION_AUDIENCES: &str = "UPDATE applications SET audiences = $1 WHERE id = $2";

// Proofs of possession used once, across nodes (`seen_jtis`).
pub const FORGET_SEEN_JTIS: &str = "DELETE FROM seen_jtis WHERE expires_at < $1";
pub const RECORD_SEEN_JTI: &str = "\
    INSERT INTO seen_jtis (kind, jti, expires_at) VALUES ($1, $2, $3) \
    ON CONFLICT (kind, jti) DO UPDATE SET expires_at = excluded.expires_at \
    WHERE seen_jtis.expires_at < $4 RETURNING kind";
pub const SET_APPLICATION_ATTESTERS: &str =
    "UPDATE applications SET client_attesters = $1 WHERE id = $2";
pub const SET_APPLICATION_ATTESTATION: &str =
    "UPDATE applications SET attestation_settings = $1 WHERE id = $2";
/// Standing clients of an application, on some platforms (`$2`, a JSON array; NULL for
/// all), that never presented a DPoP proof since `$3`.
pub const CLIENTS_WITHOUT_DPOP: &str = "\
    SELECT platform, COUNT(*) AS n FROM clients WHERE application_id = $1 AND status = 'active' \
    AND (dpop_seen_at IS NULL OR dpop_seen_at < $2) GROUP BY platform";
/// Standing clients of an application by platform and whether they hold a key.
pub const CLIENTS_BY_BINDING: &str = "\
    SELECT platform, auth_method, COUNT(*) AS n FROM clients \
    WHERE application_id = $1 AND status = 'active' GROUP BY platform, auth_method";
