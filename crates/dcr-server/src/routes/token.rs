//! `POST /o/client/token` (201, as Adobe documents) and `POST /oauth2/token` (200, RFC 6749).

use std::borrow::Cow;
use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use dcr_core::service::{ClientCredentials, TokenRequest};
use dcr_core::wire::{FormParams, parse_form_with};
use dcr_proto::OAuthErrorCode;
use dcr_proto::oauth::TokenResponse;

use crate::error::OAuthFailure;
use crate::extract::{basic_credentials, explicit_device_info, read_form_body, single_header};
use crate::state::AppState;

/// Largest token request body.
pub const MAX_TOKEN_BODY: usize = 16 * 1024;

/// The token endpoints: `POST` only. Their services ([`Token`]) are built once in
/// [`super::Routes`], with the public routes' CORS layer and the `token` throttle, and
/// serve both the router and the front door's fast path.
pub const OAUTH2_PATH: &str = "/oauth2/token";
pub const ADOBE_PATH: &str = "/o/client/token";
/// The throttle's name for these endpoints ([`crate::throttle::ENDPOINTS`]).
pub const THROTTLED_AS: &str = "token";

/// RFC 7009 revocation, which the token endpoints' throttle covers too.
pub fn router() -> Router<AppState> {
    Router::new().route("/oauth2/revoke", post(revoke))
}

/// One token endpoint as a service: what it answers on success (201 at Adobe's path,
/// 200 at RFC 6749's) is all that differs.
#[derive(Clone)]
pub struct Token {
    state: AppState,
    success: StatusCode,
}

impl Token {
    pub fn new(state: AppState, success: StatusCode) -> Self {
        Self { state, success }
    }
}

impl tower::Service<Request> for Token {
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(token(&this.state, request, this.success).await) })
    }
}

/// Which way the client authenticated; decides the status of `invalid_client`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthWay {
    Basic,
    Parameters,
}

/// Takes the whole request and splits it, so the URI and headers are moved rather
/// than copied as the `Uri` and `HeaderMap` extractors would.
async fn token(state: &AppState, request: Request, success: StatusCode) -> Response {
    let (parts, body) = request.into_parts();
    match issue(state, &parts.uri, &parts.headers, body).await {
        Ok((issued, client_id)) => {
            crate::metrics::token("issued");
            crate::telemetry::note_client(client_id);
            token_response(success, &issued)
        }
        Err(failure) => {
            crate::metrics::token(failure.code.as_str());
            failure
                .with_basic(used_basic(&parts.headers))
                .into_response()
        }
    }
}

/// The issued token as JSON, never cached (RFC 6749 5.1).
fn token_response(status: StatusCode, issued: &TokenResponse) -> Response {
    let body = match token_json(issued) {
        Ok(body) => body,
        // Strings and numbers: writing them into memory cannot fail.
        Err(e) => {
            return OAuthFailure::new(OAuthErrorCode::ServerError, e.to_string()).into_response();
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.reserve(4);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// What `serde_json::to_vec(issued)` writes, written member by member
/// ([`dcr_proto::json`]) into a buffer sized for it: `Json` would start at 128 bytes,
/// grow three times around the token, and escape the token byte by byte.
fn token_json(issued: &TokenResponse) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = Vec::with_capacity(issued.access_token.len() + 256);
    let mut answer = dcr_proto::json::Object::open(&mut body);
    answer.str("id", &issued.id)?;
    answer.str("access_token", &issued.access_token)?;
    answer.str("token_type", &issued.token_type)?;
    answer.value("expires_in", &issued.expires_in)?;
    answer.value("created_at", &issued.created_at)?;
    answer.str("scope", &issued.scope)?;
    answer.close();
    Ok(body)
}

/// Whether the client authenticated with HTTP Basic, which decides how `invalid_client`
/// is answered. Asked only on failure, so a token does not decode the header twice.
fn used_basic(headers: &HeaderMap) -> bool {
    matches!(basic_credentials(headers), Ok(Some(_)))
}

/// The client's credentials as the request carries them, in one way only:
/// HTTP Basic or `client_id`/`client_secret` parameters (RFC 6749 2.3.1; a form
/// `client_id` equal to the Basic one is tolerated, as some libraries send it), a
/// client assertion (RFC 7523), or the attestation headers.
enum Credentials<'a> {
    Secret(AuthWay, Cow<'a, str>, Cow<'a, str>),
    Assertion(Option<Cow<'a, str>>, Cow<'a, str>),
    Attestation(Option<Cow<'a, str>>, dcr_core::service::AttestationHeaders),
}

impl Credentials<'_> {
    fn as_core(&self) -> ClientCredentials<'_> {
        match self {
            Self::Secret(_, id, secret) => ClientCredentials::Secret {
                client_id: id,
                secret,
            },
            Self::Assertion(id, assertion) => ClientCredentials::Assertion {
                client_id: id.as_deref(),
                assertion,
            },
            Self::Attestation(id, headers) => ClientCredentials::Attestation {
                client_id: id.as_deref(),
                headers: headers.clone(),
            },
        }
    }
}

