//! The `Store` implementation shared by the two SQL stores: every query written once
//! (portable SQL with `$N` placeholders) for SQLite and PostgreSQL, the decoding of
//! their rows into dcr domain records, and what differs between the two databases
//! ([`Dialect`]). A value that does not parse is `StoreError::Corrupt`: the stores
//! only ever write valid ones.
//!
//! [`decode`] turns rows into records (ordinary functions over [`decode::RowAccess`],
//! implemented for both databases' rows), [`sql`] holds the column lists, `sql_store!`
//! expands the whole `Store` implementation for one backend, and [`GroupCommit`]
//! batches registrations into shared transactions. The macro keeps its own line
//! tables (`collapse_debuginfo(no)`): stepping into a store call in a debugger lands
//! in this file, on the query being run.

pub mod decode;
pub mod sql;

/// What differs between the two databases' SQL.
///
/// How a write transaction starts: SQLite's plain `BEGIN` is deferred: a transaction that reads and then writes must
/// upgrade its lock, and when another connection committed meanwhile SQLite answers
/// `SQLITE_BUSY` at once, without waiting out `busy_timeout` (the upgrade could
/// deadlock). `BEGIN IMMEDIATE` takes the write lock first, so concurrent writers queue
/// behind `busy_timeout` instead of failing with 503. PostgreSQL's row locks need
/// nothing of the kind.
///
/// How a bulk revocation walks an application's clients: in `seq` order from a
/// cursor, so each batch starts where the last stopped and the whole walk reads each
/// client once. SQLite's planner, given a `created_at` or statement filter, may
/// prefer that filter's index and sort every batch (or, without the cursor, rescan
/// the skipped rows each time: 10 minutes for 1 M of 10 M clients), so it is told
/// which index to walk; PostgreSQL plans it well on its own.
pub trait Dialect: sqlx::Database {
    const BEGIN_WRITE: &'static str;
    const CLIENTS_IN_SEQ_ORDER: &'static str;
}

impl Dialect for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const CLIENTS_IN_SEQ_ORDER: &'static str = "clients INDEXED BY clients_by_application";
}

impl Dialect for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const CLIENTS_IN_SEQ_ORDER: &'static str = "clients";
}

/// What a unique-key violation collided with, the same on both databases:
/// PostgreSQL reports the table and the constraint, SQLite only its message
/// (`UNIQUE constraint failed: users.email`).
pub fn collision(table: Option<&str>, constraint: Option<&str>, message: &str) -> Conflict {
    let sqlite_columns = message.strip_prefix("UNIQUE constraint failed: ");
    let table = table.or_else(|| sqlite_columns.and_then(|c| c.split('.').next()));
    let key = constraint.or(sqlite_columns).unwrap_or_default();
    if key.contains("custom_scheme") {
        return Conflict::CustomSchemeTaken;
    }
    match table {
        Some("programmers") => Conflict::ProgrammerExists,
        Some("channels") => Conflict::ChannelExists,
        Some("applications") => Conflict::ApplicationExists,
        Some("software_statements") => Conflict::StatementExists,
        Some("clients") => Conflict::ClientExists,
        Some("api_keys") => Conflict::ApiKeyExists,
        Some("users") => Conflict::UserEmailTaken,
        Some("signing_keys") => Conflict::SigningKeyExists,
        _ => Conflict::OtherKey,
    }
}

use dcr_core::store::Conflict;

#[cfg(test)]
mod tests {
    use super::{Conflict, collision};

    /// Both databases' reports of one collision give one variant (and one message,
    /// naming no SQL).
    #[test]
    fn collisions_read_the_same_on_both_databases() {
        let sqlite = collision(None, None, "UNIQUE constraint failed: users.email");
        let postgres = collision(
            Some("users"),
            Some("users_email_key"),
            "duplicate key value violates unique constraint \"users_email_key\"",
        );
        assert_eq!(sqlite, postgres);
        assert_eq!(sqlite, Conflict::UserEmailTaken);
        assert_eq!(sqlite.to_string(), "a user with this email exists already");
        assert_eq!(
            collision(
                None,
                None,
                "UNIQUE constraint failed: applications.custom_scheme"
            ),
            collision(
                Some("applications"),
                Some("applications_custom_scheme_key"),
                "duplicate key"
            ),
        );
        assert_eq!(
            collision(
                None,
                None,
                "UNIQUE constraint failed: applications.custom_scheme"
            ),
            Conflict::CustomSchemeTaken
        );
        assert_eq!(
            collision(None, None, "UNIQUE constraint failed: channels.id"),
            Conflict::ChannelExists
        );
        assert_eq!(collision(None, None, "something else"), Conflict::OtherKey);
    }
}

use dcr_core::model::ClientRecord;
use dcr_core::store::{StoreError, StoreResult};

/// Most registrations committed by one transaction.
pub const GROUP_COMMIT_MAX: usize = 256;

type Waiting = tokio::sync::oneshot::Sender<StoreResult<()>>;

/// How one backend writes a group of registrations: a transaction that takes rows in
/// rounds and is committed once. Implemented by `sql_store!` for each database.
pub trait GroupWriter: Send + 'static {
    type Transaction<'a>: Send
    where
        Self: 'a;
    /// Starts a write transaction.
    fn begin(&mut self) -> impl Future<Output = StoreResult<Self::Transaction<'_>>> + Send;
    /// Inserts `clients` (and their audit events) into `tx`.
    fn insert(
        tx: &mut Self::Transaction<'_>,
        clients: &[ClientRecord],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Adds every client of the group to the rollups and commits. On `Ok` every row is
    /// durable, or will be once [`GroupWriter::sync`] returns.
    fn commit(
        tx: Self::Transaction<'_>,
        group: &[ClientRecord],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// When commits reach the disk only with a later sync: that sync, a blocking call
    /// that makes every transaction committed before it durable. The writer runs it off
    /// its own path (the next group commits meanwhile) and answers the group after it.
    /// `None`: a commit is durable when it returns.
    fn sync(&self) -> Option<Syncer>;
    /// The last transaction failed because the database was unreachable: drop what
    /// may be broken (a connection of its own) before the next.
    fn reset(&mut self);
}

/// A blocking call that makes committed transactions durable (see [`GroupWriter::sync`]).
pub type Syncer = std::sync::Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// How the group-commit writer reaches the database.
pub enum WriterConnection<DB: sqlx::Database> {
    /// A pooled connection per transaction, committing durably.
    Pooled,
    /// A connection of its own (opened with `options`, again after a failure) whose
    /// commits are made durable by `sync`, which the writer does not wait for.
    Own {
        options: <DB::Connection as sqlx::Connection>::Options,
        sync: Syncer,
    },
}

/// Group commit for registrations. Each registration waits for a commit that holds
/// it; a `201` is still sent only after its own row is durable.
///
/// The writer starts a transaction with whatever is queued, and while it inserts those
/// rows more registrations arrive: it adds them to the same transaction, round after
/// round, until a round finds the queue empty (or the group is full), then commits
/// once. The commit (its fsync, and the pages every registration touches in the same
/// tables) is the cost, so the more rows share it the better: without the rounds,
/// callers fall into two halves that take turns, each committing alone (half of the
/// concurrent registrations per fsync); with them they share one.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: tokio::sync::mpsc::Sender<(ClientRecord, Waiting)>,
}

impl GroupCommit {
    /// Spawns the writer task.
    pub fn spawn(writer: impl GroupWriter) -> Self {
        let (queue, pending) = tokio::sync::mpsc::channel(4 * GROUP_COMMIT_MAX);
        tokio::spawn(Group::new(pending).run(writer));
        Self { queue }
    }

