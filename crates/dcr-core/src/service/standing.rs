//! Short-lived caches of client standings (client, statement status, application),
//! statement approvals and API keys, so the token, verification, registration and
//! admin paths usually skip the store.
//!
//! Safety: every revocation made through this `Dcr` clears them before it returns, so
//! on one node revocation is immediate. A revocation made on another node reaches
//! this one through the revocation log, which every node reads each second
//! (`Dcr::sync_revocations`): any client, statement or application entry clears them
//! all; while the log cannot be read, standings are trusted for [`APPROVAL_TTL`]
//! only. Client standings change only by revocation, so they may live
//! [`STANDING_TTL`]; statement approvals (which carry the application's
//! registration policy) and API keys change in ways the log does not record, so they
//! live [`APPROVAL_TTL`], which bounds how long another node acts on an edit or a key
//! revoked elsewhere (well inside the 5 s promise).

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::ids::{ClientId, StatementId};
use crate::model::{ApiKeyRecord, Application, ClientStanding, StatementRecord};

/// A backstop only: the revocation log clears standings within about a second. Longer
/// means fewer store reads on the token and verify paths (a standing re-read costs
/// about as much as the rest of a verify), shorter means a smaller cache.
pub const STANDING_TTL: Duration = Duration::from_secs(10);
/// For what the revocation log does not announce: policy edits and API key revocations.
pub const APPROVAL_TTL: Duration = Duration::from_secs(2);
const CAPACITY: usize = 100_000;
/// Below this many entries expired ones are not worth a sweep.
const MIN_SWEEP: usize = 1_024;

/// A map whose entries are trusted for `ttl`, cleared on revocation.
pub(crate) struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<Entries<K, V>>,
}

struct Entries<K, V> {
    map: HashMap<K, Entry<V>>,
    /// Size at which expired entries are dropped next: twice what stood after the
    /// last sweep. Amortised O(1) per insert, and the map holds about two TTLs of
    /// traffic instead of filling to `CAPACITY` with entries nobody may use (a
    /// standing is kilobytes: at 100 k that was hundreds of megabytes).
    sweep_at: usize,
}

/// A cached value, when it was read, and how long it may be trusted.
struct Entry<V> {
    at: Instant,
    lifetime: Duration,
    value: Arc<V>,
}

impl<V> Entry<V> {
    fn is_fresh(&self) -> bool {
        self.at.elapsed() < self.lifetime
    }
}

impl<K, V> TtlCache<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }
}

pub(crate) type StandingCache = TtlCache<ClientId, ClientStanding>;
/// A statement with its application, as registration needs them.
/// The application is shared out of the cache as it is: a registration reads it,
/// never copies it.
pub(crate) type ApprovalCache =
    TtlCache<StatementId, (StatementRecord, Option<std::sync::Arc<Application>>)>;
/// API keys by hash; `None` remembers an unknown key, so a caller repeating a wrong
/// key costs no store query within the TTL.
pub(crate) type ApiKeyCache = TtlCache<[u8; 32], Option<ApiKeyRecord>>;

impl<K: std::hash::Hash + Eq + Clone, V> TtlCache<K, V> {
    pub(crate) fn get(&self, id: &K) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .map
            .get(id)
            .filter(|e| e.is_fresh())
            .map(|e| e.value.clone())
    }

    pub(crate) fn insert(&self, id: K, standing: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.map.len() >= entries.sweep_at.min(CAPACITY) {
            entries.map.retain(|_, e| e.is_fresh());
            if entries.map.len() >= CAPACITY {
                entries.map.clear();
            }
            entries.sweep_at = (entries.map.len() * 2).max(MIN_SWEEP);
        }
        // Each entry lives between three quarters of the TTL and all of it, by its
        // key's hash: entries read together (every busy client after a start, or after
        // the revocation log cleared the cache) would otherwise expire together, and
        // their re-reads would come back as one burst every TTL. Never longer than the
        // TTL; on average an eighth shorter, so an eighth more store reads.
        let fraction = entries.map.hasher().hash_one(&id) % 1024;
        let lifetime = self.ttl - (self.ttl / 4).mul_f64(fraction as f64 / 1024.0);
        entries.map.insert(
            id,
            Entry {
                at: Instant::now(),
                lifetime,
                value: standing,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// Drops the entries older than `age` (shorter than the TTL).
    pub(crate) fn expire_older_than(&self, age: Duration) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .retain(|_, e| e.at.elapsed() < age.min(e.lifetime));
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
        let cache: TtlCache<u32, [u8; 64]> = TtlCache::new(APPROVAL_TTL);
        for i in 0..MIN_SWEEP as u32 {
            cache.insert(i, Arc::new([0; 64]));
        }
        // Age every entry past the TTL.
        for e in cache.entries.lock().unwrap().map.values_mut() {
            e.at -= APPROVAL_TTL * 2;
        }
        for i in 0..10u32 {
            cache.insert(1_000_000 + i, Arc::new([0; 64]));
        }
        assert_eq!(cache.len(), 10);
        assert!(cache.get(&0).is_none());
        assert!(cache.get(&1_000_000).is_some());
    }

    /// Entries inserted at once expire over the last quarter of the TTL, not at one
    /// instant, and none outlives the TTL.
    #[test]
    fn entries_inserted_together_expire_apart() {
        let cache: TtlCache<u32, u8> = TtlCache::new(STANDING_TTL);
        for i in 0..1_000u32 {
            cache.insert(i, Arc::new(0));
        }
        let age = |cache: &TtlCache<u32, u8>, by: Duration| {
            for e in cache.entries.lock().unwrap().map.values_mut() {
                e.at -= by;
            }
        };
        let alive =
            |cache: &TtlCache<u32, u8>| (0..1_000u32).filter(|i| cache.get(i).is_some()).count();
        age(&cache, STANDING_TTL * 7 / 10);
        assert_eq!(
            alive(&cache),
            1_000,
            "none goes before three quarters of the TTL"
        );
        age(&cache, STANDING_TTL * 7 / 8 - STANDING_TTL * 7 / 10);
        let part = alive(&cache);
        assert!(
            (300..700).contains(&part),
            "at 7/8 of the TTL {part} of 1,000 are alive: they expire together"
        );
        age(&cache, STANDING_TTL / 8);
        assert_eq!(alive(&cache), 0, "none outlives the TTL");
    }

    /// While the revocation log cannot be read, standings older than the short TTL go;
    /// younger ones stay (the store is not asked again for all of them at once).
    #[test]
    fn expire_older_than_keeps_only_the_young() {
        let cache: TtlCache<u32, u8> = TtlCache::new(STANDING_TTL);
        cache.insert(1, Arc::new(1));
        cache.insert(2, Arc::new(2));
        if let Some(e) = cache.entries.lock().unwrap().map.get_mut(&1) {
            e.at -= APPROVAL_TTL + Duration::from_secs(1);
        }
        assert!(cache.get(&1).is_some(), "within the long TTL");
        cache.expire_older_than(APPROVAL_TTL);
        assert!(cache.get(&1).is_none());
        assert!(cache.get(&2).is_some());
    }
}
