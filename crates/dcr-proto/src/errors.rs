//! The two documented error bodies.
//!
//! `/o/client/*` and `/oauth2/token` answer with RFC 6749/7591 bodies
//! (`{"error", "error_description"}`); protected APIs, forward auth and the admin API
//! answer with the enhanced-error body (`{"status", "code", "message", "action",
//! "trace", "helpUrl"}`).

use serde::{Deserialize, Serialize};

/// Error codes of the OAuth endpoints (RFC 6749 5.2, RFC 7591 3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidSoftwareStatement,
    UnapprovedSoftwareStatement,
    InvalidRedirectUri,
    InvalidClientMetadata,
    InvalidClient,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707: the `resource` is not one the client's tokens may be for.
    InvalidTarget,
    /// RFC 6750 / RFC 7592: a bearer token (the registration access token) is refused.
    InvalidToken,
    /// Throttled, or past a registration quota (429 with `Retry-After`).
    TooManyRequests,
    TemporarilyUnavailable,
    ServerError,
    /// RFC 9449: the DPoP proof is missing where required, malformed, or does not match.
    InvalidDpopProof,
    /// RFC 9449 8: retry with the nonce of the `DPoP-Nonce` answer header.
    UseDpopNonce,
    /// Attestation-based client authentication: the attestation or its proof of
    /// possession did not verify.
    InvalidClientAttestation,
    /// Platform attestation at registration (App Attest, Key Attestation): missing
    /// where the application requires it, or it did not verify.
    InvalidAttestation,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidClient => "invalid_client",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidToken => "invalid_token",
            Self::TooManyRequests => "too_many_requests",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidClientAttestation => "invalid_client_attestation",
            Self::InvalidAttestation => "invalid_attestation",
        }
    }
}

/// `{"error": ..., "error_description": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: OAuthErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Codes of the enhanced-error body (Adobe "Enhanced Error Codes" plus ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnhancedErrorCode {
    InvalidAccessTokenClientApplication,
    AccessTokenExpired,
    InvalidAccessTokenServiceProvider,
    InsufficientScope,
    InvalidHeaderDeviceInfo,
    TooManyRequests,
    TemporarilyUnavailable,
    /// Admin API: the request is malformed.
    InvalidRequest,
    /// Admin API: missing or unknown API key.
    Unauthenticated,
    /// Admin API: the key is valid but its role may not do this.
    Forbidden,
    /// Admin API: no such resource (or not one the caller may see).
    NotFound,
    /// Admin API: the resource exists already.
    Conflict,
    /// The request (or its body) did not arrive, or was not answered, in time.
    RequestTimeout,
    /// Something failed on our side; the trace id is in the logs.
    InternalError,
    /// A DPoP-bound token without a valid proof of its key, or presented as a
    /// bearer token (RFC 9449 7).
    InvalidDpopProof,
}

impl EnhancedErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidAccessTokenClientApplication => "invalid_access_token_client_application",
            Self::AccessTokenExpired => "access_token_expired",
            Self::InvalidAccessTokenServiceProvider => "invalid_access_token_service_provider",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidHeaderDeviceInfo => "invalid_header_device_info",
            Self::TooManyRequests => "too_many_requests",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidRequest => "invalid_request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RequestTimeout => "request_timeout",
            Self::InternalError => "internal_error",
            Self::InvalidDpopProof => "invalid_dpop_proof",
        }
    }

    /// What the caller should do next, per the table of docs/errors.md.
    pub fn action(self) -> Action {
        match self {
            Self::InvalidAccessTokenClientApplication
            | Self::AccessTokenExpired
            | Self::InvalidAccessTokenServiceProvider
            | Self::InvalidDpopProof => Action::ApplicationRegistration,
            Self::InsufficientScope => Action::Configuration,
            Self::TooManyRequests
            | Self::TemporarilyUnavailable
            | Self::RequestTimeout
            | Self::InternalError => Action::Retry,
            Self::InvalidHeaderDeviceInfo
            | Self::InvalidRequest
            | Self::Unauthenticated
            | Self::Forbidden
            | Self::NotFound
            | Self::Conflict => Action::None,
        }
    }
}

/// The `action` member of the enhanced-error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    None,
    Configuration,
    ApplicationRegistration,
    Authentication,
    Authorization,
    Degradation,
    Retry,
    RetryAfter,
}

/// The enhanced-error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnhancedError {
    pub status: u16,
    pub code: EnhancedErrorCode,
    pub message: String,
    pub action: Action,
    /// Unique per response, also written to the server log, so support can find it.
    pub trace: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl EnhancedError {
    /// A body with the code's action; `trace` is the request id the server logged,
    /// `help_base` the error reference (`helpUrl` is `<help_base>#<code>`).
    pub fn new(
        status: u16,
        code: EnhancedErrorCode,
        message: impl Into<String>,
        trace: impl Into<String>,
        help_base: &str,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            action: code.action(),
            trace: trace.into(),
            help_url: help_url(help_base, code),
            details: None,
        }
    }
}

impl EnhancedErrorCode {
    /// The `WWW-Authenticate` challenge that goes with this code, if any (RFC 6750 3).
    pub fn www_authenticate(self) -> Option<&'static str> {
        match self {
            Self::InvalidAccessTokenClientApplication
            | Self::AccessTokenExpired
            | Self::InvalidAccessTokenServiceProvider => {
                Some("Bearer realm=\"dcr\", error=\"invalid_token\"")
            }
            Self::InsufficientScope => Some("Bearer realm=\"dcr\", error=\"insufficient_scope\""),
            Self::Unauthenticated => Some("Bearer realm=\"dcr-admin\""),
            Self::InvalidDpopProof => {
                Some("DPoP realm=\"dcr\", error=\"invalid_dpop_proof\", algs=\"ES256 EdDSA\"")
            }
            _ => None,
        }
    }
}

/// The challenge of a refusal to a request that presented its token with the DPoP
/// scheme (RFC 9449 7.1): the same error, in the DPoP scheme.
pub fn dpop_challenge(code: EnhancedErrorCode) -> Option<&'static str> {
    match code {
        EnhancedErrorCode::InvalidAccessTokenClientApplication
        | EnhancedErrorCode::AccessTokenExpired
        | EnhancedErrorCode::InvalidAccessTokenServiceProvider => {
            Some("DPoP realm=\"dcr\", error=\"invalid_token\", algs=\"ES256 EdDSA\"")
        }
        EnhancedErrorCode::InsufficientScope => {
            Some("DPoP realm=\"dcr\", error=\"insufficient_scope\", algs=\"ES256 EdDSA\"")
        }
        other => other.www_authenticate(),
    }
}

/// Where the enhanced-error `helpUrl` points: the section of the error reference
/// (served by dcr at `/docs/errors`) for that code.
pub fn help_url(help_base: &str, code: EnhancedErrorCode) -> String {
    format!("{}#{}", help_base.trim_end_matches('#'), code.as_str())
}

/// Where a server's error reference is, by default: `<issuer>/docs/errors`.
pub fn default_help_base(issuer: &str) -> String {
    format!("{}/docs/errors", issuer.trim_end_matches('/'))
}
