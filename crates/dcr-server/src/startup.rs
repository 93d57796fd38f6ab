//! Building and running the server: `Application::build` opens the store, loads keys
//! and binds; `run_until` serves until the shutdown future resolves, then drains.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use dcr_core::crypto::KeyEncryptionKey;
use dcr_core::{Dcr, DcrSettings, Store};
use dcr_store_postgres::PgStore;
use dcr_store_sqlite::SqliteStore;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::routes;
use crate::state::AppState;
use crate::throttle::Throttle;

const KEK_FILE: &str = "key-encryption-key";
/// How often signing keys are re-read from the store.
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(30);
/// How often access tokens revoked on other nodes are read from the revocation log.
const REVOKED_TOKENS_SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// How often token counts per application are added to the store.
const TOKEN_COUNT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    edge: crate::edge::Edge,
    port: u16,
    dcr: Arc<Dcr>,
    store: Option<StoreHandle>,
    limits: crate::config::LimitsConfig,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let local = listener.local_addr()?;
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let (dcr, sqlite) = open(&config, &issuer).await?;
        watch_attestation_status(dcr.clone(), &config.attestation);
        if let Some(key) = &config.bootstrap_operator_key {
            let created = dcr
                .bootstrap_operator(key.expose_secret())
                .await
                .map_err(|e| anyhow::anyhow!("bootstrapping the operator key: {e}"))?;
            if created {
                tracing::info!("operator API key created from DCR_BOOTSTRAP_OPERATOR_KEY");
            } else {
                tracing::warn!(
                    "DCR_BOOTSTRAP_OPERATOR_KEY is set but the store already has API keys: it \
                     was ignored (it only seeds an empty store); unset it"
                );
            }
        }

        crate::metrics::install();
        report_contested_audiences(&dcr).await;
        let proxies = Arc::new(
            dcr_core::throttle::TrustedProxies::parse(&config.throttle.trusted_proxies)
                .map_err(anyhow::Error::msg)?,
        );
        let throttle = Throttle::from_config(
            &config.throttle,
            config.redis_url.as_deref(),
            proxies.clone(),
        )?;
        if let Some(t) = &throttle {
            t.start().await;
            // Full buckets carry no information: forget them once a minute.
            let weak = Arc::downgrade(t);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(60));
                loop {
                    every.tick().await;
                    let Some(t) = weak.upgrade() else { return };
                    t.prune();
                }
            });
        }
        // Key rotations made on another node, and retired keys leaving the JWKS.
        let weak = Arc::downgrade(&dcr);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(KEY_RELOAD_INTERVAL);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(dcr) = weak.upgrade() else { return };
                if let Err(e) = dcr.reload_keys().await {
                    tracing::warn!(error = %e, "reloading signing keys failed");
                }
            }
        });
        // What any node revokes (clients, statements, applications, access tokens)
        // reaches this one within a second.
        let weak = Arc::downgrade(&dcr);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(REVOKED_TOKENS_SYNC_INTERVAL);
            loop {
                every.tick().await;
                let Some(dcr) = weak.upgrade() else { return };
                if let Err(e) = dcr.sync_revocations().await {
                    tracing::debug!(error = %e, "reading the revocation log failed; will retry");
                }
            }
        });
        // The inactivity sweep (one node at a time, through a lease in the store) and
        // registration-spike detection.
        let weak = Arc::downgrade(&dcr);
        let sweep_every = Duration::from_secs(config.lifecycle.sweep_interval_seconds);
        let holder = format!("node:{}", uuid::Uuid::new_v4());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(sweep_every);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(dcr) = weak.upgrade() else { return };
                match dcr.sweep_inactive(&holder).await {
                    Ok(Some(n)) => {
                        crate::metrics::revocations("inactivity", n);
                        tracing::info!(expired = n, "inactivity sweep done");
                    }
                    Ok(None) => tracing::debug!("another node is sweeping"),
                    Err(e) => tracing::warn!(error = %e, "inactivity sweep failed; will retry"),
                }
            }
        });
        let weak = Arc::downgrade(&dcr);
        let spikes_every = Duration::from_secs(config.lifecycle.spike_check_interval_seconds);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(spikes_every);
            loop {
                every.tick().await;
                let Some(dcr) = weak.upgrade() else { return };
                match dcr.detect_spikes().await {
                    Ok(spiking) => {
                        for jti in spiking {
                            crate::metrics::registration_spike();
                            tracing::warn!(statement = %jti, "registration spike: the statement may have leaked");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "spike detection failed; will retry"),
                }
            }
        });
        // Token counts per application reach the store every few seconds.
        let weak = Arc::downgrade(&dcr);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TOKEN_COUNT_FLUSH_INTERVAL);
            loop {
                every.tick().await;
                let Some(dcr) = weak.upgrade() else { return };
                if let Err(e) = dcr.flush_token_counts().await {
                    tracing::warn!(error = %e, "storing token counts failed; will retry");
                }
            }
        });
        let shared_failures = match config.redis_url.as_deref() {
            Some(url) => {
                let redis = Arc::new(crate::redis_gcra::RedisGcra::new(url)?);
                redis.start().await;
                Some(redis)
            }
            None => None,
        };
        let failed_auth = Arc::new(crate::failed_auth::FailedAuthentications::with_redis(
            config.limits.failed_auth_per_minute,
            config.throttle.ipv6_prefix_length,
            shared_failures,
        ));
        let weak = Arc::downgrade(&failed_auth);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(f) = weak.upgrade() else { return };
                f.prune();
            }
        });
        let state = AppState {
            dcr: dcr.clone(),
            issuer: Arc::from(issuer.trim_end_matches('/')),
            throttle,
            proxies,
            failed_auth,
            long_action_wait: Duration::from_secs(config.limits.long_action_wait_seconds),
        };
        let help_base: Arc<str> = Arc::from(
            config
                .help_base_url
                .clone()
                .unwrap_or_else(|| dcr_proto::default_help_base(&issuer)),
        );
        let public_cors = crate::cors::layer(&config.cors.allowed_origins);
        let edge = crate::edge::Edge::new(
            routes::Routes::new(
                state,
                public_cors,
                Arc::new(routes::dashboard::Dashboard::new(
                    &config.dashboard,
                    config.throttle.ipv6_prefix_length,
                )),
            ),
            &config.limits,
            help_base,
        );
        tracing::info!(listen = %local, %issuer, "dcr is ready");
        Ok(Self {
            listener,
            edge,
            port: local.port(),
            dcr,
            store: sqlite,
            limits: config.limits.clone(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dcr(&self) -> &Arc<Dcr> {
        &self.dcr
    }

    /// The front door every request of this application comes in by.
    pub fn routes(&self) -> &routes::Routes {
        self.edge.routes()
    }

    /// The base URL clients use: the configured issuer.
    pub fn base_url(&self) -> String {
        self.dcr.settings().issuer.trim_end_matches('/').to_owned()
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains in-flight
    /// requests before closing the store.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        crate::serve::serve(self.listener, self.edge, &self.limits, shutdown).await;
        if let Err(e) = self.dcr.flush_token_counts().await {
            tracing::warn!(error = %e, "token counts since the last flush are lost");
        }
        if let Some(store) = self.store {
            store.close().await;
        }
        tracing::info!("dcr stopped");
        Ok(())
    }
}

/// The concrete store, kept to close it cleanly at shutdown.
#[derive(Clone)]
enum StoreHandle {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl StoreHandle {
    async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

/// Opens the configured store, applying migrations.
async fn open_store(config: &Config) -> anyhow::Result<(Arc<dyn Store>, Option<StoreHandle>)> {
    ensure_data_dir(&config.data_dir)?;
    if let Some(url) = config.database_url.as_deref()
        && (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        let pg = dcr_store_postgres::connect(url)
            .await
            .context("opening the PostgreSQL store")?;
        return Ok((Arc::new(pg.clone()), Some(StoreHandle::Postgres(pg))));
    }
    let sqlite = match config.database_url.as_deref() {
        None => dcr_store_sqlite::open(&config.sqlite_path())
            .await
            .with_context(|| {
                format!(
                    "opening the SQLite store at {}",
                    config.sqlite_path().display()
                )
            })?,
        Some(url) if url.starts_with("sqlite:") => dcr_store_sqlite::open_url(url)
            .await
            .context("opening the SQLite store")?,
        Some(_) => bail!("database_url must start with sqlite: or postgres://"),
    };
    Ok((Arc::new(sqlite.clone()), Some(StoreHandle::Sqlite(sqlite))))
}

async fn open(config: &Config, issuer: &str) -> anyhow::Result<(Arc<Dcr>, Option<StoreHandle>)> {
    ensure_data_dir(&config.data_dir)?;
    let kek = key_encryption_key(config)?;
    let (store, sqlite) = open_store(config).await?;
    let dcr = Dcr::open(
        store,
        &kek,
        DcrSettings {
            issuer: issuer.to_owned(),
            token_ttl_seconds: config.token.ttl_seconds,
            catalog: config.catalog.clone(),
            platform_policy: config.platform_policy,
            signing_algorithm: config.signing.algorithm,
            default_audience: config
                .token
                .default_audience
                .clone()
                .unwrap_or_else(|| issuer.to_owned()),
            revoked_tokens_in_memory: config.limits.revoked_tokens_in_memory,
            dpop: dcr_core::service::binding::DpopSettings {
                max_age_seconds: config.dpop.max_age_seconds.clamp(1, 3600),
                max_future_seconds: config.dpop.max_future_seconds.clamp(0, 300),
                require_nonce: config.dpop.require_nonce,
                replay_capacity: config.dpop.replay_capacity.max(1),
            },
            attestation: attestation_trust(&config.attestation)?,
        },
    )
    .await
    .context("loading signing keys")?;
    Ok((Arc::new(dcr), sqlite))
}

/// The roots and clock attestations are verified with: the vendors' roots built into
/// the binary unless files replace them.
fn attestation_trust(
    config: &crate::config::AttestationConfig,
) -> anyhow::Result<dcr_core::service::attestation::AttestationTrust> {
    let mut trust = dcr_core::service::attestation::AttestationTrust::default();
    let roots = |path: &std::path::Path| -> anyhow::Result<dcr_attest::TrustAnchors> {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading attestation roots {}", path.display()))?;
        dcr_attest::TrustAnchors::from_pem(&pem)
            .with_context(|| format!("attestation roots {}", path.display()))
    };
    if let Some(path) = &config.apple_roots {
        trust.apple = roots(path)?;
        tracing::warn!(path = %path.display(), "App Attest roots replaced from a file");
    }
    if let Some(path) = &config.android_roots {
        trust.android = roots(path)?;
        tracing::warn!(path = %path.display(), "Key Attestation roots replaced from a file");
    }
    if let Some(at) = &config.verify_at {
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .context("attestation.verify_at must be an RFC 3339 time")?;
        trust.verify_at = Some(at.unix_timestamp());
        tracing::warn!(
            verify_at = %at,
            "attestations are verified at a fixed time (attestation.verify_at): for tests only"
        );
    }
    Ok(trust)
}

/// Reads Google's attestation status list into the domain, now and then every
/// `android_status_refresh_seconds`; a list that cannot be read keeps the last one.
pub(crate) fn watch_attestation_status(dcr: Arc<Dcr>, config: &crate::config::AttestationConfig) {
    let Some(path) = config.android_status.clone() else {
        return;
    };
    let every = std::time::Duration::from_secs(config.android_status_refresh_seconds.max(60));
    let load = move |dcr: &Dcr| match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|json| {
            dcr_attest::RevokedSerials::from_google_status_json(&json).map_err(|e| e.to_string())
        }) {
        Ok(serials) => {
            tracing::info!(path = %path.display(), revoked = serials.len(), "attestation status list loaded");
            dcr.set_revoked_attestation_serials(serials);
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "attestation status list not loaded");
        }
    };
    load(&dcr);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            load(&dcr);
        }
    });
}

