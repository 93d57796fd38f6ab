//! The lifecycle of many clients at once and what the console reads about them: bulk
//! revocation and its preview, inactivity expiry, leases (one sweeper at a time),
//! spike alerts, and the activity and usage rollups.

use std::collections::BTreeMap;

use dcr_core::ids::{ApplicationId, StatementId};
use dcr_core::model::{ActivityRollup, ApplicationUsage, AuditEvent, ClientFilter, DayCount};
use dcr_core::store::{ClientUse, RevokedBatch, ScanCursor, StoreResult, TokenCount};

use super::revocations::revoke_clients_batch;
use super::{CHUNK, SqlStore, audit_insert, count, parsed};
use crate::backend::{Backend, Query, Transaction};
use crate::decode::RowAccess;
use crate::sql;

/// Appends ` WHERE ...` over `clients` for an application's active clients matching
/// `filter`.
fn push_client_filter(query: &mut Query, app: &ApplicationId, filter: &ClientFilter) {
    query
        .push(" WHERE application_id = ")
        .push_bind(app.to_string())
        .push(" AND status = 'active'");
    if let Some(jti) = &filter.statement {
        query
            .push(" AND statement_jti = ")
            .push_bind(jti.to_string());
    }
    if let Some(platform) = &filter.platform {
        query.push(" AND platform = ").push_bind(platform);
    }
    if let Some(after) = filter.registered_after {
        query.push(" AND created_at > ").push_bind(after);
    }
    if let Some(before) = filter.registered_before {
        query.push(" AND created_at < ").push_bind(before);
    }
}

