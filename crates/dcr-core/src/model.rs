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

/// How an audience came to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudienceOwnership {
    /// By the first application that named it.
    Claimed,
    /// By an operator.
    Assigned,
    /// Named by several programmers before audiences had owners: no owner until an
    /// operator assigns one; the claimants' tokens keep carrying it meanwhile.
    Contested,
}

impl AudienceOwnership {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Assigned => "assigned",
            Self::Contested => "contested",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "claimed" => Some(Self::Claimed),
            "assigned" => Some(Self::Assigned),
            "contested" => Some(Self::Contested),
            _ => None,
        }
    }
}

/// An audience URI and the one programmer whose tokens may carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceRecord {
    pub seq: i64,
    pub audience: String,
    /// `None` while contested.
    pub owner: Option<ProgrammerId>,
    pub how: AudienceOwnership,
    /// The programmers that named a contested audience (empty otherwise).
    pub claimants: Vec<ProgrammerId>,
    pub updated_at: i64,
}

/// What assigning an audience to a programmer changed (or, in a dry run, would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceAssignment {
    pub audience: AudienceRecord,
    /// Other programmers' applications that named it and no longer do: their tokens
    /// stop carrying it.
    pub stripped: Vec<(ApplicationId, ProgrammerId)>,
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
    /// Absolute URIs of the APIs its tokens are for (`aud`); may be empty.
    pub audiences: Vec<String>,
    pub policy: ApplicationPolicy,
    pub settings: ApplicationSettings,
    pub status: Status,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Who revoked it (an audit actor), when revoked.
    pub revoked_by: Option<String>,
}

/// What an application trusts besides its statements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationSettings {
    /// Client attesters whose attestations its installs may authenticate with.
    pub attesters: Vec<crate::binding::AttesterConfig>,
    /// What it accepts from App Attest and Key Attestation at registration.
    pub attestation: dcr_proto::attestation::AttestationSettings,
}

/// An application's optional lifecycle limits (`None` is no limit) and how strictly it
/// asks for credentials bound to the install, per platform.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationPolicy {
    pub max_registrations_per_hour_per_statement: Option<u32>,
    pub max_registrations_per_hour: Option<u32>,
    pub expire_inactive_after_days: Option<u32>,
    /// Keys and DPoP-bound tokens: `off` (the default) accepts secrets and keys alike
    /// and binds a token whenever the client sends a proof; `report` counts and flags
    /// what is unbound; `require` refuses a registration without a key and a token
    /// request without a DPoP proof.
    pub bound_credentials: crate::binding::PlatformModes,
    /// Platform attestation at registration: `off` (the default) ignores none and
    /// verifies what is sent; `report` registers and records the verdict; `require`
    /// refuses a registration without a passing attestation.
    pub attestation: crate::binding::PlatformModes,
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
    pub revoked_by: Option<String>,
    /// Retired: registers no new clients, while those it made keep working.
    pub retired_at: Option<i64>,
    pub retired_by: Option<String>,
    /// The statement a rotation issued in this one's place.
    pub successor: Option<StatementId>,
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
    /// How the client itself was cut off (never `statement` or `application`: those
    /// are read from the statement and the application).
    pub revoked_via: Option<RevokedVia>,
    pub revoked_by: Option<String>,
    /// Keyed hash of the RFC 7592 registration access token (`None` for clients
    /// registered before it existed).
    pub registration_token_hash: Option<Vec<u8>>,
    /// `osName` and `model` of the device info, for the activity breakdowns.
    pub os_name: Option<String>,
    pub model: Option<String>,
    /// Access tokens issued to it, as of the last token-count flush (a few seconds
    /// behind). Written by the flush only; a new record carries 0.
    pub tokens_issued: u64,
    /// How it authenticates at the token endpoints.
    pub auth_method: crate::binding::AuthMethod,
    /// The install key it registered (key-bound methods only).
    pub key: Option<crate::binding::ClientKey>,
    /// When it last got a token with a DPoP proof, as of the last flush.
    pub dpop_seen_at: Option<i64>,
    /// The verdict on the attestation it registered with, if it sent one.
    pub attestation: Option<dcr_proto::attestation::Verdict>,
}

/// A client with the standing of what it came from, read in one go on the token path.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientStanding {
    pub client: ClientRecord,
    pub statement_status: Status,
    pub statement_revoked_at: Option<i64>,
    pub application: Application,
}

impl ClientStanding {
    /// Active only when the client, its statement and its application all are.
    pub fn is_active(&self) -> bool {
        self.client.status == Status::Active
            && self.statement_status == Status::Active
            && self.application.status == Status::Active
    }

