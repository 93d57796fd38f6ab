//! For resource servers: `POST /o/introspect` (RFC 7662) and `GET /o/revocations`.

use axum::body::Body;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
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
use crate::extract::{basic_credentials, bearer_token, read_form_body};
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OAuthFailure> {
    let ip = state.client_ip(peer.ip(), &headers);
    state.failed_auth.admit(ip).map_err(|wait| {
        OAuthFailure::too_many_requests(wait, "too many failed authentications from this address")
    })?;
    // Credentials in headers are checked before the body is read: an unauthenticated
    // caller costs no body read.
    let basic = basic_credentials(&headers).map_err(OAuthFailure::invalid_request)?;
    let in_headers = match (bearer_token(&headers), basic) {
        (Some(_), Some(_)) => {
            return Err(OAuthFailure::invalid_request(
                "authenticate in exactly one way",
            ));
        }
        (Some(key), None) => Some(authenticated(&state, ip, key, None).await?),
        (None, Some((id, key))) => Some(authenticated(&state, ip, &key, Some(&id)).await?),
        (None, None) => None,
    };

    let bytes = read_form_body(&headers, body, MAX_INTROSPECT_BODY)
        .await
        .map_err(OAuthFailure::invalid_request)?;
    let params = dcr_core::wire::parse_form(uri.query().unwrap_or_default().as_bytes(), &bytes)
        .map_err(OAuthFailure::invalid_request)?;

    // Or the key id and key as form client credentials.
    let form = (params.get("client_id"), params.get("client_secret"));
    let who = match (in_headers, form) {
        (Some(who), (None, None)) => who,
        (None, (Some(id), Some(key))) => authenticated(&state, ip, key, Some(id)).await?,
        (None, (None, None)) => return Err(unauthorized()),
        _ => {
            return Err(OAuthFailure::invalid_request(
                "authenticate in exactly one way",
            ));
        }
    };

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
            aud: (!c.aud.is_empty()).then_some(c.aud),
            scope: Some(c.scope),
            exp: Some(c.exp),
            iat: Some(c.iat),
            nbf: Some(c.nbf),
            iss: Some(c.iss),
            jti: Some(c.jti),
            // RFC 9449 6.2: a bound token is a DPoP token.
            token_type: Some(if c.cnf.is_some() { "DPoP" } else { "Bearer" }.into()),
            software_id: Some(c.software_id),
            sst: Some(c.sst),
            programmer: Some(c.programmer),
            channels: c.channels,
            cnf: c.cnf,
        },
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A resource-server key (or an operator's), counting failures against `ip`.
async fn authenticated(
    state: &AppState,
    ip: IpAddr,
    key: &str,
    claimed_id: Option<&str>,
) -> Result<Principal, OAuthFailure> {
    match state
        .dcr
        .authenticate_resource_server(key, claimed_id)
        .await
    {
        Ok(principal) => Ok(principal),
        Err(AdminError::Unavailable(e)) => Err(OAuthFailure::from(
            dcr_core::error::TokenError::Unavailable(e),
        )),
        Err(_) => {
            state.failed_auth.failed(ip).await;
            Err(unauthorized())
        }
    }
}

async fn feed_principal(
    state: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Result<Principal, EnhancedFailure> {
    let key = bearer_token(headers).ok_or(AdminError::Unauthenticated)?;
    state.admit_authentication(ip)?;
    match state.dcr.authenticate_resource_server(key, None).await {
        Ok(principal) => Ok(principal),
        Err(e) => {
            if matches!(e, AdminError::Unauthenticated | AdminError::Forbidden) {
                state.failed_auth.failed(ip).await;
            }
            Err(e.into())
        }
    }
}

async fn revocations(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: crate::extract::SingleQuery,
) -> Result<Json<RevocationFeed>, EnhancedFailure> {
    let ip = state.client_ip(peer.ip(), &headers);
    let who = feed_principal(&state, ip, &headers).await?;
    let mut since = 0i64;
    if let Some(value) = query.get("since").filter(|v| !v.is_empty()) {
        since = value
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                EnhancedFailure::invalid_request("since must be a cursor from an earlier answer")
            })?;
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
        revoked_tokens: ids(RevocationKind::Token),
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
            .iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect(),
        programmer_channels: feed.channels.iter().fold(
            std::collections::BTreeMap::new(),
            |mut by_programmer: std::collections::BTreeMap<String, Vec<String>>, (c, p)| {
                by_programmer
                    .entry(p.to_string())
                    .or_default()
                    .push(c.to_string());
                by_programmer
            },
        ),
        programmer: who.programmer.as_ref().map(ToString::to_string),
    }))
}
