//! Decoding sqlx rows into dcr domain records, shared by the SQL stores so that
//! SQLite and PostgreSQL read rows exactly alike. A value that does not parse is
//! `StoreError::Corrupt`: the stores only ever write valid ones.
//!
//! `decoders!(RowType)` expands the decoders for one sqlx row type; [`GroupCommit`]
//! batches registrations into shared transactions.

/// Expands the row decoders for a concrete sqlx row type.
#[macro_export]
macro_rules! decoders {
    ($row:ty) => {
        use dcr_core::ids::{
            ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId,
        };
        use dcr_core::model::{
            ApiKeyRecord, AppLevel, Application, Channel, ClientRecord, KeyState, Programmer,
            RevocationEntry, RevocationKind, Role, SigningKeyRecord, StatementRecord, Status,
        };
        use dcr_core::store::{StoreError, StoreResult};
        use sqlx::Row;

        fn corrupt(what: &str) -> StoreError {
            StoreError::Corrupt(what.to_owned())
        }

        fn get<'r, T>(row: &'r $row, column: &str) -> StoreResult<T>
        where
            T: sqlx::Decode<'r, <$row as sqlx::Row>::Database>
                + sqlx::Type<<$row as sqlx::Row>::Database>,
        {
            row.try_get(column)
                .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
        }

        pub fn json_list<T: serde::Serialize>(items: &[T]) -> StoreResult<String> {
            serde_json::to_string(items).map_err(|e| StoreError::Corrupt(e.to_string()))
        }

        fn list(row: &$row, column: &str) -> StoreResult<Vec<String>> {
            let text: String = get(row, column)?;
            serde_json::from_str(&text).map_err(|_| corrupt(column))
        }

        pub fn status_of(row: &$row, column: &str) -> StoreResult<Status> {
            let text: String = get(row, column)?;
            Status::parse(&text).ok_or_else(|| corrupt(column))
        }

        fn uuid_id<T>(
            row: &$row,
            column: &str,
            parse: fn(&str) -> Result<T, dcr_core::ids::InvalidId>,
        ) -> StoreResult<T> {
            let text: String = get(row, column)?;
            parse(&text).map_err(|_| corrupt(column))
        }

        fn programmer_id(row: &$row, column: &str) -> StoreResult<ProgrammerId> {
            let text: String = get(row, column)?;
            ProgrammerId::parse(text).map_err(|_| corrupt(column))
        }

        fn channel_id(text: String, column: &str) -> StoreResult<ChannelId> {
            ChannelId::parse(text).map_err(|_| corrupt(column))
        }

        pub fn programmer_from_row(row: &$row) -> StoreResult<Programmer> {
            Ok(Programmer {
                id: programmer_id(row, "id")?,
                name: get(row, "name")?,
                created_at: get(row, "created_at")?,
            })
        }

        pub fn channel_from_row(row: &$row) -> StoreResult<Channel> {
            Ok(Channel {
                id: channel_id(get(row, "id")?, "id")?,
                programmer_id: programmer_id(row, "programmer_id")?,
                name: get(row, "name")?,
                created_at: get(row, "created_at")?,
            })
        }

        /// `prefix` selects aliased columns when the application is read through a join.
        pub fn application_from_row(row: &$row, prefix: &str) -> StoreResult<Application> {
            let col = |name: &str| {
                if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix}{name}")
                }
            };
            let level: String = get(row, &col("level"))?;
            let channels = list(row, &col("channels"))?
                .into_iter()
                .map(|c| channel_id(c, "channels"))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Application {
                id: uuid_id(row, &col("id"), ApplicationId::parse)?,
                programmer_id: programmer_id(row, &col("programmer_id"))?,
                name: get(row, &col("name"))?,
                version: get(row, &col("version"))?,
                level: AppLevel::parse(&level).ok_or_else(|| corrupt("level"))?,
                channels,
                platforms: list(row, &col("platforms"))?,
                scopes: list(row, &col("scopes"))?,
                domains: list(row, &col("domains"))?,
                custom_scheme: get(row, &col("custom_scheme"))?,
                status: status_of(row, &col("status"))?,
                created_at: get(row, &col("created_at"))?,
                revoked_at: get(row, &col("revoked_at"))?,
            })
        }

        pub fn statement_from_row(row: &$row) -> StoreResult<StatementRecord> {
            Ok(StatementRecord {
                jti: uuid_id(row, "jti", StatementId::parse)?,
                application_id: uuid_id(row, "application_id", ApplicationId::parse)?,
                programmer_id: programmer_id(row, "programmer_id")?,
                kid: get(row, "kid")?,
                issued_at: get(row, "issued_at")?,
                status: status_of(row, "status")?,
                revoked_at: get(row, "revoked_at")?,
            })
        }

        pub fn client_from_row(row: &$row) -> StoreResult<ClientRecord> {
            let device_info: String = get(row, "device_info")?;
            Ok(ClientRecord {
                id: uuid_id(row, "id", ClientId::parse)?,
                application_id: uuid_id(row, "application_id", ApplicationId::parse)?,
                programmer_id: programmer_id(row, "programmer_id")?,
                statement_jti: uuid_id(row, "statement_jti", StatementId::parse)?,
                secret_hash: get(row, "secret_hash")?,
                redirect_uris: list(row, "redirect_uris")?,
                device_info: serde_json::from_str(&device_info)
                    .map_err(|_| corrupt("device_info"))?,
                platform: get(row, "platform")?,
                user_agent: get(row, "user_agent")?,
                status: status_of(row, "status")?,
                created_at: get(row, "created_at")?,
                last_used_at: get(row, "last_used_at")?,
                revoked_at: get(row, "revoked_at")?,
            })
        }

        pub fn api_key_from_row(row: &$row) -> StoreResult<ApiKeyRecord> {
            let role: String = get(row, "role")?;
            let programmer: Option<String> = get(row, "programmer_id")?;
            let channel: Option<String> = get(row, "channel_id")?;
            Ok(ApiKeyRecord {
                id: uuid_id(row, "id", ApiKeyId::parse)?,
                key_hash: get(row, "key_hash")?,
                role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
                programmer_id: programmer
                    .map(|p| ProgrammerId::parse(p).map_err(|_| corrupt("programmer_id")))
                    .transpose()?,
                channel_id: channel.map(|c| channel_id(c, "channel_id")).transpose()?,
                name: get(row, "name")?,
                created_at: get(row, "created_at")?,
                revoked_at: get(row, "revoked_at")?,
            })
        }

        pub fn signing_key_from_row(row: &$row) -> StoreResult<SigningKeyRecord> {
            let state: String = get(row, "state")?;
            Ok(SigningKeyRecord {
                kid: get(row, "kid")?,
                alg: get(row, "alg")?,
                state: KeyState::parse(&state).ok_or_else(|| corrupt("state"))?,
                sealed_private_key: get(row, "sealed_private_key")?,
                public_jwk: get(row, "public_jwk")?,
                created_at: get(row, "created_at")?,
                retired_at: get(row, "retired_at")?,
            })
        }

        pub fn revocation_from_row(row: &$row) -> StoreResult<RevocationEntry> {
            let kind: String = get(row, "kind")?;
            Ok(RevocationEntry {
                seq: get(row, "seq")?,
                kind: RevocationKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
                target: get(row, "target")?,
                programmer_id: programmer_id(row, "programmer_id")?,
                revoked_at: get(row, "revoked_at")?,
            })
        }
    };
}