fn client_credentials<'a>(
    headers: &HeaderMap,
    params: &'a FormParams<'_>,
) -> Result<Credentials<'a>, OAuthFailure> {
    let basic = basic_credentials(headers).map_err(OAuthFailure::invalid_request)?;
    let form_id = params.get("client_id").filter(|s| !s.is_empty());
    let form_secret = params.get("client_secret").filter(|s| !s.is_empty());
    let assertion = params.get("client_assertion").filter(|s| !s.is_empty());
    let assertion_type = params
        .get("client_assertion_type")
        .filter(|s| !s.is_empty());
    let attestation = super::register::attestation_headers(headers)?;
    let two_ways = || {
        Err(OAuthFailure::invalid_request(
            "client credentials were given in two ways; use one",
        ))
    };
    if assertion.is_some() || assertion_type.is_some() {
        if basic.is_some() || form_secret.is_some() || attestation.is_some() {
            return two_ways();
        }
        if assertion_type.map(|t| &**t) != Some(dcr_proto::pop::JWT_BEARER_ASSERTION) {
            return Err(OAuthFailure::invalid_request(format!(
                "client_assertion_type must be {}",
                dcr_proto::pop::JWT_BEARER_ASSERTION
            )));
        }
        let assertion = assertion
            .ok_or_else(|| OAuthFailure::invalid_request("client_assertion is required"))?;
        return Ok(Credentials::Assertion(
            form_id.map(|id| Cow::Borrowed(&**id)),
            Cow::Borrowed(&**assertion),
        ));
    }
    if let Some(attestation) = attestation {
        if basic.is_some() || form_secret.is_some() {
            return two_ways();
        }
        return Ok(Credentials::Attestation(
            form_id.map(|id| Cow::Borrowed(&**id)),
            attestation,
        ));
    }
    match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) => two_ways(),
        (Some((id, _)), Some(form_id), None) if *form_id != id => {
            Err(OAuthFailure::invalid_request(
                "client_id differs from the one in the Authorization header",
            ))
        }
        (Some((id, secret)), _, None) => Ok(Credentials::Secret(
            AuthWay::Basic,
            id.into(),
            secret.into(),
        )),
        (None, Some(id), Some(secret)) => Ok(Credentials::Secret(
            AuthWay::Parameters,
            Cow::Borrowed(id),
            Cow::Borrowed(secret),
        )),
        (None, None, _) => Err(OAuthFailure::invalid_request("client_id is required")),
        (None, Some(_), None) => Err(OAuthFailure::invalid_request("client_secret is required")),
    }
}

/// The parameters of a client endpoint: the query string and the form body together.
fn form_params<'a>(
    uri: &'a Uri,
    body: &'a [u8],
    repeatable: &str,
) -> Result<(FormParams<'a>, Vec<String>), OAuthFailure> {
    parse_form_with(uri.query().unwrap_or_default().as_bytes(), body, repeatable)
        .map_err(OAuthFailure::invalid_request)
}

