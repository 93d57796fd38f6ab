//! The one place where errors become HTTP responses.
//!
//! OAuth endpoints answer `{"error", "error_description"}`; everything else answers
//! the enhanced-error body. Internal details never reach the body: a store failure is
//! logged with the trace id and answered with a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcr_core::error::{AccessError, AdminError, RegisterError, TokenError};
use dcr_proto::{EnhancedError, EnhancedErrorCode, OAuthError, OAuthErrorCode};

/// Seconds a client is told to wait when the store is unavailable.
const RETRY_AFTER_UNAVAILABLE: &str = "2";

/// An error of `/o/client/*` or `/oauth2/token`.
#[derive(Debug)]
pub struct OAuthFailure {
    pub status: StatusCode,
    pub code: OAuthErrorCode,
    pub description: String,
    /// `WWW-Authenticate` challenge for a 401 after HTTP Basic.
    pub basic_challenge: bool,
    /// `Retry-After` seconds, for a 429.
    pub retry_after: Option<u64>,
    /// `DPoP-Nonce` to retry with (`use_dpop_nonce`).
    pub dpop_nonce: Option<String>,
}

impl OAuthFailure {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        let status = match code {
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
            dpop_nonce: None,
        }
    }

    /// 429 `too_many_requests` with `Retry-After`.
    pub fn too_many_requests(wait: std::time::Duration, description: impl Into<String>) -> Self {
        let mut f = Self::new(OAuthErrorCode::TooManyRequests, description);
        f.status = StatusCode::TOO_MANY_REQUESTS;
        f.retry_after = Some(dcr_core::throttle::retry_after_seconds(wait));
        f
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`, as 401 with a Basic challenge when Basic was used.
    pub fn with_basic(mut self, used_basic: bool) -> Self {
        if used_basic && self.code == OAuthErrorCode::InvalidClient {
            self.status = StatusCode::UNAUTHORIZED;
            self.basic_challenge = true;
        }
        self
    }
}

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let body = OAuthError {
            error: self.code,
            error_description: Some(self.description),
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"dcr\", charset=\"UTF-8\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(nonce) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert(dcr_proto::pop::DPOP_NONCE_HEADER, nonce);
        }
        response
    }
}

tokio::task_local! {
    /// The resource the current request names in its path: what kind, and its id.
    static ADDRESSED: &'static str;
}

/// Runs `f` knowing which resource the request addresses, so that a 404 can name it.
pub async fn addressing<F: std::future::Future>(what: &'static str, f: F) -> F::Output {
    ADDRESSED.scope(what, f).await
}

fn internal(trace_what: &str, detail: &str) -> String {
    let trace = crate::telemetry::trace_id();
    tracing::error!(%trace, what = trace_what, detail, "internal error");
    format!("internal error (trace {trace})")
}

impl From<RegisterError> for OAuthFailure {
    fn from(e: RegisterError) -> Self {
        use OAuthErrorCode as C;
        match e {
            RegisterError::InvalidRequest(m) => Self::new(C::InvalidRequest, m),
            RegisterError::InvalidSoftwareStatement(why) => Self::new(
                C::InvalidSoftwareStatement,
                format!("the software statement is not valid: {why}"),
            ),
            RegisterError::UnapprovedSoftwareStatement(m) => {
                Self::new(C::UnapprovedSoftwareStatement, m)
            }
            RegisterError::InvalidRedirectUri(m) => Self::new(C::InvalidRedirectUri, m),
            RegisterError::InvalidClientMetadata(m) => Self::new(C::InvalidClientMetadata, m),
            RegisterError::InvalidClientAttestation(m) => {
                let mut failure = Self::new(C::InvalidClientAttestation, m);
                failure.status = StatusCode::UNAUTHORIZED;
                failure
            }
            RegisterError::InvalidAttestation(m) => Self::new(C::InvalidAttestation, m),
            RegisterError::TooManyRegistrations {
                retry_after_seconds,
            } => Self::too_many_requests(
                std::time::Duration::from_secs(retry_after_seconds),
                "the hourly registration quota of this software statement or application \
                 is used up; retry after Retry-After seconds",
            ),
            RegisterError::Unavailable(e) => {
                crate::metrics::store_error("register");
                tracing::warn!(error = %e, "store unavailable during registration");
                Self::new(
                    C::TemporarilyUnavailable,
                    "the service is temporarily unavailable",
                )
            }
            RegisterError::Internal(m) => Self::new(C::ServerError, internal("register", &m)),
        }
    }
}

impl From<TokenError> for OAuthFailure {
    fn from(e: TokenError) -> Self {
        use OAuthErrorCode as C;
        match e {
            TokenError::InvalidRequest(m) => Self::new(C::InvalidRequest, m),
            TokenError::InvalidClient => {
                Self::new(C::InvalidClient, "client authentication failed")
            }
            TokenError::UnauthorizedClient(m) => Self::new(C::UnauthorizedClient, m),
            TokenError::UnsupportedGrantType => Self::new(
                C::UnsupportedGrantType,
                "only grant_type=client_credentials is supported",
            ),
            TokenError::InvalidScope(m) => Self::new(C::InvalidScope, m),
            TokenError::InvalidTarget(m) => Self::new(C::InvalidTarget, m),
            TokenError::InvalidDpopProof(m) => Self::new(C::InvalidDpopProof, m),
            TokenError::UseDpopNonce { nonce } => {
                let mut failure = Self::new(
                    C::UseDpopNonce,
                    "retry with the nonce of the DPoP-Nonce header in the DPoP proof",
                );
                failure.dpop_nonce = Some(nonce);
                failure
            }
            TokenError::Unavailable(e) => {
                crate::metrics::store_error("token");
                tracing::warn!(error = %e, "store unavailable during token issuance");
                Self::new(
                    C::TemporarilyUnavailable,
                    "the service is temporarily unavailable",
                )
            }
            TokenError::Internal(m) => Self::new(C::ServerError, internal("token", &m)),
        }
    }
}

/// An enhanced-error response.
#[derive(Debug)]
pub struct EnhancedFailure {
    pub status: StatusCode,
    pub code: EnhancedErrorCode,
    pub message: String,
    /// `Retry-After` seconds, for a 429.
    pub retry_after: Option<u64>,
    /// The request presented its token with the DPoP scheme: challenge in it.
    pub dpop_scheme: bool,
}

impl EnhancedFailure {
    pub fn new(status: StatusCode, code: EnhancedErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            dpop_scheme: false,
        }
    }

    /// 429 `too_many_requests` with `Retry-After`.
    pub fn too_many_requests(wait: std::time::Duration, message: impl Into<String>) -> Self {
        let mut f = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            EnhancedErrorCode::TooManyRequests,
            message,
        );
        f.retry_after = Some(dcr_core::throttle::retry_after_seconds(wait));
        f
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            EnhancedErrorCode::InvalidRequest,
            message,
        )
    }

    /// 404, naming the kind of resource the route addresses when there is one (see
    /// [`addressing`]): "no application with that id (or not one this key may see)".
    /// The id itself is not echoed: a response about another tenant's resource must
    /// not carry its identifiers, even ones the caller sent.
    pub fn not_found() -> Self {
        let message = ADDRESSED
            .try_with(|what| format!("no {what} with that id (or not one this key may see)"))
            .unwrap_or_else(|_| "no such resource".into());
        Self::new(StatusCode::NOT_FOUND, EnhancedErrorCode::NotFound, message)
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            EnhancedErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable",
        )
    }
}

impl IntoResponse for EnhancedFailure {
    fn into_response(self) -> Response {
        let body = EnhancedError::new(
            self.status.as_u16(),
            self.code,
            self.message,
            crate::telemetry::trace_id().as_ref(),
            &crate::telemetry::help_base(),
        );
        if self.status.is_server_error() {
            tracing::warn!(trace = %body.trace, code = self.code.as_str(), message = %body.message, "request failed");
        } else {
            tracing::debug!(trace = %body.trace, code = self.code.as_str(), "request refused");
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let challenge = if self.dpop_scheme {
            dcr_proto::errors::dpop_challenge(self.code)
        } else {
            self.code.www_authenticate()
        };
        if let Some(challenge) = challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<AccessError> for EnhancedFailure {
    fn from(e: AccessError) -> Self {
        match &e {
            AccessError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "store unavailable during verification")
            }
            AccessError::Internal(m) => {
                let _ = internal("verify", m);
            }
            _ => {}
        }
        let (status, code, message) = e.rejection();
        Self::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
        )
    }
}

impl From<AdminError> for EnhancedFailure {
    fn from(e: AdminError) -> Self {
        use EnhancedErrorCode as C;
        match e {
            AdminError::InvalidRequest(m) => Self::invalid_request(m),
            AdminError::Unauthenticated => Self::new(
                StatusCode::UNAUTHORIZED,
                C::Unauthenticated,
                "a valid admin API key is required (Authorization: Bearer <key>)",
            ),
            AdminError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                C::Forbidden,
                "this key's role may not do that",
            ),
            AdminError::NotFound => Self::not_found(),
            AdminError::Conflict(m) => {
                Self::new(StatusCode::CONFLICT, C::Conflict, conflict_message(&m))
            }
            AdminError::Unavailable(e) => {
                crate::metrics::store_error("admin");
                tracing::warn!(error = %e, "store unavailable during an admin call");
                Self::unavailable()
            }
            AdminError::Internal(m) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::InternalError,
                internal("admin", &m),
            ),
        }
    }
}

/// Store conflict messages name tables and columns; say it in the API's words.
fn conflict_message(raw: &str) -> String {
    let lower = raw.to_ascii_lowercase();
    if lower.contains("programmers.id") {
        "a programmer with this id exists already".into()
    } else if lower.contains("channels.id") {
        "a channel with this id exists already (channel ids are unique across the deployment)"
            .into()
    } else if lower.contains("unique") {
        "the resource exists already".into()
    } else {
        raw.to_owned()
    }
}
