//! `/o/auth/verify`: forward auth for nginx `auth_request`, Envoy `ext_authz` and
//! Traefik `ForwardAuth` (docs/errors.md). Any method, so a proxy can pass the original one.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcr_core::access::Requirements;
use dcr_core::error::AccessError;
use dcr_core::service::Presented;
use dcr_proto::EnhancedErrorCode;
use dcr_proto::claims::{AccessTokenClaims, Audience};
use serde::Serialize;

use crate::error::EnhancedFailure;
use crate::extract::{explicit_device_info, single_header};
use crate::state::AppState;

/// Where proxies ask. [`super::Routes`] answers this exact path without the router,
/// with the same [`Verify`] value the router's routes hold.
pub const PATH: &str = "/o/auth/verify";

/// What a proxy may require of the caller (docs/api.md), checked on every call.
const X_REQUIRED_SCOPE: HeaderName = HeaderName::from_static("x-required-scope");
const X_SERVICE_PROVIDER: HeaderName = HeaderName::from_static("x-service-provider");
const X_REQUIRED_AUDIENCE: HeaderName = HeaderName::from_static("x-required-audience");
const X_REQUIRED_PROGRAMMER: HeaderName = HeaderName::from_static("x-required-programmer");

/// Forward auth as a service: the same value answers in the router and on the fast
/// path. It has no layer of its own (no CORS, no throttle): only proxies call it.
#[derive(Clone)]
pub struct Verify {
    state: AppState,
}

impl Verify {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// The answer to one forward-auth request, whatever its method (a proxy may pass
    /// the original one): it depends on the headers alone.
    pub async fn answer(&self, method: &Method, headers: &HeaderMap) -> Response {
        decide(&self.state, headers, method)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    }

    pub fn router(&self) -> Router<AppState> {
        Router::new()
            .route_service(PATH, self.clone())
            // Envoy's ext_authz appends the original path to its `path_prefix`.
            .route_service("/o/auth/verify/{*original_path}", self.clone())
    }
}

impl tower::Service<Request> for Verify {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        futures_util::future::BoxFuture<'static, Result<Response, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), std::convert::Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let this = self.clone();
        let (parts, _) = request.into_parts();
        Box::pin(async move { Ok(this.answer(&parts.method, &parts.headers).await) })
    }
}

/// The `200` body: who is calling. Members in alphabetical order, so the bytes are
/// those of a JSON map; `channels` is `null` for a programmer-wide application.
#[derive(Serialize)]
struct Allowed<'a> {
    active: bool,
    aud: &'a Audience,
    channels: Option<&'a [String]>,
    client_id: &'a str,
    exp: i64,
    programmer: &'a str,
    scope: &'a str,
    software_id: &'a str,
}

/// The headers that name the caller, for proxies that copy them to the upstream.
const CALLER_HEADERS: [HeaderName; 4] = [
    HeaderName::from_static("x-client-id"),
    HeaderName::from_static("x-software-id"),
    HeaderName::from_static("x-programmer"),
    HeaderName::from_static("x-scopes"),
];

/// The `200` answer to one token, rendered on its first verification and kept with
/// the verified token ([`dcr_core::service::VerifiedToken::derived`]): it depends on
/// the claims alone, and a proxy asks about the same token for every call its client
/// makes. One buffer (the body, then the values of [`CALLER_HEADERS`]) that responses
/// share: one allocation of about 330 bytes per cached token (with the rest of the
/// answer, a cached token costs twice what its claims alone did; the cache's
/// capacity in `dcr_core::service` accounts for it).
struct Answer {
    bytes: Bytes,
    body_len: usize,
    /// Where each of [`CALLER_HEADERS`]' values lies in `bytes`; `None` for a claim
    /// that is not a valid header value (the header is left out).
    values: [Option<(usize, usize)>; 4],
}

