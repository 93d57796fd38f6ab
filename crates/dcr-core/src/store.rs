//! The storage boundary. One implementation per backend (`dcr-store-sqlite`,
//! `dcr-store-postgres`); none of them holds business rules.
//!
//! Contract every implementation keeps:
//! - a write returns `Ok` only after it is durably committed;
//! - `insert_*` of an existing id returns [`StoreError::Conflict`], never overwrites;
//! - revocations are idempotent and append one entry to the revocation log, in the
//!   same transaction as the status change, the first time only;
//! - lists are ordered by insertion and paginated by the sequence number in
//!   [`PageRequest::after`];
//! - every write that takes an `audit` event appends it in the same transaction as
//!   the change it records, so the log never misses a committed change nor names one
//!   that rolled back (a revocation or disabling of an unknown id writes nothing);
//! - a client's registration appends its `client.registered` audit event in the same
//!   transaction as the client row; the audit log is never updated or deleted from
//!   (both schemas refuse it with triggers).

use async_trait::async_trait;

use crate::ids::{ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId, UserId};
use crate::model::{
    ActivityRollup, ApiKeyRecord, Application, ApplicationPolicy, ApplicationUsage,
    AudienceAssignment, AudienceRecord, AuditEvent, AuditFilter, Channel, ClientFilter,
    ClientRecord, ClientStanding, PageOf, PageRequest, Programmer, RegistrationQuota,
    RevocationEntry, RevokedVia, SessionRecord, SigningKeyRecord, StatementRecord, UserRecord,
};

/// One client's use since the last flush: tokens issued and the latest time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientUse {
    pub client: ClientId,
    pub tokens: u64,
    pub last_used_at: i64,
    /// Its latest token with a DPoP proof, if any since the last flush.
    pub dpop_at: Option<i64>,
}

/// Tokens issued for one application and statement on one day (Unix day number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenCount {
    pub application: ApplicationId,
    pub statement: StatementId,
    pub day: i64,
    pub tokens: u64,
}