    /// Queues `client` and waits until its transaction has committed.
    pub async fn insert(&self, client: &ClientRecord) -> StoreResult<()> {
        let stopped = || StoreError::Unavailable("the registration writer has stopped".into());
        let (done, result) = tokio::sync::oneshot::channel();
        self.queue
            .send((client.clone(), done))
            .await
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

/// The writer's side: the queue and the group being committed, the rows beside the
/// callers waiting for them (same index).
struct Group {
    pending: tokio::sync::mpsc::Receiver<(ClientRecord, Waiting)>,
    clients: Vec<ClientRecord>,
    waiting: Vec<Waiting>,
}

impl Group {
    fn new(pending: tokio::sync::mpsc::Receiver<(ClientRecord, Waiting)>) -> Self {
        Self {
            pending,
            clients: Vec::with_capacity(GROUP_COMMIT_MAX),
            waiting: Vec::with_capacity(GROUP_COMMIT_MAX),
        }
    }

    async fn run(mut self, mut writer: impl GroupWriter) {
        while let Some((first, done)) = self.pending.recv().await {
            self.clients.push(first);
            self.waiting.push(done);
            self.take_queued();
            let outcome = self.commit(&mut writer).await;
            match (outcome, writer.sync()) {
                (Ok(()), Some(sync)) => self.answer_after(sync),
                (outcome, _) => self.answer(outcome, &mut writer).await,
            }
        }
    }

    /// The group is committed but durable only after `sync`: runs it on a blocking
    /// thread and answers the group then, while the writer goes on to the next group.
    /// (If the sync fails, the rows are in the database but their callers get a 503:
    /// a registration retried makes a new client, the first one is never used.)
    fn answer_after(&mut self, sync: Syncer) {
        self.clients.clear();
        let waiting: Vec<Waiting> = self.waiting.drain(..).collect();
        tokio::spawn(async move {
            let synced = run_sync(sync).await;
            for done in waiting {
                let _ = done.send(synced.clone());
            }
        });
    }

    /// Moves what is queued now into the group, up to its size limit.
    fn take_queued(&mut self) {
        while self.clients.len() < GROUP_COMMIT_MAX {
            match self.pending.try_recv() {
                Ok((client, done)) => {
                    self.clients.push(client);
                    self.waiting.push(done);
                }
                Err(_) => break,
            }
        }
    }

    /// One transaction: rounds of inserts until no more arrive, then one commit.
    async fn commit<W: GroupWriter>(&mut self, writer: &mut W) -> StoreResult<()> {
        let mut tx = writer.begin().await?;
        let mut inserted = 0;
        while inserted < self.clients.len() {
            W::insert(&mut tx, &self.clients[inserted..]).await?;
            inserted = self.clients.len();
            self.take_queued();
        }
        W::commit(tx, &self.clients).await
    }

    /// Tells every caller of the group how its registration went, and empties it.
    async fn answer(&mut self, outcome: StoreResult<()>, writer: &mut impl GroupWriter) {
        if matches!(outcome, Err(StoreError::Unavailable(_))) {
            writer.reset();
        }
        let waiting = self.waiting.drain(..);
        match outcome {
            Ok(()) => waiting.for_each(|done| {
                let _ = done.send(Ok(()));
            }),
            // The database is down: everyone gets that answer now, instead of one more
            // timeout each.
            Err(e @ StoreError::Unavailable(_)) => waiting.for_each(|done| {
                let _ = done.send(Err(e.clone()));
            }),
            // One bad row must not fail its neighbours: retry each on its own to give
            // every caller its own answer.
            Err(_) => {
                for (client, done) in self.clients.iter().zip(waiting) {
                    let _ = done.send(commit_alone(writer, client).await);
                }
            }
        }
        self.clients.clear();
    }
}

async fn commit_alone<W: GroupWriter>(writer: &mut W, client: &ClientRecord) -> StoreResult<()> {
    let one = std::slice::from_ref(client);
    let mut tx = writer.begin().await?;
    W::insert(&mut tx, one).await?;
    W::commit(tx, one).await?;
    match writer.sync() {
        Some(sync) => run_sync(sync).await,
        None => Ok(()),
    }
}

/// Runs `sync` on a blocking thread; a failure (or a panic) is the store's.
async fn run_sync(sync: Syncer) -> StoreResult<()> {
    let failed = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("sync failed: {e}"));
    match tokio::task::spawn_blocking(move || sync()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(failed(&e)),
        Err(e) => Err(failed(&e)),
    }
}

#[cfg(test)]
mod group_commit_tests {
    use super::*;
    use dcr_core::ids::{ApplicationId, ClientId, ProgrammerId, StatementId};
    use dcr_core::model::Status;
    use std::sync::{Arc, Mutex};

    fn client() -> ClientRecord {
        ClientRecord {
            id: ClientId::new_time_ordered(),
            application_id: ApplicationId::new_random(),
            programmer_id: ProgrammerId::parse("acme").unwrap(),
            statement_jti: StatementId::new_random(),
            secret_hash: vec![1; 32],
            redirect_uris: vec![],
            device_info: serde_json::json!({}),
            platform: "ios".into(),
            user_agent: None,
            source_ip: None,
            status: Status::Active,
            created_at: 1,
            last_used_at: None,
            revoked_at: None,
            revoked_via: None,
            revoked_by: None,
            registration_token_hash: None,
            os_name: None,
            model: None,
            tokens_issued: 0,
        }
    }

    /// Records what each transaction committed; its first insert waits for `gate`.
    struct Recorder {
        gate: Arc<tokio::sync::Semaphore>,
        commits: Arc<Mutex<Vec<usize>>>,
        sync: Option<Syncer>,
    }

    /// A transaction of the recorder: rows inserted so far.
    struct Rows<'a> {
        recorder: &'a Recorder,
        inserted: usize,
    }

    impl GroupWriter for Recorder {
        type Transaction<'a> = Rows<'a>;
        async fn begin(&mut self) -> StoreResult<Self::Transaction<'_>> {
            Ok(Rows {
                recorder: self,
                inserted: 0,
            })
        }
        async fn insert(
            tx: &mut Self::Transaction<'_>,
            clients: &[ClientRecord],
        ) -> StoreResult<()> {
            if let Ok(permit) = tx.recorder.gate.acquire().await {
                permit.forget();
            }
            tx.inserted += clients.len();
            Ok(())
        }
        async fn commit(tx: Self::Transaction<'_>, group: &[ClientRecord]) -> StoreResult<()> {
            assert_eq!(
                tx.inserted,
                group.len(),
                "every row of the group was inserted"
            );
            tx.recorder.commits.lock().unwrap().push(tx.inserted);
            Ok(())
        }
        fn sync(&self) -> Option<Syncer> {
            self.sync.clone()
        }
        fn reset(&mut self) {}
    }

    /// Lets every ready task of this (single-threaded) test runtime run.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    /// Registrations that arrive while a transaction is inserting rows join it: one
    /// commit, not one now and one for the latecomers.
    #[tokio::test]
    async fn latecomers_join_the_open_transaction() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let commits = Arc::new(Mutex::new(Vec::new()));
        let group = GroupCommit::spawn(Recorder {
            gate: gate.clone(),
            commits: commits.clone(),
            sync: None,
        });
        let first = tokio::spawn({
            let group = group.clone();
            async move { group.insert(&client()).await }
        });
        // The writer takes the first registration; its insert waits at the gate.
        settle().await;
        let late: Vec<_> = (0..5)
            .map(|_| {
                let group = group.clone();
                tokio::spawn(async move { group.insert(&client()).await })
            })
            .collect();
        settle().await;
        gate.add_permits(100);
        assert_eq!(first.await.unwrap(), Ok(()));
        for done in late {
            assert_eq!(done.await.unwrap(), Ok(()));
        }
        assert_eq!(*commits.lock().unwrap(), vec![6]);
    }

    /// With a writer whose commits need a later sync, a caller is answered only after
    /// that sync, and the writer commits the next group while it runs.
    #[tokio::test]
    async fn answers_wait_for_the_sync_but_the_writer_does_not() {
        let commits = Arc::new(Mutex::new(Vec::new()));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Mutex::new(released);
        let syncs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sync: Syncer = Arc::new({
            let syncs = syncs.clone();
            move || {
                let _ = released.lock().unwrap().recv();
                syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
        });
        let group = GroupCommit::spawn(Recorder {
            gate: Arc::new(tokio::sync::Semaphore::new(1_000)),
            commits: commits.clone(),
            sync: Some(sync),
        });
        let insert = |group: &GroupCommit| {
            let group = group.clone();
            tokio::spawn(async move { group.insert(&client()).await })
        };
        let first = insert(&group);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            *commits.lock().unwrap(),
            vec![1],
            "the first group committed"
        );
        assert!(!first.is_finished(), "answered before its sync");
        let second = insert(&group);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            *commits.lock().unwrap(),
            vec![1, 1],
            "the next group waited for the first one's sync"
        );
        assert!(!second.is_finished());
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(second.await.unwrap(), Ok(()));
        assert_eq!(syncs.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}

