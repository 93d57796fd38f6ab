//! Revocations and the log that carries them to every node and guard: one statement,
//! application or client at a time, clients by the batch (bulk revocation and
//! inactivity, `lifecycle.rs` picks them), access tokens (RFC 7009), and the feed's
//! reads.

use std::collections::BTreeMap;

use dcr_core::ids::{ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId};
use dcr_core::model::{
    Application, AuditEvent, ClientRecord, RevocationEntry, RevokedVia, StatementRecord,
};
use dcr_core::store::StoreResult;

use super::clients::{BreakdownDelta, adjust_breakdown, lost_by_group, standing_groups};
use super::{CHUNK, SqlStore, commit_audited};
use crate::backend::{Backend, Query, Transaction};
use crate::decode::{self, RowAccess};
use crate::sql;

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

impl<B: Backend> SqlStore<B> {
    pub(super) async fn revoke_statement(
        &self,
        jti: &StatementId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StatementRecord>> {
        let what = Revocation {
            update: sql::REVOKE_STATEMENT,
            select: sql::SELECT_STATEMENT,
            cut_off: sql::STANDING_GROUPS_OF_STATEMENT,
            kind: "statement",
            via: None,
        };
        let decode = decode::statement_from_row;
        revoke(&*self.db, audit, what, jti.to_string(), at, decode, |s| {
            &s.programmer_id
        })
        .await
    }

    pub(super) async fn revoke_application(
        &self,
        id: &ApplicationId,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Application>> {
        let what = Revocation {
            update: sql::REVOKE_APPLICATION,
            select: sql::SELECT_APPLICATION,
            cut_off: sql::STANDING_GROUPS_OF_APPLICATION,
            kind: "application",
            via: None,
        };
        let decode = |r: &B::Row| decode::application_from_row(r, "");
        revoke(&*self.db, audit, what, id.to_string(), at, decode, |a| {
            &a.programmer_id
        })
        .await
    }

    pub(super) async fn revoke_client(
        &self,
        id: &ClientId,
        via: RevokedVia,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ClientRecord>> {
        let what = Revocation {
            update: sql::REVOKE_CLIENT,
            select: sql::SELECT_CLIENT,
            cut_off: sql::STANDING_GROUPS_OF_CLIENT,
            kind: "client",
            via: Some(via.as_str()),
        };
        let decode = decode::client_from_row;
        revoke(&*self.db, audit, what, id.to_string(), at, decode, |c| {
            &c.programmer_id
        })
        .await
    }

    pub(super) async fn revoke_token(
        &self,
        jti: &str,
        programmer: &ProgrammerId,
        at: i64,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        log_revocation(&mut tx, "token", jti, programmer.as_str(), at).await?;
        tx.commit().await
    }

    pub(super) async fn is_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        let query = Query::new(sql::TOKEN_REVOKED).bind(jti);
        Ok(self.db.fetch_optional(query).await?.is_some())
    }

    pub(super) async fn first_use_of_jti(
        &self,
        kind: &str,
        jti: &str,
        until: i64,
    ) -> StoreResult<bool> {
        let now = dcr_core::time::unix_now();
        // Expired entries go now and then (about one call in 64, by the jti's hash),
        // so no call pays for the sweep every time.
        if jti
            .bytes()
            .fold(0u8, |h, b| h.wrapping_mul(31).wrapping_add(b))
            % 64
            == 0
        {
            self.db
                .execute(Query::new(sql::FORGET_SEEN_JTIS).bind(now))
                .await?;
        }
        let record = Query::new(sql::RECORD_SEEN_JTI)
            .bind(kind)
            .bind(jti)
            .bind(until)
            .bind(now);
        Ok(self.db.fetch_optional(record).await?.is_some())
    }

    pub(super) async fn revocations_since(
        &self,
        after_seq: i64,
        not_before: i64,
        programmer: Option<&ProgrammerId>,
        limit: u32,
    ) -> StoreResult<Vec<RevocationEntry>> {
        let query = Query::new(sql::REVOCATIONS_SINCE)
            .bind(after_seq)
            .bind(not_before)
            .bind(programmer.map(ProgrammerId::as_str))
            .bind(i64::from(limit));
        let rows = self.db.fetch_all(query).await?;
        rows.iter().map(decode::revocation_from_row).collect()
    }

    pub(super) async fn channel_directory(
        &self,
        programmer: Option<&ProgrammerId>,
    ) -> StoreResult<Vec<(ChannelId, ProgrammerId)>> {
        let query = Query::new(sql::CHANNEL_DIRECTORY).bind(programmer.map(ProgrammerId::as_str));
        let rows = self.db.fetch_all(query).await?;
        rows.iter()
            .map(|r| decode::channel_from_row(r).map(|c| (c.id, c.programmer_id)))
            .collect()
    }
}

/// Flips one row to `revoked` and, the first time only, appends it to the revocation
/// log; appends `audit` whenever the row exists — in one transaction. Returns the row
/// as it now is.
async fn revoke<B: Backend, T>(
    db: &B,
    audit: &AuditEvent,
    what: Revocation,
    id: String,
    at: i64,
    decode: impl Fn(&B::Row) -> StoreResult<T>,
    owner: impl Fn(&T) -> &ProgrammerId,
) -> StoreResult<Option<T>> {
    let Revocation {
        update,
        select,
        cut_off,
        kind,
        via,
    } = what;
    let mut tx = db.begin_write().await?;
    // What the revocation takes from the standing-client breakdown, read before it
    // happens (clients already cut off were taken away then).
    let lost = standing_groups(&mut tx, cut_off, id.clone()).await?;
    let mut update = Query::new(update).bind(at).bind(&id).bind(&audit.actor);
    if let Some(via) = via {
        update = update.bind(via);
    }
    let changed = tx.execute(update).await?;
    let row = tx
        .fetch_optional(Query::new(select).bind(id.clone()))
        .await?;
    if let (1, Some(r)) = (changed, &row) {
        let owner = owner(&decode(r)?).as_str().to_owned();
        log_revocation(&mut tx, kind, &id, &owner, at).await?;
        adjust_breakdown(&mut tx, &lost).await?;
    }
    commit_audited(tx, row, audit, decode).await
}

/// Appends one entry to the revocation log.
async fn log_revocation<T: Transaction>(
    tx: &mut T,
    kind: &str,
    target: &str,
    programmer: &str,
    at: i64,
) -> StoreResult<()> {
    // Serialises revocations (they are rare) so that log order is commit order.
    tx.execute(Query::new(sql::BUMP_REVOCATION_ORDER)).await?;
    let insert = Query::new(sql::INSERT_REVOCATION)
        .bind(kind)
        .bind(target)
        .bind(programmer)
        .bind(at);
    tx.execute(insert).await.map(|_| ())
}

/// Revokes the clients `select` picks (a bounded `SELECT id, seq FROM clients ...`), in
/// one transaction: status, `revoked_via`, one revocation-log entry each, the
/// breakdown. Returns how many it revoked, how many it picked and the last `seq`.
pub(super) async fn revoke_clients_batch<B: Backend>(
    db: &B,
    select: Query,
    at: i64,
    actor: &str,
    via: &'static str,
) -> StoreResult<(u64, usize, i64)> {
    let mut tx = db.begin_write().await?;
    let mut ids = Vec::new();
    let mut last_seq = None;
    for row in tx.fetch_all(select).await? {
        ids.push(row.text("id")?);
        last_seq = last_seq.max(Some(row.integer("seq")?));
    }
    let Some(last_seq) = last_seq else {
        return Ok((0, 0, 0));
    };
    // Serialises revocations so that log order is commit order (see log_revocation).
    tx.execute(Query::new(sql::BUMP_REVOCATION_ORDER)).await?;
    let mut lost: BTreeMap<(String, &'static str, String), i64> = BTreeMap::new();
    let mut revoked = 0usize;
    // Statements stay under both databases' bound-parameter limits (SQLite: 32 766).
    for chunk in ids.chunks(CHUNK) {
        // What leaves the breakdown: the chosen clients that still stand.
        let mut standing = Query::build(sql::STANDING_GROUPS);
        standing.push("c.id IN (");
        standing
            .push_list(chunk)
            .push(")")
            .push(sql::STANDING_GROUP_BY);
        for (app, dimension, value, n) in lost_by_group(&tx.fetch_all(standing).await?)? {
            *lost.entry((app, dimension, value)).or_default() += n;
        }

        let mut update = Query::build("UPDATE clients SET status = 'revoked', revoked_at = ");
        update
            .push_bind(at)
            .push(", revoked_by = ")
            .push_bind(actor)
            .push(", revoked_via = ")
            .push_bind(via)
            .push(" WHERE status = 'active' AND id IN (");
        update
            .push_list(chunk)
            .push(") RETURNING id, programmer_id");
        let rows = tx.fetch_all(update).await?;
        if rows.is_empty() {
            continue;
        }
        revoked += rows.len();
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            entries.push((row.text("id")?, row.text("programmer_id")?));
        }
        let mut log =
            Query::build("INSERT INTO revocations (kind, target, programmer_id, revoked_at) ");
        log.push_values(entries, |row, (id, programmer)| {
            row.bind("client").bind(id).bind(programmer).bind(at);
        });
        tx.execute(log).await?;
    }
    let deltas: Vec<BreakdownDelta> = lost
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((app, dimension, value), n)| (app, dimension, value, n))
        .collect();
    adjust_breakdown(&mut tx, &deltas).await?;
    tx.commit().await?;
    Ok((u64::try_from(revoked).unwrap_or(0), ids.len(), last_seq))
}
