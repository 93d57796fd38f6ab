//! Layered configuration: defaults, then `dcr.toml`, then `DCR_*` environment variables
//! (`__` nests: `DCR_THROTTLE__CAPACITY`), then `*_FILE` variables for secrets, then
//! command-line flags (applied by the binary through [`Config::figment`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dcr_core::catalog::Catalog;
use dcr_core::service::PlatformPolicy;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

/// The effective configuration of `dcr serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://...`; defaults to `dcr.sqlite3` in the data dir.
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// `iss` of everything signed here and the base of discovery URLs. Defaults to
    /// `http://<listen address>`; set it to the public URL in production.
    pub issuer: Option<String>,
    /// Where error bodies' `helpUrl` point (`<base>#<code>`). Defaults to the error
    /// reference dcr serves itself, `<issuer>/docs/errors`.
    pub help_base_url: Option<String>,
    #[serde(serialize_with = "redact")]
    pub bootstrap_operator_key: Option<SecretString>,
    /// 32 bytes, base64. Defaults to a 0600 file created in the data dir.
    #[serde(serialize_with = "redact")]
    pub key_encryption_key: Option<SecretString>,
    pub platform_policy: PlatformPolicy,
    pub catalog: Catalog,
    pub token: TokenConfig,
    pub signing: SigningConfig,
    pub cors: CorsConfig,
    pub throttle: ThrottleConfig,
    pub log: LogConfig,
    pub limits: LimitsConfig,
    pub dashboard: DashboardConfig,
    pub lifecycle: LifecycleConfig,
    pub dpop: DpopConfig,
    pub attestation: AttestationConfig,
}

/// Platform attestation at registration (App Attest, Key Attestation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AttestationConfig {
    /// PEM file of App Attest roots, in place of the Apple App Attestation Root CA
    /// built into the binary.
    pub apple_roots: Option<PathBuf>,
    /// PEM file of Key Attestation roots, in place of Google's built into the binary.
    pub android_roots: Option<PathBuf>,
    /// Google's attestation status list (the JSON of
    /// https://android.googleapis.com/attestation/status), saved to a file; re-read
    /// every `android_status_refresh_seconds`. Chains holding a revoked certificate
    /// are refused.
    pub android_status: Option<PathBuf>,
    pub android_status_refresh_seconds: u64,
    /// For tests only: verify attestations at this RFC 3339 time instead of now
    /// (logged as a warning at start).
    pub verify_at: Option<String>,
}

impl Default for AttestationConfig {
    fn default() -> Self {
        Self {
            apple_roots: None,
            android_roots: None,
            android_status: None,
            android_status_refresh_seconds: 3_600,
            verify_at: None,
        }
    }
}

/// DPoP proofs (RFC 9449) at the token endpoints and forward auth.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DpopConfig {
    /// A proof is fresh for this long after its `iat`.
    pub max_age_seconds: i64,
    /// How far ahead a proof's `iat` may be (clock skew).
    pub max_future_seconds: i64,
    /// Whether the token endpoints require a server nonce (`use_dpop_nonce`, then the
    /// `DPoP-Nonce` header). Nonces are made and checked statelessly, valid on every
    /// node, for one to two minutes.
    pub require_nonce: bool,
    /// Proof `jti`s each node remembers for single use; past that, new proofs are
    /// refused with 503 until older ones expire.
    pub replay_capacity: usize,
}

impl Default for DpopConfig {
    fn default() -> Self {
        let d = dcr_core::service::binding::DpopSettings::default();
        Self {
            max_age_seconds: d.max_age_seconds,
            max_future_seconds: d.max_future_seconds,
            require_nonce: d.require_nonce,
            replay_capacity: d.replay_capacity,
        }
    }
}

/// Background lifecycle work.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleConfig {
    /// How often the inactivity sweep runs (one node at a time).
    pub sweep_interval_seconds: u64,
    /// How often registration spikes are looked for.
    pub spike_check_interval_seconds: u64,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            sweep_interval_seconds: 3_600,
            spike_check_interval_seconds: 60,
        }
    }
}

/// The server-rendered dashboard at `/dashboard`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DashboardConfig {
    pub enabled: bool,
    /// Marks the session cookie `Secure`. Browsers accept such cookies from
    /// `http://localhost`/`127.0.0.1`; elsewhere serve the dashboard over HTTPS.
    pub secure_cookies: bool,
    /// Sign-in attempts per client address: a burst of this many, then one per
    /// `60 / login_attempts_per_minute` seconds.
    pub login_attempts_per_minute: u32,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            secure_cookies: true,
            login_attempts_per_minute: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenConfig {
    pub ttl_seconds: u64,
    /// `aud` of tokens whose application lists no audiences; defaults to the issuer.
    pub default_audience: Option<String>,
}

/// How tokens and statements are signed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SigningConfig {
    /// `ES256` (default), `RS256` (RSA 2048) or `EdDSA` (Ed25519). Changing it is a
    /// rotation: the new key is published as `next` at start-up and signs after
    /// `dcr admin keys rotate`.
    pub algorithm: dcr_core::jose::SigningAlgorithm,
}

