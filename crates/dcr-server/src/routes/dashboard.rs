//! The dashboard at `/dashboard`: server-rendered HTML (askama) that works without
//! JavaScript. Like the admin API it only translates: every page calls the same
//! `dcr_core::service` operations with the signed-in user's [`Principal`], so tenant
//! isolation and the audit log come from one place.
//!
//! Sessions are an `HttpOnly`, `SameSite=Strict` cookie (and `Secure` unless
//! configured off) holding a random token whose keyed hash is stored. Every form
//! carries the session's synchronizer CSRF token; the sign-in form, which has no
//! session yet, uses a double-submit cookie. Sign-in attempts are rate limited per
//! client address.

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use dcr_core::error::AdminError;
use dcr_core::model::{PageRequest, Role, Status};
use dcr_core::service::{
    ApplicationOverview, DashboardSession, NewApplication, SESSION_TTL_SECONDS,
};
use dcr_core::throttle::{BucketSpec, LocalBuckets};
use subtle::ConstantTimeEq;

use crate::config::DashboardConfig;
use crate::extract::read_body;
use crate::state::AppState;

/// Cookie names. With secure cookies they carry the `__Host-` prefix, which browsers
/// accept only from a secure origin, with `Path=/` and no `Domain`: a sibling subdomain
/// or a plain-HTTP page cannot plant one (a cookie-tossing attack on the sign-in CSRF
/// check).
const SESSION_COOKIE: &str = "dcr_session";
const LOGIN_CSRF_COOKIE: &str = "dcr_login_csrf";
const HOST_PREFIX: &str = "__Host-";
const MAX_FORM_BODY: usize = 16 * 1024;
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Dashboard settings and the sign-in limiter.
pub struct Dashboard {
    enabled: bool,
    secure_cookies: bool,
    sign_ins: LocalBuckets,
}

impl Dashboard {
    pub fn new(config: &DashboardConfig, ipv6_prefix: u8) -> Self {
        let per_minute = config.login_attempts_per_minute.max(1);
        Self {
            enabled: config.enabled,
            secure_cookies: config.secure_cookies,
            sign_ins: LocalBuckets::new(
                BucketSpec {
                    capacity: per_minute,
                    refill_per_second: f64::from(per_minute) / 60.0,
                },
                100_000,
            )
            .with_ipv6_prefix(ipv6_prefix),
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let text = if self.secure_cookies {
            format!(
                "{HOST_PREFIX}{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}; Secure"
            )
        } else {
            format!("{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age}")
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The value of our cookie `name` in the request; `Err` when the request carries it
    /// more than once (under either name), since then it is unknowable which one we set.
    fn cookie_value<'a>(
        &self,
        headers: &'a HeaderMap,
        name: &str,
    ) -> Result<Option<&'a str>, AdminError> {
        let prefixed = format!("{HOST_PREFIX}{name}");
        let wanted = if self.secure_cookies {
            prefixed.as_str()
        } else {
            name
        };
        let mut found = None;
        let pairs = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        for (k, v) in pairs {
            let k = k.trim();
            if k != name && k != prefixed {
                continue;
            }
            if found.is_some() {
                return Err(AdminError::InvalidRequest(
                    "the request carries a dashboard cookie twice; clear this site's cookies and sign in again".into(),
                ));
            }
            found = Some((k == wanted).then_some(v));
        }
        Ok(found.flatten())
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    if !state.dashboard.enabled {
        return Router::new();
    }
    Router::new()
        .route(
            "/dashboard",
            get(|| async { Redirect::to("/dashboard/applications") }),
        )
        .route("/dashboard/style.css", get(stylesheet))
        .route("/dashboard/login", get(login_page).post(login))
        .route("/dashboard/logout", post(logout))
        .route(
            "/dashboard/applications",
            get(applications).post(create_application),
        )
        .route("/dashboard/applications/new", get(new_application))
        .route("/dashboard/applications/{app_id}", get(application))
        .route(
            "/dashboard/applications/{app_id}/statements",
            post(download_statement),
        )
        .route(
            "/dashboard/applications/{app_id}/revoke",
            get(revoke_application).post(revoke_application),
        )
        .route(
            "/dashboard/applications/{app_id}/statements/{jti}/revoke",
            get(revoke_statement).post(revoke_statement),
        )
        .route(
            "/dashboard/applications/{app_id}/clients/{client_id}/revoke",
            get(revoke_client).post(revoke_client),
        )
        .route("/dashboard/audit", get(audit))
        .layer(middleware::from_fn_with_state(
            state.dashboard.secure_cookies,
            security_headers,
        ))
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
        include_str!("../../assets/dashboard.css"),
    )
        .into_response()
}

// ---- rendering ------------------------------------------------------------------

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
            programmer: programmer_of(s),
            csrf: s.csrf_token.clone(),
            can_read_audit: s.principal.may_read_audit(),
        })
    }
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
        AdminError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The database cannot be reached. Try again in a moment.".to_owned(),
        ),
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

