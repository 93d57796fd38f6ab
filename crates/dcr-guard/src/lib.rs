//! Protect an API with dcr access tokens.
//!
//! [`Guard`] verifies bearer tokens locally — signature against the JWKS of the dcr
//! server (cached; refetched, at most every few seconds, when a token names an
//! unknown `kid`), expiry, `typ` — and refuses tokens whose client, software statement
//! or application has been revoked, using a revocation set it keeps current by
//! polling `GET /o/revocations` (every 2 s by default). The decision itself is
//! [`dcr_core::access`], the very code behind the server's `/o/auth/verify`, so the
//! two cannot disagree. Refusals use the enhanced-error body and the table of docs/errors.md.
//!
//! DPoP-bound tokens (RFC 9449) are admitted only with the `DPoP` scheme and a
//! fresh proof of the request signed by the key the token is bound to, each proof
//! once ([`GuardConfig::public_origin`] names the API's URL for the proofs' `htu`);
//! presented as bearer tokens they are refused.
//!
//! [`GuardLayer`] applies it to a router or route (a tower `Layer`), with the scope
//! the route needs and the path parameter naming its channel; handlers receive the
//! caller as a [`VerifiedClient`] extractor.
//!
//! # When the dcr server is unreachable
//!
//! Verification keeps working from the cached keys and revocation set while the last
//! successful feed poll is recent. Once it is older than
//! [`GuardConfig::max_staleness`] (15 s by default) every request is refused with
//! `503 temporarily_unavailable` until a poll succeeds: fail closed. The bound trades
//! availability against the revocation promise: with 2 s polls it rides out several
//! failed polls (a rolling restart of dcr) while a token revoked during an outage
//! can pass for at most 15 s, not for the hours a token lives.
//!
//! # Example
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use dcr_guard::{Guard, GuardConfig, GuardLayer, VerifiedClient};
//!
//! async fn configuration(client: VerifiedClient) -> String {
//!     format!("hello {} from {}", client.client_id, client.programmer)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::connect(GuardConfig::new("http://127.0.0.1:8080", "dcrak_resource_server_key")).await?;
//! let app: Router = Router::new()
//!     .route("/api/v2/{serviceProvider}/configuration", get(configuration))
//!     .route_layer(GuardLayer::new(guard).require_scope("api:client:v2").channel_param("serviceProvider"));
//! # Ok(()) }
//! ```

mod layer;
mod revocations;

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

pub use dcr_core::access::Presented;
use dcr_core::access::{
    Requirements, authorize, needs_programmer_channels, proven_possession, verify_token,
};
use dcr_core::error::AccessError;
use dcr_core::jose::{Verifier, access_token_kid};
use dcr_core::replay::{ProofKind, ReplayError};
use dcr_core::time::unix_now;
use dcr_proto::claims::AccessTokenClaims;
use dcr_proto::discovery::Jwks;
use secrecy::{ExposeSecret, SecretString};

pub use layer::{GuardLayer, GuardService, Rejection};
use revocations::RevocationSet;

/// How a [`Guard`] reaches its dcr server and how it behaves.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Base URL of the dcr server (`/.well-known/jwks.json` and `/o/revocations` are
    /// fetched from it).
    pub server_url: String,
    /// Expected `iss` of tokens; defaults to `server_url`.
    pub issuer: Option<String>,
    /// A resource-server API key (`POST /admin/v1/.../api-keys`, role `resource-server`).
    pub api_key: SecretString,
    /// How often the revocation feed is polled.
    pub poll_interval: Duration,
    /// After this long without a successful poll, every request is refused (503).
    pub max_staleness: Duration,
    /// Minimum time between two JWKS fetches caused by unknown `kid`s.
    pub jwks_refetch_interval: Duration,
    /// Timeout of each call to the dcr server.
    pub http_timeout: Duration,
    /// Verified tokens remembered, so a token presented again skips the signature check
    /// (expiry and revocation are still checked on every request).
    pub token_cache_capacity: usize,
    /// When set, every token's `aud` must contain this value (the API's own URI).
    pub audience: Option<String>,
    /// When set, only this programmer's tokens are admitted (`programmer` claim). A
    /// key made under a programmer admits only that programmer's tokens anyway; with a
    /// deployment-wide key this is what keeps other tenants out.
    pub programmer: Option<String>,
    /// Revocations kept in memory (about 100 bytes each). Past that a revocation is
    /// not kept, and every token issued at or before the newest one not kept is
    /// refused as possibly revoked until they expire: the SDKs renew such a token at
    /// once, and the new one is admitted. Memory stays bounded, nothing revoked passes.
    pub max_revocations: usize,
    /// The API's public origin (`https://api.example`): with the request's path, the
    /// URI a DPoP proof must name (`htu`). Unset, it is `X-Forwarded-Proto` (else
    /// `http`) and the `Host` header: set it behind a proxy that rewrites either.
    pub public_origin: Option<String>,
    /// A DPoP proof is fresh this long after its `iat`...
    pub dpop_max_age: Duration,
    /// ...and may claim an `iat` this far ahead (clock skew).
    pub dpop_max_future: Duration,
    /// DPoP proofs remembered for single use, at most (about 100 bytes each). Past
    /// that, new proofs are refused (503) until old ones expire: never accepted
    /// unchecked. Each guard remembers its own: several replicas each accept a
    /// copied proof once within its freshness window.
    pub dpop_replay_capacity: usize,
}

