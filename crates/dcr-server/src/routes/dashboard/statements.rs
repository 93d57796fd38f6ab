//! Every destructive action: a confirmation page that states its impact ("7 clients:
//! ios 3, android 2, web 2") before anything happens, then the action through
//! [`crate::actions`], then the application page with what was done. Retiring and
//! rotating statements, revoking statements, applications and single clients, and
//! bulk revocation by filter with its dry-run preview.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dcr_core::error::AdminError;
use dcr_core::ids::StatementId;
use dcr_core::model::{Application, ClientFilter, Impact};
use dcr_core::service::DashboardSession;

use super::applications::{short, statement_filename};
use super::render::parse_date;
use super::session::{Form, SignedIn, SignedInForm};
use super::{Nav, failure, html, parse_id};
use crate::actions::Finished;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/confirm.html")]
pub(super) struct ConfirmPage {
    pub(super) nav: Option<Nav>,
    pub(super) flash: Option<String>,
    pub(super) csrf: String,
    pub(super) heading: String,
    pub(super) consequence: String,
    pub(super) impact: Option<String>,
    pub(super) action: String,
    pub(super) button: String,
    pub(super) back: String,
}

fn back_to(app: &Application) -> String {
    format!("/dashboard/applications/{}", app.id)
}

fn done(session: &DashboardSession, app: &Application, code: &str, n: u64) -> Response {
    super::done_at(session, &back_to(app), code, n)
}

/// A statement of `app` the user may see, or 404.
async fn statement_of(
    state: &AppState,
    session: &DashboardSession,
    app: &Application,
    jti: &str,
) -> Result<StatementId, AdminError> {
    match state
        .dcr
        .get_statement(&session.principal, &parse_id(jti)?)
        .await
    {
        Ok(s) if s.application_id == app.id => Ok(s.jti),
        Ok(_) => Err(AdminError::NotFound),
        Err(e) => Err(e),
    }
}