impl Answer {
    fn render(claims: &AccessTokenClaims) -> Self {
        let mut bytes = Vec::with_capacity(512);
        let allowed = Allowed {
            active: true,
            aud: &claims.aud,
            channels: claims.channels.as_deref(),
            client_id: &claims.client_id,
            exp: claims.exp,
            programmer: &claims.programmer,
            scope: &claims.scope,
            software_id: &claims.software_id,
        };
        // Strings and numbers only: writing them into memory cannot fail.
        if serde_json::to_writer(&mut bytes, &allowed).is_err() {
            bytes.clear();
        }
        let body_len = bytes.len();
        let claimed = [
            &claims.client_id,
            &claims.software_id,
            &claims.programmer,
            &claims.scope,
        ];
        let values = claimed.map(|value| {
            HeaderValue::from_str(value).ok()?;
            let start = bytes.len();
            bytes.extend_from_slice(value.as_bytes());
            Some((start, bytes.len()))
        });
        // Kept for hours in the cache: no spare capacity.
        bytes.shrink_to_fit();
        Self {
            bytes: Bytes::from(bytes),
            body_len,
            values,
        }
    }

    /// A response made of slices of the kept buffer (no copy).
    fn respond(&self) -> Response {
        // The caller headers, the content type and the request id the edge adds.
        let mut headers = HeaderMap::with_capacity(CALLER_HEADERS.len() + 2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, range) in CALLER_HEADERS.iter().zip(self.values) {
            let Some((start, end)) = range else { continue };
            // Checked when rendered; checking again costs less than a copy.
            if let Ok(value) = HeaderValue::from_maybe_shared(self.bytes.slice(start..end)) {
                headers.insert(name.clone(), value);
            }
        }
        if let Some(client_id) = headers.get(&CALLER_HEADERS[0]) {
            crate::telemetry::note_client(client_id.clone());
        }
        let mut response = Response::new(Body::from(self.bytes.slice(..self.body_len)));
        *response.headers_mut() = headers;
        response
    }
}

/// The `DPoP` request header (RFC 9449).
const DPOP: HeaderName = HeaderName::from_static(dcr_proto::pop::DPOP_HEADER);

/// The request a proxy asks about: its method and URI (scheme, host, path; no query),
/// which a DPoP proof must name. Proxies say it in `X-Forwarded-Method` /
/// `X-Original-Method` and `X-Forwarded-Uri` / `X-Original-URI` (a path, or an
/// absolute URI), with `X-Forwarded-Proto` and `X-Forwarded-Host` (or `Host`) for a
/// path. Without a method header, the method of the request to us.
fn original_request(
    headers: &HeaderMap,
    method: &Method,
) -> Result<(String, String), EnhancedFailure> {
    let first = |names: &[&'static str]| -> Result<Option<&str>, EnhancedFailure> {
        for name in names {
            if let Some(v) = single_header(headers, &HeaderName::from_static(name))
                .map_err(EnhancedFailure::invalid_request)?
            {
                return Ok(Some(v.trim()));
            }
        }
        Ok(None)
    };
    let htm = first(&["x-forwarded-method", "x-original-method"])?
        .unwrap_or(method.as_str())
        .to_owned();
    let uri = first(&["x-forwarded-uri", "x-original-uri"])?.ok_or_else(|| {
        EnhancedFailure::from(AccessError::InvalidDpopProof(
            "a DPoP-bound token needs the original request's URI: the proxy must send \
             X-Forwarded-Uri or X-Original-URI"
                .into(),
        ))
    })?;
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    let htu = if path.starts_with('/') {
        let proto = first(&["x-forwarded-proto"])?.unwrap_or("https");
        let host = match first(&["x-forwarded-host"])? {
            Some(host) => host,
            None => single_header(headers, &header::HOST)
                .map_err(EnhancedFailure::invalid_request)?
                .unwrap_or_default(),
        };
        format!("{proto}://{host}{path}")
    } else {
        path.to_owned()
    };
    Ok((htm, htu))
}