/// Why a write conflicts with what is stored. Every backend reports the same variant
/// for the same collision, so callers (and the 409 bodies made from these messages)
/// never depend on a database's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("a programmer with this id exists already")]
    ProgrammerExists,
    #[error("a channel with this id exists already")]
    ChannelExists,
    #[error("an application with this id exists already")]
    ApplicationExists,
    #[error("an application with this custom URI scheme exists already")]
    CustomSchemeTaken,
    #[error("a software statement with this id exists already")]
    StatementExists,
    #[error("a client with this id exists already")]
    ClientExists,
    #[error("an API key with this id exists already")]
    ApiKeyExists,
    #[error("a user with this email exists already")]
    UserEmailTaken,
    #[error("a signing key with this id exists already")]
    SigningKeyExists,
    /// A unique key the store does not name (a new table without a variant yet).
    #[error("a record with this identity exists already")]
    OtherKey,
    #[error("rotation needs a next key")]
    NoNextKey,
    #[error("the software statement is revoked")]
    StatementRevoked,
    /// Says nothing of who owns it: the tenant asking must not learn another's.
    #[error("an audience of this application belongs to another programmer")]
    AudienceTaken,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The write conflicts with a stored row (an identity that exists already, a
    /// state that forbids it).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A referenced row does not exist.
    #[error("missing reference: {0}")]
    MissingReference(String),
    /// The database cannot be reached or is overloaded; try again later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A row could not be decoded: a bug or a damaged database.
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Builds the audit event of an application losing an audience to its owner
/// (`Store::assign_audience`).
pub type AudienceRemovedEvent<'a> = dyn Fn(&ApplicationId, &ProgrammerId) -> AuditEvent + Sync + 'a;

/// Where a batched walk over clients stopped (an opaque position in the store's
/// order); the default starts at the beginning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCursor(pub i64);

/// One batch of a bulk revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedBatch {
    pub revoked: u64,
    /// Where the next batch starts; `None` when the walk is over.
    pub next: Option<ScanCursor>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    async fn insert_programmer(
        &self,
        programmer: &Programmer,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_programmer(&self, id: &ProgrammerId) -> StoreResult<Option<Programmer>>;
    async fn list_programmers(&self, page: PageRequest) -> StoreResult<PageOf<Programmer>>;

    async fn insert_channel(&self, channel: &Channel, audit: &AuditEvent) -> StoreResult<()>;
    /// Channel ids are unique per programmer, not per deployment.
    async fn get_channel(
        &self,
        programmer: &ProgrammerId,
        id: &ChannelId,
    ) -> StoreResult<Option<Channel>>;
    async fn list_channels(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Channel>>;

    /// In one transaction with the application, claims its audiences for its
    /// programmer: an unowned one becomes theirs; one another programmer owns (or a
    /// contested one they are not a claimant of) is `Conflict::AudienceTaken` and
    /// nothing is written.
    async fn insert_application(&self, app: &Application, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_application(&self, id: &ApplicationId) -> StoreResult<Option<Application>>;
    async fn list_applications(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Application>>;

    async fn get_audience(&self, audience: &str) -> StoreResult<Option<AudienceRecord>>;
    /// Audiences one programmer owns or (while contested) claims, or all of them;
    /// `contested_only` keeps the contested ones.
    async fn list_audiences(
        &self,
        programmer: Option<&ProgrammerId>,
        contested_only: bool,
        page: PageRequest,
    ) -> StoreResult<PageOf<AudienceRecord>>;
    /// Makes `owner` the one owner of `audience` (known or not), and removes it from
    /// every other programmer's applications, appending `audit` and one
    /// `removed_event` per such application, in one transaction. `dry_run`: writes
    /// nothing and answers what would change.
    async fn assign_audience(
        &self,
        audience: &str,
        owner: &ProgrammerId,
        at: i64,
        audit: &AuditEvent,
        removed_event: &AudienceRemovedEvent<'_>,
        dry_run: bool,
    ) -> StoreResult<AudienceAssignment>;

    async fn insert_statement(
        &self,
        statement: &StatementRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_statement(&self, jti: &StatementId) -> StoreResult<Option<StatementRecord>>;
    async fn list_statements(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<StatementRecord>>;

    /// Durable before it returns: a 201 is sent on the strength of it.
    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;
    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>>;
    /// The client, its statement's status and its application, in one read.
    async fn client_standing(&self, id: &ClientId) -> StoreResult<Option<ClientStanding>>;
    /// Registers a client only if the hourly quotas allow it, counting it in the same
    /// transaction (so nodes sharing the store share the budget). `Ok(false)`: over a
    /// quota, nothing written.
    async fn insert_client_within_quota(
        &self,
        client: &ClientRecord,
        quota: RegistrationQuota,
    ) -> StoreResult<bool>;
    /// An application's clients, each with its statement's and application's standing.
    async fn list_clients(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>>;
    /// How many of the application's clients, not revoked themselves, match `filter`.
    /// An application's clients, newest first; `page.after` is the `seq` to continue
    /// below.
    async fn list_clients_newest(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>>;
    async fn count_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<u64>;
    /// Revokes up to `limit` of the application's active clients matching `filter`
    /// (`revoked_via: bulk`) that come after `from` in the store's order, logging each
    /// for the feed, in one transaction. A walk starts at `ScanCursor::default()` and
    /// goes on from each batch's `next` until it is `None`: each client is read once,
    /// however many batches.
    async fn revoke_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
        from: ScanCursor,
        at: i64,
        actor: &str,
        limit: u32,
    ) -> StoreResult<RevokedBatch>;
    /// Expires up to `limit` of the application's active clients last seen before
    /// `cutoff` (`revoked_via: inactivity`), logged for the feed, in one transaction.
    async fn expire_inactive_clients(
        &self,
        app: &ApplicationId,
        cutoff: i64,
        at: i64,
        limit: u32,
    ) -> StoreResult<u64>;
    /// Active applications with an inactivity policy, and its days.
    async fn applications_expiring_inactive(&self) -> StoreResult<Vec<(ApplicationId, u32)>>;
    /// Takes (or renews) the lease `name` for `holder` until `until`, unless another
    /// holder has it and it has not expired at `now`.
    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool>;
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    /// An event that summarises a change made in several transactions (a bulk
    /// revocation, an inactivity sweep) or an observation (a registration spike).
    async fn append_summary_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Records that a spike of `jti` was reported on `day`; `false` if it already was.
    async fn record_spike(
        &self,
        jti: &StatementId,
        day: i64,
        event: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Applications with a statement that registered more than `more_than` clients in
    /// hour `hour` (Unix hour number): the candidates for spike detection.
    async fn applications_registering(
        &self,
        hour: i64,
        more_than: u64,
    ) -> StoreResult<Vec<ApplicationId>>;
    /// The application's activity rollups since `since_day`.
    async fn activity(&self, app: &ApplicationId, since_day: i64) -> StoreResult<ActivityRollup>;
    /// Records use; implementations may coalesce.
    async fn touch_client(&self, id: &ClientId, at: i64) -> StoreResult<()>;

    async fn revoke_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>>;
    /// Marks an active statement retired (no new registrations; its clients keep
    /// working). A retired one stays as it is; a revoked one is `Conflict`. Returns the
    /// statement as it now is, `None` when unknown.
    async fn retire_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>>;
    /// In one transaction: retires `old` (naming `successor` its successor) and inserts
    /// `successor`. `Conflict` when `old` is revoked; `None` when it is unknown.
    async fn rotate_statement(
        &self,
        old: &StatementId,
        successor: &StatementRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>>;
    async fn set_application_policy(
        &self,
        id: &ApplicationId,
        policy: &ApplicationPolicy,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>>;
    async fn revoke_application(
        &self,
        id: &ApplicationId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>>;
    /// `via` says how (a direct revocation, or the client deleting itself).
    async fn revoke_client(
        &self,
        id: &ClientId,
        via: RevokedVia,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ClientRecord>>;
    /// Whether several nodes share this store (proofs used on one must be refused on
    /// the others: `first_use_of_jti` is then asked).
    fn shared_by_nodes(&self) -> bool {
        false
    }
    /// Records that a proof (`kind`, `jti`) was used, until `until`; `false` when it
    /// was recorded already and has not expired. Forgets expired ones as it goes.
    async fn first_use_of_jti(&self, kind: &str, jti: &str, until: i64) -> StoreResult<bool>;
    /// Appends one access token (`jti`) to the revocation log (RFC 7009).
    async fn revoke_token(&self, jti: &str, programmer: &ProgrammerId, at: i64) -> StoreResult<()>;
    /// Whether the revocation log names access token `jti` (RFC 7009).
    async fn is_token_revoked(&self, jti: &str) -> StoreResult<bool>;

    async fn insert_api_key(&self, key: &ApiKeyRecord, audit: &AuditEvent) -> StoreResult<()>;
    async fn find_api_key_by_hash(&self, hash: &[u8]) -> StoreResult<Option<ApiKeyRecord>>;
    async fn count_api_keys(&self) -> StoreResult<u64>;
    async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>>;
    /// Keys of one programmer, or every key when `programmer` is `None`.
    async fn list_api_keys(
        &self,
        programmer: Option<&ProgrammerId>,
        page: PageRequest,
    ) -> StoreResult<PageOf<ApiKeyRecord>>;
    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>>;

    /// Revocation-log entries after `after_seq` that happened at or after
    /// `not_before`, of one programmer or of all, oldest first.
    async fn revocations_since(
        &self,
        after_seq: i64,
        not_before: i64,
        programmer: Option<&ProgrammerId>,
        limit: u32,
    ) -> StoreResult<Vec<RevocationEntry>>;
    /// Which programmer owns each channel (of one programmer, or all).
    async fn channel_directory(
        &self,
        programmer: Option<&ProgrammerId>,
    ) -> StoreResult<Vec<(ChannelId, ProgrammerId)>>;

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// In one transaction: the active key retires (at `at`), the `next` key becomes
    /// active, and `new_next` is inserted as the new `next`. Requires a `next` key.
    async fn rotate_signing_keys(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// In one transaction: every `next` key retires (at `at`; it never signed) and
    /// `new_next` becomes the `next` key. How a change of signing algorithm starts.
    async fn replace_next_signing_key(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
    ) -> StoreResult<()>;

    /// Newest first; `page.after` is a `seq` to continue below.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<PageOf<AuditEvent>>;

    async fn insert_user(&self, user: &UserRecord, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>>;
    /// The users with `email`, oldest first: one per programmer at most (emails are
    /// unique per programmer, not per deployment), at most 20.
    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<UserRecord>>;
    async fn list_users(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<UserRecord>>;
    /// Disables the user and ends their sessions; `None` when unknown.
    async fn disable_user(
        &self,
        id: &UserId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<UserRecord>>;

    /// Stores a session (with its `user.signed-in` event) and forgets sessions that
    /// expired before `session.created_at`.
    async fn insert_session(&self, session: &SessionRecord, audit: &AuditEvent) -> StoreResult<()>;
    async fn find_session(&self, token_hash: &[u8]) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;

    /// Adds token-issuance counts (flushed periodically from memory).
    /// Adds tokens issued per application, statement and day (usage and activity).
    /// Adds flushed token counts (per application, statement and day) and each
    /// client's use (its token count, and `last_used_at`/`last_seen_at` moved forward),
    /// in one transaction.
    async fn add_tokens_issued(
        &self,
        counts: &[TokenCount],
        per_client: &[ClientUse],
    ) -> StoreResult<()>;
    /// [`Store::application_usage`] of many applications in one round trip (the
    /// dashboard's lists); applications without clients are absent.
    async fn usage_of_applications(
        &self,
        ids: &[ApplicationId],
    ) -> StoreResult<Vec<(ApplicationId, ApplicationUsage)>>;
    /// Registrations and tokens of many applications since `first_day` (Unix day),
    /// summed per application.
    async fn activity_totals(
        &self,
        ids: &[ApplicationId],
        first_day: i64,
    ) -> StoreResult<Vec<(ApplicationId, u64, u64)>>;
    /// Clients of each statement: all of them, and those not revoked on their own
    /// (whether the statement itself stands is the caller's to add).
    async fn clients_per_statement(
        &self,
        statements: &[StatementId],
    ) -> StoreResult<Vec<(StatementId, u64, u64)>>;
    /// The clients a bulk revocation with `filter` would cut off, by platform.
    async fn matching_clients_by_platform(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<Vec<(String, u64)>>;
    async fn application_usage(&self, id: &ApplicationId) -> StoreResult<ApplicationUsage>;
    /// The application's live clients, by platform, that have not presented a DPoP
    /// proof since `since` (or ever).
    async fn clients_without_dpop(
        &self,
        app: &ApplicationId,
        since: i64,
    ) -> StoreResult<Vec<(String, u64)>>;
    /// The application's live clients by platform and authentication method.
    async fn clients_by_binding(
        &self,
        app: &ApplicationId,
    ) -> StoreResult<Vec<(String, crate::binding::AuthMethod, u64)>>;
    /// Replaces the client attesters the application trusts.
    async fn set_application_attesters(
        &self,
        id: &ApplicationId,
        attesters: &[crate::binding::AttesterConfig],
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>>;
    /// Replaces what the application accepts from platform attestations.
    async fn set_application_attestation(
        &self,
        id: &ApplicationId,
        settings: &dcr_proto::attestation::AttestationSettings,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>>;
}
