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
/// Below this many entries expired ones are not worth a sweep.
const MIN_SWEEP: usize = 1_024;

/// A map whose entries are trusted for [`STANDING_TTL`], cleared on revocation.
pub(crate) struct TtlCache<K, V> {
    entries: Mutex<Entries<K, V>>,
}

struct Entries<K, V> {
    map: HashMap<K, (Instant, Arc<V>)>,
    /// Size at which expired entries are dropped next: twice what stood after the
    /// last sweep. Amortised O(1) per insert, and the map holds about two TTLs of
    /// traffic instead of filling to `CAPACITY` with entries nobody may use (a
    /// standing is kilobytes: at 100 k that was hundreds of megabytes).
    sweep_at: usize,
}

impl<K, V> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
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
            .map
            .get(id)
            .filter(|(at, _)| at.elapsed() < STANDING_TTL)
            .map(|(_, s)| s.clone())
    }

    pub(crate) fn insert(&self, id: K, standing: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.map.len() >= entries.sweep_at.min(CAPACITY) {
            entries.map.retain(|_, (at, _)| at.elapsed() < STANDING_TTL);
            if entries.map.len() >= CAPACITY {
                entries.map.clear();
            }
            entries.sweep_at = (entries.map.len() * 2).max(MIN_SWEEP);
        }
        entries.map.insert(id, (Instant::now(), standing));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expired entries leave as new ones come, long before the capacity: the map
    /// stays near the traffic of one TTL, not the capacity.
    #[test]
    fn expired_entries_are_swept_as_the_map_grows() {
        let cache: TtlCache<u32, [u8; 64]> = TtlCache::default();
        for i in 0..MIN_SWEEP as u32 {
            cache.insert(i, Arc::new([0; 64]));
        }
        // Age every entry past the TTL.
        for (at, _) in cache.entries.lock().unwrap().map.values_mut() {
            *at -= STANDING_TTL * 2;
        }
        for i in 0..10u32 {
            cache.insert(1_000_000 + i, Arc::new([0; 64]));
        }
        assert_eq!(cache.len(), 10);
        assert!(cache.get(&0).is_none());
        assert!(cache.get(&1_000_000).is_some());
    }
}
