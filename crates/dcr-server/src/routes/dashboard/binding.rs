//! Bound credentials in the console: the application's live clients per platform and
//! how many hold a key, and changing a platform's mode (`off`, `report`, `require`)
//! after a page that says what the change would cut off.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use dcr_core::binding::Mode;
use dcr_core::error::AdminError;
use dcr_core::model::Application;
use dcr_core::service::{BindingShare, DashboardSession, PolicyChange};

use super::session::{Form, SignedIn, SignedInForm};
use super::statements::ConfirmPage;
use super::{Nav, failure, html, parse_id};
use crate::state::AppState;

/// One row of the application page's table.
pub(super) struct ShareRow {
    pub platform: String,
    pub mode: &'static str,
    pub key_bound: u64,
    pub total: u64,
    /// "42 %", or "-" without clients.
    pub share: String,
}

pub(super) fn rows(shares: Vec<BindingShare>) -> Vec<ShareRow> {
    shares
        .into_iter()
        .map(|s| ShareRow {
            share: (s.key_bound * 100)
                .checked_div(s.total)
                .map_or_else(|| "-".into(), |percent| format!("{percent} %")),
            platform: s.platform,
            mode: s.mode.as_str(),
            key_bound: s.key_bound,
            total: s.total,
        })
        .collect()
}

/// The change a query or form names: `platform` (or `default`) and `mode`.
fn change_of(form: &Form, app: &Application) -> Result<(String, Mode), AdminError> {
    let platform = form.one("platform");
    if platform != "default" && !app.platforms.iter().any(|p| p == platform) {
        return Err(AdminError::InvalidRequest(
            "choose one of the application's platforms, or default".into(),
        ));
    }
    let mode = Mode::parse(form.one("mode"))
        .ok_or_else(|| AdminError::InvalidRequest("mode is off, report or require".into()))?;
    Ok((platform.to_owned(), mode))
}

fn what_it_means(mode: Mode) -> &'static str {
    match mode {
        Mode::Off => {
            "Secrets and keys are both accepted, and a token is bound only when the app \
             sends a proof (the Adobe-compatible default)."
        }
        Mode::Report => {
            "Secrets and keys are both accepted; registrations and tokens without a key or \
             a proof are counted and flagged, so you can see who would be cut off."
        }
        Mode::Require => {
            "A registration without a key and a token request without a DPoP proof are \
             refused: installs that cannot prove they hold their key stop getting tokens."
        }
    }
}

/// The application, and the change the query names, as the signed-in user may make it.
async fn requested(
    state: &AppState,
    session: &DashboardSession,
    app_id: &str,
    query: Option<String>,
) -> Result<(Application, String, Mode), AdminError> {
    let query = Form::parse(query.unwrap_or_default().as_bytes())?;
    let app = state
        .dcr
        .get_application(&session.principal, &parse_id(app_id)?)
        .await?;
    let (platform, mode) = change_of(&query, &app)?;
    Ok((app, platform, mode))
}

/// Makes (or, with `dry_run`, weighs) the change; answers how many live clients it
/// cuts off.
async fn set_mode(
    state: &AppState,
    session: &DashboardSession,
    app: &Application,
    platform: &str,
    mode: Mode,
    dry_run: bool,
) -> Result<u64, AdminError> {
    let change = PolicyChange {
        bound_credentials: [(platform.to_owned(), Some(mode))].into(),
        ..PolicyChange::default()
    };
    let (_, impact) =
        crate::actions::set_policy(state, &session.principal, &app.id, change, dry_run).await?;
    Ok(impact.clients_without_dpop.values().sum())
}

/// `GET …/bound-credentials?platform=…&mode=…`: what the change would do.
pub(super) async fn confirm(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(app_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let page = async {
        let (app, platform, mode) = requested(&state, &session, &app_id, query).await?;
        let cut = set_mode(&state, &session, &app, &platform, mode, true).await?;
        let back = format!("/dashboard/applications/{}", app.id);
        let shown = if platform == "default" {
            "every platform without a mode of its own".to_owned()
        } else {
            platform.clone()
        };
        Ok::<_, AdminError>(ConfirmPage {
            nav: Nav::of(&session),
            flash: None,
            csrf: session.csrf_token.clone(),
            heading: format!("Bound credentials on {shown}: {}?", mode.as_str()),
            consequence: what_it_means(mode).into(),
            impact: Some(if cut == 0 {
                "No live client would be refused tokens.".into()
            } else {
                format!(
                    "{cut} live client{} that presented no DPoP proof in the last 30 days would \
                     be refused tokens until the app is updated.",
                    if cut == 1 { "" } else { "s" }
                )
            }),
            action: format!(
                "{back}/bound-credentials?platform={}&mode={}",
                form_urlencoded::byte_serialize(platform.as_bytes()).collect::<String>(),
                mode.as_str()
            ),
            button: format!("Set {} on {shown}", mode.as_str()),
            back,
        })
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failure(Some(&session), e),
    }
}

/// `POST …/bound-credentials?platform=…&mode=…`: the change, applied.
pub(super) async fn apply(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    RawQuery(query): RawQuery,
    SignedInForm { session, .. }: SignedInForm,
) -> Response {
    let result = async {
        let (app, platform, mode) = requested(&state, &session, &app_id, query).await?;
        let cut = set_mode(&state, &session, &app, &platform, mode, false).await?;
        Ok::<_, AdminError>(super::done_at(
            &session,
            &format!("/dashboard/applications/{}", app.id),
            "bound-credentials-set",
            cut,
        ))
    };
    result.await.unwrap_or_else(|e| failure(Some(&session), e))
}
