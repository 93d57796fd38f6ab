//! [`SqlStore`]: the whole [`Store`](dcr_core::store::Store) on any [`Backend`], in
//! ordinary Rust. One file per aggregate holds its methods (`tenants.rs`:
//! programmers, channels and applications; `audiences.rs`: who owns each audience; `statements.rs`; `clients.rs`,
//! with the registration writer; `lifecycle.rs`: bulk revocation, inactivity,
//! leases, spikes, activity and usage; `revocations.rs`: the revocation log, the
//! feed and RFC 7009; `keys.rs`: API and signing keys; `users.rs`: dashboard users
//! and sessions; `audit.rs`); `store_impl.rs` is the trait's `impl`, one line per
//! method into them. The helpers here are what several aggregates share.

mod audiences;
mod audit;
mod clients;
mod keys;
mod lifecycle;
mod revocations;
mod statements;
mod store_impl;
mod tenants;
mod users;

use std::sync::Arc;

use dcr_core::model::{AuditEvent, PageOf, PageRequest};
use dcr_core::store::StoreResult;

use crate::backend::{Backend, Query, Transaction};
use crate::decode::RowAccess;
use crate::group_commit::GroupCommit;
use crate::sql;

/// The `Store` of one database.
pub struct SqlStore<B: Backend> {
    db: Arc<B>,
    /// Registrations go through one writer task that commits them in groups.
    clients: GroupCommit,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            clients: self.clients.clone(),
        }
    }
}

impl<B: Backend> std::fmt::Debug for SqlStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").finish_non_exhaustive()
    }
}

impl<B: Backend> SqlStore<B> {
    /// Applies pending migrations and starts the registration writer.
    pub async fn open(db: B) -> StoreResult<Self> {
        db.migrate().await?;
        let db = Arc::new(db);
        let clients = GroupCommit::spawn(clients::Writer::new(db.clone()));
        Ok(Self { db, clients })
    }

    /// Closes the pool (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.db.close().await;
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db.execute(Query::new(sql::PING)).await.map(|_| ())
    }
}

/// Rows per statement in bulk writes: 500 × 4 parameters stays far below the
/// bound-parameter limits of SQLite (32 766) and PostgreSQL (65 535).
const CHUNK: usize = 500;

/// Clamps a page request: the cursor, and the limit plus one (the extra row tells
/// whether a next page exists).
fn page_bounds(page: PageRequest) -> (i64, i64) {
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    (page.after.unwrap_or(0), i64::from(limit) + 1)
}

/// The page `rows` make when `limit_plus_one` were asked for; the cursor is the last
/// kept row's `seq`.
fn paginate<R: RowAccess, T>(
    rows: Vec<R>,
    limit_plus_one: i64,
    decode: impl Fn(&R) -> StoreResult<T>,
) -> StoreResult<PageOf<T>> {
    let limit = usize::try_from(limit_plus_one - 1).unwrap_or(0);
    let has_more = rows.len() > limit;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    let mut last_seq = None;
    for row in rows.iter().take(limit) {
        items.push(decode(row)?);
        last_seq = Some(row.integer("seq")?);
    }
    Ok(PageOf {
        items,
        next: if has_more { last_seq } else { None },
    })
}

/// One page of a list: the one way a list is read. `query` comes with its own
/// parameters bound; the cursor and the limit ([`page_bounds`]) are bound after them,
/// in that order.
async fn list_page<B: Backend, T>(
    db: &B,
    query: Query,
    page: PageRequest,
    decode: impl Fn(&B::Row) -> StoreResult<T>,
) -> StoreResult<PageOf<T>> {
    let (after, limit) = page_bounds(page);
    let rows = db.fetch_all(query.bind(after).bind(limit)).await?;
    paginate(rows, limit, decode)
}

/// The insert of one audit event.
fn audit_insert(e: &AuditEvent) -> Query {
    Query::new(sql::INSERT_AUDIT_EVENT)
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.role)
        .bind(e.programmer_id.as_ref().map(|p| p.as_str()))
        .bind(&e.action)
        .bind(&e.target_kind)
        .bind(&e.target_id)
        .bind(&e.source_ip)
}

/// Runs one write and appends the audit event that records it, in one transaction.
async fn execute_audited<B: Backend>(db: &B, write: Query, audit: &AuditEvent) -> StoreResult<()> {
    let mut tx = db.begin_write().await?;
    tx.execute(write).await?;
    tx.execute(audit_insert(audit)).await?;
    tx.commit().await
}

/// Ends a change to one row: appends `audit` if the row exists (a change to an
/// unknown id is not an event), commits, and decodes the row as it now is.
async fn commit_audited<T: Transaction, R>(
    mut tx: T,
    row: Option<T::Row>,
    audit: &AuditEvent,
    decode: impl Fn(&T::Row) -> StoreResult<R>,
) -> StoreResult<Option<R>> {
    if row.is_some() {
        tx.execute(audit_insert(audit)).await?;
    }
    tx.commit().await?;
    row.as_ref().map(decode).transpose()
}

/// A count read from column `name` (NULL, as `SUM` over no rows gives, is 0).
fn count(row: &impl RowAccess, name: &str) -> StoreResult<u64> {
    Ok(u64::try_from(row.optional_integer(name)?.unwrap_or(0)).unwrap_or(0))
}

/// An id read from column `name` and parsed; a value that does not parse is corrupt.
fn parsed<T>(
    row: &impl RowAccess,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, dcr_core::ids::InvalidId>,
) -> StoreResult<T> {
    let text = row.text(name)?;
    parse(&text).map_err(|_| dcr_core::store::StoreError::Corrupt(name.to_owned()))
}
