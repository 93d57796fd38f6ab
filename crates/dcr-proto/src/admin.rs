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
    #[serde(default)]
    pub policy: ApplicationPolicy,
    /// The client attesters its installs may authenticate with.
    #[serde(default)]
    pub attesters: Vec<Attester>,
    /// What it accepts from App Attest and Key Attestation at registration.
    #[serde(default)]
    pub attestation: crate::attestation::AttestationSettings,
    pub status: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
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
    /// Effective: `active`, `retired` (no new registrations; its clients keep working)
    /// or `revoked` (by itself, or through its application: see `revoked_via`).
    pub status: String,
    pub issued_at: i64,
    /// `statement` or `application`, when revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_by: Option<String>,
    /// The statement a rotation issued in this one's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
}

/// `201` answer of `POST /software-statements/{jti}/rotate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedStatement {
    /// The new statement (shown once).
    pub jti: String,
    pub software_statement: String,
    /// The statement it replaces, now retired.
    pub retired: String,
}

/// An application's lifecycle limits (`PUT /applications/{app_id}/policy`); `null` is
/// no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationPolicy {
    #[serde(default)]
    pub max_registrations_per_hour_per_statement: Option<u32>,
    #[serde(default)]
    pub max_registrations_per_hour: Option<u32>,
    #[serde(default)]
    pub expire_inactive_after_days: Option<u32>,
    /// Platform → `off`, `report` or `require`, with a `default` for the others:
    /// how strictly keys and DPoP-bound tokens are asked for.
    #[serde(default)]
    pub bound_credentials: std::collections::BTreeMap<String, String>,
    /// Platform → `off`, `report` or `require`, with a `default`: how strictly a
    /// platform attestation is asked for at registration.
    #[serde(default)]
    pub attestation: std::collections::BTreeMap<String, String>,
}

/// `PUT /applications/{app_id}/policy`: merges into the policy. A member left out is
/// unchanged; `null` removes a limit; `bound_credentials` merges platform by platform
/// (`null` for a platform drops it back to the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_registrations_per_hour_per_statement: Option<Option<u32>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_registrations_per_hour: Option<Option<u32>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expire_inactive_after_days: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_credentials: Option<std::collections::BTreeMap<String, Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<std::collections::BTreeMap<String, Option<String>>>,
}

/// What a policy change would do (`?dry_run=true`): the application as it would be,
/// and the live clients that could no longer get tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyImpact {
    pub application: Application,
    /// Live clients, by platform, that have not presented a DPoP proof lately and
    /// whose platform the change makes `require` DPoP-bound tokens.
    pub clients_without_dpop: std::collections::BTreeMap<String, u64>,
    pub dry_run: bool,
}

/// A member that is present (a value or `null`) as `Some`, an absent one (with
/// `#[serde(default)]`) as `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A time given as Unix seconds or RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Instant {
    Seconds(i64),
    Text(String),
}

/// `POST /applications/{app_id}/clients/revoke`: every given criterion must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFilter {
    #[serde(default)]
    pub statement: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub registered_after: Option<Instant>,
    #[serde(default)]
    pub registered_before: Option<Instant>,
}

/// Answer of a bulk revocation (or its dry run: how many it would revoke).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRevocation {
    pub revoked: u64,
}

/// `202 Accepted` of a long action that goes on in the background.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// `running`.
    pub status: String,
    pub message: String,
}

/// Answer of `POST /lifecycle/sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    pub expired: u64,
}

/// Registrations and tokens of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayActivity {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub registrations: u64,
    pub tokens: u64,
}

/// One statement's activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementActivity {
    pub jti: String,
    pub daily: Vec<DayActivity>,
    pub registrations_last_hour: u64,
    pub hourly_mean_7d: f64,
    pub spike: bool,
}

/// Standing clients with one value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub value: String,
    pub clients: u64,
}

/// `GET /applications/{app_id}/activity?days=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub application_id: String,
    pub days: u32,
    /// Oldest first, every day of the window.
    pub daily: Vec<DayActivity>,
    pub statements: Vec<StatementActivity>,
    /// Clients that can get tokens (not revoked, expired or cut off), by platform, OS
    /// and model (from `X-Device-Info`), most first.
    pub active_clients: u64,
    pub by_platform: Vec<Count>,
    pub by_os: Vec<Count>,
    pub by_model: Vec<Count>,
    /// A statement registered more in the last hour than max(100, 5 × its trailing
    /// 7-day hourly mean).
    pub spike: bool,
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
    /// Effective: `active`, `revoked` or `expired`.
    pub status: String,
    /// When not active: `client`, `statement`, `application`, `bulk`, `inactivity` or
    /// `self` (deleted by the client, RFC 7592).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Who revoked it (an audit actor), when it was revoked on its own or in bulk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// Access tokens issued to this client (counted in memory, stored every few
    /// seconds).
    #[serde(default)]
    pub tokens_issued: u64,
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

/// An audience URI and the one programmer whose tokens may carry it
/// (`GET /admin/v1/audiences`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub audience: String,
    /// The owner; `null` while contested.
    pub programmer: Option<String>,
    /// `claimed` (by its programmer's first application naming it), `assigned` (by an
    /// operator) or `contested` (named by several programmers before audiences had
    /// owners; every claimant's tokens keep carrying it until an operator assigns it).
    pub how: String,
    /// The programmers naming a contested audience (shown to operators only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claimants: Vec<String>,
    pub updated_at: i64,
}

/// `PUT /admin/v1/audiences` (operators): makes `programmer` the owner of `audience`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignAudience {
    pub audience: String,
    pub programmer: String,
}

/// One application that stops naming an audience when it is assigned to another
/// programmer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceRemoval {
    pub application: String,
    pub programmer: String,
}

/// What an assignment changed (or, with `?dry_run=true`, would change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceAssignment {
    pub audience: Audience,
    pub removed_from: Vec<AudienceRemoval>,
    pub dry_run: bool,
}

/// A client attester an application trusts: the `iss` of its attestations (or none),
/// and its public keys (P-256 or Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attester {
    #[serde(default)]
    pub issuer: Option<String>,
    pub jwks: JwkSet,
}

/// `{"keys": [JWK, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<serde_json::Value>,
}

/// `PUT /applications/{app_id}/attesters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attesters {
    pub attesters: Vec<Attester>,
}