impl GuardConfig {
    pub fn new(server_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            server_url: server_url.into().trim_end_matches('/').to_owned(),
            issuer: None,
            api_key: SecretString::from(api_key.into()),
            poll_interval: Duration::from_secs(2),
            max_staleness: Duration::from_secs(15),
            jwks_refetch_interval: Duration::from_secs(5),
            http_timeout: Duration::from_secs(5),
            token_cache_capacity: 10_000,
            audience: None,
            programmer: None,
            max_revocations: 500_000,
            public_origin: None,
            dpop_max_age: Duration::from_secs(60),
            dpop_max_future: Duration::from_secs(5),
            dpop_replay_capacity: 100_000,
        }
    }

    /// The API's public origin, for DPoP proofs' `htu`.
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.public_origin = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// Admits only `programmer`'s tokens.
    pub fn programmer(mut self, programmer: impl Into<String>) -> Self {
        self.programmer = Some(programmer.into());
        self
    }

    /// Requires every token's `aud` to contain `audience`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

/// Why a guard could not start or sync.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cannot reach the dcr server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the dcr server answered {status} for {what}")]
    Status { what: &'static str, status: u16 },
}

/// The caller of a protected route, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClient {
    pub client_id: String,
    /// The registered application (`software_id`).
    pub application_id: String,
    pub programmer: String,
    /// The software statement the client registered with.
    pub statement_jti: String,
    pub scopes: Vec<String>,
    /// `Some` when the application is limited to these channels; `None` means all of
    /// the programmer's channels.
    pub channels: Option<Vec<String>>,
    /// Expiry of the token, Unix seconds.
    pub expires_at: i64,
}

