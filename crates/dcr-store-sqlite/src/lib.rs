//! SQLite implementation of [`dcr_core::Store`], the embedded default.
//!
//! WAL journal with `synchronous = FULL`: a commit is on disk (the WAL fsynced) before
//! the call returns, which is what lets the server answer 201. Readers never block the
//! writer. SQLite takes one writer at a time; `busy_timeout` queues the others.

mod rows;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`Store`] on one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Registrations go through one writer task that commits them in groups.
    clients: dcr_store_rows::GroupCommit,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Large stores are read at random on the token path: map the file and keep a
            // bigger page cache so lookups stay in memory (mapped pages are the OS's
            // page cache, not heap).
            .pragma("mmap_size", "1073741824")
            .pragma("cache_size", "-32768");
        Self::connect(options).await
    }

    /// Opens a database from a `sqlite:` URL (for `DCR_DATABASE_URL=sqlite://...`).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Large stores are read at random on the token path: map the file and keep a
            // bigger page cache so lookups stay in memory (mapped pages are the OS's
            // page cache, not heap).
            .pragma("mmap_size", "1073741824")
            .pragma("cache_size", "-32768");
        Self::connect(options).await
    }

    async fn connect(options: SqliteConnectOptions) -> StoreResult<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        let writer = pool.clone();
        let clients = dcr_store_rows::GroupCommit::spawn(move |rows| {
            let pool = writer.clone();
            async move { insert_clients(&pool, rows.iter()).await }
        });
        Ok(Self { pool, clients })
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

dcr_store_rows::sql_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
