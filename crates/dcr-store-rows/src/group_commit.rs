//! Group commit for registrations: many registrations share one transaction and one
//! fsync, and each caller is answered only once its own row is durable.

use dcr_core::model::ClientRecord;
use dcr_core::store::{StoreError, StoreResult};

/// Most registrations committed by one transaction.
pub const GROUP_COMMIT_MAX: usize = 256;

type Waiting = tokio::sync::oneshot::Sender<StoreResult<()>>;

/// How one backend writes a group of registrations: a transaction that takes rows in
/// rounds and is committed once. Implemented over any [`Backend`](crate::Backend) by
/// the store (`store/clients.rs`); the tests here use a recording writer.
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
mod tests {
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
            auth_method: Default::default(),
            key: None,
            dpop_seen_at: None,
            attestation: None,
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
