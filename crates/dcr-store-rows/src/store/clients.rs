//! Clients: registration (through the group-commit writer, or within a quota), reads
//! with their standing, and the rollups every registration feeds (daily activity,
//! hourly counts, the standing-client breakdown).

use std::collections::BTreeMap;
use std::sync::Arc;

use dcr_core::ids::{ApplicationId, ClientId};
use dcr_core::model::{
    AuditAction, ClientRecord, ClientStanding, PageOf, PageRequest, RegistrationQuota, Status,
};
use dcr_core::store::StoreResult;

use super::{CHUNK, SqlStore, list_page};
use crate::backend::{Backend, Query, Transaction};
use crate::decode::{self, RowAccess, json_list};
use crate::group_commit::{GroupWriter, Syncer};
use crate::sql;

/// A client row read with its statement's and application's standing.
pub(super) fn standing_from_row(row: &impl RowAccess) -> StoreResult<ClientStanding> {
    Ok(ClientStanding {
        client: decode::client_from_row(row)?,
        statement_status: decode::status_of(row, "statement_status")?,
        statement_revoked_at: row.optional_integer("statement_revoked_at")?,
        application: decode::application_from_row(row, "app_")?,
    })
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.clients.insert(c).await
    }

    pub(super) async fn get_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        let query = Query::new(sql::SELECT_CLIENT).bind(id.to_string());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(decode::client_from_row)
            .transpose()
    }

    pub(super) async fn client_standing(
        &self,
        id: &ClientId,
    ) -> StoreResult<Option<ClientStanding>> {
        let query = Query::new(sql::SELECT_CLIENT_STANDING).bind(id.to_string());
        self.db
            .fetch_optional(query)
            .await?
            .as_ref()
            .map(standing_from_row)
            .transpose()
    }

    pub(super) async fn insert_client_within_quota(
        &self,
        client: &ClientRecord,
        quota: RegistrationQuota,
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin_write().await?;
        for (scope, id, limit) in [
            (
                "statement",
                client.statement_jti.to_string(),
                quota.per_statement,
            ),
            (
                "application",
                client.application_id.to_string(),
                quota.per_application,
            ),
        ] {
            // The row lock of the conditional upsert serialises concurrent
            // registrations on every node: the quota holds exactly.
            let count = Query::new(sql::COUNT_REGISTRATION_WITHIN_QUOTA)
                .bind(scope)
                .bind(id)
                .bind(quota.hour)
                .bind(limit.map_or(i64::MAX, i64::from));
            let within = match (tx.fetch_optional(count).await?, limit) {
                (None, _) => false,
                (Some(row), Some(limit)) => row.integer("n")? <= i64::from(limit),
                (Some(_), None) => true,
            };
            if !within {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let client = std::slice::from_ref(client);
        insert_client_rows(&mut tx, client).await?;
        count_registrations(&mut tx, client, false).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn list_clients(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>> {
        let query = Query::new(sql::LIST_CLIENTS).bind(app.to_string());
        list_page(&*self.db, query, page, standing_from_row).await
    }

    pub(super) async fn list_clients_newest(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientStanding>> {
        let query = Query::new(sql::LIST_CLIENTS_NEWEST).bind(app.to_string());
        list_page(&*self.db, query, page, standing_from_row).await
    }

    pub(super) async fn touch_client(&self, id: &ClientId, at: i64) -> StoreResult<()> {
        let touch = Query::new(sql::TOUCH_CLIENT).bind(at).bind(id.to_string());
        self.db.execute(touch).await.map(|_| ())
    }
}

/// The group-commit writer (see [`GroupCommit`](crate::GroupCommit)) on a backend.
pub(super) struct Writer<B: Backend> {
    db: Arc<B>,
    /// The connection of its own, once opened (when the backend has the writer use
    /// one: SQLite files).
    own: Option<B::Connection>,
}

impl<B: Backend> Writer<B> {
    pub(super) fn new(db: Arc<B>) -> Self {
        Self { db, own: None }
    }
}

impl<B: Backend> GroupWriter for Writer<B> {
    type Transaction<'a> = B::Tx<'a>;

    async fn begin(&mut self) -> StoreResult<B::Tx<'_>> {
        if self.own.is_none() {
            self.own = self.db.connect_own().await?;
        }
        match self.own.as_mut() {
            Some(connection) => B::begin_write_on(connection).await,
            None => self.db.begin_write().await,
        }
    }

    async fn insert(tx: &mut B::Tx<'_>, clients: &[ClientRecord]) -> StoreResult<()> {
        insert_client_rows(tx, clients).await
    }

    async fn commit(mut tx: B::Tx<'_>, group: &[ClientRecord]) -> StoreResult<()> {
        count_registrations(&mut tx, group, true).await?;
        tx.commit().await
    }

    fn sync(&self) -> Option<Syncer> {
        self.db.writer_sync()
    }

    fn reset(&mut self) {
        self.own = None;
    }
}

/// Inserts registrations with their audit events in `tx`. One multi-row statement per
/// table: a batch costs two round trips, not two per registration. The rollups are
/// [`count_registrations`]'s, once per transaction.
async fn insert_client_rows<T: Transaction>(
    tx: &mut T,
    clients: &[ClientRecord],
) -> StoreResult<()> {
    let mut rows = Vec::with_capacity(clients.len());
    for c in clients {
        let attestation = c
            .attestation
            .as_ref()
            .map(|v| serde_json::to_string(v).unwrap_or_default());
        rows.push((
            c,
            json_list(&c.redirect_uris)?,
            c.device_info.to_string(),
            attestation,
        ));
    }
    let mut insert = Query::build(
        "INSERT INTO clients (id, application_id, programmer_id, statement_jti, secret_hash, \
         redirect_uris, device_info, platform, user_agent, source_ip, status, created_at, \
         last_used_at, revoked_at, registration_token_hash, os_name, model, last_seen_at, \
         auth_method, jwk, jkt, dpop_seen_at, attestation) ",
    );
    insert.push_values(rows, |row, (c, redirect_uris, device_info, attestation)| {
        row.bind(c.id.to_string())
            .bind(c.application_id.to_string())
            .bind(c.programmer_id.as_str())
            .bind(c.statement_jti.to_string())
            .bind(&c.secret_hash)
            .bind(redirect_uris)
            .bind(device_info)
            .bind(&c.platform)
            .bind(&c.user_agent)
            .bind(&c.source_ip)
            .bind(c.status.as_str())
            .bind(c.created_at)
            .bind(c.last_used_at)
            .bind(c.revoked_at)
            .bind(&c.registration_token_hash)
            .bind(&c.os_name)
            .bind(&c.model)
            .bind(c.last_used_at.unwrap_or(c.created_at).max(c.created_at))
            .bind(c.auth_method.as_str())
            .bind(c.key.as_ref().map(|k| k.jwk.as_str()))
            .bind(c.key.as_ref().map(|k| k.jkt.as_str()))
            .bind(c.dpop_seen_at)
            .bind(attestation);
    });
    // The registrations' audit events commit with them, or neither does.
    let mut audit = Query::build(
        "INSERT INTO audit_events (at, actor, role, programmer_id, action, target_kind, \
         target_id, source_ip) ",
    );
    audit.push_values(clients, |row, c| {
        row.bind(c.created_at)
            .bind(format!("statement:{}", c.statement_jti))
            .bind("device")
            .bind(c.programmer_id.as_str())
            .bind(AuditAction::ClientRegistered.as_str())
            .bind("client")
            .bind(c.id.to_string())
            .bind(&c.source_ip);
    });
    tx.execute(insert).await?;
    tx.execute(audit).await?;
    Ok(())
}

/// Adds registrations to the rollups, aggregated over the batch: daily activity, the
/// standing-client breakdown, and (`count_hours`) the hourly registration counters,
/// which the quota path has counted already.
async fn count_registrations<T: Transaction>(
    tx: &mut T,
    clients: &[ClientRecord],
    count_hours: bool,
) -> StoreResult<()> {
    let mut daily: BTreeMap<(String, String, i64), i64> = BTreeMap::new();
    let mut hourly: BTreeMap<(&'static str, String, i64), i64> = BTreeMap::new();
    let mut groups: BTreeMap<(String, &'static str, String), i64> = BTreeMap::new();
    for c in clients {
        let (app, jti) = (c.application_id.to_string(), c.statement_jti.to_string());
        *daily
            .entry((app.clone(), jti.clone(), c.created_at.div_euclid(86_400)))
            .or_default() += 1;
        let hour = c.created_at.div_euclid(3_600);
        *hourly.entry(("statement", jti, hour)).or_default() += 1;
        *hourly
            .entry(("application", app.clone(), hour))
            .or_default() += 1;
        if c.status == Status::Active {
            for (dimension, value) in
                breakdown_values(&c.platform, c.os_name.as_deref(), c.model.as_deref())
            {
                *groups.entry((app.clone(), dimension, value)).or_default() += 1;
            }
        }
    }
    let mut up = Query::build(
        "INSERT INTO daily_activity (application_id, statement_jti, day, registrations, tokens) ",
    );
    up.push_values(daily, |row, ((app, jti, day), n)| {
        row.bind(app).bind(jti).bind(day).bind(n).bind(0_i64);
    });
    up.push(
        " ON CONFLICT (application_id, statement_jti, day) DO UPDATE SET \
         registrations = daily_activity.registrations + excluded.registrations",
    );
    tx.execute(up).await?;
    if count_hours {
        let mut up = Query::build("INSERT INTO registration_counts (scope, id, hour, n) ");
        up.push_values(hourly, |row, ((scope, id, hour), n)| {
            row.bind(scope).bind(id).bind(hour).bind(n);
        });
        up.push(
            " ON CONFLICT (scope, id, hour) DO UPDATE SET n = registration_counts.n + excluded.n",
        );
        tx.execute(up).await?;
    }
    let deltas: Vec<BreakdownDelta> = groups
        .into_iter()
        .map(|((a, d, v), n)| (a, d, v, n))
        .collect();
    adjust_breakdown(tx, &deltas).await
}

/// `(application, dimension, value, delta)`: a change to the standing-client breakdown.
pub(super) type BreakdownDelta = (String, &'static str, String, i64);

/// The breakdown keys of one client: its platform, OS and model.
fn breakdown_values(
    platform: &str,
    os_name: Option<&str>,
    model: Option<&str>,
) -> [(&'static str, String); 3] {
    let known = |v: Option<&str>| v.filter(|s| !s.is_empty()).unwrap_or("unknown").to_owned();
    [
        ("platform", platform.to_owned()),
        ("os", known(os_name)),
        ("model", known(model)),
    ]
}

/// Adds each delta to the standing-client breakdown.
pub(super) async fn adjust_breakdown<T: Transaction>(
    tx: &mut T,
    deltas: &[BreakdownDelta],
) -> StoreResult<()> {
    // Every writer locks breakdown rows in one order (key order), or a revocation
    // (platform, os, model) and a registration group (sorted) deadlock on PostgreSQL.
    let mut merged: BTreeMap<(&str, &'static str, &str), i64> = BTreeMap::new();
    for (app, dimension, value, n) in deltas {
        *merged.entry((app, dimension, value)).or_default() += n;
    }
    let deltas: Vec<_> = merged.into_iter().filter(|(_, n)| *n != 0).collect();
    for chunk in deltas.chunks(CHUNK) {
        let mut up = Query::build(
            "INSERT INTO client_breakdown (application_id, dimension, value, active) ",
        );
        up.push_values(chunk, |row, ((app, dimension, value), n)| {
            row.bind(*app).bind(*dimension).bind(*value).bind(*n);
        });
        up.push(
            " ON CONFLICT (application_id, dimension, value) DO UPDATE SET \
             active = client_breakdown.active + excluded.active",
        );
        tx.execute(up).await?;
    }
    Ok(())
}

/// The standing clients a `sql::STANDING_GROUPS_OF_*` query picks (`$1` = `key`),
/// grouped by breakdown key, negated: what revoking them takes away.
pub(super) async fn standing_groups<T: Transaction>(
    tx: &mut T,
    query: &'static str,
    key: String,
) -> StoreResult<Vec<BreakdownDelta>> {
    let rows = tx.fetch_all(Query::new(query).bind(key)).await?;
    lost_by_group(&rows)
}

/// Rows of a `sql::STANDING_GROUPS` query as negated breakdown counts.
pub(super) fn lost_by_group(rows: &[impl RowAccess]) -> StoreResult<Vec<BreakdownDelta>> {
    let mut out = Vec::new();
    for row in rows {
        let app = row.text("application_id")?;
        let platform = row.text("platform")?;
        let os = row.text("os")?;
        let model = row.text("model")?;
        let n = row.integer("n")?;
        for (dimension, value) in breakdown_values(&platform, Some(&os), Some(&model)) {
            out.push((app.clone(), dimension, value, -n));
        }
    }
    Ok(out)
}
