//! The dashboard at `/dashboard`: an operations console in server-rendered HTML
//! (askama) that works without JavaScript. Like the admin API it only translates:
//! every page calls `dcr_core::service` with the signed-in user's `Principal`, so
//! tenant isolation and the audit log come from one place, and every change goes
//! through [`crate::actions`], so it is logged like its API twin.
//!
//! - [`session`]: who is asking (extractors) and the cookies;
//! - [`login`]: signing in and out;
//! - [`applications`]: the programmer overview, the application's operations page,
//!   creating an application and downloading its statements;
//! - [`clients`]: the client page and the search by `client_id`;
//! - [`statements`]: every destructive action, each stating its impact first;
//! - [`audit`]: the audit log with names, dates and CSV export;
//! - [`render`]: SVG charts and the words pages use.

mod applications;
mod audit;
mod binding;
mod clients;
mod login;
mod render;
mod session;
mod statements;

use std::sync::Arc;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use dcr_core::error::AdminError;
use dcr_core::ids::{ParseId, ProgrammerId};
use dcr_core::service::DashboardSession;

pub use session::Dashboard;

use crate::state::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(dashboard: Arc<Dashboard>) -> Router<AppState> {
    if !dashboard.enabled {
        return Router::new();
    }
    let secure = dashboard.secure_cookies;
    Router::new()
        .route(
            "/dashboard",
            get(|| async { Redirect::to("/dashboard/applications") }),
        )
        .route("/dashboard/style.css", get(stylesheet))
        .route("/dashboard/login", get(login::page).post(login::sign_in))
        .route("/dashboard/logout", post(login::sign_out))
        .route(
            "/dashboard/applications",
            get(applications::overview).post(applications::create),
        )
        .route("/dashboard/applications/new", get(applications::new))
        .route("/dashboard/applications/{app_id}", get(applications::page))
        .route(
            "/dashboard/applications/{app_id}/statements",
            post(applications::download_statement),
        )
        .route(
            "/dashboard/applications/{app_id}/revoke",
            get(statements::confirm_application).post(statements::revoke_application),
        )
        .route(
            "/dashboard/applications/{app_id}/statements/{jti}/{action}",
            get(statements::confirm_statement).post(statements::act_on_statement),
        )
        .route(
            "/dashboard/applications/{app_id}/bound-credentials",
            get(binding::confirm).post(binding::apply),
        )
        .route(
            "/dashboard/applications/{app_id}/clients/revoke",
            get(statements::bulk_form).post(statements::bulk_revoke),
        )
        .route(
            "/dashboard/applications/{app_id}/clients/{client_id}/revoke",
            get(statements::confirm_client).post(statements::revoke_client),
        )
        .route("/dashboard/clients", get(clients::search))
        .route("/dashboard/clients/{client_id}", get(clients::page))
        .route("/dashboard/audit", get(audit::page))
        .route("/dashboard/audit.csv", get(audit::export))
        .layer(middleware::from_fn_with_state(secure, security_headers))
        .layer(Extension(dashboard))
}

/// `secure`: the dashboard is served over HTTPS (secure cookies on), so browsers are
/// also told to never use plain HTTP for this host (HSTS).
async fn security_headers(State(secure): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../assets/dashboard.css"),
    )
        .into_response()
}

/// The header's signed-in part.
struct Nav {
    email: String,
    role: &'static str,
    programmer: String,
    csrf: String,
    can_read_audit: bool,
}

impl Nav {
    fn of(s: &DashboardSession) -> Option<Self> {
        Some(Self {
            email: s.email.clone(),
            role: s.principal.role.as_str(),
            programmer: s
                .principal
                .programmer
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            csrf: s.csrf_token.clone(),
            can_read_audit: s.principal.may_read_audit(),
        })
    }
}

/// The programmer a dashboard user belongs to (every user belongs to one).
fn programmer_of(session: &DashboardSession) -> Result<ProgrammerId, AdminError> {
    session
        .principal
        .programmer
        .clone()
        .ok_or(AdminError::NotFound)
}

