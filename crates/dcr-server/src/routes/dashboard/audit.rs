//! The audit log: who did what to which resource, with names and links instead of bare
//! ids; human actions by default, device registrations behind a toggle; a date range;
//! CSV export of what the filters match.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use dcr_core::error::AdminError;
use dcr_core::model::{AuditEvent, PageRequest};
use dcr_core::service::{AuditQuery, DashboardSession};

use super::applications::short;
use super::render::{parse_date, when};
use super::session::{Form, SignedIn};
use super::{Nav, cursor, failure, html};
use crate::state::AppState;

/// How an audit actor reads on a page: `user:ops@acme.example` is the person,
/// `statement:<jti>` a registering device.
pub(super) fn actor_label(actor: &str) -> String {
    match actor.split_once(':') {
        Some(("user", email)) => email.to_owned(),
        Some(("api-key", id)) => format!("API key {}", short(id)),
        Some(("statement", jti)) => format!("a device (statement {})", short(jti)),
        Some(("client", id)) => format!("the app itself (client {})", short(id)),
        _ => actor.to_owned(),
    }
}

struct Target {
    text: String,
    link: Option<String>,
}

struct Row {
    when: String,
    actor: String,
    role: String,
    action: String,
    target: Target,
    source_ip: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    flash: Option<String>,
    action: String,
    actor: String,
    target: String,
    from: String,
    to: String,
    devices: bool,
    rows: Vec<Row>,
    next_query: Option<String>,
    export_query: String,
}

/// The dashboard's filters (dates as days, devices as a checkbox) as the audit query.
fn filters(query: &Form) -> Result<AuditQuery, AdminError> {
    let text = |name: &str| Some(query.one(name).trim().to_owned()).filter(|v| !v.is_empty());
    let date = |name: &str| -> Result<Option<i64>, AdminError> {
        match text(name) {
            None => Ok(None),
            Some(d) => parse_date(&d).map(Some).ok_or_else(|| {
                AdminError::InvalidRequest(format!("{name} must be a date (YYYY-MM-DD)"))
            }),
        }
    };
    for name in ["action", "actor", "target"] {
        if query.one(name).len() > 200 {
            return Err(AdminError::InvalidRequest(format!("{name} is too long")));
        }
    }
    Ok(AuditQuery {
        programmer: None,
        actor: text("actor"),
        action: text("action"),
        target: text("target"),
        since: date("from")?,
        // The whole "to" day.
        until: date("to")?.map(|t| t + 86_399),
        exclude_devices: query.one("devices") != "1",
    })
}

/// The query string of these filters (paging and export keep them).
fn query_string(query: &Form, cursor: Option<i64>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for name in ["action", "actor", "target", "from", "to", "devices"] {
        let value = query.one(name);
        if !value.is_empty() {
            out.append_pair(name, value);
        }
    }
    if let Some(c) = cursor {
        out.append_pair("cursor", &c.to_string());
    }
    out.finish()
}

/// Names for the targets of one page: each distinct application and statement looked
/// up once (a page holds at most 50 events).
async fn targets(
    state: &AppState,
    session: &DashboardSession,
    events: &[AuditEvent],
) -> Vec<Target> {
    let who = &session.principal;
    let mut apps: HashMap<String, Option<(String, String)>> = HashMap::new();
    let mut statements: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let first = e.target_id.split_whitespace().next().unwrap_or_default();
        let target = match e.target_kind.as_str() {
            "application" => {
                if !apps.contains_key(first) {
                    let found = match super::parse_id(first) {
                        Ok(id) => state.dcr.get_application(who, &id).await.ok(),
                        Err(_) => None,
                    };
                    apps.insert(first.to_owned(), found.map(|a| (a.name, a.version)));
                }
                let rest = e.target_id[first.len()..].trim();
                match apps.get(first).cloned().flatten() {
                    Some((name, version)) => Target {
                        text: format!("{name} {version} {rest}").trim().to_owned(),
                        link: Some(format!("/dashboard/applications/{first}")),
                    },
                    None => Target {
                        text: e.target_id.clone(),
                        link: None,
                    },
                }
            }
            "statement" => {
                if !statements.contains_key(first) {
                    let found = match super::parse_id(first) {
                        Ok(jti) => state.dcr.get_statement(who, &jti).await.ok(),
                        Err(_) => None,
                    };
                    statements.insert(
                        first.to_owned(),
                        found.map(|s| s.application_id.to_string()),
                    );
                }
                Target {
                    text: format!("statement {}", short(first)),
                    link: statements
                        .get(first)
                        .cloned()
                        .flatten()
                        .map(|app| format!("/dashboard/applications/{app}")),
                }
            }
            "client" => Target {
                text: format!("client {}", short(first)),
                link: Some(format!("/dashboard/clients/{first}")),
            },
            _ => Target {
                text: format!("{} {}", e.target_kind, e.target_id),
                link: None,
            },
        };
        out.push(target);
    }
    out
}

pub(super) async fn page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(q) => q,
        Err(e) => return failure(Some(&session), e),
    };
    let filters = match filters(&query) {
        Ok(f) => f,
        Err(e) => return failure(Some(&session), e),
    };
    let page = PageRequest {
        after: cursor(&query),
        limit: PageRequest::DEFAULT_LIMIT,
    };
    let events = match state
        .dcr
        .list_audit(&session.principal, filters, page)
        .await
    {
        Ok(p) => p,
        Err(e) => return failure(Some(&session), e),
    };
    let names = targets(&state, &session, &events.items).await;
    let rows = events
        .items
        .iter()
        .zip(names)
        .map(|(e, target)| Row {
            when: when(e.at),
            actor: actor_label(&e.actor),
            role: e.role.clone(),
            action: e.action.clone(),
            target,
            source_ip: e.source_ip.clone().unwrap_or_default(),
        })
        .collect();
    html(
        StatusCode::OK,
        &AuditPage {
            nav: Nav::of(&session),
            flash: None,
            action: query.one("action").to_owned(),
            actor: query.one("actor").to_owned(),
            target: query.one("target").to_owned(),
            from: query.one("from").to_owned(),
            to: query.one("to").to_owned(),
            devices: query.one("devices") == "1",
            rows,
            next_query: events.next.map(|n| query_string(&query, Some(n))),
            export_query: query_string(&query, None),
        },
    )
}

/// `GET /dashboard/audit.csv`: what the page's filters match, as a file.
pub(super) async fn export(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(q) => q,
        Err(e) => return failure(Some(&session), e),
    };
    let result = async {
        let filters = filters(&query)?;
        let response =
            crate::audit_export::csv_response(&state, &session.principal, filters).await?;
        tracing::info!(user = %session.email, programmer = session.principal.programmer.as_ref().map_or("", |p| p.as_str()), "audit log exported");
        Ok::<_, AdminError>(response)
    };
    result.await.unwrap_or_else(|e| failure(Some(&session), e))
}