/// The domain on the configured store, for command-line tools (`dcr admin bootstrap`).
pub async fn open_domain(config: &Config) -> anyhow::Result<Arc<Dcr>> {
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    Ok(open(config, &issuer).await?.0)
}

/// `dcr migrate`: opening the store applies pending migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let (_, sqlite) = open_store(config).await?;
    if let Some(s) = sqlite {
        s.close().await;
    }
    Ok(())
}

fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// From configuration, or a 0600 file in the data dir (created on first start).
fn key_encryption_key(config: &Config) -> anyhow::Result<KeyEncryptionKey> {
    if let Some(text) = &config.key_encryption_key {
        return KeyEncryptionKey::from_base64(text.expose_secret())
            .context("DCR_KEY_ENCRYPTION_KEY must be 32 bytes, base64-encoded");
    }
    let path = config.data_dir.join(KEK_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => KeyEncryptionKey::from_base64(&text)
            .with_context(|| format!("{} must hold 32 bytes in base64", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let kek = KeyEncryptionKey::generate()?;
            write_private_file(&path, kek.to_base64().as_bytes())?;
            tracing::warn!(
                path = %path.display(),
                "generated a key-encryption key for development; set DCR_KEY_ENCRYPTION_KEY in production"
            );
            Ok(kek)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Audiences several programmers named before audiences had owners: they keep
/// working for each of them until an operator assigns an owner (`dcr admin audiences
/// assign`), and the operator hears of them at every start.
async fn report_contested_audiences(dcr: &Dcr) {
    match dcr.contested_audiences().await {
        Ok(page) if !page.items.is_empty() => {
            for a in &page.items {
                let claimants: Vec<&str> = a.claimants.iter().map(|p| p.as_str()).collect();
                tracing::warn!(
                    audience = %a.audience,
                    claimants = %claimants.join(","),
                    "audience named by several programmers: each of them can mint tokens for \
                     it until an operator assigns its owner (dcr admin audiences assign)"
                );
            }
            if page.next.is_some() {
                tracing::warn!("more contested audiences: dcr admin audiences list --contested");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not read contested audiences"),
    }
}