async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Response, EnhancedFailure> {
    explicit_device_info(headers).map_err(|e| {
        EnhancedFailure::new(
            StatusCode::BAD_REQUEST,
            EnhancedErrorCode::InvalidHeaderDeviceInfo,
            format!("invalid X-Device-Info: {e}"),
        )
    })?;
    let authorization = single_header(headers, &header::AUTHORIZATION)
        .ok()
        .flatten()
        .and_then(dcr_core::wire::parse_authorization)
        .ok_or(AccessError::MissingToken)?;
    let requirement = |name: &HeaderName| -> Result<Option<&str>, EnhancedFailure> {
        Ok(single_header(headers, name)
            .map_err(EnhancedFailure::invalid_request)?
            .map(str::trim)
            .filter(|s| !s.is_empty()))
    };
    let required = Requirements {
        scope: requirement(&X_REQUIRED_SCOPE)?,
        channel: requirement(&X_SERVICE_PROVIDER)?,
        audience: requirement(&X_REQUIRED_AUDIENCE)?,
        programmer: requirement(&X_REQUIRED_PROGRAMMER)?,
    };

    let (scheme, token) = authorization;
    let dpop = scheme == dcr_core::wire::TokenScheme::Dpop;
    let with_scheme = |e: AccessError| {
        let mut failure = EnhancedFailure::from(e);
        failure.dpop_scheme = dpop;
        failure
    };
    let original;
    let presented = if dpop {
        original = original_request(headers, method)?;
        Presented::Dpop {
            token,
            proof: single_header(headers, &DPOP).map_err(EnhancedFailure::invalid_request)?,
            htm: &original.0,
            htu: &original.1,
        }
    } else {
        Presented::Bearer(token)
    };
    let access = state
        .dcr
        .verify_access(presented, &required)
        .await
        .map_err(with_scheme)?;
    Ok(match access.token.derived(Answer::render) {
        Some(answer) => answer.respond(),
        None => Answer::render(access.claims()).respond(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            cnf: None,
            iss: "https://dcr.example".into(),
            sub: "c".into(),
            aud: Audience(vec!["https://api.example".into()]),
            client_id: "0192f5c4-0000-7000-8000-000000000001".into(),
            jti: "t".into(),
            iat: 1,
            nbf: 1,
            exp: 100,
            scopes: scope.into(),
            scope: scope.into(),
            software_id: "app".into(),
            sst: "s".into(),
            programmer: "acme".into(),
            channels: Some(vec!["ch".into()]),
        }
    }

    async fn parts(response: Response) -> (HeaderMap, serde_json::Value) {
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (headers, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn the_kept_answer_is_the_claims_and_each_response_gets_all_of_it() {
        let answer = Answer::render(&claims("api:read"));
        for _ in 0..2 {
            let (headers, body) = parts(answer.respond()).await;
            assert_eq!(
                body,
                serde_json::json!({"active": true, "aud": "https://api.example",
                    "channels": ["ch"], "client_id": "0192f5c4-0000-7000-8000-000000000001",
                    "exp": 100, "programmer": "acme", "scope": "api:read", "software_id": "app"})
            );
            assert_eq!(headers["content-type"], "application/json");
            assert_eq!(
                headers["x-client-id"],
                "0192f5c4-0000-7000-8000-000000000001"
            );
            assert_eq!(headers["x-software-id"], "app");
            assert_eq!(headers["x-programmer"], "acme");
            assert_eq!(headers["x-scopes"], "api:read");
        }
    }

    #[tokio::test]
    async fn a_claim_that_is_no_header_value_stays_in_the_body_only() {
        let (headers, body) = parts(Answer::render(&claims("a\nb")).respond()).await;
        assert!(headers.get("x-scopes").is_none());
        assert_eq!(
            headers["x-programmer"], "acme",
            "the next value is still found"
        );
        assert_eq!(body["scope"], "a\nb");
    }
}
