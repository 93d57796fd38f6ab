//! One installed app: its device, its statement and application, its effective status
//! with the cause, and its use; found by `client_id` from any page.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use dcr_core::error::AdminError;
use dcr_core::model::{ClientStanding, RevokedVia};

use super::applications::{is_off_platform, short};
use super::audit::actor_label;
use super::render::{self, ago, when};
use super::session::{Form, SignedIn};
use super::{Nav, failure, html, see_other};
use crate::state::AppState;

struct Field {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "dashboard/client.html")]
struct ClientPage {
    nav: Option<Nav>,
    flash: Option<String>,
    id: String,
    app_id: String,
    app_name: String,
    app_version: String,
    statement: String,
    status: &'static str,
    cause: String,
    active: bool,
    platform: String,
    off_platform: bool,
    app_platforms: String,
    device: Vec<Field>,
    user_agent: String,
    source_ip: String,
    registered: String,
    last_used: String,
    tokens_issued: u64,
    auth_method: &'static str,
    key_thumbprint: String,
    last_dpop: String,
    /// The platform attestation's verdict, in words ("none" without one).
    attestation: String,
}

/// Why a client is not active, with when and by whom.
fn cause(standing: &ClientStanding) -> String {
    let e = standing.effective();
    let Some(via) = e.revoked_via else {
        return String::new();
    };
    let at = e.revoked_at.map(when).unwrap_or_default();
    let by = |who: Option<&str>| {
        who.map(|w| format!(" by {}", actor_label(w)))
            .unwrap_or_default()
    };
    match via {
        RevokedVia::Client => format!("revoked {at}{}", by(standing.client.revoked_by.as_deref())),
        RevokedVia::Bulk => format!(
            "revoked in bulk {at}{}",
            by(standing.client.revoked_by.as_deref())
        ),
        RevokedVia::Inactivity => {
            format!("expired {at}: no token for longer than the application's inactivity limit")
        }
        RevokedVia::SelfDeleted => format!("deleted by the app itself (RFC 7592) {at}"),
        RevokedVia::Statement => format!("its software statement was revoked {at}"),
        RevokedVia::Application => format!(
            "its application was revoked {at}{}",
            by(standing.application.revoked_by.as_deref())
        ),
    }
}

/// Device info as name/value rows (strings as they are, other values as JSON).
fn device_fields(info: &serde_json::Value) -> Vec<Field> {
    match info.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| Field {
                name: k.clone(),
                value: v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            })
            .collect(),
        None => Vec::new(),
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(client_id): Path<String>,
) -> Response {
    let standing = async {
        let id = super::parse_id(&client_id)?;
        state.dcr.get_client(&session.principal, &id).await
    };
    let standing = match standing.await {
        Ok(s) => s,
        Err(e) => return failure(Some(&session), e),
    };
    let now = state.dcr.clock().now();
    let effective = standing.effective();
    let status = render::client_status(&effective);
    let cause = cause(&standing);
    let c = &standing.client;
    let app = &standing.application;
    let statement = c.statement_jti.to_string();
    html(
        StatusCode::OK,
        &ClientPage {
            nav: Nav::of(&session),
            flash: None,
            id: c.id.to_string(),
            app_id: app.id.to_string(),
            app_name: app.name.clone(),
            app_version: app.version.clone(),
            statement,
            active: effective.revoked_via.is_none(),
            status,
            cause,
            off_platform: is_off_platform(app, &c.platform),
            platform: c.platform.clone(),
            app_platforms: app.platforms.join(", "),
            device: device_fields(&c.device_info),
            user_agent: c.user_agent.clone().unwrap_or_default(),
            source_ip: c.source_ip.clone().unwrap_or_default(),
            registered: format!("{} ({})", when(c.created_at), ago(now, c.created_at)),
            last_used: c.last_used_at.map_or_else(
                || "never".into(),
                |t| format!("{} ({})", when(t), ago(now, t)),
            ),
            tokens_issued: c.tokens_issued,
            auth_method: c.auth_method.as_str(),
            key_thumbprint: c.key.as_ref().map(|k| k.jkt.clone()).unwrap_or_default(),
            last_dpop: c.dpop_seen_at.map_or_else(
                || "never".into(),
                |t| format!("{} ({})", when(t), ago(now, t)),
            ),
            attestation: attestation_words(c.attestation.as_ref()),
        },
    )
}

/// "pass: android-key, tee, com.acme.tv 42", "fail: apple-appattest: <reason>", "none".
fn attestation_words(verdict: Option<&dcr_proto::attestation::Verdict>) -> String {
    let Some(v) = verdict else {
        return "none".into();
    };
    let details: Vec<&str> = [
        Some(v.format.as_str()),
        v.security_level.as_deref(),
        v.app.as_deref(),
        v.app_version.as_deref(),
        v.reason.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!("{}: {}", v.result, details.join(", "))
}

/// `GET /dashboard/clients?client_id=…`: the client's page, or a page saying there is
/// none the user may see.
pub(super) async fn search(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(q) => q,
        Err(e) => return failure(Some(&session), e),
    };
    let wanted = query.one("client_id").trim().to_ascii_lowercase();
    if wanted.is_empty() {
        return failure(
            Some(&session),
            AdminError::InvalidRequest("enter a client_id to find".into()),
        );
    }
    let found = async {
        let id = super::parse_id(&wanted)?;
        state.dcr.get_client(&session.principal, &id).await
    };
    match found.await {
        Ok(found) => see_other(&format!("/dashboard/clients/{}", found.client.id)),
        Err(AdminError::NotFound) => failure(
            Some(&session),
            AdminError::InvalidRequest(format!(
                "no client {} among the applications you can see",
                short(&wanted)
            )),
        ),
        Err(e) => failure(Some(&session), e),
    }
}
