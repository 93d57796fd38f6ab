//! The `Store` trait's `impl`: one line per method into the aggregate that holds it
//! (the trait's contract is documented on `dcr_core::store::Store`).

use dcr_core::ids::{
    ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId, UserId,
};
use dcr_core::model::{
    ActivityRollup, ApiKeyRecord, Application, ApplicationPolicy, ApplicationUsage,
    AudienceAssignment, AudienceRecord, AuditEvent, AuditFilter, Channel, ClientFilter,
    ClientRecord, ClientStanding, PageOf, PageRequest, Programmer, RegistrationQuota,
    RevocationEntry, RevokedVia, SessionRecord, SigningKeyRecord, StatementRecord, UserRecord,
};
use dcr_core::store::{
    AudienceRemovedEvent, ClientUse, RevokedBatch, ScanCursor, Store, StoreResult, TokenCount,
};

use super::SqlStore;
use crate::backend::Backend;

#[async_trait::async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn ping(&self) -> StoreResult<()> {
        SqlStore::ping(self).await
    }

    async fn insert_programmer(
        &self,
        programmer: &Programmer,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        SqlStore::insert_programmer(self, programmer, audit).await
    }

    async fn get_programmer(&self, id: &ProgrammerId) -> StoreResult<Option<Programmer>> {
        SqlStore::get_programmer(self, id).await
    }

    async fn list_programmers(&self, page: PageRequest) -> StoreResult<PageOf<Programmer>> {
        SqlStore::list_programmers(self, page).await
    }

    async fn insert_channel(&self, channel: &Channel, audit: &AuditEvent) -> StoreResult<()> {
        SqlStore::insert_channel(self, channel, audit).await
    }

    async fn get_channel(
        &self,
        programmer: &ProgrammerId,
        id: &ChannelId,
    ) -> StoreResult<Option<Channel>> {
        SqlStore::get_channel(self, programmer, id).await
    }

    async fn list_channels(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Channel>> {
        SqlStore::list_channels(self, programmer, page).await
    }

    async fn insert_application(&self, app: &Application, audit: &AuditEvent) -> StoreResult<()> {
        SqlStore::insert_application(self, app, audit).await
    }

    async fn get_application(&self, id: &ApplicationId) -> StoreResult<Option<Application>> {
        SqlStore::get_application(self, id).await
    }

    async fn list_applications(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Application>> {
        SqlStore::list_applications(self, programmer, page).await
    }

    async fn get_audience(&self, audience: &str) -> StoreResult<Option<AudienceRecord>> {
        SqlStore::get_audience(self, audience).await
    }

    async fn list_audiences(
        &self,
        programmer: Option<&ProgrammerId>,
        contested_only: bool,
        page: PageRequest,
    ) -> StoreResult<PageOf<AudienceRecord>> {
        SqlStore::list_audiences(self, programmer, contested_only, page).await
    }

    async fn assign_audience(
        &self,
        audience: &str,
        owner: &ProgrammerId,
        at: i64,
        audit: &AuditEvent,
        removed_event: &AudienceRemovedEvent<'_>,
        dry_run: bool,
    ) -> StoreResult<AudienceAssignment> {
        SqlStore::assign_audience(self, audience, owner, at, audit, removed_event, dry_run).await
    }

    async fn insert_statement(
        &self,
        statement: &StatementRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        SqlStore::insert_statement(self, statement, audit).await
    }

    async fn get_statement(&self, jti: &StatementId) -> StoreResult<Option<StatementRecord>> {
        SqlStore::get_statement(self, jti).await
    }

    async fn list_statements(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<StatementRecord>> {
        SqlStore::list_statements(self, app, page).await
    }

    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()> {
        SqlStore::insert_client(self, client).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        SqlStore::get_client(self, id).await
    }

    async fn client_standing(&self, id: &ClientId) -> StoreResult<Option<ClientStanding>> {
        SqlStore::client_standing(self, id).await
    }

    async fn insert_client_within_quota(
        &self,
        client: &ClientRecord,
        quota: RegistrationQuota,
    ) -> StoreResult<bool> {
        SqlStore::insert_client_within_quota(self, client, quota).await
    }

    async fn list_clients(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>> {
        SqlStore::list_clients(self, app, page).await
    }

    async fn list_clients_newest(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>> {
        SqlStore::list_clients_newest(self, app, page).await
    }

    async fn count_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<u64> {
        SqlStore::count_matching_clients(self, app, filter).await
    }

    async fn revoke_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
        from: ScanCursor,
        at: i64,
        actor: &str,
        limit: u32,
    ) -> StoreResult<RevokedBatch> {
        SqlStore::revoke_matching_clients(self, app, filter, from, at, actor, limit).await
    }

    async fn expire_inactive_clients(
        &self,
        app: &ApplicationId,
        cutoff: i64,
        at: i64,
        limit: u32,
    ) -> StoreResult<u64> {
        SqlStore::expire_inactive_clients(self, app, cutoff, at, limit).await
    }

    async fn applications_expiring_inactive(&self) -> StoreResult<Vec<(ApplicationId, u32)>> {
        SqlStore::applications_expiring_inactive(self).await
    }

    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool> {
        SqlStore::try_lease(self, name, holder, now, until).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        SqlStore::release_lease(self, name, holder).await
    }

    async fn append_summary_event(&self, event: &AuditEvent) -> StoreResult<()> {
        SqlStore::append_summary_event(self, event).await
    }

    async fn record_spike(
        &self,
        jti: &StatementId,
        day: i64,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        SqlStore::record_spike(self, jti, day, event).await
    }

    async fn applications_registering(
        &self,
        hour: i64,
        more_than: u64,
    ) -> StoreResult<Vec<ApplicationId>> {
        SqlStore::applications_registering(self, hour, more_than).await
    }

    async fn activity(&self, app: &ApplicationId, since_day: i64) -> StoreResult<ActivityRollup> {
        SqlStore::activity(self, app, since_day).await
    }

    async fn touch_client(&self, id: &ClientId, at: i64) -> StoreResult<()> {
        SqlStore::touch_client(self, id, at).await
    }

    async fn revoke_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        SqlStore::revoke_statement(self, jti, at, audit).await
    }

    async fn retire_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        SqlStore::retire_statement(self, jti, at, audit).await
    }

    async fn rotate_statement(
        &self,
        old: &StatementId,
        successor: &StatementRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        SqlStore::rotate_statement(self, old, successor, at, audit).await
    }

    async fn set_application_policy(
        &self,
        id: &ApplicationId,
        policy: &ApplicationPolicy,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        SqlStore::set_application_policy(self, id, policy, audit).await
    }

    async fn revoke_application(
        &self,
        id: &ApplicationId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        SqlStore::revoke_application(self, id, at, audit).await
    }

    async fn revoke_client(
        &self,
        id: &ClientId,
        via: RevokedVia,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ClientRecord>> {
        SqlStore::revoke_client(self, id, via, at, audit).await
    }

    async fn revoke_token(&self, jti: &str, programmer: &ProgrammerId, at: i64) -> StoreResult<()> {
        SqlStore::revoke_token(self, jti, programmer, at).await
    }

    fn shared_by_nodes(&self) -> bool {
        B::SHARED_BY_NODES
    }

    async fn first_use_of_jti(&self, kind: &str, jti: &str, until: i64) -> StoreResult<bool> {
        SqlStore::first_use_of_jti(self, kind, jti, until).await
    }

    async fn is_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        SqlStore::is_token_revoked(self, jti).await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord, audit: &AuditEvent) -> StoreResult<()> {
        SqlStore::insert_api_key(self, key, audit).await
    }

    async fn find_api_key_by_hash(&self, hash: &[u8]) -> StoreResult<Option<ApiKeyRecord>> {
        SqlStore::find_api_key_by_hash(self, hash).await
    }

    async fn count_api_keys(&self) -> StoreResult<u64> {
        SqlStore::count_api_keys(self).await
    }

    async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        SqlStore::get_api_key(self, id).await
    }

    async fn list_api_keys(
        &self,
        programmer: Option<&ProgrammerId>,
        page: PageRequest,
    ) -> StoreResult<PageOf<ApiKeyRecord>> {
        SqlStore::list_api_keys(self, programmer, page).await
    }

    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        SqlStore::revoke_api_key(self, id, at, audit).await
    }

    async fn revocations_since(
        &self,
        after_seq: i64,
        not_before: i64,
        programmer: Option<&ProgrammerId>,
        limit: u32,
    ) -> StoreResult<Vec<RevocationEntry>> {
        SqlStore::revocations_since(self, after_seq, not_before, programmer, limit).await
    }

    async fn channel_directory(
        &self,
        programmer: Option<&ProgrammerId>,
    ) -> StoreResult<Vec<(ChannelId, ProgrammerId)>> {
        SqlStore::channel_directory(self, programmer).await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        SqlStore::list_signing_keys(self).await
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        SqlStore::insert_signing_key(self, key).await
    }

    async fn rotate_signing_keys(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        SqlStore::rotate_signing_keys(self, new_next, at, audit).await
    }

    async fn replace_next_signing_key(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
    ) -> StoreResult<()> {
        SqlStore::replace_next_signing_key(self, new_next, at).await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<PageOf<AuditEvent>> {
        SqlStore::list_audit(self, filter, page).await
    }

    async fn insert_user(&self, user: &UserRecord, audit: &AuditEvent) -> StoreResult<()> {
        SqlStore::insert_user(self, user, audit).await
    }

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        SqlStore::get_user(self, id).await
    }

    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<UserRecord>> {
        SqlStore::find_users_by_email(self, email).await
    }

    async fn list_users(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<UserRecord>> {
        SqlStore::list_users(self, programmer, page).await
    }

    async fn disable_user(
        &self,
        id: &UserId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<UserRecord>> {
        SqlStore::disable_user(self, id, at, audit).await
    }

    async fn insert_session(&self, session: &SessionRecord, audit: &AuditEvent) -> StoreResult<()> {
        SqlStore::insert_session(self, session, audit).await
    }

    async fn find_session(&self, token_hash: &[u8]) -> StoreResult<Option<SessionRecord>> {
        SqlStore::find_session(self, token_hash).await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        SqlStore::delete_session(self, token_hash).await
    }

    async fn add_tokens_issued(
        &self,
        counts: &[TokenCount],
        per_client: &[ClientUse],
    ) -> StoreResult<()> {
        SqlStore::add_tokens_issued(self, counts, per_client).await
    }

    async fn usage_of_applications(
        &self,
        ids: &[ApplicationId],
    ) -> StoreResult<Vec<(ApplicationId, ApplicationUsage)>> {
        SqlStore::usage_of_applications(self, ids).await
    }

    async fn activity_totals(
        &self,
        ids: &[ApplicationId],
        first_day: i64,
    ) -> StoreResult<Vec<(ApplicationId, u64, u64)>> {
        SqlStore::activity_totals(self, ids, first_day).await
    }

    async fn clients_per_statement(
        &self,
        statements: &[StatementId],
    ) -> StoreResult<Vec<(StatementId, u64, u64)>> {
        SqlStore::clients_per_statement(self, statements).await
    }

    async fn matching_clients_by_platform(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<Vec<(String, u64)>> {
        SqlStore::matching_clients_by_platform(self, app, filter).await
    }

    async fn application_usage(&self, id: &ApplicationId) -> StoreResult<ApplicationUsage> {
        SqlStore::application_usage(self, id).await
    }

    async fn clients_without_dpop(
        &self,
        app: &ApplicationId,
        since: i64,
    ) -> StoreResult<Vec<(String, u64)>> {
        SqlStore::clients_without_dpop(self, app, since).await
    }

    async fn clients_by_binding(
        &self,
        app: &ApplicationId,
    ) -> StoreResult<Vec<(String, dcr_core::binding::AuthMethod, u64)>> {
        SqlStore::clients_by_binding(self, app).await
    }

    async fn set_application_attesters(
        &self,
        id: &ApplicationId,
        attesters: &[dcr_core::binding::AttesterConfig],
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        SqlStore::set_application_attesters(self, id, attesters, audit).await
    }

    async fn set_application_attestation(
        &self,
        id: &ApplicationId,
        settings: &dcr_proto::attestation::AttestationSettings,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        SqlStore::set_application_attestation(self, id, settings, audit).await
    }
}
