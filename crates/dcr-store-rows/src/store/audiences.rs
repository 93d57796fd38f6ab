//! Audiences and their one owner each: claimed inside the transaction that creates
//! an application naming them, assigned by an operator, listed.

use dcr_core::ids::{ApplicationId, ProgrammerId};
use dcr_core::model::{AudienceAssignment, AudienceRecord, AuditEvent, PageOf, PageRequest};
use dcr_core::store::{AudienceRemovedEvent, Conflict, StoreError, StoreResult};

use super::{SqlStore, audit_insert, page_bounds, paginate};
use crate::backend::{Backend, Query, Transaction};
use crate::decode::{self, RowAccess, json_list};
use crate::sql;

/// Claims `audiences` for `programmer` in `tx`: each unowned one becomes theirs; one
/// owned by another programmer, or contested without them among the claimants, is
/// [`Conflict::AudienceTaken`] (which names no owner).
pub(super) async fn claim_audiences<T: Transaction>(
    tx: &mut T,
    programmer: &ProgrammerId,
    audiences: &[String],
    at: i64,
) -> StoreResult<()> {
    for audience in audiences {
        let claim = Query::new(sql::CLAIM_AUDIENCE)
            .bind(audience)
            .bind(programmer.as_str())
            .bind(at);
        tx.execute(claim).await?;
        let owner = tx
            .fetch_optional(Query::new(sql::AUDIENCE_OWNER).bind(audience))
            .await?
            .map(|row| row.optional_text("programmer_id"))
            .transpose()?
            .flatten();
        let theirs = match owner {
            Some(owner) => owner == programmer.as_str(),
            // Contested: only its claimants keep naming it until it is resolved.
            None => {
                let claimed = Query::new(sql::AUDIENCE_CLAIMED_BY)
                    .bind(audience)
                    .bind(programmer.as_str());
                tx.fetch_optional(claimed).await?.is_some()
            }
        };
        if !theirs {
            return Err(StoreError::Conflict(Conflict::AudienceTaken));
        }
    }
    Ok(())
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn get_audience(&self, audience: &str) -> StoreResult<Option<AudienceRecord>> {
        let Some(row) = self
            .db
            .fetch_optional(Query::new(sql::SELECT_AUDIENCE).bind(audience))
            .await?
        else {
            return Ok(None);
        };
        let mut record = decode::audience_from_row(&row)?;
        record.claimants = self.claimants(audience).await?;
        Ok(Some(record))
    }

    pub(super) async fn list_audiences(
        &self,
        programmer: Option<&ProgrammerId>,
        contested_only: bool,
        page: PageRequest,
    ) -> StoreResult<PageOf<AudienceRecord>> {
        let (after, limit) = page_bounds(page);
        let query = Query::new(sql::LIST_AUDIENCES)
            .bind(programmer.map(ProgrammerId::as_str))
            .bind(i64::from(contested_only))
            .bind(after)
            .bind(limit);
        let rows = self.db.fetch_all(query).await?;
        let mut out = paginate(rows, limit, decode::audience_from_row)?;
        for record in &mut out.items {
            if record.owner.is_none() {
                record.claimants = self.claimants(&record.audience).await?;
            }
        }
        Ok(out)
    }

    async fn claimants(&self, audience: &str) -> StoreResult<Vec<ProgrammerId>> {
        let rows = self
            .db
            .fetch_all(Query::new(sql::AUDIENCE_CLAIMANTS).bind(audience))
            .await?;
        rows.iter()
            .map(|r| decode::programmer_of(r, "programmer_id"))
            .collect()
    }

    pub(super) async fn assign_audience(
        &self,
        audience: &str,
        owner: &ProgrammerId,
        at: i64,
        audit: &AuditEvent,
        removed_event: &AudienceRemovedEvent<'_>,
        dry_run: bool,
    ) -> StoreResult<AudienceAssignment> {
        let mut tx = self.db.begin_write().await?;
        // Whatever the LIKE lets through, only exact members of the list count.
        let pattern = format!("%{}%", serde_json::to_string(audience).unwrap_or_default());
        let naming = Query::new(sql::APPLICATIONS_NAMING_AUDIENCE)
            .bind(owner.as_str())
            .bind(pattern);
        let mut stripped = Vec::new();
        let mut rewrites = Vec::new();
        for row in tx.fetch_all(naming).await? {
            let list: Vec<String> = serde_json::from_str(&row.text("audiences")?)
                .map_err(|_| StoreError::Corrupt("audiences".into()))?;
            if !list.iter().any(|a| a == audience) {
                continue;
            }
            let kept: Vec<String> = list.into_iter().filter(|a| a != audience).collect();
            let id = row.text("id")?;
            let app = ApplicationId::parse(&id).map_err(|_| StoreError::Corrupt("id".into()))?;
            stripped.push((app, decode::programmer_of(&row, "programmer_id")?));
            rewrites.push((id, json_list(&kept)?));
        }
        if !dry_run {
            let assign = Query::new(sql::ASSIGN_AUDIENCE)
                .bind(audience)
                .bind(owner.as_str())
                .bind(at);
            tx.execute(assign).await?;
            tx.execute(Query::new(sql::DELETE_AUDIENCE_CLAIMS).bind(audience))
                .await?;
            for ((id, kept), (app, programmer)) in rewrites.into_iter().zip(&stripped) {
                let rewrite = Query::new(sql::SET_APPLICATION_AUDIENCES)
                    .bind(kept)
                    .bind(id);
                tx.execute(rewrite).await?;
                tx.execute(audit_insert(&removed_event(app, programmer)))
                    .await?;
            }
            tx.execute(audit_insert(audit)).await?;
        }
        let record = tx
            .fetch_optional(Query::new(sql::SELECT_AUDIENCE).bind(audience))
            .await?
            .as_ref()
            .map(decode::audience_from_row)
            .transpose()?;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        let audience = match record {
            Some(record) if !dry_run => record,
            // A dry run shows the audience as it would be.
            known => AudienceRecord {
                seq: known.as_ref().map_or(0, |r| r.seq),
                audience: audience.to_owned(),
                owner: Some(owner.clone()),
                how: dcr_core::model::AudienceOwnership::Assigned,
                claimants: Vec::new(),
                updated_at: at,
            },
        };
        Ok(AudienceAssignment { audience, stripped })
    }
}
