//! Dashboard users and their sessions.

use dcr_core::ids::{ChannelId, ProgrammerId, UserId};
use dcr_core::model::{AuditEvent, PageOf, PageRequest, SessionRecord, UserRecord};
use dcr_core::store::StoreResult;

use super::{SqlStore, audit_insert, commit_audited, execute_audited, list_page};
use crate::backend::{Backend, Query, Transaction};
use crate::decode;
use crate::sql;

impl<B: Backend> SqlStore<B> {
    pub(super) async fn insert_user(&self, u: &UserRecord, audit: &AuditEvent) -> StoreResult<()> {
        let insert = Query::new(sql::INSERT_USER)
            .bind(u.id.to_string())
            .bind(&u.email)
            .bind(&u.password_hash)
            .bind(u.role.as_str())
            .bind(u.programmer_id.as_str())
            .bind(u.channel_id.as_ref().map(ChannelId::as_str))
            .bind(u.created_at)
            .bind(u.disabled_at);
        execute_audited(&*self.db, insert, audit).await
    }

    pub(super) async fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        let query = Query::new(sql::SELECT_USER).bind(id.to_string());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::user_from_row)
            .transpose()
    }

    pub(super) async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<UserRecord>> {
        let query = Query::new(sql::SELECT_USERS_BY_EMAIL).bind(email);
        let rows = self.db.fetch_all(query).await?;
        rows.iter().map(decode::user_from_row).collect()
    }

    pub(super) async fn list_users(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<UserRecord>> {
        let query = Query::new(sql::LIST_USERS).bind(programmer.as_str());
        list_page(&*self.db, query, page, decode::user_from_row).await
    }

    pub(super) async fn disable_user(
        &self,
        id: &UserId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<UserRecord>> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(Query::new(sql::DISABLE_USER).bind(at).bind(id.to_string()))
            .await?;
        tx.execute(Query::new(sql::DELETE_USER_SESSIONS).bind(id.to_string()))
            .await?;
        let row = tx
            .fetch_optional(Query::new(sql::SELECT_USER).bind(id.to_string()))
            .await?;
        commit_audited(tx, row, audit, decode::user_from_row).await
    }

    pub(super) async fn insert_session(
        &self,
        s: &SessionRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(Query::new(sql::DELETE_EXPIRED_SESSIONS).bind(s.created_at))
            .await?;
        let insert = Query::new(sql::INSERT_SESSION)
            .bind(&s.token_hash)
            .bind(s.user_id.to_string())
            .bind(&s.csrf_token)
            .bind(s.created_at)
            .bind(s.expires_at);
        tx.execute(insert).await?;
        tx.execute(audit_insert(audit)).await?;
        tx.commit().await
    }

    pub(super) async fn find_session(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<SessionRecord>> {
        let query = Query::new(sql::SELECT_SESSION).bind(token_hash);
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::session_from_row)
            .transpose()
    }

    pub(super) async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let delete = Query::new(sql::DELETE_SESSION).bind(token_hash);
        self.db.execute(delete).await.map(|_| ())
    }
}
