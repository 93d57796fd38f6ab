//! PostgreSQL implementation of [`dcr_core::Store`], for multi-node deployments.
//!
//! Commits are durable when they return (`synchronous_commit` as the server has it,
//! `on` by default; PostgreSQL groups concurrent commits itself). Migrations take
//! sqlx's advisory lock, so nodes starting together apply them once. Pool acquisition
//! times out after 1 s: while the database is down, requests fail fast with 503
//! instead of queueing.

mod rows;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use dcr_core::ids::{ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId};
use dcr_core::model::{
    ApiKeyRecord, Application, Channel, ClientRecord, ClientStanding, PageOf, PageRequest,
    Programmer, RevocationEntry, SigningKeyRecord, StatementRecord,
};
use dcr_core::store::{Store, StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row};

use rows::{
    api_key_from_row, application_from_row, channel_from_row, client_from_row, json_list,
    programmer_from_row, revocation_from_row, signing_key_from_row, statement_from_row, status_of,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`Store`] on one PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Registrations go through one writer task that commits them in groups.
    clients: dcr_store_rows::GroupCommit,
}

impl PgStore {
    /// Connects to `url` (`postgres://...`) and applies migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(1))
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

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
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

/// Clamps a page request and fetches one extra row to know whether a next page exists.
fn page_bounds(page: PageRequest) -> (i64, i64) {
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    (page.after.unwrap_or(0), i64::from(limit) + 1)
}

fn paginate<T>(
    rows: Vec<PgRow>,
    limit_plus_one: i64,
    decode: impl Fn(&PgRow) -> StoreResult<T>,
) -> StoreResult<PageOf<T>> {
    let limit = usize::try_from(limit_plus_one - 1).unwrap_or(0);
    let has_more = rows.len() > limit;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    let mut last_seq = None;
    for row in rows.iter().take(limit) {
        items.push(decode(row)?);
        last_seq = Some(row.try_get::<i64, _>("seq").map_err(map_err)?);
    }
    Ok(PageOf {
        items,
        next: if has_more { last_seq } else { None },
    })
}

const APP_COLUMNS: &str = "seq, id, programmer_id, name, version, level, channels, platforms, \
     scopes, domains, custom_scheme, status, created_at, revoked_at";
const API_KEY_COLUMNS: &str =
    "seq, id, key_hash, role, programmer_id, channel_id, name, created_at, revoked_at";
const CLIENT_COLUMNS: &str = "seq, id, application_id, programmer_id, statement_jti, secret_hash, \
     redirect_uris, device_info, platform, user_agent, status, created_at, last_used_at, revoked_at";

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn insert_programmer(&self, p: &Programmer) -> StoreResult<()> {
        sqlx::query("INSERT INTO programmers (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.created_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn get_programmer(&self, id: &ProgrammerId) -> StoreResult<Option<Programmer>> {
        sqlx::query("SELECT seq, id, name, created_at FROM programmers WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(programmer_from_row)
            .transpose()
    }

    async fn list_programmers(&self, page: PageRequest) -> StoreResult<PageOf<Programmer>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(
            "SELECT seq, id, name, created_at FROM programmers WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, programmer_from_row)
    }

    async fn insert_channel(&self, c: &Channel) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO channels (id, programmer_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(c.id.as_str())
        .bind(c.programmer_id.as_str())
        .bind(&c.name)
        .bind(c.created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn get_channel(&self, id: &ChannelId) -> StoreResult<Option<Channel>> {
        sqlx::query("SELECT seq, id, programmer_id, name, created_at FROM channels WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(channel_from_row)
            .transpose()
    }

    async fn list_channels(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Channel>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(
            "SELECT seq, id, programmer_id, name, created_at FROM channels \
             WHERE programmer_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(programmer.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, channel_from_row)
    }

    async fn insert_application(&self, a: &Application) -> StoreResult<()> {
        let channels: Vec<&str> = a.channels.iter().map(ChannelId::as_str).collect();
        sqlx::query(
            "INSERT INTO applications (id, programmer_id, name, version, level, channels, \
             platforms, scopes, domains, custom_scheme, status, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(a.id.to_string())
        .bind(a.programmer_id.as_str())
        .bind(&a.name)
        .bind(&a.version)
        .bind(a.level.as_str())
        .bind(json_list(&channels)?)
        .bind(json_list(&a.platforms)?)
        .bind(json_list(&a.scopes)?)
        .bind(json_list(&a.domains)?)
        .bind(&a.custom_scheme)
        .bind(a.status.as_str())
        .bind(a.created_at)
        .bind(a.revoked_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn get_application(&self, id: &ApplicationId) -> StoreResult<Option<Application>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(|r| application_from_row(r, ""))
        .transpose()
    }

    async fn list_applications(
        &self,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> StoreResult<PageOf<Application>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM applications \
             WHERE programmer_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        )))
        .bind(programmer.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, |r| application_from_row(r, ""))
    }

    async fn insert_statement(&self, s: &StatementRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO software_statements (jti, application_id, programmer_id, kid, issued_at, \
             status, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.jti.to_string())
        .bind(s.application_id.to_string())
        .bind(s.programmer_id.as_str())
        .bind(&s.kid)
        .bind(s.issued_at)
        .bind(s.status.as_str())
        .bind(s.revoked_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn get_statement(&self, jti: &StatementId) -> StoreResult<Option<StatementRecord>> {
        sqlx::query(
            "SELECT seq, jti, application_id, programmer_id, kid, issued_at, status, revoked_at \
             FROM software_statements WHERE jti = $1",
        )
        .bind(jti.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(statement_from_row)
        .transpose()
    }

    async fn list_statements(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<StatementRecord>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(
            "SELECT seq, jti, application_id, programmer_id, kid, issued_at, status, revoked_at \
             FROM software_statements WHERE application_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(app.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, statement_from_row)
    }

    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        self.clients.insert(c).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(client_from_row)
        .transpose()
    }

    async fn client_standing(&self, id: &ClientId) -> StoreResult<Option<ClientStanding>> {
        let row = sqlx::query(
            "SELECT c.seq, c.id, c.application_id, c.programmer_id, c.statement_jti, c.secret_hash, \
             c.redirect_uris, c.device_info, c.platform, c.user_agent, c.status, c.created_at, \
             c.last_used_at, c.revoked_at, s.status AS statement_status, \
             a.seq AS app_seq, a.id AS app_id, a.programmer_id AS app_programmer_id, \
             a.name AS app_name, a.version AS app_version, a.level AS app_level, \
             a.channels AS app_channels, a.platforms AS app_platforms, a.scopes AS app_scopes, \
             a.domains AS app_domains, a.custom_scheme AS app_custom_scheme, \
             a.status AS app_status, a.created_at AS app_created_at, \
             a.revoked_at AS app_revoked_at \
             FROM clients c \
             JOIN software_statements s ON s.jti = c.statement_jti \
             JOIN applications a ON a.id = c.application_id \
             WHERE c.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClientStanding {
            client: client_from_row(&row)?,
            statement_status: status_of(&row, "statement_status")?,
            application: application_from_row(&row, "app_")?,
        }))
    }

    async fn list_clients(
        &self,
        app: &ApplicationId,
        page: PageRequest,
    ) -> StoreResult<PageOf<ClientRecord>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients \
             WHERE application_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        )))
        .bind(app.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, client_from_row)
    }

    async fn touch_client(&self, id: &ClientId, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE clients SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn revoke_statement(
        &self,
        jti: &StatementId,
        at: i64,
    ) -> StoreResult<Option<StatementRecord>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed = sqlx::query(
            "UPDATE software_statements SET status = 'revoked', revoked_at = $1 \
             WHERE jti = $2 AND status = 'active'",
        )
        .bind(at)
        .bind(jti.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let row = sqlx::query(
            "SELECT seq, jti, application_id, programmer_id, kid, issued_at, status, revoked_at \
             FROM software_statements WHERE jti = $1",
        )
        .bind(jti.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let record = row.as_ref().map(statement_from_row).transpose()?;
        if let (1, Some(r)) = (changed, &record) {
            log_revocation(
                &mut tx,
                "statement",
                &r.jti.to_string(),
                r.programmer_id.as_str(),
                at,
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(record)
    }

    async fn revoke_application(
        &self,
        id: &ApplicationId,
        at: i64,
    ) -> StoreResult<Option<Application>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed = sqlx::query(
            "UPDATE applications SET status = 'revoked', revoked_at = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(at)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let record = row
            .as_ref()
            .map(|r| application_from_row(r, ""))
            .transpose()?;
        if let (1, Some(a)) = (changed, &record) {
            log_revocation(
                &mut tx,
                "application",
                &a.id.to_string(),
                a.programmer_id.as_str(),
                at,
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(record)
    }

    async fn revoke_client(&self, id: &ClientId, at: i64) -> StoreResult<Option<ClientRecord>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed = sqlx::query(
            "UPDATE clients SET status = 'revoked', revoked_at = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(at)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let record = row.as_ref().map(client_from_row).transpose()?;
        if let (1, Some(c)) = (changed, &record) {
            log_revocation(
                &mut tx,
                "client",
                &c.id.to_string(),
                c.programmer_id.as_str(),
                at,
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(record)
    }

    async fn insert_api_key(&self, k: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, key_hash, role, programmer_id, channel_id, name, \
             created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(k.id.to_string())
        .bind(&k.key_hash)
        .bind(k.role.as_str())
        .bind(k.programmer_id.as_ref().map(ProgrammerId::as_str))
        .bind(k.channel_id.as_ref().map(ChannelId::as_str))
        .bind(&k.name)
        .bind(k.created_at)
        .bind(k.revoked_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn find_api_key_by_hash(&self, hash: &[u8]) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
        )))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(api_key_from_row)
        .transpose()
    }

    async fn count_api_keys(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(api_key_from_row)
        .transpose()
    }

    async fn list_api_keys(
        &self,
        programmer: Option<&ProgrammerId>,
        page: PageRequest,
    ) -> StoreResult<PageOf<ApiKeyRecord>> {
        let (after, limit) = page_bounds(page);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys \
             WHERE ($1::text IS NULL OR programmer_id = $1) AND seq > $2 ORDER BY seq LIMIT $3"
        )))
        .bind(programmer.map(ProgrammerId::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        paginate(rows, limit, api_key_from_row)
    }

    async fn revoke_api_key(&self, id: &ApiKeyId, at: i64) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        self.get_api_key(id).await
    }

    async fn revocations_since(
        &self,
        after_seq: i64,
        not_before: i64,
        programmer: Option<&ProgrammerId>,
        limit: u32,
    ) -> StoreResult<Vec<RevocationEntry>> {
        let rows = sqlx::query(
            "SELECT seq, kind, target, programmer_id, revoked_at FROM revocations \
             WHERE seq > $1 AND revoked_at >= $2 AND ($3 IS NULL OR programmer_id = $3) \
             ORDER BY seq LIMIT $4",
        )
        .bind(after_seq)
        .bind(not_before)
        .bind(programmer.map(ProgrammerId::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(revocation_from_row).collect()
    }

    async fn channel_directory(
        &self,
        programmer: Option<&ProgrammerId>,
    ) -> StoreResult<Vec<(ChannelId, ProgrammerId)>> {
        let rows = sqlx::query(
            "SELECT seq, id, programmer_id, name, created_at FROM channels \
             WHERE ($1::text IS NULL OR programmer_id = $1) ORDER BY seq",
        )
        .bind(programmer.map(ProgrammerId::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| channel_from_row(r).map(|c| (c.id, c.programmer_id)))
            .collect()
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, alg, state, sealed_private_key, public_jwk, created_at, retired_at \
             FROM signing_keys ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(signing_key_from_row).collect()
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, state, sealed_private_key, public_jwk, \
             created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(k.state.as_str())
        .bind(&k.sealed_private_key)
        .bind(&k.public_jwk)
        .bind(k.created_at)
        .bind(k.retired_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn rotate_signing_keys(&self, new_next: &SigningKeyRecord, at: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let next: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE state = 'next'")
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        if next < 1 {
            return Err(StoreError::Conflict("rotation needs a next key".into()));
        }
        sqlx::query(
            "UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE state = 'active'",
        )
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // The oldest next key: the one verifiers have had longest.
        sqlx::query(
            "UPDATE signing_keys SET state = 'active' WHERE kid = \
             (SELECT kid FROM signing_keys WHERE state = 'next' ORDER BY seq LIMIT 1)",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, state, sealed_private_key, public_jwk, \
             created_at, retired_at) VALUES ($1, $2, 'next', $3, $4, $5, NULL)",
        )
        .bind(&new_next.kid)
        .bind(&new_next.alg)
        .bind(&new_next.sealed_private_key)
        .bind(&new_next.public_jwk)
        .bind(new_next.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

async fn log_revocation(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    kind: &str,
    target: &str,
    programmer: &str,
    at: i64,
) -> StoreResult<()> {
    // Serialises revocations (they are rare) so that log order is commit order.
    sqlx::query("UPDATE revocation_order SET n = n + 1")
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO revocations (kind, target, programmer_id, revoked_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind)
    .bind(target)
    .bind(programmer)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(map_err)
}

async fn insert_clients<'a>(
    pool: &PgPool,
    clients: impl Iterator<Item = &'a ClientRecord>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    for c in clients {
        sqlx::query(
            "INSERT INTO clients (id, application_id, programmer_id, statement_jti, secret_hash, \
             redirect_uris, device_info, platform, user_agent, status, created_at, last_used_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(c.id.to_string())
        .bind(c.application_id.to_string())
        .bind(c.programmer_id.as_str())
        .bind(c.statement_jti.to_string())
        .bind(&c.secret_hash)
        .bind(json_list(&c.redirect_uris)?)
        .bind(c.device_info.to_string())
        .bind(&c.platform)
        .bind(&c.user_agent)
        .bind(c.status.as_str())
        .bind(c.created_at)
        .bind(c.last_used_at)
        .bind(c.revoked_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    }
    tx.commit().await.map_err(map_err)
}