    /// The client's effective status: the one rule every reader (admin API, CLI,
    /// dashboard) reports. The client's own cut-off comes first, then its
    /// application's, then its statement's.
    pub fn effective(&self) -> Effective {
        let c = &self.client;
        if c.status == Status::Revoked {
            let via = c.revoked_via.unwrap_or(RevokedVia::Client);
            return Effective {
                status: if via == RevokedVia::Inactivity {
                    EffectiveStatus::Expired
                } else {
                    EffectiveStatus::Revoked
                },
                revoked_via: Some(via),
                revoked_at: c.revoked_at,
            };
        }
        if self.application.status == Status::Revoked {
            return Effective::revoked(RevokedVia::Application, self.application.revoked_at);
        }
        if self.statement_status == Status::Revoked {
            return Effective::revoked(RevokedVia::Statement, self.statement_revoked_at);
        }
        Effective::ACTIVE
    }
}

/// `active | revoked | expired` (docs/api.md, Client lifecycle), for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectiveStatus {
    Active,
    Revoked,
    Expired,
    /// Statements only: no new registrations, existing clients keep working.
    Retired,
}

impl EffectiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Retired => "retired",
        }
    }
}

/// A status as every reader reports it, with its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub status: EffectiveStatus,
    pub revoked_via: Option<RevokedVia>,
    pub revoked_at: Option<i64>,
}

impl Effective {
    pub const ACTIVE: Self = Self {
        status: EffectiveStatus::Active,
        revoked_via: None,
        revoked_at: None,
    };

    fn revoked(via: RevokedVia, at: Option<i64>) -> Self {
        Self {
            status: EffectiveStatus::Revoked,
            revoked_via: Some(via),
            revoked_at: at,
        }
    }
}

impl StatementRecord {
    /// The statement's effective status given its application: revoked (by itself or
    /// through the application), retired, or active.
    pub fn effective(&self, application: &Application) -> Effective {
        if self.status == Status::Revoked {
            return Effective::revoked(RevokedVia::Statement, self.revoked_at);
        }
        if application.status == Status::Revoked {
            return Effective::revoked(RevokedVia::Application, application.revoked_at);
        }
        if self.retired_at.is_some() {
            return Effective {
                status: EffectiveStatus::Retired,
                revoked_via: None,
                revoked_at: None,
            };
        }
        Effective::ACTIVE
    }
}

/// Roles of the management plane (docs/api.md, The admin API).
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
    /// One access token, by `jti` (RFC 7009).
    Token,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Statement => "statement",
            Self::Application => "application",
            Self::Token => "token",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(Self::Client),
            "statement" => Some(Self::Statement),
            "application" => Some(Self::Application),
            "token" => Some(Self::Token),
            _ => None,
        }
    }
}

/// How a client was cut off (docs/api.md, Client lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevokedVia {
    /// Revoked on its own.
    Client,
    Statement,
    Application,
    /// By a bulk revocation with a filter.
    Bulk,
    /// Expired by its application's inactivity policy.
    Inactivity,
    /// Deleted by the client itself (RFC 7592).
    SelfDeleted,
}

impl RevokedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Statement => "statement",
            Self::Application => "application",
            Self::Bulk => "bulk",
            Self::Inactivity => "inactivity",
            Self::SelfDeleted => "self",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Client,
            Self::Statement,
            Self::Application,
            Self::Bulk,
            Self::Inactivity,
            Self::SelfDeleted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
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
    /// An [`AuditAction`]'s name (a string: rows written by other versions stay
    /// readable).
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub source_ip: Option<String>,
}

/// What an audit event records. Stored and served as its dotted name
/// (`statement.rotated`), which is also what the audit log's `action` filter takes;
/// the operations guide lists them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    ProgrammerCreated,
    ChannelCreated,
    ApplicationCreated,
    ApplicationPolicySet,
    ApplicationRevoked,
    StatementIssued,
    StatementRetired,
    StatementRotated,
    StatementRevoked,
    StatementRegistrationSpike,
    ClientRegistered,
    ClientDeleted,
    ClientRevoked,
    ClientsBulkRevoked,
    ClientsExpiredInactive,
    ApiKeyCreated,
    ApiKeyRevoked,
    SigningKeysRotated,
    UserCreated,
    UserDisabled,
    UserSignedIn,
    UserSignInFailed,
    AudienceAssigned,
    AudienceRemoved,
    AudienceClaimRefused,
}

