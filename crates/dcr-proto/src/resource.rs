//! What resource servers read: introspection answers and the revocation feed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// RFC 7662 answer. Inactive tokens are `{"active": false}` and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<crate::claims::Audience>,
    /// Space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sst: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programmer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// RFC 9449 6.2: the key a DPoP-bound token is bound to (`{"jkt": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::pop::Confirmation>,
}

/// One revocation, in commit order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationEntry {
    pub seq: i64,
    /// `client`, `statement`, `application` or `token` (RFC 7009).
    pub kind: String,
    /// Client id, statement `jti`, application id or access-token `jti`.
    pub id: String,
    pub programmer: String,
    pub revoked_at: i64,
}

/// `GET /o/revocations?since=<cursor>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationFeed {
    /// Pass back as `since`.
    pub cursor: String,
    /// More entries wait: ask again at once.
    pub has_more: bool,
    /// Entries older than this (Unix seconds) are no longer listed: every token issued
    /// before them has expired.
    pub horizon: i64,
    pub revoked_clients: Vec<String>,
    pub revoked_statements: Vec<String>,
    pub revoked_applications: Vec<String>,
    /// `jti`s of access tokens their clients revoked (RFC 7009).
    #[serde(default)]
    pub revoked_tokens: Vec<String>,
    pub entries: Vec<RevocationEntry>,
    /// Channel id → owning programmer, for the caller's programmer(s). Channel ids
    /// are unique per programmer only: for a deployment-wide key two programmers may
    /// own one id, and this map names only one of them. Read `programmer_channels`.
    pub channels: BTreeMap<String, String>,
    /// Programmer → its channel ids, for the caller's programmer(s): which channels a
    /// programmer-wide token covers.
    #[serde(default)]
    pub programmer_channels: BTreeMap<String, Vec<String>>,
    /// The programmer the key is limited to (`None` for a deployment-wide key). The
    /// feed lists only that programmer's revocations, so a guard using such a key must
    /// refuse every other programmer's tokens.
    #[serde(default)]
    pub programmer: Option<String>,
}

/// `POST /admin/v1/.../api-keys` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub role: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// An API key as listed; `key` is present only in the answer that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programmer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub name: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}
