//! Use cases: what the HTTP layer calls. Each file is one feature.

mod access;
mod admin;
pub mod attestation;
mod audiences;
pub mod binding;
mod client_management;
mod console;
mod feed;
mod lifecycle;
mod principal;
mod register;
mod standing;
mod token;
mod users;

use crate::model::AuditAction;
use std::sync::{Arc, RwLock};

pub use crate::access::Presented;
pub use access::{VerifiedAccess, VerifiedToken};
pub use admin::{MIN_BOOTSTRAP_KEY_CHARS, NewApplication, Revocable};
pub use client_management::RegistrationAccessError;
pub use console::{ApplicationSummary, StatementSummary, Totals};
pub use feed::{FEED_PAGE, RevocationFeed};
pub use lifecycle::{
    Activity, BindingShare, LIFECYCLE_BATCH, MAX_ACTIVITY_DAYS, PolicyChange, PolicyImpact,
    RotatedStatement, StatementActivity,
};
pub use principal::{Actor, Principal};
pub use register::{AttestationHeaders, Registered, RegistrationRequest};
pub use token::{ClientCredentials, IssuedToken, TokenRequest};
pub use users::{
    ApplicationOverview, AuditQuery, DashboardSession, NewUser, SESSION_TTL_SECONDS, UserAccess,
};

use crate::catalog::Catalog;
use crate::crypto::KeyEncryptionKey;
use crate::error::AdminError;
use crate::jose::{self, JoseError, KeyRing, LoadedKey, SigningAlgorithm};
use crate::model::{KeyState, SigningKeyRecord};
use crate::secrets::SecretHasher;
use crate::store::{Store, StoreError};
use crate::time::unix_now;

/// What to do when a device's derived platform is not among its application's
/// platforms (docs/api.md, X-Device-Info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformPolicy {
    Off,
    #[default]
    Warn,
    Enforce,
}

/// Settings of the domain, from the server configuration.
#[derive(Debug, Clone)]
pub struct DcrSettings {
    /// `iss` of everything we sign, exactly as configured.
    pub issuer: String,
    pub token_ttl_seconds: u64,
    pub catalog: Catalog,
    pub platform_policy: PlatformPolicy,
    /// What new keys are made with. Changing it is a rotation: a key of the new
    /// algorithm is published as `next` at start-up and signs after the next rotation.
    pub signing_algorithm: SigningAlgorithm,
    /// `aud` of tokens whose application names no audiences (RFC 9068 2.2 makes it
    /// required); the issuer unless configured.
    pub default_audience: String,
    /// Access tokens revoked one by one (RFC 7009) kept in memory; past that the
    /// store answers for tokens issued before the newest one not kept.
    pub revoked_tokens_in_memory: usize,
    /// How DPoP proofs are judged (and client assertions and attestation PoPs kept
    /// for single use).
    pub dpop: binding::DpopSettings,
    /// Roots and clock for platform attestations at registration.
    pub attestation: attestation::AttestationTrust,
}

/// Why the domain could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {reason}")]
    Key { kid: String, reason: String },
    #[error("could not generate a signing key: {0}")]
    Generate(JoseError),
}

/// The dcr domain, shared by every request.
pub struct Dcr {
    store: Arc<dyn Store>,
    keys: RwLock<KeyRing>,
    kek: KeyEncryptionKey,
    hasher: SecretHasher,
    settings: DcrSettings,
    standings: standing::StandingCache,
    /// Access tokens whose signature was verified (expiry and standing are still
    /// checked on every use).
    tokens: crate::token_cache::TokenCache<VerifiedToken>,
    /// Software statements whose signature was verified (every install of an app sends
    /// the same bytes).
    statements: crate::token_cache::TokenCache<dcr_proto::claims::StatementClaims>,
    /// Statement and application records for registration, like `standings`.
    approvals: standing::ApprovalCache,
    /// API keys by hash, like `standings`; cleared when a key is revoked.
    api_keys: standing::ApiKeyCache,
    /// (programmer, channel) pairs known to exist.
    known_channels: std::sync::Mutex<
        std::collections::HashSet<(crate::ids::ProgrammerId, crate::ids::ChannelId)>,
    >,
    /// Access tokens revoked one by one (RFC 7009).
    revoked_tokens: client_management::RevokedTokens,
    /// `jti`s of proofs of possession, each accepted once (`binding.rs`).
    seen_jtis: crate::replay::SeenJtis,
    /// Key Attestation certificates Google has revoked (its status list).
    revoked_attestation_serials: RwLock<dcr_attest::RevokedSerials>,
    /// Tokens issued since the last flush to the store: a counter write per token
    /// would cost the hot path a transaction.
    tokens_issued: std::sync::Mutex<TokenTally>,
    /// Held by a flush from taking the tally until it is stored: a second flush (the
    /// timer's, the sweep's, the one at shutdown) waits for it instead of finding the
    /// tally empty and returning while the counts are still on their way.
    flushing: tokio::sync::Mutex<()>,
    clock: crate::time::Clock,
}

