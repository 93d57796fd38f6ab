//! The changes an admin can make, with what every change owes the operator besides its
//! audit event (which `dcr-core` writes): an info log line and its metric. The admin
//! API and the dashboard both call these, so a change made in either logs alike.

use std::future::Future;

use dcr_core::error::AdminError;
use dcr_core::ids::{ApplicationId, ProgrammerId, StatementId};
use dcr_core::model::{Application, ClientFilter, StatementRecord};
use dcr_core::service::{
    NewApplication, PolicyChange, PolicyImpact, Principal, Revocable, RotatedStatement,
};

use crate::state::AppState;

type Result<T> = std::result::Result<T, AdminError>;

/// How a long action (a bulk revocation, a sweep) ended for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished<T> {
    Done(T),
    /// Still working after `limits.long_action_wait_seconds`: it goes on in the
    /// background (the request ending does not stop it) and audits its result.
    InBackground,
}

/// Runs `work` as its own task, so that neither a request timeout nor a client going
/// away leaves it half done, and waits for it a while.
async fn run_detached<T: Send + 'static>(
    state: &AppState,
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<Finished<T>> {
    let mut job = tokio::spawn(work);
    match tokio::time::timeout(state.long_action_wait, &mut job).await {
        Ok(Ok(result)) => result.map(Finished::Done),
        Ok(Err(e)) => Err(AdminError::Internal(format!("the action failed: {e}"))),
        Err(_) => Ok(Finished::InBackground),
    }
}

pub async fn create_application(
    state: &AppState,
    who: &Principal,
    programmer: &ProgrammerId,
    request: NewApplication,
) -> Result<Application> {
    let app = state
        .dcr
        .create_application(who, programmer, request)
        .await?;
    tracing::info!(actor = %who.actor, application = %app.id, programmer = %app.programmer_id, "application created");
    Ok(app)
}

pub async fn issue_statement(
    state: &AppState,
    who: &Principal,
    app_id: &ApplicationId,
) -> Result<(StatementRecord, String)> {
    let (record, jws) = state.dcr.issue_statement(who, app_id).await?;
    tracing::info!(actor = %who.actor, jti = %record.jti, application = %record.application_id, "software statement issued");
    Ok((record, jws))
}

/// Revokes a statement, an application or a client (`Dcr::revoke`).
pub async fn revoke<T: Revocable>(
    state: &AppState,
    who: &Principal,
    target: &T,
) -> Result<T::Revoked> {
    let revoked = state.dcr.revoke(who, target).await?;
    tracing::info!(actor = %who.actor, kind = T::KIND, target = %target, "{} revoked", T::KIND);
    crate::metrics::revocation(T::KIND);
    Ok(revoked)
}

pub async fn retire_statement(
    state: &AppState,
    who: &Principal,
    jti: &StatementId,
) -> Result<StatementRecord> {
    let s = state.dcr.retire_statement(who, jti).await?;
    tracing::info!(actor = %who.actor, jti = %s.jti, "software statement retired");
    Ok(s)
}

pub async fn rotate_statement(
    state: &AppState,
    who: &Principal,
    jti: &StatementId,
) -> Result<RotatedStatement> {
    let rotated = state.dcr.rotate_statement(who, jti).await?;
    tracing::info!(actor = %who.actor, retired = %rotated.retired.jti, successor = %rotated.successor.jti, "software statement rotated");
    Ok(rotated)
}

/// Bulk revocation; `dry_run` only counts (and logs nothing).
pub async fn revoke_clients_matching(
    state: &AppState,
    who: &Principal,
    app_id: &ApplicationId,
    filter: ClientFilter,
    dry_run: bool,
) -> Result<Finished<u64>> {
    let dcr = state.dcr.clone();
    let (who, app_id) = (who.clone(), *app_id);
    run_detached(state, async move {
        let n = dcr
            .revoke_clients_matching(&who, &app_id, filter, dry_run)
            .await?;
        if !dry_run {
            tracing::info!(actor = %who.actor, application = %app_id, revoked = n, "clients revoked in bulk");
            crate::metrics::revocations("bulk", n);
        }
        Ok(n)
    })
    .await
}

/// The inactivity sweep, now.
pub async fn sweep_inactive(state: &AppState, who: &Principal) -> Result<Finished<u64>> {
    let dcr = state.dcr.clone();
    let who = who.clone();
    run_detached(state, async move {
        let expired = dcr.sweep_now(&who).await?;
        tracing::info!(actor = %who.actor, expired, "inactivity sweep run on request");
        crate::metrics::revocations("inactivity", expired);
        Ok(expired)
    })
    .await
}

/// A policy change; `dry_run` only says what it would do (and logs nothing).
pub async fn set_policy(
    state: &AppState,
    who: &Principal,
    app_id: &ApplicationId,
    change: PolicyChange,
    dry_run: bool,
) -> Result<(Application, PolicyImpact)> {
    let (app, impact) = state.dcr.set_policy(who, app_id, change, dry_run).await?;
    if !dry_run {
        tracing::info!(actor = %who.actor, application = %app.id, "application policy set");
    }
    Ok((app, impact))
}

pub async fn set_attesters(
    state: &AppState,
    who: &Principal,
    app_id: &ApplicationId,
    attesters: Vec<dcr_core::binding::AttesterConfig>,
) -> Result<Application> {
    let app = state.dcr.set_attesters(who, app_id, attesters).await?;
    tracing::info!(actor = %who.actor, application = %app.id, attesters = app.settings.attesters.len(), "client attesters set");
    Ok(app)
}

pub async fn set_attestation_settings(
    state: &AppState,
    who: &Principal,
    app_id: &ApplicationId,
    settings: dcr_proto::attestation::AttestationSettings,
) -> Result<Application> {
    let app = state
        .dcr
        .set_attestation_settings(who, app_id, settings)
        .await?;
    tracing::info!(
        actor = %who.actor,
        application = %app.id,
        apple = app.settings.attestation.apple.is_some(),
        android = app.settings.attestation.android.is_some(),
        "attestation settings set"
    );
    Ok(app)
}
