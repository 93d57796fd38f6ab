//! Bodies of the admin REST API under `/admin/v1`.

use serde::{Deserialize, Serialize};

/// One page of a cursor-paginated list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProgrammer {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programmer {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub programmer_id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    pub level: String,
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    pub platforms: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    /// Absolute URIs of the APIs its tokens are for (`aud`); at most 10. When empty,
    /// tokens carry the deployment's default audience (the issuer unless configured).
    #[serde(default)]
    pub audiences: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub programmer_id: String,
    pub name: String,
    pub version: String,
    pub level: String,
    /// The chosen channels; empty for a programmer-level application that covers all.
    pub channels: Vec<String>,
    pub platforms: Vec<String>,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    pub custom_scheme: String,
    #[serde(default)]
    pub audiences: Vec<String>,
    pub status: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// `201` answer of `POST /applications/{app_id}/software-statements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedStatement {
    pub jti: String,
    pub software_statement: String,
}

/// A software statement as listed (the JWS itself is shown only once, at issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftwareStatement {
    pub jti: String,
    pub application_id: String,
    pub kid: String,
    pub status: String,
    pub issued_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// A registered client as the admin API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub application_id: String,
    pub programmer_id: String,
    pub software_statement_jti: String,
    pub redirect_uris: Vec<String>,
    pub platform: String,
    pub device_info: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub status: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// A signing key as `GET /admin/v1/keys` lists it (never the private half).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    /// `next`, `active` or `retired`.
    pub state: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
}

/// `POST /admin/v1/programmers/{pid}/users`: a dashboard user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    /// At least 12 characters; stored only as an Argon2id hash.
    pub password: String,
    /// `programmer-admin` or `channel-admin`.
    pub role: String,
    /// The channel of a `channel-admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A dashboard user (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: String,
    pub programmer_id: String,
    #[serde(default)]
    pub channel: Option<String>,
    pub created_at: i64,
    #[serde(default)]
    pub disabled_at: Option<i64>,
}

/// One event of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    /// Seconds since the epoch.
    pub at: i64,
    /// `api-key:<id>`, `user:<email>`, `statement:<jti>` (a registering device) or `system`.
    pub actor: String,
    pub role: String,
    #[serde(default)]
    pub programmer_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    #[serde(default)]
    pub source_ip: Option<String>,
}

/// `GET /admin/v1/applications/{app_id}/usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationUsage {
    /// Clients ever registered.
    pub clients: u64,
    /// Of those, the ones that can still get tokens (neither they, their statement
    /// nor the application revoked).
    pub active_clients: u64,
    /// Access tokens issued (counted in memory, stored every 5 s).
    pub tokens_issued: u64,
}