/// Expands the whole `Store` implementation for one sqlx backend: the queries are
/// written once, with `$N` placeholders and portable SQL, for SQLite and PostgreSQL.
/// The invoking crate provides `struct $store { pool: sqlx::Pool<$db>, clients:
/// GroupCommit }`; rows are decoded by [`decode`].
// Line tables point into this file, not at the one-line invocation in each store
// crate: a debugger steps through the query that runs, and a backtrace names it.
#[collapse_debuginfo(no)]
#[macro_export]
macro_rules! sql_store {
    ($store:ident, $db:ty, $row:ty) => {
/// The `Store` implementation, expanded from `dcr-store-rows` (`sql_store!`). Its
/// imports and helpers stay in this module instead of spilling into the store crate.
mod sql_store {
        use super::$store;
        use dcr_core::ids::{ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId, UserId};
        use dcr_core::model::{
            ActivityRollup, ApiKeyRecord, Application, ApplicationPolicy, ApplicationUsage,
            AuditEvent, AuditFilter, Channel, ClientFilter, ClientRecord, ClientStanding, DayCount,
            PageOf, PageRequest, Programmer, RegistrationQuota, RevocationEntry, RevokedVia,
            SessionRecord, SigningKeyRecord, StatementRecord, UserRecord,
        };
        use dcr_core::store::{RevokedBatch, ScanCursor, Store, StoreError, StoreResult, TokenCount};
        use sqlx::Row as _;
        use $crate::sql;

impl $store {
    /// Applies migrations and starts the registration writer.
    pub(crate) async fn from_pool(
        pool: sqlx::Pool<$db>,
        migrator: &sqlx::migrate::Migrator,
        writer: $crate::WriterConnection<$db>,
    ) -> StoreResult<Self> {
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        let clients = $crate::GroupCommit::spawn(Writer { pool: pool.clone(), how: writer, own: None });
        Ok(Self { pool, clients })
    }

    /// Closes the pool (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Starts a write transaction (see [`Dialect`]).
async fn begin_write(
    pool: &sqlx::Pool<$db>,
) -> StoreResult<sqlx::Transaction<'static, $db>> {
    pool.begin_with(<$db as $crate::Dialect>::BEGIN_WRITE)
        .await
        .map_err(map_err)
}

fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(
                $crate::collision(db.table(), db.constraint(), db.message()),
            )
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference(db.message().to_owned())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Clamps a page request and fetches one extra row to know whether a next page exists.
fn page_bounds(page: PageRequest) -> (i64, i64) {
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    (page.after.unwrap_or(0), i64::from(limit) + 1)
}

fn paginate<T>(
    rows: Vec<$row>,
    limit_plus_one: i64,
    decode: impl Fn(&$row) -> StoreResult<T>,
) -> StoreResult<PageOf<T>> {
    let limit = usize::try_from(limit_plus_one - 1).unwrap_or(0);
    let has_more = rows.len() > limit;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    let mut last_seq = None;
    for row in rows.iter().take(limit) {
        items.push(decode(row)?);
        last_seq = Some(row.try_get::<i64, _>("seq").map_err(map_err)?);
    }
    Ok(PageOf {
        items,
        next: if has_more { last_seq } else { None },
    })
}

/// One page of a list. `query` comes with its own parameters bound; the cursor and
/// the limit ([`page_bounds`]) are bound after them, in that order.
async fn list_page<T>(
    pool: &sqlx::Pool<$db>,
    query: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
    page: PageRequest,
    decode: impl Fn(&$row) -> StoreResult<T>,
) -> StoreResult<PageOf<T>> {
    let (after, limit) = page_bounds(page);
    let rows = query
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
    paginate(rows, limit, decode)
}

fn standing_from_row(row: &$row) -> StoreResult<ClientStanding> {
    Ok(ClientStanding {
        client: $crate::decode::client_from_row(row)?,
        statement_status: $crate::decode::status_of(row, "statement_status")?,
        statement_revoked_at: row.try_get("statement_revoked_at").map_err(map_err)?,
        application: $crate::decode::application_from_row(row, "app_")?,
    })
}

/// ` WHERE` over `clients` for an application's active clients matching `filter`.
fn push_client_filter(query: &mut sqlx::QueryBuilder<$db>, app: &ApplicationId, filter: &ClientFilter) {
    query
        .push(" WHERE application_id = ")
        .push_bind(app.to_string())
        .push(" AND status = 'active'");
    if let Some(jti) = &filter.statement {
        query.push(" AND statement_jti = ").push_bind(jti.to_string());
    }
    if let Some(platform) = &filter.platform {
        query.push(" AND platform = ").push_bind(platform.clone());
    }
    if let Some(after) = filter.registered_after {
        query.push(" AND created_at > ").push_bind(after);
    }
    if let Some(before) = filter.registered_before {
        query.push(" AND created_at < ").push_bind(before);
    }
}

/// Revokes the clients `select` picks (a bounded `SELECT id, seq FROM clients ...`), in
/// one transaction: status, `revoked_via`, one revocation-log entry each, the
/// breakdown. Returns how many it revoked, how many it picked and the last `seq`.
async fn revoke_clients_batch(
    pool: &sqlx::Pool<$db>,
    mut select: sqlx::QueryBuilder<$db>,
    at: i64,
    actor: &str,
    via: &'static str,
) -> StoreResult<(u64, usize, i64)> {
    let mut tx = begin_write(pool).await?;
    let (ids, seqs): (Vec<String>, Vec<i64>) = select
        .build()
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| Ok((r.try_get::<String, _>("id")?, r.try_get::<i64, _>("seq")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(map_err)?
        .into_iter()
        .unzip();
    let Some(last_seq) = seqs.into_iter().max() else {
        return Ok((0, 0, 0));
    };
    // Serialises revocations so that log order is commit order (see log_revocation).
    sqlx::query(sql::BUMP_REVOCATION_ORDER)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let mut lost: std::collections::BTreeMap<(String, &'static str, String), i64> =
        Default::default();
    let mut revoked = 0usize;
    // Statements stay under both databases' bound-parameter limits (SQLite: 32 766).
    for chunk in ids.chunks(REVOKE_CHUNK) {
        // What leaves the breakdown: the chosen clients that still stand.
        let mut standing = sqlx::QueryBuilder::<$db>::new(sql::STANDING_GROUPS);
        standing.push("c.id IN (");
        let mut list = standing.separated(", ");
        for id in chunk {
            list.push_bind(id.clone());
        }
        standing.push(")").push(sql::STANDING_GROUP_BY);
        let rows = standing.build().fetch_all(&mut *tx).await.map_err(map_err)?;
        for (app, dimension, value, n) in lost_by_group(&rows)? {
            *lost.entry((app, dimension, value)).or_default() += n;
        }

        let mut update =
            sqlx::QueryBuilder::<$db>::new("UPDATE clients SET status = 'revoked', revoked_at = ");
        update
            .push_bind(at)
            .push(", revoked_by = ")
            .push_bind(actor.to_owned())
            .push(", revoked_via = ")
            .push_bind(via)
            .push(" WHERE status = 'active' AND id IN (");
        let mut list = update.separated(", ");
        for id in chunk {
            list.push_bind(id.clone());
        }
        update.push(") RETURNING id, programmer_id");
        let rows = update.build().fetch_all(&mut *tx).await.map_err(map_err)?;
        if rows.is_empty() {
            continue;
        }
        revoked += rows.len();
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            entries.push((
                row.try_get::<String, _>("id").map_err(map_err)?,
                row.try_get::<String, _>("programmer_id").map_err(map_err)?,
            ));
        }
        let mut log = sqlx::QueryBuilder::<$db>::new(
            "INSERT INTO revocations (kind, target, programmer_id, revoked_at) ",
        );
        log.push_values(&entries, |mut b, (id, programmer)| {
            b.push_bind("client").push_bind(id.clone()).push_bind(programmer.clone()).push_bind(at);
        });
        log.build().execute(&mut *tx).await.map_err(map_err)?;
    }
    let deltas: Vec<(String, &'static str, String, i64)> = lost
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((app, dimension, value), n)| (app, dimension, value, n))
        .collect();
    adjust_breakdown(&mut tx, &deltas).await?;
    tx.commit().await.map_err(map_err)?;
    Ok((u64::try_from(revoked).unwrap_or(0), ids.len(), last_seq))
}

#[async_trait::async_trait]
impl Store for $store {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query(sql::PING)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn insert_programmer(&self, p: &Programmer, audit: &AuditEvent) -> StoreResult<()> {
        let insert = sqlx::query(sql::INSERT_PROGRAMMER)
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.created_at);
        execute_audited(&self.pool, insert, audit).await
    }

    async fn get_programmer(&self, id: &ProgrammerId) -> StoreResult<Option<Programmer>> {
        sqlx::query(sql::SELECT_PROGRAMMER)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map($crate::decode::programmer_from_row)
            .transpose()
    }

    async fn list_programmers(&self, page: PageRequest) -> StoreResult<PageOf<Programmer>> {
        let query = sqlx::query(sql::LIST_PROGRAMMERS);
        list_page(&self.pool, query, page, $crate::decode::programmer_from_row).await
    }

    async fn insert_channel(&self, c: &Channel, audit: &AuditEvent) -> StoreResult<()> {
        let insert = sqlx::query(sql::INSERT_CHANNEL)
        .bind(c.id.as_str())
        .bind(c.programmer_id.as_str())
        .bind(&c.name)
        .bind(c.created_at);
        execute_audited(&self.pool, insert, audit).await
    }

    async fn get_channel(&self, id: &ChannelId) -> StoreResult<Option<Channel>> {
        sqlx::query(sql::SELECT_CHANNEL)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map($crate::decode::channel_from_row)
            .transpose()
    }

    async fn list_channels(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Channel>> {
        let query = sqlx::query(sql::LIST_CHANNELS)
        .bind(programmer.as_str());
        list_page(&self.pool, query, page, $crate::decode::channel_from_row).await
    }

    async fn insert_application(&self, a: &Application, audit: &AuditEvent) -> StoreResult<()> {
        let channels: Vec<&str> = a.channels.iter().map(ChannelId::as_str).collect();
        let insert = sqlx::query(sql::INSERT_APPLICATION)
        .bind(a.id.to_string())
        .bind(a.programmer_id.as_str())
        .bind(&a.name)
        .bind(&a.version)
        .bind(a.level.as_str())
        .bind($crate::decode::json_list(&channels)?)
        .bind($crate::decode::json_list(&a.platforms)?)
        .bind($crate::decode::json_list(&a.scopes)?)
        .bind($crate::decode::json_list(&a.domains)?)
        .bind(&a.custom_scheme)
        .bind($crate::decode::json_list(&a.audiences)?)
        .bind(a.policy.max_registrations_per_hour_per_statement.map(i64::from))
        .bind(a.policy.max_registrations_per_hour.map(i64::from))
        .bind(a.policy.expire_inactive_after_days.map(i64::from))
        .bind(a.status.as_str())
        .bind(a.created_at)
        .bind(a.revoked_at);
        match execute_audited(&self.pool, insert, audit).await {
            // With both unique keys taken, which one a database names is its own
            // choice (SQLite: the scheme, PostgreSQL: the id): the id is reported.
            Err(StoreError::Conflict(dcr_core::store::Conflict::CustomSchemeTaken))
                if self.get_application(&a.id).await?.is_some() =>
            {
                Err(StoreError::Conflict(dcr_core::store::Conflict::ApplicationExists))
            }
            done => done,
        }
    }

    async fn get_application(&self, id: &ApplicationId) -> StoreResult<Option<Application>> {
        row_by(&self.pool, sql::SELECT_APPLICATION, id.to_string())
            .await?
            .as_ref()
            .map(|r| $crate::decode::application_from_row(r, ""))
            .transpose()
    }

    async fn list_applications(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Application>> {
        let query = sqlx::query(sql::LIST_APPLICATIONS)
        .bind(programmer.as_str());
        list_page(&self.pool, query, page, |r| $crate::decode::application_from_row(r, "")).await
    }

    async fn insert_statement(&self, s: &StatementRecord, audit: &AuditEvent) -> StoreResult<()> {
        let insert = sqlx::query(sql::INSERT_STATEMENT)
        .bind(s.jti.to_string())
        .bind(s.application_id.to_string())
        .bind(s.programmer_id.as_str())
        .bind(&s.kid)
        .bind(s.issued_at)
        .bind(s.status.as_str())
        .bind(s.revoked_at);
        execute_audited(&self.pool, insert, audit).await
    }

    async fn get_statement(&self, jti: &StatementId) -> StoreResult<Option<StatementRecord>> {
        sqlx::query(sql::SELECT_STATEMENT)
        .bind(jti.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map($crate::decode::statement_from_row)
        .transpose()
    }

    async fn list_statements(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<StatementRecord>> {
        let query = sqlx::query(sql::LIST_STATEMENTS)
        .bind(app.to_string());
        list_page(&self.pool, query, page, $crate::decode::statement_from_row).await
    }

    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.clients.insert(c).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        row_by(&self.pool, sql::SELECT_CLIENT, id.to_string())
            .await?
            .as_ref()
        .map($crate::decode::client_from_row)
        .transpose()
    }

    async fn client_standing(&self, id: &ClientId) -> StoreResult<Option<ClientStanding>> {
        let row = sqlx::query(sql::SELECT_CLIENT_STANDING)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(standing_from_row).transpose()
    }

    async fn insert_client_within_quota(
        &self,
        client: &ClientRecord,
        quota: RegistrationQuota,
    ) -> StoreResult<bool> {
        let mut tx = begin_write(&self.pool).await?;
        for (scope, id, limit) in [
            ("statement", client.statement_jti.to_string(), quota.per_statement),
            ("application", client.application_id.to_string(), quota.per_application),
        ] {
            // The row lock of the conditional upsert serialises concurrent
            // registrations on every node: the quota holds exactly.
            let counted = sqlx::query(sql::COUNT_REGISTRATION_WITHIN_QUOTA)
            .bind(scope)
            .bind(id)
            .bind(quota.hour)
            .bind(limit.map_or(i64::MAX, i64::from))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            let within = match (counted, limit) {
                (None, _) => false,
                (Some(row), Some(limit)) => row.try_get::<i64, _>("n").map_err(map_err)? <= i64::from(limit),
                (Some(_), None) => true,
            };
            if !within {
                tx.rollback().await.map_err(map_err)?;
                return Ok(false);
            }
        }
        let client = std::slice::from_ref(client);
        insert_client_rows(&mut tx, client).await?;
        count_registrations(&mut tx, client, false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn list_clients(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>> {
        let query = sqlx::query(sql::LIST_CLIENTS)
        .bind(app.to_string());
        list_page(&self.pool, query, page, standing_from_row).await
    }

    async fn list_clients_newest(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>> {
        let query = sqlx::query(sql::LIST_CLIENTS_NEWEST)
        .bind(app.to_string());
        list_page(&self.pool, query, page, standing_from_row).await
    }

    async fn count_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<u64> {
        let mut query = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) AS n FROM clients");
        push_client_filter(&mut query, app, filter);
        let row = query.build().fetch_one(&self.pool).await.map_err(map_err)?;
        let n: i64 = row.try_get("n").map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
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
        let mut select = sqlx::QueryBuilder::<$db>::new(format!(
            "SELECT id, seq FROM {}",
            <$db as $crate::Dialect>::CLIENTS_IN_SEQ_ORDER
        ));
        push_client_filter(&mut select, app, filter);
        select
            .push(" AND seq > ")
            .push_bind(from.0)
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit));
        let (revoked, picked, last_seq) =
            revoke_clients_batch(&self.pool, select, at, actor, "bulk").await?;
        Ok(RevokedBatch {
            revoked,
            next: (picked >= limit as usize).then_some(ScanCursor(last_seq)),
        })
    }

    async fn expire_inactive_clients(
        &self,
        app: &ApplicationId,
        cutoff: i64,
        at: i64,
        limit: u32,
    ) -> StoreResult<u64> {
        let mut select = sqlx::QueryBuilder::<$db>::new(
            "SELECT id, seq FROM clients WHERE application_id = ",
        );
        // Expired clients leave the (application, status, last_seen_at) range, so
        // each batch starts at the first still standing: no cursor needed.
        select
            .push_bind(app.to_string())
            .push(" AND status = 'active' AND last_seen_at < ")
            .push_bind(cutoff)
            .push(" ORDER BY last_seen_at LIMIT ")
            .push_bind(i64::from(limit));
        let (expired, _, _) =
            revoke_clients_batch(&self.pool, select, at, "system:inactivity", "inactivity").await?;
        Ok(expired)
    }

    async fn applications_expiring_inactive(&self) -> StoreResult<Vec<(ApplicationId, u32)>> {
        let rows = sqlx::query(sql::APPLICATIONS_EXPIRING_INACTIVE)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id").map_err(map_err)?;
            let days: i64 = row.try_get("expire_inactive_after_days").map_err(map_err)?;
            let id = ApplicationId::parse(&id).map_err(|_| StoreError::Corrupt("id".into()))?;
            out.push((id, u32::try_from(days).unwrap_or(u32::MAX)));
        }
        Ok(out)
    }

    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool> {
        let taken = sqlx::query(sql::TRY_LEASE)
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(taken.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query(sql::RELEASE_LEASE)
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn append_summary_event(&self, event: &AuditEvent) -> StoreResult<()> {
        insert_audit(&self.pool, event).await
    }

    async fn record_spike(
        &self,
        jti: &StatementId,
        day: i64,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = begin_write(&self.pool).await?;
        let fresh = sqlx::query(sql::RECORD_SPIKE)
        .bind(jti.to_string())
        .bind(day)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        if fresh {
            insert_audit(&mut *tx, event).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(fresh)
    }

    async fn applications_registering(
        &self,
        hour: i64,
        more_than: u64,
    ) -> StoreResult<Vec<ApplicationId>> {
        let rows = sqlx::query(sql::APPLICATIONS_REGISTERING)
        .bind(hour)
        .bind(i64::try_from(more_than).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("application_id").map_err(map_err)?;
                ApplicationId::parse(&id).map_err(|_| StoreError::Corrupt("application_id".into()))
            })
            .collect()
    }

    async fn activity(&self, app: &ApplicationId, since_day: i64) -> StoreResult<ActivityRollup> {
        let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut out = ActivityRollup::default();
        let rows = sqlx::query(sql::DAILY_ACTIVITY)
        .bind(app.to_string())
        .bind(since_day)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &rows {
            let jti: String = row.try_get("statement_jti").map_err(map_err)?;
            out.daily.push((
                StatementId::parse(&jti).map_err(|_| corrupt("statement_jti"))?,
                DayCount {
                    day: row.try_get("day").map_err(map_err)?,
                    registrations: count(row.try_get("registrations").map_err(map_err)?),
                    tokens: count(row.try_get("tokens").map_err(map_err)?),
                },
            ));
        }
        // The last 7 days and a bit, hour by hour, for spike detection.
        let since_hour = (since_day * 24).max(dcr_core::time::unix_now().div_euclid(3_600) - 8 * 24);
        let rows = sqlx::query(sql::HOURLY_REGISTRATIONS)
        .bind(app.to_string())
        .bind(since_hour)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &rows {
            let jti: String = row.try_get("id").map_err(map_err)?;
            out.hourly_registrations.push((
                StatementId::parse(&jti).map_err(|_| corrupt("id"))?,
                row.try_get("hour").map_err(map_err)?,
                count(row.try_get("n").map_err(map_err)?),
            ));
        }
        let rows = sqlx::query(sql::CLIENT_BREAKDOWN)
        .bind(app.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &rows {
            out.breakdown.push((
                row.try_get("dimension").map_err(map_err)?,
                row.try_get("value").map_err(map_err)?,
                count(row.try_get("active").map_err(map_err)?),
            ));
        }
        Ok(out)
    }

    async fn touch_client(&self, id: &ClientId, at: i64) -> StoreResult<()> {
        sqlx::query(sql::TOUCH_CLIENT)
            .bind(at)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn revoke_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        revoke(&self.pool, audit, Revocation {
            update: sql::REVOKE_STATEMENT,
            select: sql::SELECT_STATEMENT,
            cut_off: sql::STANDING_GROUPS_OF_STATEMENT,
            kind: "statement",
            via: None,
        }, jti.to_string(), at, $crate::decode::statement_from_row, |s| &s.programmer_id)
        .await
    }

    async fn retire_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        let mut tx = begin_write(&self.pool).await?;
        retire_in(&mut tx, jti, None, at, &audit.actor).await?;
        let row = row_by(&mut *tx, sql::SELECT_STATEMENT, jti.to_string()).await?;
        commit_audited(tx, row, audit, $crate::decode::statement_from_row).await
    }

    async fn rotate_statement(
        &self,
        old: &StatementId,
        successor: &StatementRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        let mut tx = begin_write(&self.pool).await?;
        let Some(_) = row_by(&mut *tx, sql::STATEMENT_EXISTS, old.to_string()).await? else {
            return Ok(None);
        };
        sqlx::query(sql::INSERT_STATEMENT)
        .bind(successor.jti.to_string())
        .bind(successor.application_id.to_string())
        .bind(successor.programmer_id.as_str())
        .bind(&successor.kid)
        .bind(successor.issued_at)
        .bind(successor.status.as_str())
        .bind(successor.revoked_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        retire_in(&mut tx, old, Some(&successor.jti), at, &audit.actor).await?;
        let row = row_by(&mut *tx, sql::SELECT_STATEMENT, old.to_string()).await?;
        commit_audited(tx, row, audit, $crate::decode::statement_from_row).await
    }

    async fn set_application_policy(
        &self,
        id: &ApplicationId,
        policy: &ApplicationPolicy,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(sql::SET_APPLICATION_POLICY)
        .bind(policy.max_registrations_per_hour_per_statement.map(i64::from))
        .bind(policy.max_registrations_per_hour.map(i64::from))
        .bind(policy.expire_inactive_after_days.map(i64::from))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = row_by(&mut *tx, sql::SELECT_APPLICATION, id.to_string()).await?;
        commit_audited(tx, row, audit, |r| $crate::decode::application_from_row(r, "")).await
    }

    async fn revoke_application(
        &self,
        id: &ApplicationId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        revoke(&self.pool, audit, Revocation {
            update: sql::REVOKE_APPLICATION,
            select: sql::SELECT_APPLICATION,
            cut_off: sql::STANDING_GROUPS_OF_APPLICATION,
            kind: "application",
            via: None,
        }, id.to_string(), at, |r| $crate::decode::application_from_row(r, ""), |a| &a.programmer_id)
        .await
    }

    async fn revoke_client(
        &self,
        id: &ClientId,
        via: RevokedVia,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ClientRecord>> {
        revoke(&self.pool, audit, Revocation {
            update: sql::REVOKE_CLIENT,
            select: sql::SELECT_CLIENT,
            cut_off: sql::STANDING_GROUPS_OF_CLIENT,
            kind: "client",
            via: Some(via.as_str()),
        }, id.to_string(), at, $crate::decode::client_from_row, |c| &c.programmer_id)
        .await
    }

    async fn revoke_token(
        &self,
        jti: &str,
        programmer: &ProgrammerId,
        at: i64,
    ) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        log_revocation(&mut tx, "token", jti, programmer.as_str(), at).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn insert_api_key(&self, k: &ApiKeyRecord, audit: &AuditEvent) -> StoreResult<()> {
        let insert = sqlx::query(sql::INSERT_API_KEY)
        .bind(k.id.to_string())
        .bind(&k.key_hash)
        .bind(k.role.as_str())
        .bind(k.programmer_id.as_ref().map(ProgrammerId::as_str))
        .bind(k.channel_id.as_ref().map(ChannelId::as_str))
        .bind(&k.name)
        .bind(k.created_at)
        .bind(k.revoked_at);
        execute_audited(&self.pool, insert, audit).await
    }

    async fn find_api_key_by_hash(&self, hash: &[u8]) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query(sql::SELECT_API_KEY_BY_HASH)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map($crate::decode::api_key_from_row)
        .transpose()
    }

    async fn count_api_keys(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(sql::COUNT_API_KEYS)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        row_by(&self.pool, sql::SELECT_API_KEY, id.to_string())
            .await?
            .as_ref()
            .map($crate::decode::api_key_from_row)
            .transpose()
    }

    async fn list_api_keys(
        &self,
        programmer: Option<&ProgrammerId>,
        page: PageRequest,
    ) -> StoreResult<PageOf<ApiKeyRecord>> {
        let query = sqlx::query(sql::LIST_API_KEYS)
        .bind(programmer.map(ProgrammerId::as_str));
        list_page(&self.pool, query, page, $crate::decode::api_key_from_row).await
    }

    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(sql::REVOKE_API_KEY)
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let row = row_by(&mut *tx, sql::SELECT_API_KEY, id.to_string()).await?;
        commit_audited(tx, row, audit, $crate::decode::api_key_from_row).await
    }

    async fn revocations_since(
        &self,
        after_seq: i64,
        not_before: i64,
        programmer: Option<&ProgrammerId>,
        limit: u32,
    ) -> StoreResult<Vec<RevocationEntry>> {
        let rows = sqlx::query(sql::REVOCATIONS_SINCE)
        .bind(after_seq)
        .bind(not_before)
        .bind(programmer.map(ProgrammerId::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map($crate::decode::revocation_from_row).collect()
    }

    async fn channel_directory(
        &self,
        programmer: Option<&ProgrammerId>,
    ) -> StoreResult<Vec<(ChannelId, ProgrammerId)>> {
        let rows = sqlx::query(sql::CHANNEL_DIRECTORY)
        .bind(programmer.map(ProgrammerId::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| $crate::decode::channel_from_row(r).map(|c| (c.id, c.programmer_id)))
            .collect()
    }

    async fn list_audit(
        &self,
        f: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<PageOf<AuditEvent>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(sql::LIST_AUDIT)
        .bind(after)
        .bind(f.programmer_id.as_ref().map(ProgrammerId::as_str))
        .bind(f.actor.as_deref())
        .bind(f.action.as_deref())
        .bind(f.target_id.as_deref())
        .bind(f.since)
        .bind(f.until)
        .bind(limit)
        .bind(i64::from(f.exclude_devices))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, $crate::decode::audit_from_row)
    }

    async fn insert_user(&self, u: &UserRecord, audit: &AuditEvent) -> StoreResult<()> {
        let insert = sqlx::query(sql::INSERT_USER)
        .bind(u.id.to_string())
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(u.programmer_id.as_str())
        .bind(u.channel_id.as_ref().map(ChannelId::as_str))
        .bind(u.created_at)
        .bind(u.disabled_at);
        execute_audited(&self.pool, insert, audit).await
    }

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        row_by(&self.pool, sql::SELECT_USER, id.to_string())
            .await?
            .as_ref()
            .map($crate::decode::user_from_row)
            .transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        row_by(&self.pool, sql::SELECT_USER_BY_EMAIL, email.to_owned())
            .await?
            .as_ref()
            .map($crate::decode::user_from_row)
            .transpose()
    }

    async fn list_users(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<UserRecord>> {
        let query = sqlx::query(sql::LIST_USERS)
        .bind(programmer.as_str());
        list_page(&self.pool, query, page, $crate::decode::user_from_row).await
    }

    async fn disable_user(
        &self,
        id: &UserId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<UserRecord>> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(sql::DISABLE_USER)
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(sql::DELETE_USER_SESSIONS)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let row = row_by(&mut *tx, sql::SELECT_USER, id.to_string()).await?;
        commit_audited(tx, row, audit, $crate::decode::user_from_row).await
    }

    async fn insert_session(&self, s: &SessionRecord, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(sql::DELETE_EXPIRED_SESSIONS)
            .bind(s.created_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(sql::INSERT_SESSION)
        .bind(&s.token_hash)
        .bind(s.user_id.to_string())
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_session(&self, token_hash: &[u8]) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(sql::SELECT_SESSION)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map($crate::decode::session_from_row)
        .transpose()
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn add_tokens_issued(
        &self,
        counts: &[TokenCount],
        per_client: &[dcr_core::store::ClientUse],
    ) -> StoreResult<()> {
        if counts.is_empty() && per_client.is_empty() {
            return Ok(());
        }
        let mut per_app: std::collections::BTreeMap<String, i64> = Default::default();
        for c in counts {
            *per_app.entry(c.application.to_string()).or_default() += i64::try_from(c.tokens).unwrap_or(i64::MAX);
        }
        let mut tx = begin_write(&self.pool).await?;
        // Per client: one statement per chunk, joined on a VALUES list (SQLite and
        // PostgreSQL both name its columns column1, column2, ...). Last use only moves
        // forward: another node may flush an older time later.
        for chunk in per_client.chunks(REVOKE_CHUNK) {
            let mut update = sqlx::QueryBuilder::<$db>::new(
                "UPDATE clients SET tokens_issued = tokens_issued + v.column2, \
                 last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < v.column3 \
                 THEN v.column3 ELSE last_used_at END, \
                 last_seen_at = CASE WHEN last_seen_at < v.column3 \
                 THEN v.column3 ELSE last_seen_at END FROM (",
            );
            update.push_values(chunk, |mut b, u| {
                b.push_bind(u.client.to_string())
                    .push_bind(i64::try_from(u.tokens).unwrap_or(i64::MAX))
                    .push_bind(u.last_used_at);
            });
            update.push(") AS v WHERE clients.id = v.column1");
            update.build().execute(&mut *tx).await.map_err(map_err)?;
        }
        if counts.is_empty() {
            return tx.commit().await.map_err(map_err);
        }
        let mut usage = sqlx::QueryBuilder::<$db>::new(
            "INSERT INTO application_usage (application_id, tokens_issued) ",
        );
        usage.push_values(&per_app, |mut b, (app, n)| {
            b.push_bind(app.clone()).push_bind(*n);
        });
        usage.push(
            " ON CONFLICT (application_id) \
             DO UPDATE SET tokens_issued = application_usage.tokens_issued + excluded.tokens_issued",
        );
        usage.build().execute(&mut *tx).await.map_err(map_err)?;
        let mut daily = sqlx::QueryBuilder::<$db>::new(
            "INSERT INTO daily_activity (application_id, statement_jti, day, registrations, tokens) ",
        );
        daily.push_values(counts, |mut b, c| {
            b.push_bind(c.application.to_string())
                .push_bind(c.statement.to_string())
                .push_bind(c.day)
                .push_bind(0i64)
                .push_bind(i64::try_from(c.tokens).unwrap_or(i64::MAX));
        });
        daily.push(
            " ON CONFLICT (application_id, statement_jti, day) \
             DO UPDATE SET tokens = daily_activity.tokens + excluded.tokens",
        );
        daily.build().execute(&mut *tx).await.map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn application_usage(&self, id: &ApplicationId) -> StoreResult<ApplicationUsage> {
        Ok(self
            .usage_of_applications(std::slice::from_ref(id))
            .await?
            .into_iter()
            .next()
            .map(|(_, usage)| usage)
            .unwrap_or_default())
    }

    async fn usage_of_applications(
        &self,
        ids: &[ApplicationId],
    ) -> StoreResult<Vec<(ApplicationId, ApplicationUsage)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let in_list = |q: &mut sqlx::QueryBuilder<$db>| {
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(id.to_string());
            }
            list.push_unseparated(")");
        };
        // Totals and last activity from the clients; standing clients from the
        // breakdown kept current with every registration and revocation (summing
        // platforms counts each standing client once), so no join over millions.
        let mut totals = sqlx::QueryBuilder::<$db>::new(
            "SELECT application_id, COUNT(*) AS clients, MAX(created_at) AS last_registration \
             FROM clients WHERE application_id IN (",
        );
        in_list(&mut totals);
        totals.push(" GROUP BY application_id");
        let mut standing = sqlx::QueryBuilder::<$db>::new(
            "SELECT application_id, CAST(SUM(active) AS BIGINT) AS active FROM client_breakdown \
             WHERE dimension = 'platform' AND application_id IN (",
        );
        in_list(&mut standing);
        standing.push(" GROUP BY application_id");
        let mut tokens = sqlx::QueryBuilder::<$db>::new(
            "SELECT application_id, tokens_issued FROM application_usage WHERE application_id IN (",
        );
        in_list(&mut tokens);
        let mut token_days = sqlx::QueryBuilder::<$db>::new(
            "SELECT application_id, MAX(day) AS day FROM daily_activity \
             WHERE tokens > 0 AND application_id IN (",
        );
        in_list(&mut token_days);
        token_days.push(" GROUP BY application_id");

        let mut usage: std::collections::BTreeMap<ApplicationId, ApplicationUsage> =
            Default::default();
        let app_of = |row: &$row| -> StoreResult<ApplicationId> {
            let id: String = row.try_get("application_id").map_err(map_err)?;
            ApplicationId::parse(&id).map_err(|_| StoreError::Corrupt("application_id".into()))
        };
        let count = |row: &$row, name: &str| -> StoreResult<u64> {
            let n: Option<i64> = row.try_get(name).map_err(map_err)?;
            Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
        };
        for row in totals.build().fetch_all(&self.pool).await.map_err(map_err)? {
            let entry = usage.entry(app_of(&row)?).or_default();
            entry.clients = count(&row, "clients")?;
            entry.last_registration = row.try_get("last_registration").map_err(map_err)?;
        }
        for row in standing.build().fetch_all(&self.pool).await.map_err(map_err)? {
            usage.entry(app_of(&row)?).or_default().active_clients = count(&row, "active")?;
        }
        for row in tokens.build().fetch_all(&self.pool).await.map_err(map_err)? {
            usage.entry(app_of(&row)?).or_default().tokens_issued = count(&row, "tokens_issued")?;
        }
        for row in token_days.build().fetch_all(&self.pool).await.map_err(map_err)? {
            usage.entry(app_of(&row)?).or_default().last_token_day =
                row.try_get("day").map_err(map_err)?;
        }
        Ok(usage.into_iter().collect())
    }

    async fn activity_totals(
        &self,
        ids: &[ApplicationId],
        first_day: i64,
    ) -> StoreResult<Vec<(ApplicationId, u64, u64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<$db>::new(
            "SELECT application_id, CAST(SUM(registrations) AS BIGINT) AS registrations, CAST(SUM(tokens) AS BIGINT) AS tokens \
             FROM daily_activity WHERE day >= ",
        );
        query.push_bind(first_day).push(" AND application_id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(id.to_string());
        }
        list.push_unseparated(") GROUP BY application_id");
        let rows = query.build().fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("application_id").map_err(map_err)?;
                let id = ApplicationId::parse(&id)
                    .map_err(|_| StoreError::Corrupt("application_id".into()))?;
                let sum = |name: &str| -> StoreResult<u64> {
                    let n: Option<i64> = row.try_get(name).map_err(map_err)?;
                    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
                };
                Ok((id, sum("registrations")?, sum("tokens")?))
            })
            .collect()
    }

    async fn clients_per_statement(
        &self,
        statements: &[StatementId],
    ) -> StoreResult<Vec<(StatementId, u64, u64)>> {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        // Answered from the (statement_jti, status) index alone.
        let mut query = sqlx::QueryBuilder::<$db>::new(
            "SELECT statement_jti, status, COUNT(*) AS n FROM clients WHERE statement_jti IN (",
        );
        let mut list = query.separated(", ");
        for jti in statements {
            list.push_bind(jti.to_string());
        }
        list.push_unseparated(") GROUP BY statement_jti, status");
        let rows = query.build().fetch_all(&self.pool).await.map_err(map_err)?;
        let mut counts: std::collections::BTreeMap<StatementId, (u64, u64)> = Default::default();
        for row in &rows {
            let jti: String = row.try_get("statement_jti").map_err(map_err)?;
            let jti = StatementId::parse(&jti)
                .map_err(|_| StoreError::Corrupt("statement_jti".into()))?;
            let status: String = row.try_get("status").map_err(map_err)?;
            let n: i64 = row.try_get("n").map_err(map_err)?;
            let entry = counts.entry(jti).or_default();
            entry.0 += u64::try_from(n).unwrap_or(0);
            if status == "active" {
                entry.1 += u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(counts.into_iter().map(|(jti, (all, active))| (jti, all, active)).collect())
    }

    async fn matching_clients_by_platform(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<Vec<(String, u64)>> {
        let mut query = sqlx::QueryBuilder::<$db>::new(
            "SELECT platform, COUNT(*) AS n FROM clients",
        );
        push_client_filter(&mut query, app, filter);
        query.push(" GROUP BY platform ORDER BY n DESC, platform");
        let rows = query.build().fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let platform: String = row.try_get("platform").map_err(map_err)?;
                let n: i64 = row.try_get("n").map_err(map_err)?;
                Ok((platform, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(sql::LIST_SIGNING_KEYS)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map($crate::decode::signing_key_from_row).collect()
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(sql::INSERT_SIGNING_KEY)
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(k.state.as_str())
        .bind(&k.sealed_private_key)
        .bind(&k.public_jwk)
        .bind(k.created_at)
        .bind(k.retired_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn rotate_signing_keys(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        let next: i64 =
            sqlx::query_scalar(sql::COUNT_NEXT_SIGNING_KEYS)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        if next < 1 {
            return Err(StoreError::Conflict(dcr_core::store::Conflict::NoNextKey));
        }
        sqlx::query(sql::RETIRE_ACTIVE_SIGNING_KEY)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // The oldest next key: the one verifiers have had longest.
        sqlx::query(sql::PROMOTE_NEXT_SIGNING_KEY)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(sql::INSERT_NEXT_SIGNING_KEY)
        .bind(&new_next.kid)
        .bind(&new_next.alg)
        .bind(&new_next.sealed_private_key)
        .bind(&new_next.public_jwk)
        .bind(new_next.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn replace_next_signing_key(
        &self,
        new_next: &SigningKeyRecord,
        at: i64,
    ) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(sql::RETIRE_NEXT_SIGNING_KEY)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(sql::INSERT_NEXT_SIGNING_KEY)
        .bind(&new_next.kid)
        .bind(&new_next.alg)
        .bind(&new_next.sealed_private_key)
        .bind(&new_next.public_jwk)
        .bind(new_next.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

/// Which row a revocation flips, and how it is logged.
struct Revocation {
    /// `sql::REVOKE_*`: flips the row if it is active.
    update: &'static str,
    /// `sql::SELECT_*`: reads it back.
    select: &'static str,
    /// `sql::STANDING_GROUPS_OF_*`: the standing clients it cuts off.
    cut_off: &'static str,
    kind: &'static str,
    /// `revoked_via` of a client; `None` for tables without one.
    via: Option<&'static str>,
}

/// Retires `jti` in `tx` unless it is retired already (then only a missing successor
/// is recorded); `Conflict` when it is revoked.
async fn retire_in(
    tx: &mut sqlx::Transaction<'_, $db>,
    jti: &StatementId,
    successor: Option<&StatementId>,
    at: i64,
    actor: &str,
) -> StoreResult<()> {
    let status: Option<String> = sqlx::query_scalar(sql::STATEMENT_STATUS)
        .bind(jti.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_err)?;
    if status.as_deref() == Some("revoked") {
        return Err(StoreError::Conflict(dcr_core::store::Conflict::StatementRevoked));
    }
    sqlx::query(sql::RETIRE_STATEMENT)
    .bind(at)
    .bind(actor)
    .bind(successor.map(ToString::to_string))
    .bind(jti.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(map_err)
}

/// Flips one row to `revoked` and, the first time only, appends it to the revocation
/// log; appends `audit` whenever the row exists — in one transaction. Returns the row
/// as it now is.
async fn revoke<T>(
    pool: &sqlx::Pool<$db>,
    audit: &AuditEvent,
    what: Revocation,
    id: String,
    at: i64,
    decode: impl Fn(&$row) -> StoreResult<T>,
    owner: impl Fn(&T) -> &ProgrammerId,
) -> StoreResult<Option<T>> {
    let Revocation { update, select, cut_off, kind, via } = what;
    let mut tx = begin_write(pool).await?;
    // What the revocation takes from the standing-client breakdown, read before it
    // happens (clients already cut off were taken away then).
    let lost = standing_groups(&mut tx, cut_off, id.clone()).await?;
    let mut update = sqlx::query(update).bind(at).bind(&id).bind(&audit.actor);
    if let Some(via) = via {
        update = update.bind(via);
    }
    let changed = update.execute(&mut *tx).await.map_err(map_err)?.rows_affected();
    let row = row_by(&mut *tx, select, id.clone()).await?;
    if let (1, Some(r)) = (changed, &row) {
        let owner = owner(&decode(r)?).as_str().to_owned();
        log_revocation(&mut tx, kind, &id, &owner, at).await?;
        adjust_breakdown(&mut tx, &lost).await?;
    }
    commit_audited(tx, row, audit, decode).await
}

/// The row a `sql::SELECT_*` by-key query (`$1` = `value`) reads, if any.
async fn row_by<'e, E>(executor: E, query: &'static str, value: String) -> StoreResult<Option<$row>>
where
    E: sqlx::Executor<'e, Database = $db>,
{
    sqlx::query(query)
        .bind(value)
        .fetch_optional(executor)
        .await
        .map_err(map_err)
}

/// Ends a change to one row: appends `audit` if the row exists (a change to an
/// unknown id is not an event), commits, and decodes the row as it now is.
async fn commit_audited<T>(
    mut tx: sqlx::Transaction<'_, $db>,
    row: Option<$row>,
    audit: &AuditEvent,
    decode: impl Fn(&$row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    if row.is_some() {
        insert_audit(&mut *tx, audit).await?;
    }
    tx.commit().await.map_err(map_err)?;
    row.as_ref().map(decode).transpose()
}

async fn log_revocation(
    tx: &mut sqlx::Transaction<'_, $db>,
    kind: &str,
    target: &str,
    programmer: &str,
    at: i64,
) -> StoreResult<()> {
    // Serialises revocations (they are rare) so that log order is commit order.
    sqlx::query(sql::BUMP_REVOCATION_ORDER)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    sqlx::query(sql::INSERT_REVOCATION)
    .bind(kind)
    .bind(target)
    .bind(programmer)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(map_err)
}

/// The group-commit writer (see [`$crate::GroupCommit`]).
struct Writer {
    pool: sqlx::Pool<$db>,
    how: $crate::WriterConnection<$db>,
    /// The connection of its own, once opened (`WriterConnection::Own`).
    own: Option<<$db as sqlx::Database>::Connection>,
}

impl $crate::GroupWriter for Writer {
    type Transaction<'a> = sqlx::Transaction<'a, $db>;

    async fn begin(&mut self) -> StoreResult<Self::Transaction<'_>> {
        let $crate::WriterConnection::Own { options, .. } = &self.how else {
            return begin_write(&self.pool).await;
        };
        if self.own.is_none() {
            self.own = Some(sqlx::ConnectOptions::connect(options).await.map_err(map_err)?);
        }
        let Some(conn) = self.own.as_mut() else {
            return Err(StoreError::Unavailable("the registration writer has no connection".into()));
        };
        sqlx::Connection::begin_with(conn, <$db as $crate::Dialect>::BEGIN_WRITE)
            .await
            .map_err(map_err)
    }

    async fn insert(tx: &mut Self::Transaction<'_>, clients: &[ClientRecord]) -> StoreResult<()> {
        insert_client_rows(tx, clients).await
    }

    async fn commit(mut tx: Self::Transaction<'_>, group: &[ClientRecord]) -> StoreResult<()> {
        count_registrations(&mut tx, group, true).await?;
        tx.commit().await.map_err(map_err)
    }

    fn sync(&self) -> Option<$crate::Syncer> {
        match &self.how {
            $crate::WriterConnection::Own { sync, .. } => Some(sync.clone()),
            $crate::WriterConnection::Pooled => None,
        }
    }

    fn reset(&mut self) {
        self.own = None;
    }
}

/// Inserts registrations with their audit events in `tx`. One multi-row statement per
/// table: a batch costs two round trips, not two per registration. The rollups are
/// [`count_registrations`]'s, once per transaction.
async fn insert_client_rows(
    tx: &mut sqlx::Transaction<'_, $db>,
    clients: &[ClientRecord],
) -> StoreResult<()> {
    let mut rows = Vec::with_capacity(clients.len());
    for c in clients {
        rows.push((c, $crate::decode::json_list(&c.redirect_uris)?, c.device_info.to_string()));
    }
    let mut insert = sqlx::QueryBuilder::<$db>::new(
        "INSERT INTO clients (id, application_id, programmer_id, statement_jti, secret_hash, \
         redirect_uris, device_info, platform, user_agent, source_ip, status, created_at, \
         last_used_at, revoked_at, registration_token_hash, os_name, model, last_seen_at) ",
    );
    insert.push_values(&rows, |mut b, (c, redirect_uris, device_info)| {
        b.push_bind(c.id.to_string())
            .push_bind(c.application_id.to_string())
            .push_bind(c.programmer_id.as_str().to_owned())
            .push_bind(c.statement_jti.to_string())
            .push_bind(c.secret_hash.clone())
            .push_bind(redirect_uris.clone())
            .push_bind(device_info.clone())
            .push_bind(c.platform.clone())
            .push_bind(c.user_agent.clone())
            .push_bind(c.source_ip.clone())
            .push_bind(c.status.as_str())
            .push_bind(c.created_at)
            .push_bind(c.last_used_at)
            .push_bind(c.revoked_at)
            .push_bind(c.registration_token_hash.clone())
            .push_bind(c.os_name.clone())
            .push_bind(c.model.clone())
            .push_bind(c.last_used_at.unwrap_or(c.created_at).max(c.created_at));
    });
    // The registrations' audit events commit with them, or neither does.
    let mut audit = sqlx::QueryBuilder::<$db>::new(
        "INSERT INTO audit_events (at, actor, role, programmer_id, action, target_kind, \
         target_id, source_ip) ",
    );
    audit.push_values(clients, |mut b, c| {
        b.push_bind(c.created_at)
            .push_bind(format!("statement:{}", c.statement_jti))
            .push_bind("device")
            .push_bind(c.programmer_id.as_str().to_owned())
            .push_bind(dcr_core::model::AuditAction::ClientRegistered.as_str())
            .push_bind("client")
            .push_bind(c.id.to_string())
            .push_bind(c.source_ip.clone());
    });
    insert.build().execute(&mut **tx).await.map_err(map_err)?;
    audit.build().execute(&mut **tx).await.map_err(map_err)?;
    Ok(())
}

/// Adds registrations to the rollups, aggregated over the batch: daily activity, the
/// standing-client breakdown, and (`count_hours`) the hourly registration counters,
/// which the quota path has counted already.
async fn count_registrations(
    tx: &mut sqlx::Transaction<'_, $db>,
    clients: &[ClientRecord],
    count_hours: bool,
) -> StoreResult<()> {
    let mut daily: std::collections::BTreeMap<(String, String, i64), i64> = Default::default();
    let mut hourly: std::collections::BTreeMap<(&'static str, String, i64), i64> = Default::default();
    let mut groups: std::collections::BTreeMap<(String, &'static str, String), i64> = Default::default();
    for c in clients {
        let (app, jti) = (c.application_id.to_string(), c.statement_jti.to_string());
        *daily.entry((app.clone(), jti.clone(), c.created_at.div_euclid(86_400))).or_default() += 1;
        let hour = c.created_at.div_euclid(3_600);
        *hourly.entry(("statement", jti, hour)).or_default() += 1;
        *hourly.entry(("application", app.clone(), hour)).or_default() += 1;
        if c.status == dcr_core::model::Status::Active {
            for (dimension, value) in breakdown_values(&c.platform, c.os_name.as_deref(), c.model.as_deref()) {
                *groups.entry((app.clone(), dimension, value)).or_default() += 1;
            }
        }
    }
    let mut up = sqlx::QueryBuilder::<$db>::new(
        "INSERT INTO daily_activity (application_id, statement_jti, day, registrations, tokens) ",
    );
    up.push_values(&daily, |mut b, ((app, jti, day), n)| {
        b.push_bind(app.clone()).push_bind(jti.clone()).push_bind(*day).push_bind(*n).push_bind(0i64);
    });
    up.push(
        " ON CONFLICT (application_id, statement_jti, day) DO UPDATE SET \
         registrations = daily_activity.registrations + excluded.registrations",
    );
    up.build().execute(&mut **tx).await.map_err(map_err)?;
    if count_hours {
        let mut up = sqlx::QueryBuilder::<$db>::new(
            "INSERT INTO registration_counts (scope, id, hour, n) ",
        );
        up.push_values(&hourly, |mut b, ((scope, id, hour), n)| {
            b.push_bind(*scope).push_bind(id.clone()).push_bind(*hour).push_bind(*n);
        });
        up.push(" ON CONFLICT (scope, id, hour) DO UPDATE SET n = registration_counts.n + excluded.n");
        up.build().execute(&mut **tx).await.map_err(map_err)?;
    }
    let deltas: Vec<(String, &'static str, String, i64)> =
        groups.into_iter().map(|((a, d, v), n)| (a, d, v, n)).collect();
    adjust_breakdown(tx, &deltas).await
}

/// The breakdown keys of one client: its platform, OS and model.
fn breakdown_values(
    platform: &str,
    os_name: Option<&str>,
    model: Option<&str>,
) -> [(&'static str, String); 3] {
    [
        ("platform", platform.to_owned()),
        ("os", os_name.filter(|s| !s.is_empty()).unwrap_or("unknown").to_owned()),
        ("model", model.filter(|s| !s.is_empty()).unwrap_or("unknown").to_owned()),
    ]
}

/// Adds `(application, dimension, value, delta)` to the standing-client breakdown.
async fn adjust_breakdown(
    tx: &mut sqlx::Transaction<'_, $db>,
    deltas: &[(String, &'static str, String, i64)],
) -> StoreResult<()> {
    for chunk in deltas.chunks(REVOKE_CHUNK) {
        let mut up = sqlx::QueryBuilder::<$db>::new(
            "INSERT INTO client_breakdown (application_id, dimension, value, active) ",
        );
        up.push_values(chunk, |mut b, (app, dimension, value, n)| {
            b.push_bind(app.clone()).push_bind(*dimension).push_bind(value.clone()).push_bind(*n);
        });
        up.push(
            " ON CONFLICT (application_id, dimension, value) DO UPDATE SET \
             active = client_breakdown.active + excluded.active",
        );
        up.build().execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}

/// Rows per statement in bulk writes: 500 × 4 parameters stays far below the
/// bound-parameter limits of SQLite (32 766) and PostgreSQL (65 535).
const REVOKE_CHUNK: usize = 500;

/// The standing clients a `sql::STANDING_GROUPS_OF_*` query picks (`$1` = `bind`),
/// grouped by breakdown key, negated: what revoking them takes away.
async fn standing_groups(
    tx: &mut sqlx::Transaction<'_, $db>,
    query: &'static str,
    bind: String,
) -> StoreResult<Vec<(String, &'static str, String, i64)>> {
    let rows = sqlx::query(query)
    .bind(bind)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err)?;
    lost_by_group(&rows)
}

/// Rows of a `sql::STANDING_GROUPS` query as negated breakdown counts.
fn lost_by_group(rows: &[$row]) -> StoreResult<Vec<(String, &'static str, String, i64)>> {
    let mut out = Vec::new();
    for row in rows {
        let app: String = row.try_get("application_id").map_err(map_err)?;
        let platform: String = row.try_get("platform").map_err(map_err)?;
        let os: String = row.try_get("os").map_err(map_err)?;
        let model: String = row.try_get("model").map_err(map_err)?;
        let n: i64 = row.try_get("n").map_err(map_err)?;
        for (dimension, value) in breakdown_values(&platform, Some(&os), Some(&model)) {
            out.push((app.clone(), dimension, value, -n));
        }
    }
    Ok(out)
}

/// Runs one write and appends the audit event that records it, in one transaction.
async fn execute_audited(
    pool: &sqlx::Pool<$db>,
    write: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
    audit: &AuditEvent,
) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    write.execute(&mut *tx).await.map_err(map_err)?;
    insert_audit(&mut *tx, audit).await?;
    tx.commit().await.map_err(map_err)
}

async fn insert_audit<'e, E>(executor: E, e: &AuditEvent) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = $db>,
{
    sqlx::query(sql::INSERT_AUDIT_EVENT)
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.role)
    .bind(e.programmer_id.as_ref().map(ProgrammerId::as_str))
    .bind(&e.action)
    .bind(&e.target_kind)
    .bind(&e.target_id)
    .bind(&e.source_ip)
    .execute(executor)
    .await
    .map(|_| ())
    .map_err(map_err)
}
}
    };
}
