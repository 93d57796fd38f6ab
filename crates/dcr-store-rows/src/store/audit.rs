//! The audit log: appended with every change (in the change's own transaction, by the
//! other aggregates), read newest first.

use dcr_core::ids::ProgrammerId;
use dcr_core::model::{AuditEvent, AuditFilter, PageOf, PageRequest};
use dcr_core::store::StoreResult;

use super::{SqlStore, audit_insert, page_bounds, paginate};
use crate::backend::{Backend, Query};
use crate::decode;
use crate::sql;

impl<B: Backend> SqlStore<B> {
    pub(super) async fn append_summary_event(&self, event: &AuditEvent) -> StoreResult<()> {
        self.db.execute(audit_insert(event)).await.map(|_| ())
    }

    pub(super) async fn list_audit(
        &self,
        f: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<PageOf<AuditEvent>> {
        let (after, limit) = page_bounds(page);
        let query = Query::new(sql::LIST_AUDIT)
            .bind(after)
            .bind(f.programmer_id.as_ref().map(ProgrammerId::as_str))
            .bind(f.actor.as_deref())
            .bind(f.action.as_deref())
            .bind(f.target_id.as_deref())
            .bind(f.since)
            .bind(f.until)
            .bind(limit)
            .bind(i64::from(f.exclude_devices));
        let rows = self.db.fetch_all(query).await?;
        paginate(rows, limit, decode::audit_from_row)
    }
}
