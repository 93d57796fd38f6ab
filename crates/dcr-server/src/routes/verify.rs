//! `/o/auth/verify`: forward auth for nginx `auth_request`, Envoy `ext_authz` and
//! Traefik `ForwardAuth` (docs/errors.md). Any method, so a proxy can pass the original one.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use dcr_core::access::Requirements;
use dcr_core::error::AccessError;
use dcr_proto::EnhancedErrorCode;
use dcr_proto::claims::{AccessTokenClaims, Audience};
use serde::Serialize;

use crate::error::EnhancedFailure;
use crate::extract::{bearer_token, explicit_device_info, single_header};
use crate::state::AppState;

/// Where proxies ask. The edge answers this exact path itself, without the router
/// ([`crate::edge::Edge::with_forward_auth`]); the router keeps the route for
/// everything else that serves a router (tests, and any path under it).
pub const PATH: &str = "/o/auth/verify";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, any(verify))
        // Envoy's ext_authz appends the original path to its `path_prefix`.
        .route("/o/auth/verify/{*original_path}", any(verify))
}

async fn verify(State(state): State<AppState>, request: Request) -> Response {
    answer(&state, request.headers()).await
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

/// The `200` answer to one token, rendered on its first verification and kept with
/// the verified token ([`dcr_core::service::VerifiedToken::derived`]): it depends on the claims alone, and
/// a proxy asks about the same token for every call its client makes.
struct Answer {
    body: Bytes,
    /// `X-Client-Id` and the like, for proxies that copy headers to the upstream; a
    /// claim that is not a valid header value is left out.
    headers: Vec<(HeaderName, HeaderValue)>,
    client_id: Arc<str>,
}

impl Answer {
    fn render(claims: &AccessTokenClaims) -> Self {
        let body = serde_json::to_vec(&Allowed {
            active: true,
            aud: &claims.aud,
            channels: claims.channels.as_deref(),
            client_id: &claims.client_id,
            exp: claims.exp,
            programmer: &claims.programmer,
            scope: &claims.scope,
            software_id: &claims.software_id,
        })
        // Strings and numbers only: serializing them cannot fail.
        .unwrap_or_default();
        let headers = [
            ("x-client-id", claims.client_id.as_str()),
            ("x-software-id", claims.software_id.as_str()),
            ("x-programmer", claims.programmer.as_str()),
            ("x-scopes", claims.scope.as_str()),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
        Self {
            body: Bytes::from(body),
            headers,
            client_id: Arc::from(claims.client_id.as_str()),
        }
    }

    /// A response with the kept bytes: clones share them.
    fn respond(&self) -> Response {
        // The answer's headers, its content type and the request id the edge adds.
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.headers_mut() = headers;
        crate::telemetry::note_client(self.client_id.clone());
        response
    }
}

/// The answer to one forward-auth request, whatever its method (a proxy may pass the
/// original one): it depends on the headers alone.
pub async fn answer(state: &AppState, headers: &HeaderMap) -> Response {
    decide(state, headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn decide(state: &AppState, headers: &HeaderMap) -> Result<Response, EnhancedFailure> {
    explicit_device_info(headers).map_err(|e| {
        EnhancedFailure::new(
            StatusCode::BAD_REQUEST,
            EnhancedErrorCode::InvalidHeaderDeviceInfo,
            format!("invalid X-Device-Info: {e}"),
        )
    })?;
    let token = bearer_token(headers).ok_or(AccessError::MissingToken)?;
    let requirement = |name: &str| -> Result<Option<&str>, EnhancedFailure> {
        Ok(single_header(headers, name)
            .map_err(EnhancedFailure::invalid_request)?
            .map(str::trim)
            .filter(|s| !s.is_empty()))
    };
    let required = Requirements {
        scope: requirement("x-required-scope")?,
        channel: requirement("x-service-provider")?,
        audience: requirement("x-required-audience")?,
        programmer: requirement("x-required-programmer")?,
    };

    let access = state.dcr.verify_access(token, &required).await?;
    Ok(match access.token.derived(Answer::render) {
        Some(answer) => answer.respond(),
        None => Answer::render(access.claims()).respond(),
    })
}
