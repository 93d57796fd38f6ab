//! Audiences have one owner each (docs/api.md, Audiences): the first application
//! naming an audience claims it for its programmer, an operator can assign one, and
//! no other programmer's application may name it. So a token for an API's audience
//! can only come from the programmer who owns that API, and an API that checks `aud`
//! cannot be fooled by another tenant.

use super::Dcr;
use super::admin::{audit_event, invalid};
use super::principal::Principal;
use crate::audience::Audience;
use crate::error::AdminError;
use crate::ids::{ApplicationId, ProgrammerId};
use crate::model::{
    AudienceAssignment, AudienceRecord, AuditAction, AuditEvent, PageOf, PageRequest, Role,
};

/// Most contested audiences the start-up report names one by one.
const REPORTED: u32 = 100;

impl Dcr {
    /// The audiences the caller may know of: all of them for an operator, those of its
    /// programmer (owned, or claimed while contested) for anyone else.
    pub async fn list_audiences(
        &self,
        who: &Principal,
        contested_only: bool,
        page: PageRequest,
    ) -> Result<PageOf<AudienceRecord>, AdminError> {
        let programmer = match who.role {
            Role::Operator => None,
            Role::ProgrammerAdmin | Role::ChannelAdmin => {
                Some(who.programmer.clone().ok_or(AdminError::Forbidden)?)
            }
            Role::ResourceServer => return Err(AdminError::Forbidden),
        };
        let mut out = self
            .store
            .list_audiences(programmer.as_ref(), contested_only, page)
            .await?;
        if programmer.is_some() {
            // Who else claims a contested audience is the operator's to know.
            for record in &mut out.items {
                record.claimants.clear();
            }
        }
        Ok(out)
    }

    /// Makes `programmer` the one owner of `audience` (operators only): other
    /// programmers' applications stop naming it, so their tokens stop carrying it
    /// (within the standing caches' lifetime on other nodes; at once on this one).
    /// `dry_run` answers what would change and changes nothing.
    pub async fn assign_audience(
        &self,
        who: &Principal,
        audience: &str,
        programmer: &ProgrammerId,
        dry_run: bool,
    ) -> Result<AudienceAssignment, AdminError> {
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        let audience = Audience::parse(audience).map_err(|e| invalid(format!("audience: {e}")))?;
        let owner = self.get_programmer(who, programmer).await?;
        let audit = audit_event(
            who,
            AuditAction::AudienceAssigned,
            "audience",
            audience.as_str(),
            Some(&owner.id),
        );
        let removed = |app: &ApplicationId, from: &ProgrammerId| AuditEvent {
            programmer_id: Some(from.clone()),
            action: AuditAction::AudienceRemoved.to_string(),
            target_kind: "application".into(),
            target_id: app.to_string(),
            ..audit.clone()
        };
        let assignment = self
            .store
            .assign_audience(
                audience.as_str(),
                &owner.id,
                audit.at,
                &audit,
                &removed,
                dry_run,
            )
            .await?;
        if !dry_run {
            // Cached standings and approvals carry the applications' audiences.
            self.forget_standings();
        }
        Ok(assignment)
    }

    /// Audiences several programmers named before owners existed (the upgrade keeps
    /// them working for every claimant until an operator assigns them). Read at
    /// start, so the operator hears of them.
    pub async fn contested_audiences(&self) -> Result<PageOf<AudienceRecord>, AdminError> {
        let page = PageRequest {
            after: None,
            limit: REPORTED,
        };
        Ok(self.store.list_audiences(None, true, page).await?)
    }

    /// Refuses an application naming an audience another programmer owns, before the
    /// store's own check (which holds under races but cannot say which audience):
    /// the 409 names the audience, never its owner; the operator is told who asked
    /// (a log line and an audit event only operators read).
    pub(super) async fn check_audiences_free(
        &self,
        who: &Principal,
        programmer: &ProgrammerId,
        audiences: &[String],
    ) -> Result<(), AdminError> {
        for audience in audiences {
            let Some(record) = self.store.get_audience(audience).await? else {
                continue;
            };
            let theirs = match &record.owner {
                Some(owner) => owner == programmer,
                None => record.claimants.contains(programmer),
            };
            if !theirs {
                return Err(self.refuse_audience(who, programmer, audience).await);
            }
        }
        Ok(())
    }

    /// The 409 for an audience taken by another programmer, recorded for operators.
    pub(super) async fn refuse_audience(
        &self,
        who: &Principal,
        programmer: &ProgrammerId,
        audience: &str,
    ) -> AdminError {
        tracing::warn!(
            programmer = %programmer,
            audience = %audience,
            "an application named an audience another programmer owns"
        );
        // No programmer on the event: only operators read it.
        let event = audit_event(
            who,
            AuditAction::AudienceClaimRefused,
            "audience",
            audience,
            None,
        );
        if let Err(e) = self.store.append_summary_event(&event).await {
            tracing::warn!(error = %e, "could not record a refused audience claim");
        }
        let shown: String = audience.chars().take(100).collect();
        AdminError::Conflict(format!(
            "audience {shown:?} belongs to another programmer; ask the operator of this \
             deployment if it should be yours"
        ))
    }
}