/// CORS on the public endpoints (registration, token, revocation, RFC 7592,
/// discovery, JWKS); never on admin routes or the dashboard.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// Origins allowed to call the public endpoints from a browser (`https://app.example`),
    /// or `*` for any. None by default.
    #[serde(deserialize_with = "comma_list")]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleConfig {
    pub enabled: bool,
    pub capacity: u32,
    pub refill_per_second: f64,
    /// CIDRs of reverse proxies whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "comma_list")]
    pub trusted_proxies: Vec<String>,
    /// Buckets kept in memory before idle (full) ones are pruned.
    pub max_tracked_keys: usize,
    /// IPv6 clients are keyed by this prefix (one host owns a whole /64). Also keys
    /// the dashboard's sign-in limiter and the limit on failed authentications.
    pub ipv6_prefix_length: u8,
    /// Per endpoint (`register`, `token`): exempt it, or give it a bucket of its own.
    pub endpoints: std::collections::BTreeMap<String, EndpointThrottle>,
}

/// Throttling of one endpoint. Without `capacity`/`refill_per_second` the endpoint
/// shares the device's one bucket with the other throttled endpoints (docs/api.md, Register and Throttling).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointThrottle {
    pub enabled: bool,
    pub capacity: Option<u32>,
    pub refill_per_second: Option<f64>,
}