/// What tokens are counted by: application, statement, day.
type TokenKey = (crate::ids::ApplicationId, crate::ids::StatementId, i64);

/// Unflushed token counts: per application, statement and day (the activity charts),
/// and per client (the client page).
#[derive(Default)]
struct TokenTally {
    per_day: std::collections::HashMap<TokenKey, u64>,
    /// Tokens and the latest issue time per client: flushed as its use, so the token
    /// path writes nothing of its own.
    per_client: std::collections::HashMap<crate::ids::ClientId, ClientTally>,
}

/// One client's use since the last flush.
#[derive(Debug, Clone, Copy)]
struct ClientTally {
    tokens: u64,
    last_at: i64,
    /// Latest token it got with a DPoP proof.
    dpop_at: Option<i64>,
}

impl TokenTally {
    fn add_day(&mut self, key: TokenKey, tokens: u64) {
        *self.per_day.entry(key).or_insert(0) += tokens;
    }

    fn add_client_use(&mut self, client: crate::ids::ClientId, use_: ClientTally) {
        let used = self.per_client.entry(client).or_insert(ClientTally {
            tokens: 0,
            last_at: use_.last_at,
            dpop_at: None,
        });
        used.tokens += use_.tokens;
        used.last_at = used.last_at.max(use_.last_at);
        used.dpop_at = used.dpop_at.max(use_.dpop_at);
    }
}

/// Clients per transaction when token counts are flushed (see
/// [`Dcr::flush_token_counts`]).
const FLUSH_CHUNK: usize = 200;
/// The longest rest between two chunks of a flush (see [`Dcr::flush_token_counts`]).
const MAX_FLUSH_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

impl Dcr {
    /// Loads (or, on first start, generates and stores) the signing keys.
    pub async fn open(
        store: Arc<dyn Store>,
        kek: &KeyEncryptionKey,
        settings: DcrSettings,
    ) -> Result<Self, OpenError> {
        let keys = load_key_ring(store.as_ref(), kek, &settings).await?;
        let revoked_tokens =
            client_management::RevokedTokens::new(settings.revoked_tokens_in_memory);
        let seen_jtis = crate::replay::SeenJtis::new(settings.dpop.replay_capacity);
        Ok(Self {
            store,
            keys: RwLock::new(keys),
            kek: kek.clone(),
            hasher: SecretHasher::new(kek.derive_pepper()),
            settings,
            standings: standing::TtlCache::new(standing::STANDING_TTL),
            // About 1.7 KB a token with its rendered verify answer (measured): at most
            // ~85 MB, what 100,000 tokens cost before the answer was kept.
            tokens: crate::token_cache::TokenCache::new(50_000),
            statements: crate::token_cache::TokenCache::new(10_000),
            approvals: standing::TtlCache::new(standing::APPROVAL_TTL),
            api_keys: standing::TtlCache::new(standing::APPROVAL_TTL),
            known_channels: Default::default(),
            revoked_tokens,
            seen_jtis,
            revoked_attestation_serials: Default::default(),
            tokens_issued: Default::default(),
            flushing: tokio::sync::Mutex::new(()),
            clock: Default::default(),
        })
    }