impl VerifiedClient {
    fn from_claims(c: &AccessTokenClaims) -> Self {
        Self {
            client_id: c.client_id.clone(),
            application_id: c.software_id.clone(),
            programmer: c.programmer.clone(),
            statement_jti: c.sst.clone(),
            scopes: c
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            channels: c.channels.clone(),
            expires_at: c.exp,
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A verifier for dcr access tokens; cheap to clone.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    config: GuardConfig,
    issuer: String,
    /// The dcr server's error reference, where refusals' `helpUrl` point.
    help_base: Arc<str>,
    http: reqwest::Client,
    verifier: RwLock<Verifier>,
    /// When the JWKS was last fetched; `None` before the first fetch.
    last_jwks_fetch: tokio::sync::Mutex<Option<Instant>>,
    revocations: RwLock<RevocationSet>,
    tokens: dcr_core::token_cache::TokenCache,
    /// DPoP proofs already used here.
    proofs: dcr_core::replay::SeenJtis,
}

impl Guard {
    /// Fetches the JWKS and the whole revocation feed, then keeps the feed current in
    /// the background for as long as a clone of this guard is alive.
    pub async fn connect(config: GuardConfig) -> Result<Self, GuardError> {
        let guard = Self::offline(config)?;
        *guard.inner.last_jwks_fetch.lock().await = Some(Instant::now());
        guard.refresh_jwks().await?;
        guard.sync().await?;
        metrics::describe_gauge!(
            "dcr_guard_revocation_feed_lag_seconds",
            metrics::Unit::Seconds,
            "Time since this guard last read the dcr revocation feed"
        );
        let weak = Arc::downgrade(&guard.inner);
        tokio::spawn(poll(weak, guard.inner.config.poll_interval));
        Ok(guard)
    }

    /// A guard that does not poll: keys and revocations are given, and fed later with
    /// [`Guard::apply_feed`]. For tests, benchmarks and verifiers that get the feed by
    /// other means. It still refetches the JWKS from `server_url` on an unknown `kid`,
    /// and still fails closed once `max_staleness` passes without a feed page.
    pub fn with_keys(
        config: GuardConfig,
        jwks: &[dcr_proto::discovery::PublicJwk],
        feed: dcr_proto::resource::RevocationFeed,
    ) -> Result<Self, GuardError> {
        let guard = Self::offline(config)?;
        *write(&guard.inner.verifier) = Verifier::from_jwks(guard.inner.issuer.clone(), jwks);
        guard.apply_feed(feed);
        Ok(guard)
    }

    /// Applies one page of the revocation feed (what the poller does).
    pub fn apply_feed(&self, feed: dcr_proto::resource::RevocationFeed) {
        write(&self.inner.revocations).apply(feed);
    }

    fn offline(config: GuardConfig) -> Result<Self, GuardError> {
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| config.server_url.clone());
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .build()?;
        let capacity = config.token_cache_capacity;
        Ok(Self {
            inner: Arc::new(Inner {
                verifier: RwLock::new(Verifier::from_jwks(issuer.clone(), &[])),
                issuer,
                help_base: Arc::from(dcr_proto::default_help_base(&config.server_url)),
                http,
                last_jwks_fetch: tokio::sync::Mutex::new(None),
                revocations: RwLock::new(RevocationSet::new(config.max_revocations)),
                tokens: dcr_core::token_cache::TokenCache::new(capacity),
                proofs: dcr_core::replay::SeenJtis::new(config.dpop_replay_capacity),
                config,
            }),
        })
    }

    pub(crate) fn help_base(&self) -> Arc<str> {
        self.inner.help_base.clone()
    }

    /// Verifies a bearer `token` for a route needing `required_scope` and naming
    /// `channel`. A DPoP-bound token is refused here: see [`Self::verify_presented`].
    pub async fn verify(
        &self,
        token: &str,
        required_scope: Option<&str>,
        channel: Option<&str>,
    ) -> Result<VerifiedClient, AccessError> {
        self.verify_presented(Presented::Bearer(token), required_scope, channel)
            .await
    }

    /// Verifies a token as it was presented: a bearer token, or a DPoP-bound token
    /// with a proof of the request (RFC 9449 7: method, URI, `ath`, fresh, signed by
    /// the key the token is bound to, used once on this guard).
    pub async fn verify_presented(
        &self,
        presented: Presented<'_>,
        required_scope: Option<&str>,
        channel: Option<&str>,
    ) -> Result<VerifiedClient, AccessError> {
        let token = presented.token();
        let now = unix_now();
        let claims = match self.inner.tokens.get(token, now) {
            Some(claims) => claims,
            None => {
                self.refresh_jwks_for(token).await;
                let verifier = read(&self.inner.verifier).clone();
                let claims = Arc::new(verify_token(&verifier, token, now)?);
                self.inner.tokens.insert(token, claims.clone());
                claims
            }
        };
        let config = &self.inner.config;
        let freshness = dcr_core::pop::Freshness {
            max_age: i64::try_from(config.dpop_max_age.as_secs()).unwrap_or(i64::MAX),
            max_future: i64::try_from(config.dpop_max_future.as_secs()).unwrap_or(i64::MAX),
        };
        if let Some(spend) = proven_possession(&claims, &presented, now, freshness)? {
            self.inner
                .proofs
                .first_use(ProofKind::Dpop, &spend.jti, spend.until, now)
                .map_err(|e| match e {
                    ReplayError::Replayed => {
                        AccessError::InvalidDpopProof("the DPoP proof was used already".into())
                    }
                    other => AccessError::Unavailable(dcr_core::StoreError::Unavailable(
                        other.to_string(),
                    )),
                })?;
        }
        self.decide(&claims, required_scope, channel)?;
        Ok(VerifiedClient::from_claims(&claims))
    }

    /// The URI a DPoP proof names for a request to `path` with these headers.
    pub(crate) fn request_uri(&self, path: &str, headers: &axum::http::HeaderMap) -> String {
        match &self.inner.config.public_origin {
            Some(origin) => format!("{origin}{path}"),
            None => {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let proto = header("x-forwarded-proto").unwrap_or("http");
                let host = header("host").unwrap_or_default();
                format!("{proto}://{host}{path}")
            }
        }
    }

    /// The synchronous part of the decision: staleness, revocation, channel, scope.
    fn decide(
        &self,
        claims: &AccessTokenClaims,
        required_scope: Option<&str>,
        channel: Option<&str>,
    ) -> Result<(), AccessError> {
        let set = read(&self.inner.revocations);
        if set
            .age()
            .is_none_or(|age| age > self.inner.config.max_staleness)
        {
            return Err(AccessError::Unavailable(dcr_core::StoreError::Unavailable(
                "the revocation feed is stale".into(),
            )));
        }
        // A key limited to one programmer hears only that programmer's revocations:
        // every other programmer's token must be refused. A programmer configured
        // here pins the tenant with any key (and a key of another programmer then
        // admits no one).
        let pinned = self.inner.config.programmer.as_deref();
        if let (Some(pinned), Some(keys)) = (pinned, set.programmer())
            && pinned != keys
        {
            return Err(AccessError::OtherProgrammer);
        }
        let required = Requirements {
            scope: required_scope,
            channel,
            audience: self.inner.config.audience.as_deref(),
            programmer: pinned.or(set.programmer()),
        };
        let has_channel = needs_programmer_channels(claims, &required)
            && channel.is_some_and(|c| set.programmer_has_channel(&claims.programmer, c));
        authorize(claims, !set.revokes(claims), &required, has_channel)
    }

    /// Time since the revocation feed was last read successfully (`None` before the
    /// first read). Also exported as the `dcr_guard_revocation_feed_lag_seconds` gauge
    /// when the application installs a `metrics` recorder.
    pub fn feed_lag(&self) -> Option<Duration> {
        read(&self.inner.revocations).age()
    }

    /// Polls the revocation feed once (the background task does this on its own).
    pub async fn sync(&self) -> Result<(), GuardError> {
        sync_feed(&self.inner).await
    }

    async fn refresh_jwks_for(&self, token: &str) {
        let Some(kid) = access_token_kid(token) else {
            return;
        };
        if read(&self.inner.verifier).knows_kid(&kid) {
            return;
        }
        let mut last = self.inner.last_jwks_fetch.lock().await;
        // Another task may have fetched while this one waited for the lock.
        if read(&self.inner.verifier).knows_kid(&kid)
            || last.is_some_and(|t| t.elapsed() < self.inner.config.jwks_refetch_interval)
        {
            return;
        }
        *last = Some(Instant::now());
        drop(last);
        if let Err(e) = self.refresh_jwks().await {
            tracing::warn!(error = %e, "JWKS refetch failed");
        }
    }

    async fn refresh_jwks(&self) -> Result<(), GuardError> {
        let url = format!("{}/.well-known/jwks.json", self.inner.config.server_url);
        let response = self.inner.http.get(url).send().await?;
        if !response.status().is_success() {
            return Err(GuardError::Status {
                what: "the JWKS",
                status: response.status().as_u16(),
            });
        }
        let jwks: Jwks = response.json().await?;
        let verifier = Verifier::from_jwks(self.inner.issuer.clone(), &jwks.keys);
        *write(&self.inner.verifier) = verifier;
        Ok(())
    }
}

async fn sync_feed(inner: &Inner) -> Result<(), GuardError> {
    loop {
        let cursor = read(&inner.revocations).cursor();
        let url = format!("{}/o/revocations?since={cursor}", inner.config.server_url);
        let response = inner
            .http
            .get(url)
            .bearer_auth(inner.config.api_key.expose_secret())
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(GuardError::Status {
                what: "the revocation feed",
                status: response.status().as_u16(),
            });
        }
        let page: dcr_proto::resource::RevocationFeed = response.json().await?;
        let more = page.has_more;
        write(&inner.revocations).apply(page);
        if !more {
            return Ok(());
        }
    }
}

async fn poll(inner: Weak<Inner>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = sync_feed(&inner).await {
            tracing::warn!(error = %e, "revocation feed poll failed");
        }
        if let Some(age) = read(&inner.revocations).age() {
            metrics::gauge!("dcr_guard_revocation_feed_lag_seconds").set(age.as_secs_f64());
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
