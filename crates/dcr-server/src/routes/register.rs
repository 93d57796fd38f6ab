//! `POST /o/client/register` (docs/api.md, Register and Throttling).

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dcr_core::service::{RegistrationAccessError, RegistrationRequest};
use dcr_proto::oauth::RegisterResponse;

use crate::error::OAuthFailure;
use crate::extract::{
    accepts_json, bearer_token, device_info, read_body, require_media_type, single_header,
    user_agent,
};
use crate::state::AppState;

/// Largest registration body (docs/api.md, Register and Throttling).
pub const MAX_REGISTER_BODY: usize = 64 * 1024;

/// Largest challenge request body: a software statement and little else.
const MAX_CHALLENGE_BODY: usize = 16 * 1024;

/// Registration and its challenge: one throttle bucket (`register`), so asking for
/// challenges costs what registering does.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o/client/register", post(register))
        .route("/o/client/challenge", post(challenge))
}

/// `POST /o/client/challenge`: a single-use challenge for platform attestation,
/// bound to the statement's application.
async fn challenge(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let answer = async {
        require_media_type(&headers, "application/json").map_err(OAuthFailure::invalid_request)?;
        let bytes = read_body(body, MAX_CHALLENGE_BODY)
            .await
            .map_err(|e| OAuthFailure::invalid_request(e.to_string()))?;
        let value = dcr_core::strict_json::from_slice(&bytes).map_err(|e| {
            OAuthFailure::invalid_request(format!("the body is not valid JSON: {e}"))
        })?;
        let request: dcr_proto::attestation::ChallengeRequest = serde_json::from_value(value)
            .map_err(|e| OAuthFailure::invalid_request(format!("the body: {e}")))?;
        let challenge = state
            .dcr
            .attestation_challenge(&request.software_statement)
            .await?;
        Ok::<_, OAuthFailure>(challenge)
    };
    match answer.await {
        Ok(challenge) => {
            let mut response = Json(challenge).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(failure) => failure.into_response(),
    }
}

/// RFC 7592: `GET`/`DELETE /o/client/register/{client_id}`, for the holder of the
/// registration access token. Throttled per device in a bucket of its own (`manage`:
/// an uninstall gets through a device that spent its registration and token budget),
/// and bounded by the failed-authentication limit.
pub fn management_router() -> Router<AppState> {
    Router::new().route(
        "/o/client/register/{client_id}",
        get(read_registration).delete(delete_registration),
    )
}

/// 401 `invalid_token` (RFC 6750 3.1), the same for every refusal.
fn invalid_registration_token() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(dcr_proto::OAuthError {
            error: dcr_proto::OAuthErrorCode::InvalidToken,
            error_description: Some(
                "the registration access token is not valid for this client".into(),
            ),
        }),
    )
        .into_response();
    let h = response.headers_mut();
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"dcr\", error=\"invalid_token\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn registration_refusal(
    state: &AppState,
    ip: IpAddr,
    e: RegistrationAccessError,
) -> Response {
    match e {
        RegistrationAccessError::InvalidToken => {
            state.failed_auth.failed(ip).await;
            invalid_registration_token()
        }
        RegistrationAccessError::Unavailable(s) => {
            OAuthFailure::from(dcr_core::error::TokenError::Unavailable(s)).into_response()
        }
        RegistrationAccessError::Internal(m) => {
            OAuthFailure::from(dcr_core::error::TokenError::Internal(m)).into_response()
        }
    }
}