    pub fn settings(&self) -> &DcrSettings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A snapshot of the key ring (cheap: reference-counted inside).
    pub fn keys(&self) -> KeyRing {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn hasher(&self) -> &SecretHasher {
        &self.hasher
    }

    /// The lifecycle's clock (tests move it forward).
    pub fn clock(&self) -> &crate::time::Clock {
        &self.clock
    }

    /// The unflushed token counts (a panic elsewhere cannot leave them inconsistent:
    /// each update is one addition).
    fn token_counts(&self) -> std::sync::MutexGuard<'_, TokenTally> {
        self.tokens_issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn count_token(
        &self,
        app: crate::ids::ApplicationId,
        statement: crate::ids::StatementId,
        client: crate::ids::ClientId,
        bound: bool,
    ) {
        let now = self.clock.now();
        let day = now.div_euclid(86_400);
        let mut tally = self.token_counts();
        tally.add_day((app, statement, day), 1);
        tally.add_client_use(
            client,
            ClientTally {
                tokens: 1,
                last_at: now,
                dpop_at: bound.then_some(now),
            },
        );
    }

    /// Adds the tokens counted since the last flush to the store (run on a timer and
    /// at shutdown), in transactions of [`FLUSH_CHUNK`] clients: each holds the write
    /// lock briefly, so registrations waiting for it are not stalled behind one
    /// transaction over every busy client (at 2,000 tokens/s over a million clients
    /// that was ~5,000 rows, and registrations' p99 reached 345 ms), with a rest as
    /// long as the chunk took (at most [`MAX_FLUSH_PAUSE`]) between two. What fails is kept
    /// for the next attempt; what committed is not counted twice.
    ///
    /// One flush at a time: the sweep expires what was not used by the time its flush
    /// returns, and shutdown closes the store after its own, so neither may return
    /// while another flush still holds counts. Clients go in id order, the same on
    /// every node, so two nodes' flushes of the same clients on PostgreSQL lock their
    /// rows in one order instead of deadlocking.
    pub async fn flush_token_counts(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock().await;
        let taken = std::mem::take(&mut *self.token_counts());
        let per_day: Vec<crate::store::TokenCount> = taken
            .per_day
            .iter()
            .map(
                |(&(application, statement, day), &tokens)| crate::store::TokenCount {
                    application,
                    statement,
                    day,
                    tokens,
                },
            )
            .collect();
        let mut per_client: Vec<crate::store::ClientUse> = taken
            .per_client
            .iter()
            .map(|(id, used)| crate::store::ClientUse {
                client: *id,
                tokens: used.tokens,
                last_used_at: used.last_at,
                dpop_at: used.dpop_at,
            })
            .collect();
        per_client.sort_unstable_by_key(|u| u.client);
        if per_day.is_empty() && per_client.is_empty() {
            return Ok(());
        }
        // The daily and per-application counts go with the first transaction; `rest`
        // is always what has not been committed.
        let mut daily = per_day.as_slice();
        let mut rest = per_client.as_slice();
        loop {
            let (batch, after) = rest.split_at(rest.len().min(FLUSH_CHUNK));
            let started = std::time::Instant::now();
            if let Err(e) = self.store.add_tokens_issued(daily, batch).await {
                let mut tally = self.token_counts();
                for c in daily {
                    tally.add_day((c.application, c.statement, c.day), c.tokens);
                }
                for u in rest {
                    tally.add_client_use(
                        u.client,
                        ClientTally {
                            tokens: u.tokens,
                            last_at: u.last_used_at,
                            dpop_at: u.dpop_at,
                        },
                    );
                }
                return Err(e);
            }
            if after.is_empty() {
                return Ok(());
            }
            // Rest as long as the chunk took: the store's writer (SQLite's worker
            // thread, or PostgreSQL beside us) shares the core with the requests, and
            // back to back the chunks were one long burst that requests queued behind.
            tokio::time::sleep(started.elapsed().min(MAX_FLUSH_PAUSE)).await;
            daily = &[];
            rest = after;
        }
    }

    /// The unflushed token counts, copied.
    pub(crate) fn token_counts_snapshot(&self) -> Vec<(TokenKey, u64)> {
        self.token_counts()
            .per_day
            .iter()
            .map(|(k, n)| (*k, *n))
            .collect()
    }

    /// Adds the tokens counted here and not yet flushed to stored usage: the total,
    /// and the day of the latest.
    pub(crate) fn add_unflushed(
        &self,
        app: &crate::ids::ApplicationId,
        usage: &mut crate::model::ApplicationUsage,
    ) {
        for ((a, _, day), n) in self.token_counts().per_day.iter() {
            if a == app && *n > 0 {
                usage.tokens_issued += n;
                usage.last_token_day = usage.last_token_day.max(Some(*day));
            }
        }
    }

    /// Adds a client's use counted here and not yet flushed to its record.
    pub(crate) fn add_unflushed_use(&self, client: &mut crate::model::ClientRecord) {
        if let Some(used) = self.token_counts().per_client.get(&client.id).copied() {
            client.tokens_issued += used.tokens;
            client.last_used_at = client.last_used_at.max(Some(used.last_at));
            client.dpop_seen_at = client.dpop_seen_at.max(used.dpop_at);
        }
    }

    /// The client's standing, from the short-lived cache or the store.
    pub(crate) async fn standing(
        &self,
        id: &crate::ids::ClientId,
    ) -> Result<Option<std::sync::Arc<crate::model::ClientStanding>>, StoreError> {
        if let Some(hit) = self.standings.get(id) {
            return Ok(Some(hit));
        }
        let Some(fresh) = self.store.client_standing(id).await? else {
            return Ok(None);
        };
        let fresh = std::sync::Arc::new(fresh);
        self.standings.insert(*id, fresh.clone());
        Ok(Some(fresh))
    }

    /// Called after every revocation: cached standings may now be wrong.
    pub(crate) fn forget_standings(&self) {
        self.standings.clear();
        self.approvals.clear();
        self.api_keys.clear();
    }

    /// Whether `channel` exists and is one of `programmer`'s (channel ids are unique per
    /// programmer: another programmer may have a channel of the same id). Channels
    /// never move nor go away, so a yes is remembered.
    pub(crate) async fn is_channel_of(
        &self,
        programmer: &crate::ids::ProgrammerId,
        channel: &crate::ids::ChannelId,
    ) -> Result<bool, StoreError> {
        let key = (programmer.clone(), channel.clone());
        let known = self
            .known_channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&key);
        if known {
            return Ok(true);
        }
        let exists = self.store.get_channel(programmer, channel).await?.is_some();
        if exists {
            let mut set = self
                .known_channels
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if set.len() >= 100_000 {
                set.clear();
            }
            set.insert(key);
        }
        Ok(exists)
    }