fn when(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

// ---- sessions and forms ---------------------------------------------------------

/// The signed-in session, or the redirect to the sign-in page.
async fn signed_in(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<DashboardSession, Response> {
    let ip = state.client_ip(peer.ip(), headers);
    let token = match state.dashboard.cookie_value(headers, SESSION_COOKIE) {
        Ok(Some(token)) => token,
        Ok(None) => return Err(Redirect::to("/dashboard/login").into_response()),
        Err(e) => return Err(failure(None, e)),
    };
    if let Err(refused) = state.admit_authentication(ip) {
        return Err(refused.into_response());
    }
    match state
        .dcr
        .dashboard_session(token, Some(ip.to_string()))
        .await
    {
        Ok(s) => Ok(s),
        Err(AdminError::Unauthenticated) => {
            state.failed_auth.failed(ip);
            Err(Redirect::to("/dashboard/login").into_response())
        }
        Err(e) => Err(failure(None, e)),
    }
}

/// A posted form's fields, in order; repeated names (checkboxes) are kept.
struct Form(Vec<(String, String)>);

impl Form {
    async fn read(headers: &HeaderMap, body: Body) -> Result<Self, AdminError> {
        crate::extract::require_media_type(headers, "application/x-www-form-urlencoded")
            .map_err(AdminError::InvalidRequest)?;
        let bytes = read_body(body, MAX_FORM_BODY)
            .await
            .map_err(|e| AdminError::InvalidRequest(e.to_string()))?;
        Ok(Self(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A signed-in POST: the session and its form, with the CSRF token checked.
async fn signed_in_form(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<(DashboardSession, Form), Response> {
    let session = signed_in(state, peer, headers).await?;
    let form = Form::read(headers, body)
        .await
        .map_err(|e| failure(Some(&session), e))?;
    if !same_secret(form.one("csrf"), &session.csrf_token) {
        return Err(failure(
            Some(&session),
            AdminError::InvalidRequest(
                "the form has expired or did not come from this dashboard; reload and retry".into(),
            ),
        ));
    }
    Ok((session, form))
}

/// The non-empty lines of a textarea, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A client's effective status in words: the one rule ([`ClientStanding::effective`]).
fn client_status_text(e: &dcr_core::model::Effective) -> &'static str {
    use dcr_core::model::RevokedVia as Via;
    match e.revoked_via {
        None => "active",
        Some(Via::Client) => "revoked",
        Some(Via::Statement) => "cut off: statement revoked",
        Some(Via::Application) => "cut off: application revoked",
        Some(Via::Bulk) => "revoked (bulk)",
        Some(Via::Inactivity) => "expired (inactive)",
        Some(Via::SelfDeleted) => "deleted by the app",
    }
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---- sign-in --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    email: String,
    csrf: String,
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<String>,
) -> Response {
    let csrf = match dcr_core::secrets::random_token() {
        Ok(token) => token,
        Err(e) => return failure(None, AdminError::Internal(e.to_string())),
    };
    let mut response = html(
        status,
        &LoginPage {
            nav: None,
            flash: None,
            error,
            email: email.to_owned(),
            csrf: csrf.clone(),
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        state.dashboard.cookie(LOGIN_CSRF_COOKIE, &csrf, 3600),
    );
    response
}

async fn login_page(State(state): State<AppState>) -> Response {
    login_form(&state, StatusCode::OK, "", None)
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ip: IpAddr = state.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.dashboard.sign_ins.check(ip) {
        let seconds = dcr_core::throttle::retry_after_seconds(wait);
        let mut response = login_form(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "",
            Some(format!(
                "Too many sign-in attempts. Try again in {seconds} s."
            )),
        );
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let form = match Form::read(&headers, body).await {
        Ok(f) => f,
        Err(e) => return login_form(&state, StatusCode::BAD_REQUEST, "", Some(e.to_string())),
    };
    let email = form.one("email");
    let expected = match state.dashboard.cookie_value(&headers, LOGIN_CSRF_COOKIE) {
        Ok(value) => value.unwrap_or_default(),
        Err(e) => return login_form(&state, StatusCode::BAD_REQUEST, "", Some(e.to_string())),
    };
    if !same_secret(form.one("csrf"), expected) {
        return login_form(
            &state,
            StatusCode::BAD_REQUEST,
            email,
            Some("The sign-in form expired; please try again.".into()),
        );
    }
    match state
        .dcr
        .sign_in(email, form.one("password"), Some(ip.to_string()))
        .await
    {
        Ok((token, _)) => {
            let mut response = see_other("/dashboard/applications");
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                state
                    .dashboard
                    .cookie(SESSION_COOKIE, &token, SESSION_TTL_SECONDS),
            );
            h.append(
                header::SET_COOKIE,
                state.dashboard.cookie(LOGIN_CSRF_COOKIE, "", 0),
            );
            response
        }
        Err(AdminError::Unauthenticated) => login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            email,
            Some("The email or password is wrong.".into()),
        ),
        Err(e) => failure(None, e),
    }
}

async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = signed_in_form(&state, peer, &headers, body).await {
        return r;
    }
    if let Ok(Some(token)) = state.dashboard.cookie_value(&headers, SESSION_COOKIE)
        && let Err(e) = state.dcr.sign_out(token).await
    {
        return failure(None, e);
    }
    let mut response = see_other("/dashboard/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        state.dashboard.cookie(SESSION_COOKIE, "", 0),
    );
    response
}

// ---- applications ---------------------------------------------------------------

struct AppRow {
    id: String,
    name: String,
    level: &'static str,
    platforms: String,
    status: &'static str,
    clients: u64,
    tokens: u64,
}

#[derive(Template)]
#[template(path = "dashboard/applications.html")]
struct ApplicationsPage {
    nav: Option<Nav>,
    flash: Option<String>,
    programmer: String,
    rows: Vec<AppRow>,
    next_cursor: Option<String>,
}

/// The `cursor` of a page link; anything else starts at the first page.
fn cursor(query: &str) -> Option<i64> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "cursor")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .filter(|n| *n > 0)
}

fn programmer_of(session: &DashboardSession) -> String {
    session
        .principal
        .programmer
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}

async fn applications(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let session = match signed_in(&state, peer, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let pid = programmer_of(&session);
    let page = PageRequest {
        after: cursor(query.as_deref().unwrap_or_default()),
        limit: PageRequest::DEFAULT_LIMIT,
    };
    let apps = match state
        .dcr
        .list_applications(&session.principal, &pid, page)
        .await
    {
        Ok(p) => p,
        Err(e) => return failure(Some(&session), e),
    };
    let mut rows = Vec::with_capacity(apps.items.len());
    for a in apps.items {
        let usage = match state
            .dcr
            .application_usage(&session.principal, &a.id.to_string())
            .await
        {
            Ok(u) => u,
            Err(e) => return failure(Some(&session), e),
        };
        rows.push(AppRow {
            id: a.id.to_string(),
            name: a.name,
            level: a.level.as_str(),
            platforms: a.platforms.join(", "),
            status: a.status.as_str(),
            clients: usage.clients,
            tokens: usage.tokens_issued,
        });
    }
    html(
        StatusCode::OK,
        &ApplicationsPage {
            nav: Nav::of(&session),
            flash: None,
            programmer: pid,
            rows,
            next_cursor: apps.next.map(|n| n.to_string()),
        },
    )
}

struct Choice {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "dashboard/new_application.html")]
struct NewApplicationPage {
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    error: Option<String>,
    name: String,
    version: String,
    level: String,
    channels: Vec<Choice>,
    platforms: Vec<Choice>,
    scopes: Vec<Choice>,
    domains: String,
    audiences: String,
}

async fn application_form(
    state: &AppState,
    session: &DashboardSession,
    status: StatusCode,
    form: Option<&Form>,
    error: Option<String>,
) -> Response {
    let pid = programmer_of(session);
    let page = PageRequest {
        after: None,
        limit: PageRequest::MAX_LIMIT,
    };
    let channels = match state
        .dcr
        .list_channels(&session.principal, &pid, page)
        .await
    {
        Ok(p) => p.items,
        Err(e) => return failure(Some(session), e),
    };
    let chosen = |name: &str| form.map(|f| f.all(name)).unwrap_or_default();
    let (chosen_channels, chosen_platforms, chosen_scopes) =
        (chosen("channels"), chosen("platforms"), chosen("scopes"));
    let catalog = &state.dcr.settings().catalog;
    let choices = |items: Vec<(String, String)>, chosen: &[String]| {
        items
            .into_iter()
            .map(|(value, label)| Choice {
                checked: chosen.contains(&value),
                value,
                label,
            })
            .collect()
    };
    let default_level = if session.principal.role == Role::ChannelAdmin {
        "channel"
    } else {
        "programmer"
    };
    html(
        status,
        &NewApplicationPage {
            nav: Nav::of(session),
            flash: None,
            csrf: session.csrf_token.clone(),
            error,
            name: form.map(|f| f.one("name").to_owned()).unwrap_or_default(),
            version: form
                .map(|f| f.one("version").to_owned())
                .unwrap_or_else(|| "1.0".into()),
            level: form
                .map(|f| f.one("level").to_owned())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| default_level.into()),
            channels: choices(
                channels
                    .into_iter()
                    .map(|c| {
                        (
                            c.id.as_str().to_owned(),
                            format!("{} ({})", c.name, c.id.as_str()),
                        )
                    })
                    .collect(),
                &chosen_channels,
            ),
            platforms: choices(
                catalog
                    .platforms
                    .iter()
                    .map(|p| (p.clone(), p.clone()))
                    .collect(),
                &chosen_platforms,
            ),
            scopes: choices(
                catalog
                    .scopes
                    .iter()
                    .map(|s| (s.clone(), s.clone()))
                    .collect(),
                &chosen_scopes,
            ),
            domains: form
                .map(|f| f.one("domains").to_owned())
                .unwrap_or_default(),
            audiences: form
                .map(|f| f.one("audiences").to_owned())
                .unwrap_or_default(),
        },
    )
}

async fn new_application(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match signed_in(&state, peer, &headers).await {
        Ok(session) => application_form(&state, &session, StatusCode::OK, None, None).await,
        Err(r) => r,
    }
}

async fn create_application(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (session, form) = match signed_in_form(&state, peer, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let version = form.one("version").trim();
    let request = NewApplication {
        name: form.one("name").to_owned(),
        version: (!version.is_empty()).then(|| version.to_owned()),
        level: form.one("level").to_owned(),
        channels: Some(form.all("channels")),
        platforms: form.all("platforms"),
        scopes: form.all("scopes"),
        domains: lines(form.one("domains")),
        audiences: lines(form.one("audiences")),
    };
    let pid = programmer_of(&session);
    match state
        .dcr
        .create_application(&session.principal, &pid, request)
        .await
    {
        Ok(app) => see_other(&format!("/dashboard/applications/{}", app.id)),
        Err(AdminError::InvalidRequest(m)) | Err(AdminError::Conflict(m)) => {
            application_form(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                Some(&form),
                Some(m),
            )
            .await
        }
        Err(e) => failure(Some(&session), e),
    }
}

struct AppFacts {
    id: String,
    name: String,
    status: &'static str,
    active: bool,
    version: String,
    level: &'static str,
    channels: String,
    platforms: String,
    scopes: String,
    domains: String,
    audiences: String,
    custom_scheme: String,
}

struct Line {
    id: String,
    when: String,
    status: &'static str,
    active: bool,
    detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/application.html")]
struct ApplicationPage {
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    app: AppFacts,
    usage: dcr_core::model::ApplicationUsage,
    statements: Vec<Line>,
    clients: Vec<Line>,
    /// Query string of the next page of clients.
    next_clients: Option<String>,
}

fn or_all(items: Vec<String>) -> String {
    if items.is_empty() {
        "all".into()
    } else {
        items.join(", ")
    }
}

async fn application(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let session = match signed_in(&state, peer, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let clients_after = cursor(query.as_deref().unwrap_or_default());
    match application_page(&state, &session, &app_id, clients_after).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

async fn application_page(
    state: &AppState,
    session: &DashboardSession,
    app_id: &str,
    clients_after: Option<i64>,
) -> Result<ApplicationPage, AdminError> {
    let clients_page = PageRequest {
        after: clients_after,
        limit: PageRequest::DEFAULT_LIMIT,
    };
    let ApplicationOverview {
        application: app,
        usage,
        statements,
        clients,
    } = state
        .dcr
        .application_overview(&session.principal, app_id, clients_page)
        .await?;
    Ok(ApplicationPage {
        next_clients: clients.next.map(|n| format!("cursor={n}")),
        nav: Nav::of(session),
        flash: None,
        csrf: session.csrf_token.clone(),
        usage,
        statements: statements
            .items
            .into_iter()
            .rev()
            .map(|s| Line {
                id: s.jti.to_string(),
                when: when(s.issued_at),
                status: s.status.as_str(),
                active: s.status == Status::Active,
                detail: s.kid,
            })
            .collect(),
        clients: clients
            .items
            .into_iter()
            .map(|standing| {
                let status = client_status_text(&standing.effective());
                let c = standing.client;
                Line {
                    id: c.id.to_string(),
                    when: when(c.created_at),
                    active: status == "active",
                    status,
                    detail: c.platform,
                }
            })
            .collect(),
        app: AppFacts {
            id: app.id.to_string(),
            active: app.status == Status::Active,
            status: app.status.as_str(),
            name: app.name,
            version: app.version,
            level: app.level.as_str(),
            channels: or_all(
                app.channels
                    .into_iter()
                    .map(|c| c.as_str().to_owned())
                    .collect(),
            ),
            platforms: app.platforms.join(", "),
            scopes: app.scopes.join(" "),
            domains: app.domains.join(", "),
            audiences: if app.audiences.is_empty() {
                "(the deployment's default)".into()
            } else {
                app.audiences.join(", ")
            },
            custom_scheme: app.custom_scheme,
        },
    })
}

/// Signs a new statement and hands it over as a file.
async fn download_statement(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    body: Body,
) -> Response {
    let (session, _) = match signed_in_form(&state, peer, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.dcr.issue_statement(&session.principal, &app_id).await {
        Ok((record, jws)) => {
            let disposition = format!(
                "attachment; filename=\"software-statement-{}.jwt\"",
                record.jti
            );
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/jwt")],
                jws,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => failure(Some(&session), e),
    }
}

// ---- revocations, each behind a confirmation page ---------------------------------

#[derive(Template)]
#[template(path = "dashboard/confirm.html")]
struct ConfirmPage {
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    heading: String,
    consequence: String,
    action: String,
    button: String,
    back: String,
}

/// What is about to be revoked, checked against the caller's rights first.
enum Revocable {
    Application,
    Statement(String),
    Client(String),
}

async fn confirm(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    app_id: &str,
    what: Revocable,
) -> Response {
    let session = match signed_in(state, peer, headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let who = &session.principal;
    let app = match state.dcr.get_application(who, app_id).await {
        Ok(a) => a,
        Err(e) => return failure(Some(&session), e),
    };
    let back = format!("/dashboard/applications/{}", app.id);
    let (heading, consequence, action, button) = match what {
        Revocable::Application => (
            format!("Revoke the application {}?", app.name),
            "Every software statement and every client made from it stops working at once, \
             and no new client can register with it. This cannot be undone."
                .to_owned(),
            format!("{back}/revoke"),
            "Revoke the application",
        ),
        Revocable::Statement(jti) => {
            match state.dcr.get_statement(who, &jti).await {
                Ok(s) if s.application_id == app.id => {}
                Ok(_) => return failure(Some(&session), AdminError::NotFound),
                Err(e) => return failure(Some(&session), e),
            }
            (
                format!("Revoke software statement {jti}?"),
                format!(
                    "Clients registered with it stop working at once, and no device can register \
                     with it again. Other statements of {} keep working. This cannot be undone.",
                    app.name
                ),
                format!("{back}/statements/{jti}/revoke"),
                "Revoke the statement",
            )
        }
        Revocable::Client(client_id) => {
            match state.dcr.get_client(who, &client_id).await {
                Ok(c) if c.client.application_id == app.id => {}
                Ok(_) => return failure(Some(&session), AdminError::NotFound),
                Err(e) => return failure(Some(&session), e),
            }
            (
                format!("Revoke client {client_id}?"),
                "This one installed app stops working at once; its user must register again \
                 through a new install. This cannot be undone."
                    .to_owned(),
                format!("{back}/clients/{client_id}/revoke"),
                "Revoke the client",
            )
        }
    };
    html(
        StatusCode::OK,
        &ConfirmPage {
            nav: Nav::of(&session),
            flash: None,
            csrf: session.csrf_token.clone(),
            heading,
            consequence,
            action,
            button: button.into(),
            back,
        },
    )
}

async fn revoke(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
    app_id: &str,
    what: Revocable,
) -> Response {
    let (session, _) = match signed_in_form(state, peer, headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let who = &session.principal;
    let done = match &what {
        Revocable::Application => state.dcr.revoke_application(who, app_id).await.map(|_| ()),
        Revocable::Statement(jti) => state.dcr.revoke_statement(who, jti).await.map(|_| ()),
        Revocable::Client(id) => state.dcr.revoke_client(who, id).await.map(|_| ()),
    };
    match done {
        Ok(()) => {
            let kind = match what {
                Revocable::Application => "application",
                Revocable::Statement(_) => "statement",
                Revocable::Client(_) => "client",
            };
            crate::metrics::revocation(kind);
            see_other(&format!("/dashboard/applications/{app_id}"))
        }
        Err(e) => failure(Some(&session), e),
    }
}

/// GET shows the confirmation page, POST (from that page) revokes.
async fn confirm_or_revoke(
    state: &AppState,
    method: Method,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
    app_id: &str,
    what: Revocable,
) -> Response {
    if method == Method::POST {
        revoke(state, peer, headers, body, app_id, what).await
    } else {
        confirm(state, peer, headers, app_id, what).await
    }
}

async fn revoke_application(
    State(state): State<AppState>,
    method: Method,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    body: Body,
) -> Response {
    let what = Revocable::Application;
    confirm_or_revoke(&state, method, peer, &headers, body, &app_id, what).await
}

async fn revoke_statement(
    State(state): State<AppState>,
    method: Method,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((app_id, jti)): Path<(String, String)>,
    body: Body,
) -> Response {
    let what = Revocable::Statement(jti);
    confirm_or_revoke(&state, method, peer, &headers, body, &app_id, what).await
}

async fn revoke_client(
    State(state): State<AppState>,
    method: Method,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((app_id, client_id)): Path<(String, String)>,
    body: Body,
) -> Response {
    let what = Revocable::Client(client_id);
    confirm_or_revoke(&state, method, peer, &headers, body, &app_id, what).await
}

// ---- audit log --------------------------------------------------------------------

struct AuditRow {
    when: String,
    actor: String,
    role: String,
    action: String,
    target: String,
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
    rows: Vec<AuditRow>,
    next_query: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let session = match signed_in(&state, peer, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query = query.unwrap_or_default();
    let filters = match super::admin::audit_query(&query) {
        Ok(f) => f,
        Err(_) => {
            return failure(
                Some(&session),
                AdminError::InvalidRequest("the filters are not valid".into()),
            );
        }
    };
    let after = cursor(&query);
    let (action, actor, target) = (
        filters.action.clone().unwrap_or_default(),
        filters.actor.clone().unwrap_or_default(),
        filters.target.clone().unwrap_or_default(),
    );
    let page = PageRequest {
        after,
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
    let next_query = events.next.map(|n| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &action)
            .append_pair("actor", &actor)
            .append_pair("target", &target)
            .append_pair("cursor", &n.to_string())
            .finish()
    });
    html(
        StatusCode::OK,
        &AuditPage {
            nav: Nav::of(&session),
            flash: None,
            rows: events
                .items
                .into_iter()
                .map(|e| AuditRow {
                    when: when(e.at),
                    actor: e.actor,
                    role: e.role,
                    action: e.action,
                    target: format!("{} {}", e.target_kind, e.target_id),
                    source_ip: e.source_ip.unwrap_or_default(),
                })
                .collect(),
            action,
            actor,
            target,
            next_query,
        },
    )
}
