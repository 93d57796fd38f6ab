//! `POST /o/client/register` (SPEC 2).

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use dcr_core::service::RegistrationRequest;
use dcr_proto::oauth::RegisterResponse;

use crate::error::OAuthFailure;
use crate::extract::{accepts_json, device_info, read_body, require_media_type, user_agent};
use crate::state::AppState;

/// Largest registration body (SPEC 2).
pub const MAX_REGISTER_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/o/client/register", post(register))
}

async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let source = state.client_ip(peer.ip(), &headers);
    match register_client(&state, &headers, source, body).await {
        Ok(response) => {
            crate::metrics::registration("issued");
            response
        }
        Err(failure) => {
            crate::metrics::registration(failure.code.as_str());
            failure.into_response()
        }
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

    let registered = state
        .dcr
        .register(RegistrationRequest {
            device,
            user_agent: user_agent(headers).map(str::to_owned),
            source_ip: Some(source.to_string()),
            ..request
        })
        .await?;

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
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