use dcr_core::model::ClientRecord;
use dcr_core::store::{StoreError, StoreResult};

/// Most registrations committed by one transaction.
pub const GROUP_COMMIT_MAX: usize = 256;

type Pending = (ClientRecord, tokio::sync::oneshot::Sender<StoreResult<()>>);

/// Group commit for registrations: each waits for a commit that holds it, and while
/// one transaction is being made durable the next registrations queue up and share
/// the next one. A `201` is still sent only after its own row is durable.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: tokio::sync::mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Spawns the writer; `insert` stores a batch in one transaction.
    pub fn spawn<F, Fut>(insert: F) -> Self
    where
        F: Fn(Vec<ClientRecord>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = StoreResult<()>> + Send,
    {
        let (queue, mut pending) = tokio::sync::mpsc::channel::<Pending>(4 * GROUP_COMMIT_MAX);
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(GROUP_COMMIT_MAX);
            while let Some(first) = pending.recv().await {
                batch.push(first);
                while batch.len() < GROUP_COMMIT_MAX {
                    match pending.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let rows: Vec<ClientRecord> = batch.iter().map(|(c, _)| c.clone()).collect();
                match insert(rows).await {
                    Ok(()) => {
                        for (_, done) in batch.drain(..) {
                            let _ = done.send(Ok(()));
                        }
                    }
                    // The database is down: everyone gets that answer now, instead of
                    // one more timeout each.
                    Err(e @ StoreError::Unavailable(_)) => {
                        for (_, done) in batch.drain(..) {
                            let _ = done.send(Err(e.clone()));
                        }
                    }
                    // One bad row must not fail its neighbours: retry each on its own to
                    // give every caller its own answer.
                    Err(_) => {
                        for (client, done) in batch.drain(..) {
                            let _ = done.send(insert(vec![client]).await);
                        }
                    }
                }
            }
        });
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