impl Default for EndpointThrottle {
    fn default() -> Self {
        Self {
            enabled: true,
            capacity: None,
            refill_per_second: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `dcr_server=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Whole-request deadline, seconds.
    pub request_timeout_seconds: u64,
    /// Concurrent requests in flight before new ones wait.
    pub max_concurrent_requests: usize,
    /// Open connections before new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send its request headers (on a new connection: its first
    /// complete request head, whatever the protocol).
    pub header_read_timeout_seconds: u64,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Time a client has to send a request body once its head arrived (408 beyond).
    pub body_read_timeout_seconds: u64,
    /// Failed authentications (unknown API keys, resource-server keys, session cookies)
    /// an address may make: a burst of this many, then one per `60 / n` seconds.
    pub failed_auth_per_minute: u32,
    /// Largest request head (request line and headers).
    pub max_header_bytes: usize,
    /// On shutdown, how long in-flight requests may take to finish.
    pub shutdown_grace_seconds: u64,
    /// How long a bulk revocation or an inactivity sweep asked for over HTTP is awaited
    /// before the answer is `202 Accepted` and the work finishes in the background.
    /// Keep it below `request_timeout_seconds`.
    pub long_action_wait_seconds: u64,
    /// Access tokens revoked one by one (RFC 7009) each node keeps in memory (about
    /// 100 bytes each). Past that, verifying a token issued before the newest one not
    /// kept asks the store, until those expire (docs/operations.md).
    pub revoked_tokens_in_memory: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./dcr-data"),
            database_url: None,
            redis_url: None,
            issuer: None,
            help_base_url: None,
            bootstrap_operator_key: None,
            key_encryption_key: None,
            platform_policy: PlatformPolicy::Warn,
            catalog: Catalog::default(),
            token: TokenConfig::default(),
            dpop: DpopConfig::default(),
            attestation: AttestationConfig::default(),
            signing: SigningConfig::default(),
            cors: CorsConfig::default(),
            throttle: ThrottleConfig::default(),
            log: LogConfig::default(),
            limits: LimitsConfig::default(),
            dashboard: DashboardConfig::default(),
            lifecycle: LifecycleConfig::default(),
        }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            ttl_seconds: 21_600,
            default_audience: None,
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            capacity: 10,
            refill_per_second: 1.0,
            trusted_proxies: Vec::new(),
            max_tracked_keys: 100_000,
            ipv6_prefix_length: dcr_core::throttle::DEFAULT_IPV6_PREFIX,
            endpoints: Default::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            request_timeout_seconds: 30,
            max_concurrent_requests: 1024,
            max_connections: 10_000,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            body_read_timeout_seconds: 10,
            failed_auth_per_minute: 30,
            max_header_bytes: 32 * 1024,
            shutdown_grace_seconds: 10,
            long_action_wait_seconds: 20,
            revoked_tokens_in_memory: 200_000,
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // Not `#[from]`: the figment error would then print twice, as message and source.
    #[error("configuration: {0}")]
    Parse(Box<figment::Error>),
    #[error("cannot read {var} ({path}): {source}")]
    SecretFile {
        var: String,
        path: String,
        source: std::io::Error,
    },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, `config_file` (when it exists), `DCR_*` and `DCR_*_FILE` variables.
    /// Callers merge flags on top and call [`Config::from_figment`].
    pub fn figment(config_file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = config_file.map_or_else(|| PathBuf::from("dcr.toml"), Path::to_path_buf);
        if file.exists() {
            figment = figment.merge(Toml::file(&file));
        } else if config_file.is_some() {
            return Err(ConfigError::Invalid(format!(
                "config file {} does not exist",
                file.display()
            )));
        }
        figment = figment.merge(
            Env::prefixed("DCR_")
                .split("__")
                .filter(|k| !k.as_str().to_ascii_lowercase().ends_with("_file")),
        );
        for (var, value) in std::env::vars() {
            let Some(name) = var
                .strip_prefix("DCR_")
                .and_then(|v| v.strip_suffix("_FILE"))
            else {
                continue;
            };
            let secret =
                std::fs::read_to_string(&value).map_err(|source| ConfigError::SecretFile {
                    var: var.clone(),
                    path: value.clone(),
                    source,
                })?;
            let key = name.to_ascii_lowercase().replace("__", ".");
            figment = figment.merge(Serialized::global(&key, secret.trim_end().to_owned()));
        }
        Ok(figment)
    }

    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Environment and file only (tests and library users).
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(&Self::figment(None)?)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.token.ttl_seconds == 0 || self.token.ttl_seconds > 7 * 24 * 3600 {
            return bad("token.ttl_seconds must be between 1 and 604800");
        }
        if self.throttle.capacity == 0
            || self.throttle.refill_per_second.is_nan()
            || self.throttle.refill_per_second <= 0.0
        {
            return bad("throttle.capacity and throttle.refill_per_second must be positive");
        }
        if !(16..=128).contains(&self.throttle.ipv6_prefix_length) {
            return bad("throttle.ipv6_prefix_length must be between 16 and 128");
        }
        if let Err(e) = dcr_core::throttle::TrustedProxies::parse(&self.throttle.trusted_proxies) {
            return Err(ConfigError::Invalid(format!(
                "throttle.trusted_proxies: {e}"
            )));
        }
        for (name, e) in &self.throttle.endpoints {
            if !crate::throttle::ENDPOINTS.contains(&name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "throttle.endpoints.{name}: unknown endpoint (known: {})",
                    crate::throttle::ENDPOINTS.join(", ")
                )));
            }
            if e.capacity == Some(0) || e.refill_per_second.is_some_and(|r| r.is_nan() || r <= 0.0)
            {
                return bad("throttle endpoint capacity and refill must be positive");
            }
        }
        let l = &self.limits;
        if l.request_timeout_seconds == 0
            || l.max_concurrent_requests == 0
            || l.max_connections == 0
            || l.header_read_timeout_seconds == 0
            || l.idle_timeout_seconds == 0
            || l.body_read_timeout_seconds == 0
            || l.failed_auth_per_minute == 0
            || self.lifecycle.sweep_interval_seconds == 0
            || self.lifecycle.spike_check_interval_seconds == 0
            || l.max_header_bytes < 8192
        {
            return bad("limits must be positive");
        }
        if let Some(key) = &self.bootstrap_operator_key {
            use secrecy::ExposeSecret;
            let min = dcr_core::service::MIN_BOOTSTRAP_KEY_CHARS;
            if key.expose_secret().trim().len() < min {
                return Err(ConfigError::Invalid(format!(
                    "bootstrap_operator_key (DCR_BOOTSTRAP_OPERATOR_KEY) must be at least {min} \
                     characters; generate one with `openssl rand -hex 32`"
                )));
            }
        }
        if let Some(issuer) = &self.issuer
            && !(issuer.starts_with("https://") || issuer.starts_with("http://"))
        {
            return bad("issuer must be an http(s) URL");
        }
        if let Some(aud) = &self.token.default_audience
            && dcr_core::audience::Audience::parse(aud).is_err()
        {
            return bad("token.default_audience must be an absolute URI without a fragment");
        }
        for origin in &self.cors.allowed_origins {
            if origin != "*" && crate::cors::parse_origin(origin).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "cors.allowed_origins: {origin:?} is not an origin such as https://app.example"
                )));
            }
        }
        if self.catalog.platforms.is_empty() || self.catalog.scopes.is_empty() {
            return bad("catalog.platforms and catalog.scopes must not be empty");
        }
        Ok(())
    }

    /// Where the SQLite database lives when no URL is configured.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("dcr.sqlite3")
    }

    /// The configuration as `--print-config` shows it: secrets redacted.
    pub fn redacted_toml(&self) -> String {
        toml_like(&serde_json::to_value(self).unwrap_or_default(), "")
    }
}

fn redact<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("[redacted]"),
        None => s.serialize_none(),
    }
}

fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

fn toml_like(v: &serde_json::Value, prefix: &str) -> String {
    let mut flat = String::new();
    let mut tables = String::new();
    if let serde_json::Value::Object(map) = v {
        for (k, val) in map {
            match val {
                serde_json::Value::Object(_) => {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    tables.push_str(&format!("\n[{name}]\n{}", toml_like(val, &name)));
                }
                serde_json::Value::Null => flat.push_str(&format!("# {k} = (unset)\n")),
                other => flat.push_str(&format!("{k} = {other}\n")),
            }
        }
    }
    flat + &tables
}
