//! `GET`/`PUT /admin/v1/audiences`: who owns each audience (docs/api.md, Audiences).

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use dcr_core::ids::ProgrammerId;
use dcr_core::model;
use dcr_core::service::Principal;
use dcr_proto::admin::{self as wire, Page};

use super::{AdminResult, json_body, page, to_page};
use crate::error::EnhancedFailure;
use crate::extract::SingleQuery;
use crate::state::AppState;

/// `?contested=true` keeps the contested ones.
pub(super) async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::Audience>>> {
    let contested = query
        .flag("contested")
        .map_err(EnhancedFailure::invalid_request)?;
    let page = state
        .dcr
        .list_audiences(&who, contested, page(&query)?)
        .await?;
    Ok(to_page(page, view))
}

/// Operators only; `?dry_run=true` answers what would change.
pub(super) async fn assign(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    query: SingleQuery,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Json<wire::AudienceAssignment>> {
    who.require_operator()?;
    let dry_run = query
        .flag("dry_run")
        .map_err(EnhancedFailure::invalid_request)?;
    let req: wire::AssignAudience = json_body(&headers, body).await?;
    let programmer = ProgrammerId::parse(req.programmer.as_str())
        .map_err(|_| EnhancedFailure::from(dcr_core::error::AdminError::NotFound))?;
    let done = state
        .dcr
        .assign_audience(&who, &req.audience, &programmer, dry_run)
        .await?;
    if !dry_run {
        tracing::info!(
            actor = %who.actor,
            audience = %done.audience.audience,
            programmer = %programmer,
            removed_from = done.stripped.len(),
            "audience assigned"
        );
    }
    Ok(Json(wire::AudienceAssignment {
        audience: view(done.audience),
        removed_from: done
            .stripped
            .into_iter()
            .map(|(application, programmer)| wire::AudienceRemoval {
                application: application.to_string(),
                programmer: programmer.to_string(),
            })
            .collect(),
        dry_run,
    }))
}

fn view(a: model::AudienceRecord) -> wire::Audience {
    wire::Audience {
        audience: a.audience,
        programmer: a.owner.map(Into::into),
        how: a.how.as_str().into(),
        claimants: a.claimants.into_iter().map(Into::into).collect(),
        updated_at: a.updated_at,
    }
}