async fn read_registration(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ip = state.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.failed_auth.admit(ip) {
        return OAuthFailure::too_many_requests(wait, "too many failed authentications")
            .into_response();
    }
    let token = bearer_token(&headers).unwrap_or_default();
    let standing = match state.dcr.read_registration(&client_id, token).await {
        Ok(s) => s,
        Err(e) => return registration_refusal(&state, ip, e).await,
    };
    let client = &standing.client;
    let app = &standing.application;
    let body = RegisterResponse {
        client_id: client.id.to_string(),
        client_secret: None,
        client_id_issued_at: client.created_at,
        client_secret_expires_at: 0,
        redirect_uris: client.redirect_uris.clone(),
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: match client.auth_method {
            dcr_core::binding::AuthMethod::ClientSecret => "client_secret_post".into(),
            method => method.as_str().into(),
        },
        scope: Some(app.scopes.join(" ")),
        scopes: app.scopes.clone(),
        software_id: app.id.to_string(),
        software_version: Some(app.version.clone()),
        client_name: None,
        registration_access_token: None,
        registration_client_uri: Some(state.url(&format!("/o/client/register/{}", client.id))),
        jwks: client
            .key
            .as_ref()
            .and_then(|k| serde_json::from_str::<serde_json::Value>(&k.jwk).ok())
            .map(|jwk| serde_json::json!({ "keys": [jwk] })),
        dpop_bound_access_tokens: asks_for_dpop(
            app.policy.bound_credentials.for_platform(&client.platform),
        ),
        attestation: client.attestation.clone(),
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn delete_registration(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ip = state.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.failed_auth.admit(ip) {
        return OAuthFailure::too_many_requests(wait, "too many failed authentications")
            .into_response();
    }
    let token = bearer_token(&headers).unwrap_or_default();
    match state
        .dcr
        .delete_registration(&client_id, token, Some(ip.to_string()))
        .await
    {
        Ok(()) => {
            crate::metrics::revocation("self");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => registration_refusal(&state, ip, e).await,
    }
}

async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let source = state.client_ip(peer.ip(), &headers);
    match register_client(&state, &headers, source, body).await {
        Ok(response) => response,
        Err(failure) => {
            let attestation = match failure.code {
                dcr_proto::OAuthErrorCode::InvalidAttestation => "fail",
                _ => "none",
            };
            crate::metrics::registration(failure.code.as_str(), attestation);
            failure.into_response()
        }
    }
}

/// `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP`: both or neither,
/// each once.
pub(super) fn attestation_headers(
    headers: &HeaderMap,
) -> Result<Option<dcr_core::service::AttestationHeaders>, OAuthFailure> {
    use axum::http::HeaderName;
    use dcr_proto::pop::{ATTESTATION_HEADER, ATTESTATION_POP_HEADER};
    let one = |name: &'static str| {
        single_header(headers, &HeaderName::from_static(name))
            .map_err(OAuthFailure::invalid_request)
    };
    match (one(ATTESTATION_HEADER)?, one(ATTESTATION_POP_HEADER)?) {
        (None, None) => Ok(None),
        (Some(attestation), Some(pop)) => Ok(Some(dcr_core::service::AttestationHeaders {
            attestation: attestation.to_owned(),
            pop: pop.to_owned(),
        })),
        _ => Err(OAuthFailure::invalid_request(
            "OAuth-Client-Attestation and OAuth-Client-Attestation-PoP go together",
        )),
    }
}

async fn register_client(
    state: &AppState,
    headers: &HeaderMap,
    source: IpAddr,
    body: Body,
) -> Result<Response, OAuthFailure> {
    // 1. A well-formed request.
    require_media_type(headers, "application/json").map_err(OAuthFailure::invalid_request)?;
    if !accepts_json(headers) {
        return Err(OAuthFailure::invalid_request(
            "the Accept header must admit application/json",
        ));
    }
    let device = device_info(headers)
        .map_err(|e| OAuthFailure::invalid_request(format!("invalid X-Device-Info: {e}")))?;
    let bytes = read_body(body, MAX_REGISTER_BODY)
        .await
        .map_err(|e| OAuthFailure::invalid_request(e.to_string()))?;
    let request =
        dcr_core::wire::parse_registration_body(&bytes).map_err(OAuthFailure::invalid_request)?;
    let attestation = attestation_headers(headers)?;

    let registered = state
        .dcr
        .register(RegistrationRequest {
            device,
            user_agent: user_agent(headers).map(str::to_owned),
            source_ip: Some(source.to_string()),
            attestation,
            ..request
        })
        .await?;
    crate::metrics::registration_binding(registered.key_bound, registered.bound_credentials);
    crate::metrics::registration(
        "issued",
        crate::metrics::attestation_label(registered.attestation.as_ref()),
    );

    if registered.platform_mismatch {
        tracing::warn!(
            client_id = %registered.client_id,
            software_id = %registered.software_id,
            platform = %registered.platform,
            "registered a device whose platform is not one of the application's"
        );
    }
    tracing::info!(
        client_id = %registered.client_id,
        software_id = %registered.software_id,
        programmer = %registered.programmer_id,
        platform = %registered.platform,
        "client registered"
    );
    let body = RegisterResponse {
        registration_client_uri: Some(
            state.url(&format!("/o/client/register/{}", registered.client_id)),
        ),
        registration_access_token: Some(registered.registration_access_token),
        client_id: registered.client_id.to_string(),
        client_secret: registered.client_secret,
        client_id_issued_at: registered.issued_at,
        client_secret_expires_at: 0,
        redirect_uris: registered.redirect_uris,
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: registered.token_endpoint_auth_method,
        scope: Some(registered.scopes.join(" ")),
        scopes: registered.scopes,
        software_id: registered.software_id.to_string(),
        software_version: Some(registered.software_version),
        client_name: None,
        jwks: registered.jwks,
        dpop_bound_access_tokens: asks_for_dpop(registered.bound_credentials),
        attestation: registered.attestation,
    };
    crate::telemetry::note_client(registered.client_id.to_string());
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// RFC 9449 5.2 `dpop_bound_access_tokens`: said only when the platform's policy asks
/// for bound tokens, so SDKs turn DPoP on there and nowhere else.
fn asks_for_dpop(mode: dcr_core::binding::Mode) -> Option<bool> {
    (mode != dcr_core::binding::Mode::Off).then_some(true)
}
