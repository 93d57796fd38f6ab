//! The tower `Layer` and the axum extractor.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcr_core::device_info::DeviceInfo;
use dcr_core::error::AccessError;
use dcr_core::throttle::{BucketSpec, LocalBuckets, TrustedProxies, retry_after_seconds};
use dcr_core::wire::TokenScheme;
use dcr_proto::{EnhancedError, EnhancedErrorCode};
use tower::{Layer, Service};

use crate::{Guard, Presented, VerifiedClient};

/// A refused call, answered with the enhanced-error body of docs/errors.md.
#[derive(Debug)]
pub struct Rejection {
    status: u16,
    code: EnhancedErrorCode,
    message: String,
    retry_after: Option<u64>,
    /// The dcr server's error reference, once the guard that refused is known.
    help_base: Option<Arc<str>>,
    /// The token came with the DPoP scheme: the challenge is in that scheme.
    dpop_scheme: bool,
}

impl Rejection {
    pub fn status(&self) -> u16 {
        self.status
    }
    pub fn code(&self) -> EnhancedErrorCode {
        self.code
    }
}

impl From<AccessError> for Rejection {
    fn from(e: AccessError) -> Self {
        let (status, code, message) = e.rejection();
        Self {
            status,
            code,
            message,
            retry_after: (status == 503).then_some(2),
            help_base: None,
            dpop_scheme: false,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::UNAUTHORIZED);
        // The guard has no request id of its own: a fresh trace, which the
        // application can log next to its own.
        let trace = uuid::Uuid::new_v4().to_string();
        let help_base = self.help_base.as_deref().unwrap_or("/docs/errors");
        let mut response = (
            status,
            Json(EnhancedError::new(
                self.status,
                self.code,
                self.message,
                trace,
                help_base,
            )),
        )
            .into_response();
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
        if let Some(seconds) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Applies a [`Guard`] to the routes it wraps (use with `Router::route_layer`, so the
/// route's path parameters are known).
#[derive(Clone)]
pub struct GuardLayer {
    guard: Guard,
    policy: Arc<Policy>,
}

#[derive(Default, Clone)]
struct Policy {
    scope: Option<String>,
    channel_param: Option<String>,
    throttle: Option<Arc<(LocalBuckets, TrustedProxies)>>,
}

impl GuardLayer {
    pub fn new(guard: Guard) -> Self {
        Self {
            guard,
            policy: Arc::new(Policy::default()),
        }
    }

    /// The scope every request must carry.
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.policy).scope = Some(scope.into());
        self
    }

    /// Throttles callers per device with the server's token-bucket rules (docs/api.md, Register and Throttling): the
    /// client IP is the peer address, or, behind `trusted_proxies`, the right-most
    /// untrusted `X-Forwarded-For` hop. Needs the peer address: serve the router with
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn throttle(mut self, spec: BucketSpec, trusted_proxies: TrustedProxies) -> Self {
        Arc::make_mut(&mut self.policy).throttle = Some(Arc::new((
            LocalBuckets::new(spec, 100_000),
            trusted_proxies,
        )));
        self
    }

    /// The path parameter naming the channel (service provider) the route serves.
    pub fn channel_param(mut self, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.policy).channel_param = Some(name.into());
        self
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            guard: self.guard.clone(),
            policy: self.policy.clone(),
        }
    }
}

/// The service made by [`GuardLayer`].
#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
    policy: Arc<Policy>,
}

impl<S> Service<Request<Body>> for GuardService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready is the one to call (tower's contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        let policy = self.policy.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match check(&guard, &policy, &mut parts).await {
                Ok(client) => {
                    parts.extensions.insert(client);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(mut rejection) => {
                    rejection.help_base = Some(guard.help_base());
                    Ok(rejection.into_response())
                }
            }
        })
    }
}

async fn check(
    guard: &Guard,
    policy: &Policy,
    parts: &mut Parts,
) -> Result<VerifiedClient, Rejection> {
    if let Some(throttle) = &policy.throttle {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(peer) = peer {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            let client = throttle.1.client_ip(peer, forwarded);
            if let Err(wait) = throttle.0.check(client) {
                let seconds = retry_after_seconds(wait);
                return Err(Rejection {
                    status: 429,
                    code: EnhancedErrorCode::TooManyRequests,
                    message: format!("too many requests from this device; retry in {seconds} s"),
                    retry_after: Some(seconds),
                    help_base: None,
                    dpop_scheme: false,
                });
            }
        }
    }
    if let Some(raw) = parts.headers.get("x-device-info")
        && DeviceInfo::parse_header(raw.as_bytes()).is_err()
    {
        return Err(Rejection {
            status: 400,
            code: EnhancedErrorCode::InvalidHeaderDeviceInfo,
            message: "invalid X-Device-Info".into(),
            retry_after: None,
            help_base: None,
            dpop_scheme: false,
        });
    }
    let (scheme, token) = authorization(parts).ok_or(AccessError::MissingToken)?;
    let channel = match &policy.channel_param {
        Some(name) => {
            let params = RawPathParams::from_request_parts(parts, &()).await.ok();
            params.and_then(|p| p.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_owned()))
        }
        None => None,
    };
    let dpop = scheme == TokenScheme::Dpop;
    let htu;
    let presented = if dpop {
        let mut proofs = parts.headers.get_all(dcr_proto::pop::DPOP_HEADER).iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(one), None) => one.to_str().ok(),
            _ => None,
        };
        htu = guard.request_uri(parts.uri.path(), &parts.headers);
        Presented::Dpop {
            token: &token,
            proof,
            htm: parts.method.as_str(),
            htu: &htu,
        }
    } else {
        Presented::Bearer(&token)
    };
    guard
        .verify_presented(presented, policy.scope.as_deref(), channel.as_deref())
        .await
        .map_err(|e| {
            let mut rejection = Rejection::from(e);
            rejection.dpop_scheme = dpop;
            rejection
        })
}

/// The one `Authorization` header's scheme (`Bearer` or `DPoP`) and token.
fn authorization(parts: &Parts) -> Option<(TokenScheme, String)> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    dcr_core::wire::parse_authorization(value).map(|(scheme, token)| (scheme, token.to_owned()))
}

/// Handlers behind a [`GuardLayer`] take the verified caller as an argument.
impl<S: Send + Sync> FromRequestParts<S> for VerifiedClient {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedClient>()
            .cloned()
            .ok_or_else(|| AccessError::MissingToken.into())
    }
}
