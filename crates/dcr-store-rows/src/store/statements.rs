//! Software statements: issued, listed, retired and rotated (revocation is in
//! `revocations.rs` with the others).

use dcr_core::ids::{ApplicationId, StatementId};
use dcr_core::model::{AuditEvent, PageOf, PageRequest, StatementRecord};
use dcr_core::store::{Conflict, StoreError, StoreResult};

use super::{SqlStore, commit_audited, execute_audited, list_page};
use crate::backend::{Backend, Query, Transaction};
use crate::decode::{self, RowAccess};
use crate::sql;

/// The insert of one statement.
fn statement_insert(s: &StatementRecord) -> Query {
    Query::new(sql::INSERT_STATEMENT)
        .bind(s.jti.to_string())
        .bind(s.application_id.to_string())
        .bind(s.programmer_id.as_str())
        .bind(&s.kid)
        .bind(s.issued_at)
        .bind(s.status.as_str())
        .bind(s.revoked_at)
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn insert_statement(
        &self,
        s: &StatementRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        execute_audited(&*self.db, statement_insert(s), audit).await
    }

    pub(super) async fn get_statement(
        &self,
        jti: &StatementId,
    ) -> StoreResult<Option<StatementRecord>> {
        let query = Query::new(sql::SELECT_STATEMENT).bind(jti.to_string());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::statement_from_row)
            .transpose()
    }

    pub(super) async fn list_statements(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<StatementRecord>> {
        let query = Query::new(sql::LIST_STATEMENTS).bind(app.to_string());
        list_page(&*self.db, query, page, decode::statement_from_row).await
    }

    pub(super) async fn retire_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        let mut tx = self.db.begin_write().await?;
        retire_in(&mut tx, jti, None, at, &audit.actor).await?;
        let row = tx
            .fetch_optional(Query::new(sql::SELECT_STATEMENT).bind(jti.to_string()))
            .await?;
        commit_audited(tx, row, audit, decode::statement_from_row).await
    }

    pub(super) async fn rotate_statement(
        &self,
        old: &StatementId,
        successor: &StatementRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        let mut tx = self.db.begin_write().await?;
        let exists = Query::new(sql::STATEMENT_EXISTS).bind(old.to_string());
        if tx.fetch_optional(exists).await?.is_none() {
            return Ok(None);
        }
        tx.execute(statement_insert(successor)).await?;
        retire_in(&mut tx, old, Some(&successor.jti), at, &audit.actor).await?;
        let row = tx
            .fetch_optional(Query::new(sql::SELECT_STATEMENT).bind(old.to_string()))
            .await?;
        commit_audited(tx, row, audit, decode::statement_from_row).await
    }
}

/// Retires `jti` in `tx` unless it is retired already (then only a missing successor
/// is recorded); `Conflict` when it is revoked.
async fn retire_in<T: Transaction>(
    tx: &mut T,
    jti: &StatementId,
    successor: Option<&StatementId>,
    at: i64,
    actor: &str,
) -> StoreResult<()> {
    let status = tx
        .fetch_optional(Query::new(sql::STATEMENT_STATUS).bind(jti.to_string()))
        .await?
        .map(|row| row.text("status"))
        .transpose()?;
    if status.as_deref() == Some("revoked") {
        return Err(StoreError::Conflict(Conflict::StatementRevoked));
    }
    let retire = Query::new(sql::RETIRE_STATEMENT)
        .bind(at)
        .bind(actor)
        .bind(successor.map(ToString::to_string))
        .bind(jti.to_string());
    tx.execute(retire).await.map(|_| ())
}