async fn impact_of(
    state: &AppState,
    session: &DashboardSession,
    app: &Application,
    filter: &ClientFilter,
) -> Result<Impact, AdminError> {
    state.dcr.impact(&session.principal, &app.id, filter).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StatementAction {
    Retire,
    Rotate,
    Revoke,
}

impl StatementAction {
    fn parse(text: &str) -> Result<Self, AdminError> {
        match text {
            "retire" => Ok(Self::Retire),
            "rotate" => Ok(Self::Rotate),
            "revoke" => Ok(Self::Revoke),
            _ => Err(AdminError::NotFound),
        }
    }
}

pub(super) async fn confirm_statement(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((app_id, jti, action)): Path<(String, String, String)>,
) -> Response {
    match statement_confirmation(&state, &session, &app_id, &jti, &action).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

async fn statement_confirmation(
    state: &AppState,
    session: &DashboardSession,
    app_id: &str,
    jti: &str,
    action: &str,
) -> Result<ConfirmPage, AdminError> {
    let action = StatementAction::parse(action)?;
    let app = state
        .dcr
        .get_application(&session.principal, &parse_id(app_id)?)
        .await?;
    let jti = statement_of(state, session, &app, jti).await?;
    let impact = impact_of(
        state,
        session,
        &app,
        &ClientFilter {
            statement: Some(jti),
            ..Default::default()
        },
    )
    .await?;
    let short = short(&jti.to_string());
    let (heading, consequence, impact_text, button, path) = match action {
        StatementAction::Retire => (
            format!("Retire software statement {short}?"),
            "No new install can register with it. Installs already registered keep working: \
             retire a statement when a newer build ships, revoke it when it leaked."
                .to_owned(),
            format!("Keeps working: {impact}."),
            "Retire the statement",
            "retire",
        ),
        StatementAction::Rotate => (
            format!("Rotate software statement {short}?"),
            format!(
                "A new statement of {} is signed for your next build, and this one is \
                 retired: it registers no new installs, while those registered keep working.",
                app.name
            ),
            format!("Keeps working: {impact}."),
            "Rotate the statement",
            "rotate",
        ),
        StatementAction::Revoke => (
            format!("Revoke software statement {short}?"),
            format!(
                "Installs registered with it stop working at once, and no device can register \
                 with it again. Other statements of {} keep working. This cannot be undone.",
                app.name
            ),
            format!("Cut off: {impact}."),
            "Revoke the statement",
            "revoke",
        ),
    };
    let back = back_to(&app);
    Ok(ConfirmPage {
        nav: Nav::of(session),
        flash: None,
        csrf: session.csrf_token.clone(),
        heading,
        consequence,
        impact: Some(impact_text),
        action: format!("{back}/statements/{jti}/{path}"),
        button: button.into(),
        back,
    })
}

#[derive(Template)]
#[template(path = "dashboard/rotated.html")]
struct RotatedPage {
    nav: Option<Nav>,
    flash: Option<String>,
    app_id: String,
    app_name: String,
    retired: String,
    successor: String,
    filename: String,
    statement: String,
    data_url: String,
}

pub(super) async fn act_on_statement(
    State(state): State<AppState>,
    Path((app_id, jti, action)): Path<(String, String, String)>,
    SignedInForm { session, .. }: SignedInForm,
) -> Response {
    match statement_action(&state, &session, &app_id, &jti, &action).await {
        Ok(response) => response,
        Err(e) => failure(Some(&session), e),
    }
}

async fn statement_action(
    state: &AppState,
    session: &DashboardSession,
    app_id: &str,
    jti: &str,
    action: &str,
) -> Result<Response, AdminError> {
    use base64::Engine as _;
    let action = StatementAction::parse(action)?;
    let who = &session.principal;
    let app = state.dcr.get_application(who, &parse_id(app_id)?).await?;
    let jti = statement_of(state, session, &app, jti).await?;
    let filter = ClientFilter {
        statement: Some(jti),
        ..Default::default()
    };
    match action {
        StatementAction::Retire => {
            crate::actions::retire_statement(state, who, &jti).await?;
            let keeps = impact_of(state, session, &app, &filter).await?.total();
            Ok(done(session, &app, "statement-retired", keeps))
        }
        StatementAction::Revoke => {
            let cut = impact_of(state, session, &app, &filter).await?.total();
            crate::actions::revoke(state, who, &jti).await?;
            Ok(done(session, &app, "statement-revoked", cut))
        }
        StatementAction::Rotate => {
            let rotated = crate::actions::rotate_statement(state, who, &jti).await?;
            let filename = statement_filename(&app, &rotated.successor);
            let data_url = format!(
                "data:application/jwt;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&rotated.software_statement)
            );
            let keeps = impact_of(state, session, &app, &filter).await?;
            Ok(html(
                StatusCode::OK,
                &RotatedPage {
                    nav: Nav::of(session),
                    flash: Some(format!(
                        "Statement rotated: {} retired ({} keep working); the new one is below.",
                        short(&jti.to_string()),
                        keeps
                    )),
                    app_id: app.id.to_string(),
                    app_name: app.name.clone(),
                    retired: jti.to_string(),
                    successor: rotated.successor.jti.to_string(),
                    filename,
                    statement: rotated.software_statement,
                    data_url,
                },
            ))
        }
    }
}

pub(super) async fn confirm_application(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(app_id): Path<String>,
) -> Response {
    let page = async {
        let app = state
            .dcr
            .get_application(&session.principal, &parse_id(&app_id)?)
            .await?;
        let impact = impact_of(&state, &session, &app, &ClientFilter::default()).await?;
        let back = back_to(&app);
        Ok::<_, AdminError>(ConfirmPage {
            nav: Nav::of(&session),
            flash: None,
            csrf: session.csrf_token.clone(),
            heading: format!("Revoke the application {}?", app.name),
            consequence: "Every software statement and every install made from it stops \
                          working at once, and no new install can register with it. This \
                          cannot be undone."
                .into(),
            impact: Some(format!("Cut off: {impact}.")),
            action: format!("{back}/revoke"),
            button: "Revoke the application".into(),
            back,
        })
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

pub(super) async fn revoke_application(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    SignedInForm { session, .. }: SignedInForm,
) -> Response {
    let result = async {
        let app = state
            .dcr
            .get_application(&session.principal, &parse_id(&app_id)?)
            .await?;
        let cut = impact_of(&state, &session, &app, &ClientFilter::default())
            .await?
            .total();
        crate::actions::revoke(&state, &session.principal, &app.id).await?;
        Ok::<_, AdminError>(done(&session, &app, "application-revoked", cut))
    };
    result.await.unwrap_or_else(|e| failure(Some(&session), e))
}

pub(super) async fn confirm_client(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((app_id, client_id)): Path<(String, String)>,
) -> Response {
    let page = async {
        let app = state
            .dcr
            .get_application(&session.principal, &parse_id(&app_id)?)
            .await?;
        let client = state
            .dcr
            .get_client(&session.principal, &parse_id(&client_id)?)
            .await?;
        if client.client.application_id != app.id {
            return Err(AdminError::NotFound);
        }
        let back = back_to(&app);
        Ok(ConfirmPage {
            nav: Nav::of(&session),
            flash: None,
            csrf: session.csrf_token.clone(),
            heading: format!("Revoke client {client_id}?"),
            consequence: "This one installed app stops working at once; its user must \
                          register again through a new install. This cannot be undone."
                .into(),
            impact: Some(format!("Cut off: 1 client: {} 1.", client.client.platform)),
            action: format!("{back}/clients/{client_id}/revoke"),
            button: "Revoke the client".into(),
            back,
        })
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

pub(super) async fn revoke_client(
    State(state): State<AppState>,
    Path((app_id, client_id)): Path<(String, String)>,
    SignedInForm { session, .. }: SignedInForm,
) -> Response {
    let result = async {
        let app = state
            .dcr
            .get_application(&session.principal, &parse_id(&app_id)?)
            .await?;
        let client = state
            .dcr
            .get_client(&session.principal, &parse_id(&client_id)?)
            .await?;
        if client.client.application_id != app.id {
            return Err(AdminError::NotFound);
        }
        crate::actions::revoke(&state, &session.principal, &client.client.id).await?;
        Ok(done(&session, &app, "client-revoked", 1))
    };
    result.await.unwrap_or_else(|e| failure(Some(&session), e))
}

// ---- bulk revocation ---------------------------------------------------------------

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "dashboard/bulk.html")]
struct BulkPage {
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    app_id: String,
    app_name: String,
    error: Option<String>,
    statements: Vec<Choice>,
    platforms: Vec<Choice>,
    registered_from: String,
    registered_before: String,
    /// The dry run's result, when previewing.
    preview: Option<String>,
    matches: u64,
}

/// The filter of the bulk form: the dates are days (UTC), `from` inclusive and
/// `before` exclusive.
fn bulk_filter(form: &Form) -> Result<ClientFilter, AdminError> {
    let date = |name: &str, label: &str| -> Result<Option<i64>, AdminError> {
        let text = form.one(name).trim();
        if text.is_empty() {
            return Ok(None);
        }
        parse_date(text).map(Some).ok_or_else(|| {
            AdminError::InvalidRequest(format!("{label} must be a date (YYYY-MM-DD)"))
        })
    };
    let statement = match form.one("statement").trim() {
        "" => None,
        jti => Some(StatementId::parse(jti).map_err(|_| {
            AdminError::InvalidRequest("statement is not a software statement".into())
        })?),
    };
    let platform = Some(form.one("platform").trim().to_owned()).filter(|p| !p.is_empty());
    Ok(ClientFilter {
        statement,
        platform,
        registered_after: date("registered_from", "registered from")?.map(|t| t - 1),
        registered_before: date("registered_before", "registered before")?,
    })
}

async fn bulk_page(
    state: &AppState,
    session: &DashboardSession,
    app_id: &str,
    form: Option<&Form>,
    preview: Option<(Impact, u64)>,
    error: Option<String>,
) -> Result<BulkPage, AdminError> {
    let who = &session.principal;
    let app = state.dcr.get_application(who, &parse_id(app_id)?).await?;
    let statements = state.dcr.statement_summaries(who, &app).await?;
    let activity = state.dcr.activity(who, &app.id, 1).await?;
    let field = |name: &str| form.map(|f| f.one(name).to_owned()).unwrap_or_default();
    let chosen_statement = field("statement");
    let chosen_platform = field("platform");
    let mut platforms: Vec<String> = app.platforms.clone();
    for (p, _) in &activity.by_platform {
        if !platforms.contains(p) {
            platforms.push(p.clone());
        }
    }
    let (preview, matches) = match preview {
        Some((impact, n)) => (Some(impact.to_string()), n),
        None => (None, 0),
    };
    Ok(BulkPage {
        nav: Nav::of(session),
        flash: None,
        csrf: session.csrf_token.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        error,
        statements: statements
            .iter()
            .map(|s| {
                let jti = s.record.jti.to_string();
                Choice {
                    label: format!("{} ({} clients)", short(&jti), s.standing_clients),
                    selected: jti == chosen_statement,
                    value: jti,
                }
            })
            .collect(),
        platforms: platforms
            .into_iter()
            .map(|p| Choice {
                selected: p == chosen_platform,
                label: p.clone(),
                value: p,
            })
            .collect(),
        registered_from: field("registered_from"),
        registered_before: field("registered_before"),
        preview,
        matches,
    })
}

pub(super) async fn bulk_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(app_id): Path<String>,
) -> Response {
    match bulk_page(&state, &session, &app_id, None, None, None).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

/// Without `confirm`: the dry run, shown with its impact. With it: the revocation.
pub(super) async fn bulk_revoke(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    SignedInForm { session, form }: SignedInForm,
) -> Response {
    let who = &session.principal;
    let app = async { state.dcr.get_application(who, &parse_id(&app_id)?).await };
    let app = match app.await {
        Ok(app) => app,
        Err(e) => return failure(Some(&session), e),
    };
    let outcome = async {
        let filter = bulk_filter(&form)?;
        if form.one("confirm") == "yes" {
            let n = crate::actions::revoke_clients_matching(&state, who, &app.id, filter, false)
                .await?;
            return Ok(Err(n));
        }
        // The dry run validates the filter as the real run will; the count by platform
        // is the impact.
        crate::actions::revoke_clients_matching(&state, who, &app.id, filter.clone(), true).await?;
        let impact = impact_of(&state, &session, &app, &filter).await?;
        let n = impact.total();
        Ok::<_, AdminError>(Ok((impact, n)))
    };
    match outcome.await {
        Ok(Err(Finished::Done(revoked))) => done(&session, &app, "clients-revoked", revoked),
        Ok(Err(Finished::InBackground)) => done(&session, &app, "clients-revoking", 0),
        Ok(Ok(preview)) => {
            match bulk_page(&state, &session, &app_id, Some(&form), Some(preview), None).await {
                Ok(page) => html(StatusCode::OK, &page),
                Err(e) => failure(Some(&session), e),
            }
        }
        Err(AdminError::InvalidRequest(m)) => {
            match bulk_page(&state, &session, &app_id, Some(&form), None, Some(m)).await {
                Ok(page) => html(StatusCode::BAD_REQUEST, &page),
                Err(e) => failure(Some(&session), e),
            }
        }
        Err(e) => failure(Some(&session), e),
    }
}
