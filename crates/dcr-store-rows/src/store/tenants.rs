//! Programmers, their channels and their applications.

use dcr_core::ids::{ApplicationId, ChannelId, ProgrammerId};
use dcr_core::model::{
    Application, ApplicationPolicy, AuditEvent, Channel, PageOf, PageRequest, Programmer,
};
use dcr_core::store::{Conflict, StoreError, StoreResult};

use super::{SqlStore, audit_insert, commit_audited, execute_audited, list_page};
use crate::backend::{Backend, Query, Transaction};
use crate::decode::{self, json_list};
use crate::sql;

impl<B: Backend> SqlStore<B> {
    pub(super) async fn insert_programmer(
        &self,
        p: &Programmer,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let insert = Query::new(sql::INSERT_PROGRAMMER)
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.created_at);
        execute_audited(&*self.db, insert, audit).await
    }

    pub(super) async fn get_programmer(
        &self,
        id: &ProgrammerId,
    ) -> StoreResult<Option<Programmer>> {
        let query = Query::new(sql::SELECT_PROGRAMMER).bind(id.as_str());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::programmer_from_row)
            .transpose()
    }

    pub(super) async fn list_programmers(
        &self,
        page: PageRequest,
    ) -> StoreResult<PageOf<Programmer>> {
        let query = Query::new(sql::LIST_PROGRAMMERS);
        list_page(&*self.db, query, page, decode::programmer_from_row).await
    }

    pub(super) async fn insert_channel(&self, c: &Channel, audit: &AuditEvent) -> StoreResult<()> {
        let insert = Query::new(sql::INSERT_CHANNEL)
            .bind(c.id.as_str())
            .bind(c.programmer_id.as_str())
            .bind(&c.name)
            .bind(c.created_at);
        execute_audited(&*self.db, insert, audit).await
    }

    pub(super) async fn get_channel(
        &self,
        programmer: &ProgrammerId,
        id: &ChannelId,
    ) -> StoreResult<Option<Channel>> {
        let query = Query::new(sql::SELECT_CHANNEL)
            .bind(programmer.as_str())
            .bind(id.as_str());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::channel_from_row)
            .transpose()
    }

    pub(super) async fn list_channels(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Channel>> {
        let query = Query::new(sql::LIST_CHANNELS).bind(programmer.as_str());
        list_page(&*self.db, query, page, decode::channel_from_row).await
    }

    pub(super) async fn insert_application(
        &self,
        a: &Application,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let channels: Vec<&str> = a.channels.iter().map(ChannelId::as_str).collect();
        let insert = Query::new(sql::INSERT_APPLICATION)
            .bind(a.id.to_string())
            .bind(a.programmer_id.as_str())
            .bind(&a.name)
            .bind(&a.version)
            .bind(a.level.as_str())
            .bind(json_list(&channels)?)
            .bind(json_list(&a.platforms)?)
            .bind(json_list(&a.scopes)?)
            .bind(json_list(&a.domains)?)
            .bind(&a.custom_scheme)
            .bind(json_list(&a.audiences)?)
            .bind(
                a.policy
                    .max_registrations_per_hour_per_statement
                    .map(i64::from),
            )
            .bind(a.policy.max_registrations_per_hour.map(i64::from))
            .bind(a.policy.expire_inactive_after_days.map(i64::from))
            .bind(a.status.as_str())
            .bind(a.created_at)
            .bind(a.revoked_at)
            .bind(a.policy.bound_credentials.to_json().to_string())
            .bind(decode::attesters_json(&a.settings.attesters))
            .bind(a.policy.attestation.to_json().to_string())
            .bind(decode::attestation_settings_json(&a.settings.attestation)?);
        let mut tx = self.db.begin_write().await?;
        let written = async {
            tx.execute(insert).await?;
            // Its audiences become its programmer's, or the application is refused.
            super::audiences::claim_audiences(
                &mut tx,
                &a.programmer_id,
                &a.audiences,
                a.created_at,
            )
            .await?;
            tx.execute(audit_insert(audit)).await?;
            Ok::<(), StoreError>(())
        }
        .await;
        let done = match written {
            Ok(()) => tx.commit().await,
            Err(e) => Err(e),
        };
        match done {
            // With both unique keys taken, which one a database names is its own
            // choice (SQLite: the scheme, PostgreSQL: the id): the id is reported.
            Err(StoreError::Conflict(Conflict::CustomSchemeTaken))
                if self.get_application(&a.id).await?.is_some() =>
            {
                Err(StoreError::Conflict(Conflict::ApplicationExists))
            }
            done => done,
        }
    }

    pub(super) async fn get_application(
        &self,
        id: &ApplicationId,
    ) -> StoreResult<Option<Application>> {
        let query = Query::new(sql::SELECT_APPLICATION).bind(id.to_string());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(|r| decode::application_from_row(r, ""))
            .transpose()
    }

    pub(super) async fn list_applications(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Application>> {
        let query = Query::new(sql::LIST_APPLICATIONS).bind(programmer.as_str());
        list_page(&*self.db, query, page, |r| {
            decode::application_from_row(r, "")
        })
        .await
    }

    pub(super) async fn set_application_attesters(
        &self,
        id: &ApplicationId,
        attesters: &[dcr_core::binding::AttesterConfig],
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        let update = Query::new(sql::SET_APPLICATION_ATTESTERS)
            .bind(decode::attesters_json(attesters))
            .bind(id.to_string());
        self.update_application(update, id, audit).await
    }

    pub(super) async fn set_application_attestation(
        &self,
        id: &ApplicationId,
        settings: &dcr_proto::attestation::AttestationSettings,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        let update = Query::new(sql::SET_APPLICATION_ATTESTATION)
            .bind(decode::attestation_settings_json(settings)?)
            .bind(id.to_string());
        self.update_application(update, id, audit).await
    }

    pub(super) async fn set_application_policy(
        &self,
        id: &ApplicationId,
        policy: &ApplicationPolicy,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        let update = Query::new(sql::SET_APPLICATION_POLICY)
            .bind(
                policy
                    .max_registrations_per_hour_per_statement
                    .map(i64::from),
            )
            .bind(policy.max_registrations_per_hour.map(i64::from))
            .bind(policy.expire_inactive_after_days.map(i64::from))
            .bind(policy.bound_credentials.to_json().to_string())
            .bind(policy.attestation.to_json().to_string())
            .bind(id.to_string());
        self.update_application(update, id, audit).await
    }

    /// Runs `update` on application `id` with its audit event, in one transaction:
    /// the application as it is after the change, or `None` when there is none.
    async fn update_application(
        &self,
        update: Query,
        id: &ApplicationId,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(update).await?;
        let row = tx
            .fetch_optional(Query::new(sql::SELECT_APPLICATION).bind(id.to_string()))
            .await?;
        commit_audited(tx, row, audit, |r| decode::application_from_row(r, "")).await
    }
}
