//! Bodies of the public DCR endpoints.

use serde::{Deserialize, Serialize};

/// `201` answer of `POST /o/client/register`, and (without the secrets) of
/// `GET /o/client/register/{client_id}` (RFC 7592).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    pub client_id: String,
    /// Present only in the registration answer: it is never shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Seconds since the epoch (RFC 7591).
    pub client_id_issued_at: i64,
    /// Always 0: the secret does not expire.
    pub client_secret_expires_at: i64,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scopes: Vec<String>,
    pub software_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Space-separated form of `scopes`, for RFC 7591 clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 7592: the bearer token that reads and deletes this registration. Present
    /// only in the registration answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    /// RFC 7592: where the registration is read and deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    /// RFC 7591 `jwks`: the install key of a key-bound client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// RFC 9449 5.2: `true` when the application asks this client's platform for
    /// DPoP-bound tokens (policy `report` or `require`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
    /// The verdict on the platform attestation sent with the registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<crate::attestation::Verdict>,
}

/// Success answer of `POST /o/client/token` (201) and `POST /oauth2/token` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token's `jti`.
    pub id: String,
    pub access_token: String,
    /// `"bearer"`, as Adobe documents it.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
    /// Milliseconds since the epoch (Adobe samples).
    pub created_at: i64,
    /// Space-separated.
    pub scope: String,
}
