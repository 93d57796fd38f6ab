//! The column lists and the shared `SELECT` of the SQL store, in plain Rust where
//! rustfmt and rust-analyzer see them; [`sql_store!`](crate::sql_store) uses them in
//! the queries it builds (`format!("SELECT {APP_COLUMNS} FROM applications ...")`).

pub const APP_COLUMNS: &str = "seq, id, programmer_id, name, version, level, channels, platforms, \
     scopes, domains, custom_scheme, audiences, max_registrations_per_hour_per_statement, \
     max_registrations_per_hour, expire_inactive_after_days, status, created_at, revoked_at, \
     revoked_by";
pub const STATEMENT_COLUMNS: &str = "seq, jti, application_id, programmer_id, kid, issued_at, \
     status, revoked_at, revoked_by, retired_at, retired_by, successor";
pub const API_KEY_COLUMNS: &str =
    "seq, id, key_hash, role, programmer_id, channel_id, name, created_at, revoked_at";
pub const CLIENT_COLUMNS: &str = "seq, id, application_id, programmer_id, statement_jti, secret_hash, \
     redirect_uris, device_info, platform, user_agent, source_ip, status, created_at, last_used_at, \
     revoked_at, revoked_via, revoked_by, registration_token_hash, os_name, model, tokens_issued";
/// A client with its statement's and application's standing; `WHERE` follows.
pub const STANDING_SELECT: &str = "SELECT c.seq, c.id, c.application_id, c.programmer_id, \
     c.statement_jti, c.secret_hash, c.redirect_uris, c.device_info, c.platform, c.user_agent, \
     c.source_ip, c.status, c.created_at, c.last_used_at, c.revoked_at, c.revoked_via, \
     c.revoked_by, c.registration_token_hash, c.os_name, c.model, c.tokens_issued, \
     s.status AS statement_status, s.revoked_at AS statement_revoked_at, \
     a.seq AS app_seq, a.id AS app_id, a.programmer_id AS app_programmer_id, \
     a.name AS app_name, a.version AS app_version, a.level AS app_level, \
     a.channels AS app_channels, a.platforms AS app_platforms, a.scopes AS app_scopes, \
     a.domains AS app_domains, a.custom_scheme AS app_custom_scheme, \
     a.audiences AS app_audiences, \
     a.max_registrations_per_hour_per_statement AS app_max_registrations_per_hour_per_statement, \
     a.max_registrations_per_hour AS app_max_registrations_per_hour, \
     a.expire_inactive_after_days AS app_expire_inactive_after_days, \
     a.status AS app_status, a.created_at AS app_created_at, \
     a.revoked_at AS app_revoked_at, a.revoked_by AS app_revoked_by \
     FROM clients c \
     JOIN software_statements s ON s.jti = c.statement_jti \
     JOIN applications a ON a.id = c.application_id";

pub const USER_COLUMNS: &str =
    "seq, id, email, password_hash, role, programmer_id, channel_id, created_at, disabled_at";
pub const AUDIT_COLUMNS: &str =
    "seq, at, actor, role, programmer_id, action, target_kind, target_id, source_ip";
