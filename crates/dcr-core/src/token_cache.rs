//! Tokens whose signature has been verified, so a token presented again costs a hash
//! and a map lookup instead of an ECDSA verification. Safe because the cache stores
//! only what the signature proved: expiry and revocation are checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dcr_proto::claims::AccessTokenClaims;
use sha2::{Digest, Sha256};

/// A bounded map from token (by SHA-256) to its verified claims.
pub struct TokenCache {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Arc<AccessTokenClaims>>>,
}

impl TokenCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of `token` if it was verified before and has not expired.
    pub fn get(&self, token: &str, now: i64) -> Option<Arc<AccessTokenClaims>> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(&Self::key(token))
            .filter(|c| c.exp > now)
            .cloned()
    }

    pub fn insert(&self, token: &str, claims: Arc<AccessTokenClaims>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity {
            // Crude but bounded: start over rather than track recency on the hot path.
            entries.clear();
        }
        entries.insert(Self::key(token), claims);
    }
}
