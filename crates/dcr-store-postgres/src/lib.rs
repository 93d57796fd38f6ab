//! PostgreSQL implementation of [`dcr_core::Store`], for multi-node deployments.
//!
//! Commits are durable when they return (`synchronous_commit` as the server has it,
//! `on` by default; PostgreSQL groups concurrent commits itself). Migrations take
//! sqlx's advisory lock, so nodes starting together apply them once. Pool acquisition
//! times out after 1 s: while the database is down, requests fail fast with 503
//! instead of queueing.

use std::str::FromStr;
use std::time::Duration;

use dcr_core::store::{StoreError, StoreResult};
use dcr_store_rows::{SqlStore, Sqlx, WriterConnection};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`dcr_core::store::Store`] on one PostgreSQL database.
pub type PgStore = SqlStore<Sqlx<sqlx::Postgres>>;

/// Connects to `url` (`postgres://...`) and applies migrations.
pub async fn connect(url: &str) -> StoreResult<PgStore> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(1))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    SqlStore::open(Sqlx::new(pool, &MIGRATOR, WriterConnection::Pooled)).await
}
