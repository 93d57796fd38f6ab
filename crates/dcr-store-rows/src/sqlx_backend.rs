//! [`Backend`] on sqlx, for SQLite and PostgreSQL: the one place that names driver
//! types. The store crates only choose the pool's options, the migrations and how the
//! registration writer connects ([`WriterConnection`]).

use dcr_core::store::{StoreError, StoreResult};
use sqlx::{AssertSqlSafe, Connection as _, Database, Encode, Executor, Type};

use crate::backend::{Backend, Param, Query, Transaction};
use crate::decode::RowAccess;

/// What differs between the two databases' SQL.
///
/// How a write transaction starts: SQLite's plain `BEGIN` is deferred: a transaction
/// that reads and then writes must upgrade its lock, and when another connection
/// committed meanwhile SQLite answers `SQLITE_BUSY` at once, without waiting out
/// `busy_timeout` (the upgrade could deadlock). `BEGIN IMMEDIATE` takes the write lock
/// first, so concurrent writers queue behind `busy_timeout` instead of failing with
/// 503. PostgreSQL's row locks need nothing of the kind.
///
/// How a bulk revocation walks an application's clients: in `seq` order from a
/// cursor, so each batch starts where the last stopped and the whole walk reads each
/// client once. SQLite's planner, given a `created_at` or statement filter, may
/// prefer that filter's index and sort every batch (or, without the cursor, rescan
/// the skipped rows each time: 10 minutes for 1 M of 10 M clients), so it is told
/// which index to walk; PostgreSQL plans it well on its own.
///
/// Whether several nodes share the database: SQLite is one process's file; PostgreSQL
/// is how a deployment runs several nodes.
pub trait Dialect: Database {
    const BEGIN_WRITE: &'static str;
    const CLIENTS_IN_SEQ_ORDER: &'static str;
    const SHARED_BY_NODES: bool;
}

impl Dialect for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const CLIENTS_IN_SEQ_ORDER: &'static str = "clients INDEXED BY clients_by_application";
    const SHARED_BY_NODES: bool = false;
}

impl Dialect for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const CLIENTS_IN_SEQ_ORDER: &'static str = "clients";
    const SHARED_BY_NODES: bool = true;
}

/// How the group-commit writer reaches the database.
pub enum WriterConnection<DB: Database> {
    /// A pooled connection per transaction, committing durably.
    Pooled,
    /// A connection of its own (opened with `options`, again after a failure) whose
    /// commits are made durable by `sync`, which the writer does not wait for.
    Own {
        options: <DB::Connection as sqlx::Connection>::Options,
        sync: crate::Syncer,
    },
}

/// A database reached through a sqlx pool.
pub struct Sqlx<DB: Dialect> {
    pool: sqlx::Pool<DB>,
    migrator: &'static sqlx::migrate::Migrator,
    writer: WriterConnection<DB>,
}

impl<DB: Dialect> Sqlx<DB> {
    pub fn new(
        pool: sqlx::Pool<DB>,
        migrator: &'static sqlx::migrate::Migrator,
        writer: WriterConnection<DB>,
    ) -> Self {
        Self {
            pool,
            migrator,
            writer,
        }
    }
}

/// A sqlx error as the store reports it: unique and foreign-key violations by what
/// they collided with, undecodable data as corrupt, anything else as unavailable.
pub fn store_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(crate::collision(db.table(), db.constraint(), db.message()))
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

/// `query` as sqlx runs it: the text (a constant stays borrowed) and each value bound.
fn bound<'q, DB>(query: Query) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: Database,
    Option<i64>: for<'t> Encode<'t, DB> + Type<DB>,
    Option<String>: for<'t> Encode<'t, DB> + Type<DB>,
    Option<Vec<u8>>: for<'t> Encode<'t, DB> + Type<DB>,
{
    let mut q = sqlx::query(AssertSqlSafe(query.sql));
    for param in query.params {
        q = match param {
            Param::Int(v) => q.bind(v),
            Param::Text(v) => q.bind(v),
            Param::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// Reads a column as `T`, a failure reported as corrupt data naming the column.
fn column<'r, R, T>(row: &'r R, column: &str) -> StoreResult<T>
where
    R: sqlx::Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// The column reads of the decoders, for one sqlx row type.
macro_rules! row_access {
    ($row:ty) => {
        impl RowAccess for $row {
            fn text(&self, name: &str) -> StoreResult<String> {
                column(self, name)
            }
            fn optional_text(&self, name: &str) -> StoreResult<Option<String>> {
                column(self, name)
            }
            fn integer(&self, name: &str) -> StoreResult<i64> {
                column(self, name)
            }
            fn optional_integer(&self, name: &str) -> StoreResult<Option<i64>> {
                column(self, name)
            }
            fn bytes(&self, name: &str) -> StoreResult<Vec<u8>> {
                column(self, name)
            }
            fn optional_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
                column(self, name)
            }
        }
    };
}

row_access!(sqlx::sqlite::SqliteRow);
row_access!(sqlx::postgres::PgRow);

/// A sqlx transaction.
pub struct SqlxTx<'c, DB: Database>(sqlx::Transaction<'c, DB>);

