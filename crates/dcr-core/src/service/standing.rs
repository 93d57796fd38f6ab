//! A short-lived cache of client standings (client, statement status, application),
//! so the token and verification paths usually skip the store.
//!
//! Safety: every revocation made through this `Dcr` clears the cache before it
//! returns, so on one node revocation is immediate. Entries live at most
//! [`STANDING_TTL`]; that bounds how long another node of a multi-node deployment can
//! act on a standing revoked elsewhere (well inside the 5 s promise).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::ids::{ClientId, StatementId};
use crate::model::{ApiKeyRecord, Application, ClientStanding, StatementRecord};

pub const STANDING_TTL: Duration = Duration::from_secs(2);
const CAPACITY: usize = 100_000;

/// A map whose entries are trusted for [`STANDING_TTL`], cleared on revocation.
pub(crate) struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

impl<K, V> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

pub(crate) type StandingCache = TtlCache<ClientId, ClientStanding>;
/// A statement with its application, as registration needs them.
pub(crate) type ApprovalCache = TtlCache<StatementId, (StatementRecord, Option<Application>)>;
/// API keys by hash; `None` remembers an unknown key, so a caller repeating a wrong
/// key costs no store query within the TTL.
pub(crate) type ApiKeyCache = TtlCache<[u8; 32], Option<ApiKeyRecord>>;

impl<K: std::hash::Hash + Eq + Clone, V> TtlCache<K, V> {
    pub(crate) fn get(&self, id: &K) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < STANDING_TTL)
            .map(|(_, s)| s.clone())
    }

    pub(crate) fn insert(&self, id: K, standing: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| at.elapsed() < STANDING_TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(id, (Instant::now(), standing));
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
