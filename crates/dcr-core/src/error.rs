//! One error type per use case. The HTTP layer maps each variant to the documented
//! status and body in one place (`dcr-server/src/error.rs`).

use crate::jose::JoseError;
use crate::store::StoreError;

/// Failures of `POST /o/client/register`, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("software statement refused: {0}")]
    InvalidSoftwareStatement(JoseError),
    #[error("{0}")]
    UnapprovedSoftwareStatement(&'static str),
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// Past the statement's or the application's hourly registration quota.
    #[error("too many registrations this hour")]
    TooManyRegistrations { retry_after_seconds: u64 },
    /// RFC 7591 `invalid_client_metadata`: `jwks` or `token_endpoint_auth_method`
    /// that cannot be, or a key the application's policy asks for and did not get.
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// The attestation presented did not verify (`invalid_client_attestation`).
    #[error("{0}")]
    InvalidClientAttestation(String),
    /// Platform attestation (`invalid_attestation`): required and missing, or it did
    /// not verify where the application requires it to pass.
    #[error("{0}")]
    InvalidAttestation(String),
    #[error("the store is unavailable")]
    Unavailable(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Failures of the token endpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(String),
    /// Unknown client, wrong secret, or revoked (directly or through its statement or
    /// application). One variant for all so the answer tells an attacker nothing.
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("only client_credentials is supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 8707: a `resource` the client's tokens may not be for.
    #[error("{0}")]
    InvalidTarget(String),
    /// RFC 9449 `invalid_dpop_proof`: a proof that does not verify, or none where the
    /// application requires one.
    #[error("{0}")]
    InvalidDpopProof(String),
    /// RFC 9449 `use_dpop_nonce`: retry with the nonce in `DPoP-Nonce`.
    #[error("a DPoP nonce is required")]
    UseDpopNonce { nonce: String },
    #[error("the store is unavailable")]
    Unavailable(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a protected-API call is refused (docs/errors.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("missing or malformed bearer token")]
    MissingToken,
    #[error("access token refused: {0}")]
    InvalidToken(JoseError),
    #[error("access token has expired")]
    Expired,
    #[error("the client, its software statement or its application is revoked or deleted")]
    Revoked,
    #[error("the access token belongs to another programmer")]
    OtherProgrammer,
    #[error("the access token is not for audience {0:?}")]
    WrongAudience(String),
    #[error("the access token does not cover channel {0:?}")]
    WrongChannel(String),
    #[error("the access token lacks scope {0:?}")]
    InsufficientScope(String),
    /// A DPoP-bound token without a valid proof of its key (RFC 9449 7), or presented
    /// as a bearer token.
    #[error("{0}")]
    InvalidDpopProof(String),
    #[error("the store is unavailable")]
    Unavailable(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Failures of the admin API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("missing or unknown API key")]
    Unauthenticated,
    #[error("this key's role may not do that")]
    Forbidden,
    /// Also the answer for another tenant's resources: never confirm they exist.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the store is unavailable")]
    Unavailable(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccessError {
    /// Status, code and message of the table of docs/errors.md: the one mapping the server's
    /// forward auth and the guard both answer with.
    pub fn rejection(&self) -> (u16, dcr_proto::EnhancedErrorCode, String) {
        use dcr_proto::EnhancedErrorCode as C;
        match self {
            Self::MissingToken => (
                401,
                C::InvalidAccessTokenClientApplication,
                self.to_string(),
            ),
            Self::InvalidToken(why) => (
                401,
                C::InvalidAccessTokenClientApplication,
                format!("the access token is not valid: {why}"),
            ),
            Self::Expired => (401, C::AccessTokenExpired, self.to_string()),
            Self::Revoked | Self::OtherProgrammer | Self::WrongAudience(_) => (
                401,
                C::InvalidAccessTokenClientApplication,
                self.to_string(),
            ),
            Self::WrongChannel(_) => (401, C::InvalidAccessTokenServiceProvider, self.to_string()),
            Self::InsufficientScope(_) => (403, C::InsufficientScope, self.to_string()),
            Self::InvalidDpopProof(_) => (401, C::InvalidDpopProof, self.to_string()),
            Self::Unavailable(_) => (
                503,
                C::TemporarilyUnavailable,
                "the service is temporarily unavailable".into(),
            ),
            Self::Internal(_) => (500, C::InternalError, "internal error".into()),
        }
    }
}

impl From<StoreError> for RegisterError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            StoreError::Conflict(what) => Self::Conflict(what.to_string()),
            StoreError::MissingReference(_) => Self::NotFound,
            StoreError::Corrupt(what) => Self::Internal(what),
        }
    }
}
