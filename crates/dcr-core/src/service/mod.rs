//! Use cases: what the HTTP layer calls. Each file is one feature.

mod access;
mod admin;
mod feed;
mod register;
mod token;

use std::sync::{Arc, RwLock};

pub use access::VerifiedAccess;
pub use admin::{NewApplication, Principal};
pub use feed::{FEED_PAGE, RevocationFeed};
pub use register::{Registered, RegistrationRequest};
pub use token::{IssuedToken, TokenRequest};

use crate::catalog::Catalog;
use crate::crypto::KeyEncryptionKey;
use crate::jose::{self, JoseError, KeyRing, LoadedKey, SigningAlgorithm};
use crate::model::{KeyState, SigningKeyRecord};
use crate::secrets::SecretHasher;
use crate::store::{Store, StoreError};
use crate::time::unix_now;

/// What to do when a device's derived platform is not among its application's
/// platforms (SPEC 5).
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
    hasher: SecretHasher,
    settings: DcrSettings,
}

impl Dcr {
    /// Loads (or, on first start, generates and stores) the signing keys.
    pub async fn open(
        store: Arc<dyn Store>,
        kek: &KeyEncryptionKey,
        settings: DcrSettings,
    ) -> Result<Self, OpenError> {
        let keys = load_key_ring(store.as_ref(), kek, &settings.issuer).await?;
        Ok(Self {
            store,
            keys: RwLock::new(keys),
            hasher: SecretHasher::new(kek.derive_pepper()),
            settings,
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
}

async fn load_key_ring(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    issuer: &str,
) -> Result<KeyRing, OpenError> {
    let mut records = store.list_signing_keys().await?;
    if !records.iter().any(|k| k.state == KeyState::Active) {
        let generated = jose::generate_key(SigningAlgorithm::Es256).map_err(OpenError::Generate)?;
        let sealed = kek
            .seal(&generated.private_pkcs8, generated.kid.as_bytes())
            .map_err(|e| OpenError::Key {
                kid: generated.kid.clone(),
                reason: e.to_string(),
            })?;
        let record = SigningKeyRecord {
            kid: generated.kid.clone(),
            alg: generated.alg.as_str().to_owned(),
            state: KeyState::Active,
            sealed_private_key: sealed,
            public_jwk: serde_json::to_string(&generated.public_jwk).map_err(|e| {
                OpenError::Key {
                    kid: generated.kid.clone(),
                    reason: e.to_string(),
                }
            })?,
            created_at: unix_now(),
        };
        match store.insert_signing_key(&record).await {
            // Another node won the race to create the first key: use theirs.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        records = store.list_signing_keys().await?;
    }
    // The newest active key signs; every other key is kept for verification.
    records.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let mut active = None;
    let mut others = Vec::new();
    for record in records {
        let unseal = record.state == KeyState::Active && active.is_none();
        let loaded = load_key(&record, kek, unseal)?;
        if unseal {
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
    })
}
