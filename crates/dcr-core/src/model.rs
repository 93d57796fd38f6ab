//! Domain records. The store persists them as they are; rules about them live in
//! [`crate::service`].

use serde_json::Value;

use crate::ids::{ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId, UserId};

/// Lifecycle of applications, statements and clients: revocation is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programmer {
    pub id: ProgrammerId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub programmer_id: ProgrammerId,
    pub name: String,
    pub created_at: i64,
}

/// Whether an application belongs to its programmer (all or chosen channels) or to
/// exactly one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppLevel {
    Programmer,
    Channel,
}

impl AppLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Programmer => "programmer",
            Self::Channel => "channel",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "programmer" => Some(Self::Programmer),
            "channel" => Some(Self::Channel),
            _ => None,
        }
    }
}

/// A registered application. Immutable after creation except for its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: ApplicationId,
    pub programmer_id: ProgrammerId,
    pub name: String,
    pub version: String,
    pub level: AppLevel,
    /// Empty for a programmer-level application covering all channels.
    pub channels: Vec<ChannelId>,
    pub platforms: Vec<String>,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    pub custom_scheme: String,
    pub status: Status,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Application {
    /// True when tokens of this application carry an explicit channel list.
    pub fn is_channel_limited(&self) -> bool {
        !self.channels.is_empty()
    }
}

/// One download of a software statement. The JWS itself is not stored: it is
/// reproducible only by signing again, and a copy at rest would be one more secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    pub jti: StatementId,
    pub application_id: ApplicationId,
    pub programmer_id: ProgrammerId,
    pub kid: String,
    pub issued_at: i64,
    pub status: Status,
    pub revoked_at: Option<i64>,
}

/// One installed app instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    pub id: ClientId,
    pub application_id: ApplicationId,
    pub programmer_id: ProgrammerId,
    pub statement_jti: StatementId,
    /// HMAC-SHA256 of the secret under the deployment pepper.
    pub secret_hash: Vec<u8>,
    pub redirect_uris: Vec<String>,
    pub device_info: Value,
    pub platform: String,
    pub user_agent: Option<String>,
    /// The address the registration came from (after trusted proxies), for the audit log.
    pub source_ip: Option<String>,
    pub status: Status,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A client with the standing of what it came from, read in one go on the token path.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientStanding {
    pub client: ClientRecord,
    pub statement_status: Status,
    pub application: Application,
}

impl ClientStanding {
    /// Active only when the client, its statement and its application all are.
    pub fn is_active(&self) -> bool {
        self.client.status == Status::Active
            && self.statement_status == Status::Active
            && self.application.status == Status::Active
    }
}

/// Roles of the management plane (SPEC 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    ProgrammerAdmin,
    ChannelAdmin,
    ResourceServer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::ProgrammerAdmin => "programmer-admin",
            Self::ChannelAdmin => "channel-admin",
            Self::ResourceServer => "resource-server",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(Self::Operator),
            "programmer-admin" => Some(Self::ProgrammerAdmin),
            "channel-admin" => Some(Self::ChannelAdmin),
            "resource-server" => Some(Self::ResourceServer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub key_hash: Vec<u8>,
    pub role: Role,
    pub programmer_id: Option<ProgrammerId>,
    pub channel_id: Option<ChannelId>,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// State of a signing key: `next` is published before it signs, `active` signs,
/// `retired` only verifies what it signed earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::Next),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    /// PKCS#8 sealed under the key-encryption key, bound to `kid`.
    pub sealed_private_key: Vec<u8>,
    /// The public JWK as published, JSON.
    pub public_jwk: String,
    pub created_at: i64,
    /// When it stopped signing (state `retired`).
    pub retired_at: Option<i64>,
}

/// Which page of a list: after the row with this sequence number, at most `limit` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;
}

/// One page of rows and the cursor of the next page, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// What a revocation-log entry revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationKind {
    Client,
    Statement,
    Application,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Statement => "statement",
            Self::Application => "application",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(Self::Client),
            "statement" => Some(Self::Statement),
            "application" => Some(Self::Application),
            _ => None,
        }
    }
}

/// One entry of the revocation log, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationEntry {
    pub seq: i64,
    pub kind: RevocationKind,
    /// Client id, statement `jti` or application id.
    pub target: String,
    pub programmer_id: ProgrammerId,
    pub revoked_at: i64,
}

/// A person who signs in to the dashboard. Acts with the rights of `role` within
/// `programmer_id` (and `channel_id` for a channel admin), like an API key would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    /// Lower-cased; unique across the deployment.
    pub email: String,
    /// Argon2id, PHC string format.
    pub password_hash: String,
    pub role: Role,
    pub programmer_id: ProgrammerId,
    pub channel_id: Option<ChannelId>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// A dashboard sign-in. Only a hash of the cookie value is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    /// The synchronizer token every form of this session must echo.
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Assigned by the store; 0 before insertion.
    pub seq: i64,
    pub at: i64,
    /// `api-key:<id>`, `user:<email>`, `statement:<jti>` (a registering device) or `system`.
    pub actor: String,
    /// The actor's role: an admin role, `device` or `system`.
    pub role: String,
    /// The tenant the event belongs to; `None` for deployment-wide events.
    pub programmer_id: Option<ProgrammerId>,
    /// e.g. `application.created`, `statement.revoked`, `client.registered`.
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub source_ip: Option<String>,
}

/// Which audit events to list. Every field narrows; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub programmer_id: Option<ProgrammerId>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// Per-application counters shown on the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplicationUsage {
    pub clients: u64,
    /// Clients that can still get tokens: neither they, their statement nor the
    /// application is revoked.
    pub active_clients: u64,
    pub tokens_issued: u64,
}
