//! `/o/auth/verify`: forward auth for nginx `auth_request`, Envoy `ext_authz` and
//! Traefik `ForwardAuth` (docs/errors.md). Any method, so a proxy can pass the original one.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use dcr_core::access::Requirements;
use dcr_core::error::AccessError;
use dcr_proto::EnhancedErrorCode;
use dcr_proto::claims::Audience;
use serde::Serialize;

use crate::error::EnhancedFailure;
use crate::extract::{bearer_token, explicit_device_info, single_header};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o/auth/verify", any(verify))
        // Envoy's ext_authz appends the original path to its `path_prefix`.
        .route("/o/auth/verify/{*original_path}", any(verify))
}

/// The `200` body: who is calling, borrowed from the verified claims (no copy of
/// them per call). Members in alphabetical order, so the bytes are those of a JSON
/// map; `channels` is `null` for a programmer-wide application.
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

/// Takes the whole request (it has no body to read) so its headers are borrowed, not
/// copied as the `HeaderMap` extractor would.
async fn verify(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, EnhancedFailure> {
    let headers = request.headers();
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
    let claims = &*access.claims;
    let mut response = Json(Allowed {
        active: true,
        aud: &claims.aud,
        channels: claims.channels.as_deref(),
        client_id: &claims.client_id,
        exp: claims.exp,
        programmer: &claims.programmer,
        scope: &claims.scope,
        software_id: &claims.software_id,
    })
    .into_response();
    response
        .extensions_mut()
        .insert(crate::telemetry::LoggedClient(claims.client_id.to_string()));
    let out = response.headers_mut();
    for (name, value) in [
        ("x-client-id", claims.client_id.as_str()),
        ("x-software-id", claims.software_id.as_str()),
        ("x-programmer", claims.programmer.as_str()),
        ("x-scopes", claims.scope.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}
