//! SQLite implementation of [`dcr_core::Store`], the embedded default.
//!
//! WAL journal with `synchronous = FULL`: a commit is on disk (the WAL fsynced) before
//! the call returns, which is what lets the server answer 201. Readers never block the
//! writer. SQLite takes one writer at a time; `busy_timeout` queues the others.
//!
//! Registrations are the exception in how, not in whether: the group-commit writer has
//! a connection of its own with `synchronous = NORMAL` (its commit writes the WAL but
//! does not fsync it), and syncs the WAL file itself, on a blocking thread, before it
//! answers the group. Meanwhile the next group is already being written, so the
//! fsync no longer stops the writer. A `201` still waits for its row's fsync.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use dcr_core::store::{StoreError, StoreResult};
use dcr_store_rows::{SqlStore, Sqlx, Syncer, WriterConnection};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`dcr_core::store::Store`] on one SQLite database file.
pub type SqliteStore = SqlStore<Sqlx<sqlx::Sqlite>>;

/// Opens (creating if needed) the database at `path` and applies migrations.
pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
    connect(SqliteConnectOptions::new().filename(path)).await
}

/// Opens a database from a `sqlite:` URL (for `DCR_DATABASE_URL=sqlite://...`).
pub async fn open_url(url: &str) -> StoreResult<SqliteStore> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?;
    connect(options).await
}

/// The same durability and tuning whichever way the file was named.
async fn connect(options: SqliteConnectOptions) -> StoreResult<SqliteStore> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // No memory map: every pooled connection maps the file on its own, and a
        // page mapped by eight connections counts eight times in the process's
        // RSS (a 10 M-client store showed 3.4 GB). Reads go through the OS page
        // cache instead (shared, and not ours), and each connection keeps a small
        // private cache of hot pages: at most 8 × 8 MB of heap, however big the
        // store grows.
        .pragma("mmap_size", "0")
        .pragma("cache_size", "-8192");
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let writer = registration_writer(&pool, options).await?;
    SqlStore::open(Sqlx::new(pool, &MIGRATOR, writer)).await
}

/// The group-commit writer's connection: its own, syncing the WAL off its path, when
/// the database is a file in WAL mode; else pooled connections that commit durably.
async fn registration_writer(
    pool: &SqlitePool,
    options: SqliteConnectOptions,
) -> StoreResult<WriterConnection<sqlx::Sqlite>> {
    let unavailable = |e: sqlx::Error| StoreError::Unavailable(e.to_string());
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .map_err(unavailable)?;
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(pool)
            .await
            .map_err(unavailable)?;
    if !journal.eq_ignore_ascii_case("wal") || file.is_empty() {
        return Ok(WriterConnection::Pooled);
    }
    // SQLite's own name for the log: the database file's name plus `-wal`.
    let wal = PathBuf::from(format!("{file}-wal"));
    // fdatasync is per file, not per descriptor: it writes whatever any connection
    // committed to the log. The file is opened each time so that a log SQLite removed
    // and made again is still the one synced.
    let sync: Syncer = Arc::new(move || std::fs::File::open(&wal)?.sync_data());
    // Each insert of a round gets a statement journal (the transaction is already
    // open), which SQLite spills to a temporary file past 64 KiB: on this connection,
    // which only inserts and upserts small rows (no large sorts), it stays in memory.
    let options = options
        .synchronous(SqliteSynchronous::Normal)
        .pragma("temp_store", "memory");
    Ok(WriterConnection::Own { options, sync })
}