impl<DB> Backend for Sqlx<DB>
where
    DB: Dialect,
    DB::Row: RowAccess + Send + Sync + 'static,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c sqlx::Pool<DB>: Executor<'c, Database = DB>,
    Option<i64>: for<'t> Encode<'t, DB> + Type<DB>,
    Option<String>: for<'t> Encode<'t, DB> + Type<DB>,
    Option<Vec<u8>>: for<'t> Encode<'t, DB> + Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    DB::QueryResult: QueryResultRows,
    sqlx::migrate::Migrator: SqlxMigrate<DB>,
{
    type Row = DB::Row;
    type Tx<'c> = SqlxTx<'c, DB>;
    type Connection = DB::Connection;

    const CLIENTS_IN_SEQ_ORDER: &'static str = DB::CLIENTS_IN_SEQ_ORDER;
    const SHARED_BY_NODES: bool = DB::SHARED_BY_NODES;

    async fn fetch_all(&self, query: Query) -> StoreResult<Vec<DB::Row>> {
        bound(query)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
    }

    async fn fetch_optional(&self, query: Query) -> StoreResult<Option<DB::Row>> {
        bound(query)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)
    }

    async fn execute(&self, query: Query) -> StoreResult<u64> {
        let done = bound(query)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows())
    }

    async fn begin_write<'c>(&self) -> StoreResult<SqlxTx<'c, DB>> {
        let tx = self
            .pool
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(store_error)?;
        Ok(SqlxTx(tx))
    }

    async fn connect_own(&self) -> StoreResult<Option<DB::Connection>> {
        match &self.writer {
            WriterConnection::Pooled => Ok(None),
            WriterConnection::Own { options, .. } => sqlx::ConnectOptions::connect(options)
                .await
                .map(Some)
                .map_err(store_error),
        }
    }

    async fn begin_write_on(connection: &mut DB::Connection) -> StoreResult<SqlxTx<'_, DB>> {
        let tx = connection
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(store_error)?;
        Ok(SqlxTx(tx))
    }

    fn writer_sync(&self) -> Option<crate::Syncer> {
        match &self.writer {
            WriterConnection::Own { sync, .. } => Some(sync.clone()),
            WriterConnection::Pooled => None,
        }
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.migrator
            .run_on(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// `Migrator::run` for one database (its bounds, which differ in form from the
/// executor bounds above, stated once).
pub trait SqlxMigrate<DB: Database> {
    fn run_on(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> impl Future<Output = Result<(), sqlx::migrate::MigrateError>> + Send;
}

impl SqlxMigrate<sqlx::Sqlite> for sqlx::migrate::Migrator {
    async fn run_on(&self, pool: &sqlx::SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
        self.run(pool).await
    }
}

impl SqlxMigrate<sqlx::Postgres> for sqlx::migrate::Migrator {
    async fn run_on(&self, pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
        self.run(pool).await
    }
}

/// `rows_affected` of one database's query result (each has its own method).
pub trait QueryResultRows {
    fn rows(&self) -> u64;
}

impl QueryResultRows for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl QueryResultRows for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl<'c, DB> Transaction for SqlxTx<'c, DB>
where
    DB: Database,
    DB::Row: RowAccess + Send + Sync + 'static,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    Option<i64>: for<'t> Encode<'t, DB> + Type<DB>,
    Option<String>: for<'t> Encode<'t, DB> + Type<DB>,
    Option<Vec<u8>>: for<'t> Encode<'t, DB> + Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    DB::QueryResult: QueryResultRows,
{
    type Row = DB::Row;

    async fn fetch_all(&mut self, query: Query) -> StoreResult<Vec<DB::Row>> {
        bound(query)
            .fetch_all(&mut *self.0)
            .await
            .map_err(store_error)
    }

    async fn fetch_optional(&mut self, query: Query) -> StoreResult<Option<DB::Row>> {
        bound(query)
            .fetch_optional(&mut *self.0)
            .await
            .map_err(store_error)
    }

    async fn execute(&mut self, query: Query) -> StoreResult<u64> {
        let done = bound(query)
            .execute(&mut *self.0)
            .await
            .map_err(store_error)?;
        Ok(done.rows())
    }

    async fn commit(self) -> StoreResult<()> {
        self.0.commit().await.map_err(store_error)
    }

    async fn rollback(self) -> StoreResult<()> {
        self.0.rollback().await.map_err(store_error)
    }
}
