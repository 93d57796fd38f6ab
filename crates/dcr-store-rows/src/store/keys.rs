//! Admin API keys (stored as keyed hashes) and the deployment's signing keys (sealed
//! under the key-encryption key).

use dcr_core::ids::{ApiKeyId, ChannelId, ProgrammerId};
use dcr_core::model::{ApiKeyRecord, AuditEvent, PageOf, PageRequest, SigningKeyRecord};
use dcr_core::store::{Conflict, StoreError, StoreResult};

use super::{SqlStore, audit_insert, commit_audited, count, execute_audited, list_page};
use crate::backend::{Backend, Query, Transaction};
use crate::decode;
use crate::sql;

/// The insert of a `next` signing key.
fn next_key_insert(k: &SigningKeyRecord) -> Query {
    Query::new(sql::INSERT_NEXT_SIGNING_KEY)
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.sealed_private_key)
        .bind(&k.public_jwk)
        .bind(k.created_at)
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn insert_api_key(
        &self,
        k: &ApiKeyRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let insert = Query::new(sql::INSERT_API_KEY)
            .bind(k.id.to_string())
            .bind(&k.key_hash)
            .bind(k.role.as_str())
            .bind(k.programmer_id.as_ref().map(ProgrammerId::as_str))
            .bind(k.channel_id.as_ref().map(ChannelId::as_str))
            .bind(&k.name)
            .bind(k.created_at)
            .bind(k.revoked_at);
        execute_audited(&*self.db, insert, audit).await
    }

    pub(super) async fn find_api_key_by_hash(
        &self,
        hash: &[u8],
    ) -> StoreResult<Option<ApiKeyRecord>> {
        let query = Query::new(sql::SELECT_API_KEY_BY_HASH).bind(hash);
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::api_key_from_row)
            .transpose()
    }

    pub(super) async fn count_api_keys(&self) -> StoreResult<u64> {
        match self
            .db
            .fetch_optional(Query::new(sql::COUNT_API_KEYS))
            .await?
        {
            Some(row) => count(&row, "n"),
            None => Ok(0),
        }
    }

    pub(super) async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        let query = Query::new(sql::SELECT_API_KEY).bind(id.to_string());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::api_key_from_row)
            .transpose()
    }

    pub(super) async fn list_api_keys(
        &self,
        programmer: Option<&ProgrammerId>,
        page: PageRequest,
    ) -> StoreResult<PageOf<ApiKeyRecord>> {
        let query = Query::new(sql::LIST_API_KEYS).bind(programmer.map(ProgrammerId::as_str));
        list_page(&*self.db, query, page, decode::api_key_from_row).await
    }

    pub(super) async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            Query::new(sql::REVOKE_API_KEY)
                .bind(at)
                .bind(id.to_string()),
        )
        .await?;
        let row = tx
            .fetch_optional(Query::new(sql::SELECT_API_KEY).bind(id.to_string()))
            .await?;
        commit_audited(tx, row, audit, decode::api_key_from_row).await
    }

    pub(super) async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = self
            .db
            .fetch_all(Query::new(sql::LIST_SIGNING_KEYS))
            .await?;
        rows.iter().map(decode::signing_key_from_row).collect()
    }

    pub(super) async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        let insert = Query::new(sql::INSERT_SIGNING_KEY)
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(k.state.as_str())
            .bind(&k.sealed_private_key)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .bind(k.retired_at);
        self.db.execute(insert).await.map(|_| ())
    }

    pub(super) async fn rotate_signing_keys(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        let next = match tx
            .fetch_optional(Query::new(sql::COUNT_NEXT_SIGNING_KEYS))
            .await?
        {
            Some(row) => count(&row, "n")?,
            None => 0,
        };
        if next < 1 {
            return Err(StoreError::Conflict(Conflict::NoNextKey));
        }
        tx.execute(Query::new(sql::RETIRE_ACTIVE_SIGNING_KEY).bind(at))
            .await?;
        // The oldest next key: the one verifiers have had longest.
        tx.execute(Query::new(sql::PROMOTE_NEXT_SIGNING_KEY))
            .await?;
        tx.execute(next_key_insert(new_next)).await?;
        tx.execute(audit_insert(audit)).await?;
        tx.commit().await
    }

    pub(super) async fn replace_next_signing_key(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(Query::new(sql::RETIRE_NEXT_SIGNING_KEY).bind(at))
            .await?;
        tx.execute(next_key_insert(new_next)).await?;
        tx.commit().await
    }
}