/// Appends `$a, $b, ...)` for the ids: the rest of an `IN (` list.
fn push_ids(query: &mut Query, ids: &[ApplicationId]) {
    query
        .push_list(ids.iter().map(ToString::to_string))
        .push(")");
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn count_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<u64> {
        let mut query = Query::build("SELECT COUNT(*) AS n FROM clients");
        push_client_filter(&mut query, app, filter);
        match self.db.fetch_optional(query).await? {
            Some(row) => count(&row, "n"),
            None => Ok(0),
        }
    }

    pub(super) async fn revoke_matching_clients(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
        from: ScanCursor,
        at: i64,
        actor: &str,
        limit: u32,
    ) -> StoreResult<RevokedBatch> {
        let mut select = Query::build(format!("SELECT id, seq FROM {}", B::CLIENTS_IN_SEQ_ORDER));
        push_client_filter(&mut select, app, filter);
        select
            .push(" AND seq > ")
            .push_bind(from.0)
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit));
        let (revoked, picked, last_seq) =
            revoke_clients_batch(&*self.db, select, at, actor, "bulk").await?;
        Ok(RevokedBatch {
            revoked,
            next: (picked >= limit as usize).then_some(ScanCursor(last_seq)),
        })
    }

    pub(super) async fn expire_inactive_clients(
        &self,
        app: &ApplicationId,
        cutoff: i64,
        at: i64,
        limit: u32,
    ) -> StoreResult<u64> {
        // Expired clients leave the (application, status, last_seen_at) range, so
        // each batch starts at the first still standing: no cursor needed.
        let mut select = Query::build("SELECT id, seq FROM clients WHERE application_id = ");
        select
            .push_bind(app.to_string())
            .push(" AND status = 'active' AND last_seen_at < ")
            .push_bind(cutoff)
            .push(" ORDER BY last_seen_at LIMIT ")
            .push_bind(i64::from(limit));
        let (expired, _, _) =
            revoke_clients_batch(&*self.db, select, at, "system:inactivity", "inactivity").await?;
        Ok(expired)
    }

    pub(super) async fn applications_expiring_inactive(
        &self,
    ) -> StoreResult<Vec<(ApplicationId, u32)>> {
        let rows = self
            .db
            .fetch_all(Query::new(sql::APPLICATIONS_EXPIRING_INACTIVE))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = parsed(row, "id", ApplicationId::parse)?;
            let days = row.integer("expire_inactive_after_days")?;
            out.push((id, u32::try_from(days).unwrap_or(u32::MAX)));
        }
        Ok(out)
    }

    pub(super) async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let lease = Query::new(sql::TRY_LEASE)
            .bind(name)
            .bind(holder)
            .bind(until)
            .bind(now);
        Ok(self.db.fetch_optional(lease).await?.is_some())
    }

    pub(super) async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let release = Query::new(sql::RELEASE_LEASE).bind(name).bind(holder);
        self.db.execute(release).await.map(|_| ())
    }

    pub(super) async fn record_spike(
        &self,
        jti: &StatementId,
        day: i64,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin_write().await?;
        let record = Query::new(sql::RECORD_SPIKE)
            .bind(jti.to_string())
            .bind(day);
        let fresh = tx.execute(record).await? == 1;
        if fresh {
            tx.execute(audit_insert(event)).await?;
        }
        tx.commit().await?;
        Ok(fresh)
    }

    pub(super) async fn applications_registering(
        &self,
        hour: i64,
        more_than: u64,
    ) -> StoreResult<Vec<ApplicationId>> {
        let query = Query::new(sql::APPLICATIONS_REGISTERING)
            .bind(hour)
            .bind(i64::try_from(more_than).unwrap_or(i64::MAX));
        let rows = self.db.fetch_all(query).await?;
        rows.iter()
            .map(|r| parsed(r, "application_id", ApplicationId::parse))
            .collect()
    }

    pub(super) async fn activity(
        &self,
        app: &ApplicationId,
        since_day: i64,
    ) -> StoreResult<ActivityRollup> {
        let mut out = ActivityRollup::default();
        let daily = Query::new(sql::DAILY_ACTIVITY)
            .bind(app.to_string())
            .bind(since_day);
        for row in &self.db.fetch_all(daily).await? {
            out.daily.push((
                parsed(row, "statement_jti", StatementId::parse)?,
                DayCount {
                    day: row.integer("day")?,
                    registrations: count(row, "registrations")?,
                    tokens: count(row, "tokens")?,
                },
            ));
        }
        // The last 7 days and a bit, hour by hour, for spike detection.
        let since_hour =
            (since_day * 24).max(dcr_core::time::unix_now().div_euclid(3_600) - 8 * 24);
        let hourly = Query::new(sql::HOURLY_REGISTRATIONS)
            .bind(app.to_string())
            .bind(since_hour);
        for row in &self.db.fetch_all(hourly).await? {
            out.hourly_registrations.push((
                parsed(row, "id", StatementId::parse)?,
                row.integer("hour")?,
                count(row, "n")?,
            ));
        }
        let breakdown = Query::new(sql::CLIENT_BREAKDOWN).bind(app.to_string());
        for row in &self.db.fetch_all(breakdown).await? {
            out.breakdown.push((
                row.text("dimension")?,
                row.text("value")?,
                count(row, "active")?,
            ));
        }
        Ok(out)
    }

    pub(super) async fn add_tokens_issued(
        &self,
        counts: &[TokenCount],
        per_client: &[ClientUse],
    ) -> StoreResult<()> {
        if counts.is_empty() && per_client.is_empty() {
            return Ok(());
        }
        let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut per_app: BTreeMap<String, i64> = BTreeMap::new();
        for c in counts {
            *per_app.entry(c.application.to_string()).or_default() += tokens(c.tokens);
        }
        let mut tx = self.db.begin_write().await?;
        // Per client: one statement per chunk, joined on a VALUES list (SQLite and
        // PostgreSQL both name its columns column1, column2, ...). Last use only moves
        // forward: another node may flush an older time later.
        // Rows in id order: two nodes flushing at once lock them in the same order.
        let mut per_client: Vec<&ClientUse> = per_client.iter().collect();
        per_client.sort_by_key(|u| u.client);
        for chunk in per_client.chunks(CHUNK) {
            let mut update = Query::build(
                "UPDATE clients SET tokens_issued = tokens_issued + v.column2, \
                 last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < v.column3 \
                 THEN v.column3 ELSE last_used_at END, \
                 last_seen_at = CASE WHEN last_seen_at < v.column3 \
                 THEN v.column3 ELSE last_seen_at END, \
                 dpop_seen_at = CASE WHEN v.column4 IS NOT NULL AND (dpop_seen_at IS NULL \
                 OR dpop_seen_at < CAST(v.column4 AS BIGINT)) \
                 THEN CAST(v.column4 AS BIGINT) ELSE dpop_seen_at END FROM (",
            );
            update.push_values(chunk, |row, u| {
                row.bind(u.client.to_string())
                    .bind(tokens(u.tokens))
                    .bind(u.last_used_at)
                    .bind(u.dpop_at);
            });
            update.push(") AS v WHERE clients.id = v.column1");
            tx.execute(update).await?;
        }
        if counts.is_empty() {
            return tx.commit().await;
        }
        let mut usage =
            Query::build("INSERT INTO application_usage (application_id, tokens_issued) ");
        usage.push_values(per_app, |row, (app, n)| {
            row.bind(app).bind(n);
        });
        usage.push(
            " ON CONFLICT (application_id) \
             DO UPDATE SET tokens_issued = application_usage.tokens_issued + excluded.tokens_issued",
        );
        tx.execute(usage).await?;
        let mut daily = Query::build(
            "INSERT INTO daily_activity (application_id, statement_jti, day, registrations, tokens) ",
        );
        daily.push_values(counts, |row, c| {
            row.bind(c.application.to_string())
                .bind(c.statement.to_string())
                .bind(c.day)
                .bind(0_i64)
                .bind(tokens(c.tokens));
        });
        daily.push(
            " ON CONFLICT (application_id, statement_jti, day) \
             DO UPDATE SET tokens = daily_activity.tokens + excluded.tokens",
        );
        tx.execute(daily).await?;
        tx.commit().await
    }

    pub(super) async fn application_usage(
        &self,
        id: &ApplicationId,
    ) -> StoreResult<ApplicationUsage> {
        Ok(self
            .usage_of_applications(std::slice::from_ref(id))
            .await?
            .into_iter()
            .next()
            .map(|(_, usage)| usage)
            .unwrap_or_default())
    }

    pub(super) async fn usage_of_applications(
        &self,
        ids: &[ApplicationId],
    ) -> StoreResult<Vec<(ApplicationId, ApplicationUsage)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Totals and last activity from the clients; standing clients from the
        // breakdown kept current with every registration and revocation (summing
        // platforms counts each standing client once), so no join over millions.
        let mut totals = Query::build(
            "SELECT application_id, COUNT(*) AS clients, MAX(created_at) AS last_registration \
             FROM clients WHERE application_id IN (",
        );
        push_ids(&mut totals, ids);
        totals.push(" GROUP BY application_id");
        let mut standing = Query::build(
            "SELECT application_id, CAST(SUM(active) AS BIGINT) AS active FROM client_breakdown \
             WHERE dimension = 'platform' AND application_id IN (",
        );
        push_ids(&mut standing, ids);
        standing.push(" GROUP BY application_id");
        let mut issued = Query::build(
            "SELECT application_id, tokens_issued FROM application_usage WHERE application_id IN (",
        );
        push_ids(&mut issued, ids);
        let mut token_days = Query::build(
            "SELECT application_id, MAX(day) AS day FROM daily_activity \
             WHERE tokens > 0 AND application_id IN (",
        );
        push_ids(&mut token_days, ids);
        token_days.push(" GROUP BY application_id");

        let mut usage: BTreeMap<ApplicationId, ApplicationUsage> = BTreeMap::new();
        let app_of = |row: &B::Row| parsed(row, "application_id", ApplicationId::parse);
        for row in self.db.fetch_all(totals).await? {
            let entry = usage.entry(app_of(&row)?).or_default();
            entry.clients = count(&row, "clients")?;
            entry.last_registration = row.optional_integer("last_registration")?;
        }
        for row in self.db.fetch_all(standing).await? {
            usage.entry(app_of(&row)?).or_default().active_clients = count(&row, "active")?;
        }
        for row in self.db.fetch_all(issued).await? {
            usage.entry(app_of(&row)?).or_default().tokens_issued = count(&row, "tokens_issued")?;
        }
        for row in self.db.fetch_all(token_days).await? {
            usage.entry(app_of(&row)?).or_default().last_token_day = row.optional_integer("day")?;
        }
        Ok(usage.into_iter().collect())
    }

    pub(super) async fn activity_totals(
        &self,
        ids: &[ApplicationId],
        first_day: i64,
    ) -> StoreResult<Vec<(ApplicationId, u64, u64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = Query::build(
            "SELECT application_id, CAST(SUM(registrations) AS BIGINT) AS registrations, \
             CAST(SUM(tokens) AS BIGINT) AS tokens FROM daily_activity WHERE day >= ",
        );
        query.push_bind(first_day).push(" AND application_id IN (");
        push_ids(&mut query, ids);
        query.push(" GROUP BY application_id");
        let rows = self.db.fetch_all(query).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parsed(row, "application_id", ApplicationId::parse)?,
                    count(row, "registrations")?,
                    count(row, "tokens")?,
                ))
            })
            .collect()
    }

    pub(super) async fn clients_per_statement(
        &self,
        statements: &[StatementId],
    ) -> StoreResult<Vec<(StatementId, u64, u64)>> {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        // Answered from the (statement_jti, status) index alone.
        let mut query = Query::build(
            "SELECT statement_jti, status, COUNT(*) AS n FROM clients WHERE statement_jti IN (",
        );
        query
            .push_list(statements.iter().map(ToString::to_string))
            .push(") GROUP BY statement_jti, status");
        let mut counts: BTreeMap<StatementId, (u64, u64)> = BTreeMap::new();
        for row in &self.db.fetch_all(query).await? {
            let jti = parsed(row, "statement_jti", StatementId::parse)?;
            let n = count(row, "n")?;
            let entry = counts.entry(jti).or_default();
            entry.0 += n;
            if row.text("status")? == "active" {
                entry.1 += n;
            }
        }
        Ok(counts
            .into_iter()
            .map(|(jti, (all, active))| (jti, all, active))
            .collect())
    }

    pub(super) async fn clients_without_dpop(
        &self,
        app: &ApplicationId,
        since: i64,
    ) -> StoreResult<Vec<(String, u64)>> {
        let query = Query::new(sql::CLIENTS_WITHOUT_DPOP)
            .bind(app.to_string())
            .bind(since);
        let rows = self.db.fetch_all(query).await?;
        rows.iter()
            .map(|row| Ok((row.text("platform")?, count(row, "n")?)))
            .collect()
    }

    pub(super) async fn clients_by_binding(
        &self,
        app: &ApplicationId,
    ) -> StoreResult<Vec<(String, dcr_core::binding::AuthMethod, u64)>> {
        let query = Query::new(sql::CLIENTS_BY_BINDING).bind(app.to_string());
        let rows = self.db.fetch_all(query).await?;
        rows.iter()
            .map(|row| {
                let method = dcr_core::binding::AuthMethod::parse(&row.text("auth_method")?)
                    .ok_or_else(|| dcr_core::store::StoreError::Corrupt("auth_method".into()))?;
                Ok((row.text("platform")?, method, count(row, "n")?))
            })
            .collect()
    }

    pub(super) async fn matching_clients_by_platform(
        &self,
        app: &ApplicationId,
        filter: &ClientFilter,
    ) -> StoreResult<Vec<(String, u64)>> {
        let mut query = Query::build("SELECT platform, COUNT(*) AS n FROM clients");
        push_client_filter(&mut query, app, filter);
        query.push(" GROUP BY platform ORDER BY n DESC, platform");
        let rows = self.db.fetch_all(query).await?;
        rows.iter()
            .map(|row| Ok((row.text("platform")?, count(row, "n")?)))
            .collect()
    }
}