    /// Re-reads the signing keys, so a rotation made on another node (or a retired key
    /// leaving the JWKS as time passes) takes effect here. Run on a timer.
    pub async fn reload_keys(&self) -> Result<(), OpenError> {
        let records = self.store.list_signing_keys().await?;
        let ring = key_ring_from(
            records,
            &self.kek,
            &self.settings.issuer,
            self.settings.token_ttl_seconds,
        )?;
        match self.keys.write() {
            Ok(mut guard) => *guard = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }

    /// Rotates signing keys: `next` becomes active, active retires, a new `next` is
    /// made. Tokens signed before keep verifying until they expire; statements keep
    /// verifying for as long as they are not revoked.
    pub async fn rotate_keys(&self, who: &Principal) -> Result<Vec<SigningKeyRecord>, AdminError> {
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        let alg = self.settings.signing_algorithm;
        let records = self.store.list_signing_keys().await?;
        ensure_key(
            self.store.as_ref(),
            &self.kek,
            &records,
            KeyState::Next,
            alg,
        )
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
        let new_next = new_key_record(&self.kek, KeyState::Next, alg)
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        // The target is the key the rotation creates; the event's time tells which
        // key was active before and after.
        let audit = admin::audit_event(
            who,
            AuditAction::SigningKeysRotated,
            "signing-key",
            &new_next.kid,
            None,
        );
        self.store
            .rotate_signing_keys(&new_next, audit.at, &audit)
            .await?;
        self.reload_keys()
            .await
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        self.list_keys(who).await
    }

    /// Signing keys without their private halves.
    pub async fn list_keys(&self, who: &Principal) -> Result<Vec<SigningKeyRecord>, AdminError> {
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        let mut records = self.store.list_signing_keys().await?;
        for r in &mut records {
            r.sealed_private_key.clear();
        }
        Ok(records)
    }
}

/// Seconds after retirement during which a key stays published: tokens it signed
/// may live a full TTL, and verifiers cache the JWKS for a while.
const RETIRED_PUBLISH_GRACE: i64 = 600;

fn new_key_record(
    kek: &KeyEncryptionKey,
    state: KeyState,
    alg: SigningAlgorithm,
) -> Result<SigningKeyRecord, OpenError> {
    let generated = jose::generate_key(alg).map_err(OpenError::Generate)?;
    let fail = |reason: String| OpenError::Key {
        kid: generated.kid.clone(),
        reason,
    };
    let sealed = kek
        .seal(&generated.private_pkcs8, generated.kid.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    Ok(SigningKeyRecord {
        kid: generated.kid.clone(),
        alg: generated.alg.as_str().to_owned(),
        state,
        sealed_private_key: sealed,
        public_jwk: serde_json::to_string(&generated.public_jwk)
            .map_err(|e| fail(e.to_string()))?,
        created_at: unix_now(),
        retired_at: None,
    })
}

/// Inserts a key of `state` unless one exists; a concurrent node doing the same is fine.
async fn ensure_key(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    records: &[SigningKeyRecord],
    state: KeyState,
    alg: SigningAlgorithm,
) -> Result<bool, OpenError> {
    if records.iter().any(|k| k.state == state) {
        return Ok(false);
    }
    match store
        .insert_signing_key(&new_key_record(kek, state, alg)?)
        .await
    {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

async fn load_key_ring(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    settings: &DcrSettings,
) -> Result<KeyRing, OpenError> {
    let alg = settings.signing_algorithm;
    let mut records = store.list_signing_keys().await?;
    // First start: an active key to sign with and a next key published ahead of use.
    let added_active = ensure_key(store, kek, &records, KeyState::Active, alg).await?;
    let added_next = ensure_key(store, kek, &records, KeyState::Next, alg).await?;
    // A new signing algorithm: its key is published as `next` now and signs after the
    // next rotation, once verifiers have fetched it. The old `next` never signed.
    let stale_next = records
        .iter()
        .any(|k| k.state == KeyState::Next && k.alg != alg.as_str());
    if stale_next {
        store
            .replace_next_signing_key(&new_key_record(kek, KeyState::Next, alg)?, unix_now())
            .await?;
    }
    if added_active || added_next || stale_next {
        records = store.list_signing_keys().await?;
    }
    key_ring_from(records, kek, &settings.issuer, settings.token_ttl_seconds)
}

fn key_ring_from(
    mut records: Vec<SigningKeyRecord>,
    kek: &KeyEncryptionKey,
    issuer: &str,
    token_ttl_seconds: u64,
) -> Result<KeyRing, OpenError> {
    let ttl = i64::try_from(token_ttl_seconds).unwrap_or(i64::MAX);
    let publish_cutoff = unix_now()
        .saturating_sub(ttl)
        .saturating_sub(RETIRED_PUBLISH_GRACE);
    // The newest active key signs; every other key is kept for verification.
    records.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let mut active = None;
    let mut others = Vec::new();
    for record in records {
        let signs = record.state == KeyState::Active && active.is_none();
        let published = match record.state {
            KeyState::Active | KeyState::Next => true,
            KeyState::Retired => record.retired_at.is_some_and(|at| at >= publish_cutoff),
        };
        let loaded = load_key(&record, kek, signs, published)?;
        if signs {
            active = Some(loaded);
        } else {
            others.push(loaded);
        }
    }
    let active = active.ok_or_else(|| OpenError::Key {
        kid: String::new(),
        reason: "no active signing key".into(),
    })?;
    KeyRing::new(issuer.to_owned(), active, others).map_err(|e| OpenError::Key {
        kid: String::new(),
        reason: e.to_string(),
    })
}

fn load_key(
    record: &SigningKeyRecord,
    kek: &KeyEncryptionKey,
    unseal: bool,
    published: bool,
) -> Result<LoadedKey, OpenError> {
    let fail = |reason: String| OpenError::Key {
        kid: record.kid.clone(),
        reason,
    };
    let alg = SigningAlgorithm::parse(&record.alg)
        .ok_or_else(|| fail(format!("unsupported algorithm {}", record.alg)))?;
    let public_jwk = serde_json::from_str(&record.public_jwk).map_err(|e| fail(e.to_string()))?;
    let private_pkcs8 = if unseal {
        Some(
            kek.open(&record.sealed_private_key, record.kid.as_bytes())
                .map_err(|e| {
                    fail(format!(
                        "{e} (is DCR_KEY_ENCRYPTION_KEY the one this store was created with?)"
                    ))
                })?,
        )
    } else {
        None
    };
    Ok(LoadedKey {
        kid: record.kid.clone(),
        alg,
        public_jwk,
        private_pkcs8,
        published,
    })
}