impl AuditAction {
    pub const ALL: [Self; 25] = [
        Self::ProgrammerCreated,
        Self::ChannelCreated,
        Self::ApplicationCreated,
        Self::ApplicationPolicySet,
        Self::ApplicationRevoked,
        Self::StatementIssued,
        Self::StatementRetired,
        Self::StatementRotated,
        Self::StatementRevoked,
        Self::StatementRegistrationSpike,
        Self::ClientRegistered,
        Self::ClientDeleted,
        Self::ClientRevoked,
        Self::ClientsBulkRevoked,
        Self::ClientsExpiredInactive,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::SigningKeysRotated,
        Self::UserCreated,
        Self::UserDisabled,
        Self::UserSignedIn,
        Self::UserSignInFailed,
        Self::AudienceAssigned,
        Self::AudienceRemoved,
        Self::AudienceClaimRefused,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProgrammerCreated => "programmer.created",
            Self::ChannelCreated => "channel.created",
            Self::ApplicationCreated => "application.created",
            Self::ApplicationPolicySet => "application.policy-set",
            Self::ApplicationRevoked => "application.revoked",
            Self::StatementIssued => "statement.issued",
            Self::StatementRetired => "statement.retired",
            Self::StatementRotated => "statement.rotated",
            Self::StatementRevoked => "statement.revoked",
            Self::StatementRegistrationSpike => "statement.registration-spike",
            Self::ClientRegistered => "client.registered",
            Self::ClientDeleted => "client.deleted",
            Self::ClientRevoked => "client.revoked",
            Self::ClientsBulkRevoked => "clients.bulk-revoked",
            Self::ClientsExpiredInactive => "clients.expired-inactive",
            Self::ApiKeyCreated => "api-key.created",
            Self::ApiKeyRevoked => "api-key.revoked",
            Self::SigningKeysRotated => "signing-keys.rotated",
            Self::UserCreated => "user.created",
            Self::UserDisabled => "user.disabled",
            Self::UserSignedIn => "user.signed-in",
            Self::UserSignInFailed => "user.sign-in-failed",
            Self::AudienceAssigned => "audience.assigned",
            Self::AudienceRemoved => "application.audience-removed",
            Self::AudienceClaimRefused => "audience.claim-refused",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Leave out what devices did (registrations, self-deletions): human actions only.
    pub exclude_devices: bool,
}

/// Which clients of an application a bulk revocation cuts off: every criterion given
/// must match; at least one is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    pub statement: Option<StatementId>,
    pub platform: Option<String>,
    /// Registered strictly after (Unix seconds).
    pub registered_after: Option<i64>,
    /// Registered strictly before (Unix seconds).
    pub registered_before: Option<i64>,
}

impl ClientFilter {
    pub fn is_empty(&self) -> bool {
        self.statement.is_none()
            && self.platform.is_none()
            && self.registered_after.is_none()
            && self.registered_before.is_none()
    }
}

/// Registrations and tokens of one day (Unix day number: seconds / 86 400).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub registrations: u64,
    pub tokens: u64,
}

/// What the store keeps about an application's activity since a day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityRollup {
    /// Per statement, per day (only days with activity).
    pub daily: Vec<(StatementId, DayCount)>,
    /// Registrations per statement per hour (Unix hour number), for spike detection.
    pub hourly_registrations: Vec<(StatementId, i64, u64)>,
    /// Standing clients by dimension (`platform`, `os`, `model`) and value.
    pub breakdown: Vec<(String, String, u64)>,
}

/// Hourly registration limits checked atomically with a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationQuota {
    /// Unix hour number (seconds / 3600) the counters are for.
    pub hour: i64,
    pub per_statement: Option<u32>,
    pub per_application: Option<u32>,
}

/// Per-application counters shown on the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplicationUsage {
    pub clients: u64,
    /// Clients that can still get tokens: neither they, their statement nor the
    /// application is revoked.
    pub active_clients: u64,
    pub tokens_issued: u64,
    /// When its latest client registered (Unix seconds).
    pub last_registration: Option<i64>,
    /// The latest day (Unix day) a token was issued to one of its clients, as of the
    /// last token-count flush.
    pub last_token_day: Option<i64>,
}

/// Clients counted by platform (most first): what an action will touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Impact {
    pub by_platform: Vec<(String, u64)>,
}

impl Impact {
    pub fn total(&self) -> u64 {
        self.by_platform.iter().map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for Impact {
    /// `7 clients: ios 3, android 2, web 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.total();
        write!(f, "{total} client{}", if total == 1 { "" } else { "s" })?;
        for (i, (platform, n)) in self.by_platform.iter().enumerate() {
            write!(f, "{}{platform} {n}", if i == 0 { ": " } else { ", " })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod audit_action_tests {
    use super::AuditAction;

    /// Every action has its own `kind.verb` name, and the operations guide lists it
    /// (operators filter the audit log by these names).
    #[test]
    fn every_action_is_named_once_and_documented() {
        let guide = include_str!("../../../docs/operations.md");
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            let name = action.as_str();
            assert!(seen.insert(name), "{name} twice");
            let (kind, verb) = name.split_once('.').expect("kind.verb");
            assert!(!kind.is_empty() && !verb.is_empty(), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'-'),
                "{name}"
            );
            assert!(
                guide.contains(&format!("`{name}`")),
                "docs/operations.md does not list {name}"
            );
        }
    }
}
