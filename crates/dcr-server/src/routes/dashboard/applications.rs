//! The programmer overview (applications side by side), the application's operations
//! page (KPIs, charts, statements, clients, next steps), creating an application and
//! downloading its software statements.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcr_core::error::AdminError;
use dcr_core::model::{
    Application, ApplicationUsage, DayCount, PageRequest, Role, StatementRecord, Status,
};
use dcr_core::service::{
    Activity, ApplicationSummary, DashboardSession, NewApplication, StatementSummary,
};

use super::render::{self, ago, when};
use super::session::{Form, SignedIn, SignedInForm};
use super::{Nav, cursor, failure, flash, html, parse_id, programmer_of};
use crate::state::AppState;

/// Days of activity the operations page draws.
const CHART_DAYS: u32 = 30;

// ---- the programmer overview -------------------------------------------------------

struct OverviewRow {
    id: String,
    name: String,
    version: String,
    level: &'static str,
    platforms: String,
    status: &'static str,
    active_clients: u64,
    cut_off_clients: u64,
    registrations_today: u64,
    registrations_7d: u64,
    tokens_today: u64,
    tokens_7d: u64,
    tokens_30d: u64,
    tokens_total: u64,
    last_registration: String,
    last_token: String,
}

#[derive(Template)]
#[template(path = "dashboard/applications.html")]
struct OverviewPage {
    nav: Option<Nav>,
    flash: Option<String>,
    programmer: String,
    rows: Vec<OverviewRow>,
    next_cursor: Option<String>,
}

fn overview_row(s: ApplicationSummary, now: i64) -> OverviewRow {
    let a = s.application;
    OverviewRow {
        id: a.id.to_string(),
        name: a.name,
        version: a.version,
        level: a.level.as_str(),
        platforms: a.platforms.join(", "),
        status: a.status.as_str(),
        active_clients: s.usage.active_clients,
        cut_off_clients: s.usage.clients.saturating_sub(s.usage.active_clients),
        registrations_today: s.today.registrations,
        registrations_7d: s.last_7_days.registrations,
        tokens_today: s.today.tokens,
        tokens_7d: s.last_7_days.tokens,
        tokens_30d: s.last_30_days.tokens,
        tokens_total: s.usage.tokens_issued,
        last_registration: s
            .usage
            .last_registration
            .map_or_else(|| "never".into(), |t| ago(now, t)),
        last_token: last_token(&s.usage, now),
    }
}

fn last_token(usage: &ApplicationUsage, now: i64) -> String {
    match usage.last_token_day {
        None => "never".into(),
        Some(day) if day == now.div_euclid(86_400) => "today".into(),
        Some(day) => render::day(day),
    }
}

pub(super) async fn overview(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(q) => q,
        Err(e) => return failure(Some(&session), e),
    };
    let page = PageRequest {
        after: cursor(&query),
        limit: PageRequest::DEFAULT_LIMIT,
    };
    let pid = match programmer_of(&session) {
        Ok(pid) => pid,
        Err(e) => return failure(Some(&session), e),
    };
    let summaries = match state
        .dcr
        .application_summaries(&session.principal, &pid, page)
        .await
    {
        Ok(p) => p,
        Err(e) => return failure(Some(&session), e),
    };
    let now = state.dcr.clock().now();
    let mut rows: Vec<OverviewRow> = summaries
        .items
        .into_iter()
        .map(|s| overview_row(s, now))
        .collect();
    // Versions of one app next to each other, to compare them.
    rows.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    html(
        StatusCode::OK,
        &OverviewPage {
            nav: Nav::of(&session),
            flash: flash(&session, "/dashboard/applications", &query),
            programmer: pid.to_string(),
            rows,
            next_cursor: summaries.next.map(|n| n.to_string()),
        },
    )
}

// ---- creating an application -------------------------------------------------------

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
    let page = PageRequest {
        after: None,
        limit: PageRequest::MAX_LIMIT,
    };
    let channels = async {
        let pid = programmer_of(session)?;
        state
            .dcr
            .list_channels(&session.principal, &pid, page)
            .await
    };
    let channels = match channels.await {
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
    let same = |items: &[String]| items.iter().map(|i| (i.clone(), i.clone())).collect();
    let default_level = if session.principal.role == Role::ChannelAdmin {
        "channel"
    } else {
        "programmer"
    };
    let field = |name: &str| form.map(|f| f.one(name).to_owned()).unwrap_or_default();
    html(
        status,
        &NewApplicationPage {
            nav: Nav::of(session),
            flash: None,
            csrf: session.csrf_token.clone(),
            error,
            name: field("name"),
            version: form
                .map(|f| f.one("version").to_owned())
                .unwrap_or_else(|| "1.0".into()),
            level: Some(field("level"))
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
            platforms: choices(same(&catalog.platforms), &chosen_platforms),
            scopes: choices(same(&catalog.scopes), &chosen_scopes),
            domains: field("domains"),
            audiences: field("audiences"),
        },
    )
}

