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

use crate::ids::ClientId;
use crate::model::ClientStanding;

pub const STANDING_TTL: Duration = Duration::from_secs(2);
const CAPACITY: usize = 100_000;

#[derive(Default)]
pub(crate) struct StandingCache {
    entries: Mutex<HashMap<ClientId, (Instant, Arc<ClientStanding>)>>,
}

impl StandingCache {
    pub(crate) fn get(&self, id: &ClientId) -> Option<Arc<ClientStanding>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < STANDING_TTL)
            .map(|(_, s)| s.clone())
    }

    pub(crate) fn insert(&self, id: ClientId, standing: Arc<ClientStanding>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| at.elapsed() < STANDING_TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(id, (Instant::now(), standing));
    }

    /// Replaces a cached standing without renewing its age.
    pub(crate) fn update(&self, id: &ClientId, standing: Arc<ClientStanding>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(id) {
            entry.1 = standing;
        }
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
