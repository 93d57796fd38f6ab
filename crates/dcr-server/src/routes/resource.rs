//! For resource servers: `POST /o/introspect` (RFC 7662) and `GET /o/revocations`.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dcr_core::error::AdminError;
use dcr_core::model::RevocationKind;
use dcr_core::service::Principal;
use dcr_proto::OAuthErrorCode;
use dcr_proto::resource::{Introspection, RevocationEntry, RevocationFeed};

use crate::error::{EnhancedFailure, OAuthFailure};
use crate::extract::{basic_credentials, bearer_token, read_body, require_media_type};
use crate::state::AppState;

const MAX_INTROSPECT_BODY: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o/introspect", post(introspect))
        .route("/o/revocations", get(revocations))
}

fn unauthorized() -> OAuthFailure {
    let mut f = OAuthFailure::new(
        OAuthErrorCode::InvalidClient,
        "a resource-server API key is required",
    );
    f.status = StatusCode::UNAUTHORIZED;
    f.basic_challenge = true;
    f
}

async fn introspect(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OAuthFailure> {
    let bytes = read_body(body, MAX_INTROSPECT_BODY)
        .await
        .map_err(|e| OAuthFailure::invalid_request(e.to_string()))?;
    if !bytes.is_empty() {
        require_media_type(&headers, "application/x-www-form-urlencoded")
            .map_err(OAuthFailure::invalid_request)?;
    }
    let params = dcr_core::wire::parse_form(uri.query().unwrap_or_default().as_bytes(), &bytes)
        .map_err(OAuthFailure::invalid_request)?;

    // The key: Bearer, or HTTP Basic / form with the key id as client id.
    let basic = basic_credentials(&headers).map_err(OAuthFailure::invalid_request)?;
    let form = (params.get("client_id"), params.get("client_secret"));
    let who = match (bearer_token(&headers), basic, form) {
        (Some(key), None, (None, None)) => state.dcr.authenticate_resource_server(key, None).await,
        (None, Some((id, key)), (None, None)) => {
            state
                .dcr
                .authenticate_resource_server(&key, Some(&id))
                .await
        }
        (None, None, (Some(id), Some(key))) => {
            state.dcr.authenticate_resource_server(key, Some(id)).await
        }
        (None, None, (None, None)) => Err(AdminError::Unauthenticated),
        _ => {
            return Err(OAuthFailure::invalid_request(
                "authenticate in exactly one way",
            ));
        }
    }
    .map_err(|e| match e {
        AdminError::Unavailable(e) => {
            OAuthFailure::from(dcr_core::error::TokenError::Unavailable(e))
        }
        _ => unauthorized(),
    })?;

    let token = params
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthFailure::invalid_request("token is required"))?;
    let claims = state
        .dcr
        .introspect(&who, token)
        .await
        .map_err(|e| match e {
            AdminError::Unavailable(e) => {
                OAuthFailure::from(dcr_core::error::TokenError::Unavailable(e))
            }
            other => OAuthFailure::from(dcr_core::error::TokenError::Internal(other.to_string())),
        })?;
    let body = match claims {
        None => Introspection::default(),
        Some(c) => Introspection {
            active: true,
            sub: Some(c.sub),
            client_id: Some(c.client_id),
            scope: Some(c.scope),
            exp: Some(c.exp),
            iat: Some(c.iat),
            nbf: Some(c.nbf),
            iss: Some(c.iss),
            jti: Some(c.jti),
            token_type: Some("Bearer".into()),
            software_id: Some(c.software_id),
            sst: Some(c.sst),
            programmer: Some(c.programmer),
            channels: c.channels,
        },
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn feed_principal(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, EnhancedFailure> {
    let key = bearer_token(headers).ok_or(AdminError::Unauthenticated)?;
    Ok(state.dcr.authenticate_resource_server(key, None).await?)
}

async fn revocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<RevocationFeed>, EnhancedFailure> {
    let who = feed_principal(&state, &headers).await?;
    let mut since = 0i64;
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name == "since" && !value.is_empty() {
            since = value
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    EnhancedFailure::invalid_request(
                        "since must be a cursor from an earlier answer",
                    )
                })?;
        }
    }
    let feed = state.dcr.revocation_feed(&who, since).await?;
    crate::metrics::feed_read(feed.entries.len());
    let ids = |kind: RevocationKind| -> Vec<String> {
        feed.entries
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.target.clone())
            .collect()
    };
    Ok(Json(RevocationFeed {
        cursor: feed.cursor.to_string(),
        has_more: feed.has_more,
        horizon: feed.horizon,
        revoked_clients: ids(RevocationKind::Client),
        revoked_statements: ids(RevocationKind::Statement),
        revoked_applications: ids(RevocationKind::Application),
        entries: feed
            .entries
            .iter()
            .map(|e| RevocationEntry {
                seq: e.seq,
                kind: e.kind.as_str().into(),
                id: e.target.clone(),
                programmer: e.programmer_id.to_string(),
                revoked_at: e.revoked_at,
            })
            .collect(),
        channels: feed
            .channels
            .into_iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect(),
    }))
}