pub(super) async fn new(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    application_form(&state, &session, StatusCode::OK, None, None).await
}

/// The non-empty lines of a textarea, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) async fn create(
    State(state): State<AppState>,
    SignedInForm { session, form }: SignedInForm,
) -> Response {
    let version = form.one("version").trim();
    let request = NewApplication::try_from(dcr_proto::admin::CreateApplication {
        name: form.one("name").to_owned(),
        version: (!version.is_empty()).then(|| version.to_owned()),
        level: form.one("level").to_owned(),
        channels: Some(form.all("channels")),
        platforms: form.all("platforms"),
        scopes: form.all("scopes"),
        domains: lines(form.one("domains")),
        audiences: lines(form.one("audiences")),
    });
    let created = async {
        let pid = programmer_of(&session)?;
        crate::actions::create_application(&state, &session.principal, &pid, request?).await
    };
    match created.await {
        Ok(app) => super::done_at(
            &session,
            &format!("/dashboard/applications/{}", app.id),
            "application-created",
            0,
        ),
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

// ---- the operations page -----------------------------------------------------------

struct AppFacts {
    id: String,
    name: String,
    status: &'static str,
    active: bool,
    revoked: String,
    version: String,
    level: &'static str,
    channels: String,
    platforms: String,
    scopes: String,
    domains: String,
    audiences: String,
    custom_scheme: String,
    policy: String,
}

struct Kpis {
    clients: u64,
    active_clients: u64,
    cut_off_clients: u64,
    registrations_today: u64,
    registrations_7d: u64,
    registrations_30d: u64,
    tokens_today: u64,
    tokens_7d: u64,
    tokens_30d: u64,
    tokens_total: u64,
    last_registration: String,
    last_token: String,
}

struct StatementRow {
    jti: String,
    issued: String,
    state: &'static str,
    clients: u64,
    standing_clients: u64,
    changed: String,
    successor: Option<String>,
    active: bool,
    revocable: bool,
}

struct SpikeRow {
    short: String,
    chart: String,
    last_hour: u64,
    hourly_mean: String,
    spike: bool,
}

pub(super) struct ClientRow {
    pub id: String,
    pub platform: String,
    pub off_platform: bool,
    pub device: String,
    pub registered: String,
    pub last_used: String,
    pub status: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "dashboard/application.html")]
struct ApplicationPage {
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    app: AppFacts,
    kpis: Kpis,
    registrations_chart: String,
    tokens_chart: String,
    platform_chart: String,
    os_chart: String,
    model_chart: String,
    spikes: Vec<SpikeRow>,
    any_spike: bool,
    statements: Vec<StatementRow>,
    binding: Vec<super::binding::ShareRow>,
    clients: Vec<ClientRow>,
    next_clients: Option<String>,
    show_next_steps: bool,
    base_url: String,
}

fn sum(days: &[DayCount], last: usize, value: fn(&DayCount) -> u64) -> u64 {
    days.iter().rev().take(last).map(value).sum()
}

fn describe_policy(app: &Application) -> String {
    let p = &app.policy;
    let mut parts = Vec::new();
    if let Some(n) = p.max_registrations_per_hour_per_statement {
        parts.push(format!("at most {n} registrations per hour per statement"));
    }
    if let Some(n) = p.max_registrations_per_hour {
        parts.push(format!("at most {n} registrations per hour"));
    }
    if let Some(d) = p.expire_inactive_after_days {
        parts.push(format!("clients expire after {d} days without a token"));
    }
    if parts.is_empty() {
        "none (no quotas, no inactivity expiry)".into()
    } else {
        parts.join("; ")
    }
}

fn statement_row(s: StatementSummary, app: &Application) -> StatementRow {
    let r = s.record;
    let effective = r.effective(app);
    let state = match (effective.revoked_via, r.retired_at) {
        (Some(_), _) => "revoked",
        (None, Some(_)) => "retired",
        (None, None) => "active",
    };
    let by = |who: &Option<String>| {
        who.as_deref()
            .map(|w| format!(" by {}", super::audit::actor_label(w)))
            .unwrap_or_default()
    };
    let changed = match (r.revoked_at, r.retired_at) {
        (Some(at), _) => format!("revoked {}{}", when(at), by(&r.revoked_by)),
        (None, Some(at)) => format!("retired {}{}", when(at), by(&r.retired_by)),
        (None, None) if app.status == Status::Revoked => "application revoked".into(),
        (None, None) => String::new(),
    };
    let jti = r.jti.to_string();
    StatementRow {
        issued: when(r.issued_at),
        state,
        clients: s.clients,
        standing_clients: s.standing_clients,
        changed,
        successor: r.successor.map(|s| s.to_string()),
        active: state == "active",
        revocable: state != "revoked",
        jti,
    }
}

/// The first 8 characters of an id: enough to tell rows apart on a page.
pub(super) fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

pub(super) fn client_row(standing: &dcr_core::model::ClientStanding, now: i64) -> ClientRow {
    let status = render::client_status(&standing.effective());
    let c = &standing.client;
    let device = [c.os_name.as_deref(), c.model.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    ClientRow {
        id: c.id.to_string(),
        off_platform: is_off_platform(&standing.application, &c.platform),
        platform: c.platform.clone(),
        device,
        registered: when(c.created_at),
        last_used: c
            .last_used_at
            .map_or_else(|| "never".into(), |t| ago(now, t)),
        active: status == "active",
        status,
    }
}

/// A client whose platform is not one its application lists (a `fire-tv` install of
/// an app made for `ios`): a leaked statement at work, or a misconfigured app.
pub(super) fn is_off_platform(app: &Application, platform: &str) -> bool {
    !app.platforms.is_empty() && !app.platforms.iter().any(|p| p == platform)
}

fn kpis(usage: &ApplicationUsage, activity: &Activity, now: i64) -> Kpis {
    let registrations = |d: &DayCount| d.registrations;
    let tokens = |d: &DayCount| d.tokens;
    let days = &activity.daily;
    Kpis {
        clients: usage.clients,
        active_clients: usage.active_clients,
        cut_off_clients: usage.clients.saturating_sub(usage.active_clients),
        registrations_today: sum(days, 1, registrations),
        registrations_7d: sum(days, 7, registrations),
        registrations_30d: sum(days, 30, registrations),
        tokens_today: sum(days, 1, tokens),
        tokens_7d: sum(days, 7, tokens),
        tokens_30d: sum(days, 30, tokens),
        tokens_total: usage.tokens_issued,
        last_registration: usage.last_registration.map_or_else(
            || "never".into(),
            |t| format!("{} ({})", when(t), ago(now, t)),
        ),
        last_token: last_token(usage, now),
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(app_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(q) => q,
        Err(e) => return failure(Some(&session), e),
    };
    match application_page(&state, &session, &app_id, &query).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

async fn application_page(
    state: &AppState,
    session: &DashboardSession,
    app_id: &str,
    query: &Form,
) -> Result<ApplicationPage, AdminError> {
    let who = &session.principal;
    let app = state.dcr.get_application(who, &parse_id(app_id)?).await?;
    let usage = state.dcr.application_usage(who, &app.id).await?;
    let activity = state.dcr.activity(who, &app.id, CHART_DAYS).await?;
    let statements = state.dcr.statement_summaries(who, &app).await?;
    let binding = super::binding::rows(state.dcr.binding_shares(who, &app.id).await?);
    let clients = state
        .dcr
        .recent_clients(
            who,
            &app,
            PageRequest {
                after: cursor(query),
                limit: PageRequest::DEFAULT_LIMIT,
            },
        )
        .await?;
    let now = state.dcr.clock().now();
    let spikes = activity
        .statements
        .iter()
        .map(|s| {
            let jti = s.jti.to_string();
            SpikeRow {
                chart: render::sparkline(
                    &format!("spark-{jti}"),
                    &format!("Registrations per day with statement {jti}"),
                    &s.daily,
                    s.spike,
                ),
                short: short(&jti),
                last_hour: s.registrations_last_hour,
                hourly_mean: format!("{:.1}", s.hourly_mean_7d),
                spike: s.spike,
            }
        })
        .collect();
    let path = format!("/dashboard/applications/{}", app.id);
    let flash = flash(session, &path, query);
    let show_next_steps =
        (flash.is_some() && query.one("done") == "application-created") || statements.is_empty();
    Ok(ApplicationPage {
        nav: Nav::of(session),
        flash,
        csrf: session.csrf_token.clone(),
        kpis: kpis(&usage, &activity, now),
        registrations_chart: render::daily_bars(
            "chart-registrations",
            "Registrations per day, last 30 days",
            &activity.daily,
            |d| d.registrations,
        ),
        tokens_chart: render::daily_bars(
            "chart-tokens",
            "Access tokens per day, last 30 days",
            &activity.daily,
            |d| d.tokens,
        ),
        platform_chart: render::breakdown_bars(
            "chart-platform",
            "Active clients by platform",
            &activity.by_platform,
            12,
        ),
        os_chart: render::breakdown_bars(
            "chart-os",
            "Active clients by operating system",
            &activity.by_os,
            12,
        ),
        model_chart: render::breakdown_bars(
            "chart-model",
            "Active clients by device model",
            &activity.by_model,
            12,
        ),
        any_spike: activity.spike,
        spikes,
        statements: statements
            .into_iter()
            .map(|s| statement_row(s, &app))
            .collect(),
        binding,
        clients: clients.items.iter().map(|c| client_row(c, now)).collect(),
        next_clients: clients.next.map(|n| format!("cursor={n}")),
        show_next_steps,
        base_url: state.issuer.to_string(),
        app: AppFacts {
            id: app.id.to_string(),
            active: app.status == Status::Active,
            status: app.status.as_str(),
            revoked: match app.revoked_at {
                Some(at) => format!(
                    "revoked {}{}",
                    when(at),
                    app.revoked_by
                        .as_deref()
                        .map(|w| format!(" by {}", super::audit::actor_label(w)))
                        .unwrap_or_default()
                ),
                None => String::new(),
            },
            policy: describe_policy(&app),
            name: app.name,
            version: app.version,
            level: app.level.as_str(),
            channels: if app.channels.is_empty() {
                "all".into()
            } else {
                app.channels
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
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

// ---- statement files ---------------------------------------------------------------

/// `acme-player-2.1-3f2a9c1e.jwt`: the application and version a file is for, and
/// enough of its `jti` to tell two downloads apart.
pub(super) fn statement_filename(app: &Application, record: &StatementRecord) -> String {
    let slug = |text: &str| {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || c == '.' {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches('-').chars().take(60).collect::<String>()
    };
    let name = slug(&app.name);
    let name = if name.is_empty() { "app".into() } else { name };
    format!(
        "{name}-{}-{}.jwt",
        slug(&app.version),
        short(&record.jti.to_string())
    )
}

/// A signed statement as a file download.
pub(super) fn statement_file(filename: &str, jws: String) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/jwt")],
        jws,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Signs a new statement and hands it over as a file.
pub(super) async fn download_statement(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    SignedInForm { session, .. }: SignedInForm,
) -> Response {
    let who = &session.principal;
    let app = async { state.dcr.get_application(who, &parse_id(&app_id)?).await };
    let app = match app.await {
        Ok(app) => app,
        Err(e) => return failure(Some(&session), e),
    };
    match crate::actions::issue_statement(&state, who, &app.id).await {
        Ok((record, jws)) => statement_file(&statement_filename(&app, &record), jws),
        Err(e) => failure(Some(&session), e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn off_platform_needs_a_platform_list() {
        let mut app = dcr_core::model::Application {
            platforms: vec!["ios".into()],
            ..dcr_testkit_free_app()
        };
        assert!(super::is_off_platform(&app, "fire-tv"));
        assert!(!super::is_off_platform(&app, "ios"));
        app.platforms.clear();
        assert!(!super::is_off_platform(&app, "fire-tv"));
    }

    fn dcr_testkit_free_app() -> dcr_core::model::Application {
        dcr_core::model::Application {
            id: dcr_core::ids::ApplicationId::new_random(),
            programmer_id: dcr_core::ids::ProgrammerId::parse("acme").unwrap(),
            name: "Acme Player".into(),
            version: "2.1".into(),
            level: dcr_core::model::AppLevel::Programmer,
            channels: vec![],
            platforms: vec![],
            scopes: vec![],
            domains: vec![],
            audiences: vec![],
            custom_scheme: "acme".into(),
            policy: Default::default(),
            settings: Default::default(),
            status: dcr_core::model::Status::Active,
            created_at: 0,
            revoked_at: None,
            revoked_by: None,
        }
    }

    #[test]
    fn statement_files_are_named_after_the_application() {
        let app = dcr_testkit_free_app();
        let record = dcr_core::model::StatementRecord {
            jti: dcr_core::ids::StatementId::new_random(),
            application_id: app.id,
            programmer_id: app.programmer_id.clone(),
            kid: "k".into(),
            issued_at: 0,
            status: dcr_core::model::Status::Active,
            revoked_at: None,
            revoked_by: None,
            retired_at: None,
            retired_by: None,
            successor: None,
        };
        let name = super::statement_filename(&app, &record);
        assert!(name.starts_with("acme-player-2.1-"), "{name}");
        assert!(name.ends_with(".jwt"));
    }
}