/// An id from a dashboard path or form. Text that cannot be an id of its kind names
/// nothing: the same "not found" page as an id that names nothing.
fn parse_id<T: ParseId>(raw: &str) -> Result<T, AdminError> {
    T::parse_id(raw).map_err(|_| AdminError::NotFound)
}

fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a dashboard page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/message.html")]
struct MessagePage {
    nav: Option<Nav>,
    flash: Option<String>,
    heading: String,
    text: String,
}

/// A failed operation as a page: 404 for what the user may not see, never a hint.
fn failure(session: Option<&DashboardSession>, e: AdminError) -> Response {
    let (status, heading, text) = match e {
        AdminError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page, or it is not yours to see.".to_owned(),
        ),
        AdminError::Forbidden => (
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role may not do that.".to_owned(),
        ),
        AdminError::InvalidRequest(m) | AdminError::Conflict(m) => {
            (StatusCode::BAD_REQUEST, "That did not work", m)
        }
        AdminError::Unauthenticated => return Redirect::to("/dashboard/login").into_response(),
        AdminError::Unavailable(e) => {
            tracing::warn!(error = %e, "store unavailable during a dashboard call");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The database cannot be reached. Try again in a moment.".to_owned(),
            )
        }
        AdminError::Internal(m) => {
            tracing::error!(error = %m, "dashboard operation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The operation failed; it has been logged.".to_owned(),
            )
        }
    };
    html(
        status,
        &MessagePage {
            nav: session.and_then(Nav::of),
            flash: None,
            heading: heading.into(),
            text,
        },
    )
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Redirects to `path` after an action, to report it there (`?done=<code>&n=<count>`
/// and a signature: see [`flash`]).
fn done_at(session: &DashboardSession, path: &str, code: &str, n: u64) -> Response {
    let sig = flash_signature(session, path, code, n);
    see_other(&format!("{path}?done={code}&n={n}&sig={sig}"))
}

/// HMAC-SHA256, keyed with the session's secret (its CSRF token, which only pages of
/// that session carry), over the page, the code and the count: a link that someone
/// else made, or made for another session, page, action or number, shows no message.
fn flash_signature(session: &DashboardSession, path: &str, code: &str, n: u64) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(session.csrf_token.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes a key of any length.
        Err(_) => return String::new(),
    };
    for part in [path, code, &n.to_string()] {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    let tag = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16])
}

/// What the action that redirected to `path` reports: a closed set of messages, shown
/// only when the link carries the server's signature for this session ([`done_at`]).
fn flash(session: &DashboardSession, path: &str, query: &session::Form) -> Option<String> {
    let n: u64 = query.one("n").parse().unwrap_or(0);
    let expected = flash_signature(session, path, query.one("done"), n);
    let given = query.one("sig");
    if expected.is_empty() || !session::same_secret(given, &expected) {
        return None;
    }
    let clients = |n: u64| format!("{n} client{}", if n == 1 { "" } else { "s" });
    Some(match query.one("done") {
        "application-created" => {
            "Application created. Next: download a software statement and ship it in your app."
                .into()
        }
        "application-revoked" => format!("Application revoked: {} cut off.", clients(n)),
        "statement-retired" => format!(
            "Statement retired: it registers no new clients; its {} keep working.",
            clients(n)
        ),
        "statement-revoked" => format!("Statement revoked: {} cut off.", clients(n)),
        "client-revoked" => "Client revoked: it gets no more tokens.".into(),
        "bound-credentials-set" if n == 0 => "Bound credentials set.".into(),
        "bound-credentials-set" => format!(
            "Bound credentials set: {} without a recent DPoP proof now get no tokens.",
            clients(n)
        ),
        "clients-revoked" => format!("{} revoked.", clients(n)),
        "clients-revoking" => "Still revoking in the background: the audit log records \
                               the count when it is done (clients.bulk-revoked)."
            .into(),
        _ => return None,
    })
}

/// The `cursor` of a page link; anything else starts at the first page.
fn cursor(query: &session::Form) -> Option<i64> {
    query.one("cursor").parse::<i64>().ok().filter(|n| *n > 0)
}