/// RFC 7009: a client revokes one of its own access tokens. 200 with an empty body for
/// any well-formed, authenticated request, whatever the token (RFC 7009 2.2).
///
/// Everything comes in the form body: credentials and the token MUST NOT be in the
/// request URI (RFC 6749 2.3.1, RFC 7009 2.1), where proxies and logs keep them, so
/// a query string is refused. (The token endpoints accept the query string only
/// because Adobe's API documents it there.)
async fn revoke(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        if uri.query().is_some_and(|q| !q.is_empty()) {
            return Err(OAuthFailure::invalid_request(
                "revocation takes its parameters in the form body, never in the URL",
            ));
        }
        let body = read_form_body(&headers, body, MAX_TOKEN_BODY)
            .await
            .map_err(OAuthFailure::invalid_request)?;
        let (params, _) = form_params(&uri, &body, "")?;
        let token = params
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthFailure::invalid_request("token is required"))?;
        // `token_type_hint` is only a hint (RFC 7009 2.1): every token here is an
        // access token, so it changes nothing.
        let credentials = client_credentials(&headers, &params)?;
        state
            .dcr
            .revoke_own_token(&credentials.as_core(), token)
            .await
            .map_err(OAuthFailure::from)
    }
    .await;
    match outcome {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(failure) => failure.with_basic(used_basic(&headers)).into_response(),
    }
}

async fn issue(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(TokenResponse, String), OAuthFailure> {
    let body = read_form_body(headers, body, MAX_TOKEN_BODY)
        .await
        .map_err(OAuthFailure::invalid_request)?;
    let (params, resources) = form_params(uri, &body, "resource")?;
    let device = explicit_device_info(headers)
        .map_err(|e| OAuthFailure::invalid_request(format!("invalid X-Device-Info: {e}")))?;

    match params.get("grant_type").map(|g| &**g) {
        None | Some("") => return Err(OAuthFailure::invalid_request("grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthFailure::new(
                OAuthErrorCode::UnsupportedGrantType,
                "only grant_type=client_credentials is supported",
            ));
        }
    }

    let credentials = client_credentials(headers, &params)?;
    let way = match &credentials {
        Credentials::Secret(way, ..) => Some(*way),
        _ => None,
    };
    let dpop = single_header(
        headers,
        &HeaderName::from_static(dcr_proto::pop::DPOP_HEADER),
    )
    .map_err(OAuthFailure::invalid_request)?;
    let credentials = credentials.as_core();

    let issued = state
        .dcr
        .issue_token(TokenRequest {
            credentials,
            scope: params.get("scope").map(|s| &**s),
            resources,
            device,
            dpop,
            endpoint: uri.path(),
        })
        .await
        .map_err(OAuthFailure::from)
        .inspect_err(|e| {
            if e.code == OAuthErrorCode::InvalidClient {
                tracing::info!(
                    basic = (way == Some(AuthWay::Basic)),
                    "token refused: client authentication failed"
                );
            }
        })?;
    tracing::debug!(client_id = %issued.client_id, software_id = %issued.software_id, "token issued");
    crate::metrics::binding("token", issued.bound, issued.bound_credentials);
    let response = TokenResponse {
        id: issued.id,
        access_token: issued.access_token,
        token_type: if issued.bound {
            dcr_proto::pop::DPOP_TOKEN_TYPE.into()
        } else {
            "bearer".into()
        },
        expires_in: issued.expires_in,
        created_at: issued.created_at_millis,
        scope: issued.scope,
    };
    Ok((response, issued.client_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(access_token: &str, scope: &str) -> TokenResponse {
        TokenResponse {
            id: "4f0c5d3e-0000-4000-8000-000000000001".into(),
            access_token: access_token.into(),
            token_type: "bearer".into(),
            expires_in: 3600,
            created_at: 1_764_000_000_123,
            scope: scope.into(),
        }
    }

    #[test]
    fn the_token_json_is_what_serde_writes() {
        for issued in [
            answer(
                "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_",
                "api:client:v2 b",
            ),
            // Not a compact JWS: the whole answer goes through serde_json.
            answer("a\"b\\c\u{1}", "q\"uote"),
            answer("", ""),
        ] {
            assert_eq!(
                token_json(&issued).unwrap(),
                serde_json::to_vec(&issued).unwrap()
            );
        }
    }
}
