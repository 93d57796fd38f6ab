//! JWS documents whose signature has been verified, so one presented again costs a
//! hash and a map lookup instead of an ECDSA verification. Safe because the cache
//! stores only what the signature proved: expiry is checked on every hit, and
//! revocation (standing) is checked by the caller on every use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use dcr_proto::claims::{AccessTokenClaims, StatementClaims};
use sha2::{Digest, Sha256};

/// Claims that may carry an expiry.
pub trait Expiring {
    /// Unix seconds; `None` for documents that never expire (software statements).
    fn expires_at(&self) -> Option<i64>;
}

impl Expiring for AccessTokenClaims {
    fn expires_at(&self) -> Option<i64> {
        Some(self.exp)
    }
}

impl Expiring for StatementClaims {
    fn expires_at(&self) -> Option<i64> {
        None
    }
}

/// A bounded map from a JWS (by SHA-256) to its verified claims.
pub struct TokenCache<T = AccessTokenClaims> {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Arc<T>>>,
}

impl<T: Expiring> TokenCache<T> {
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
    pub fn get(&self, token: &str, now: i64) -> Option<Arc<T>> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(&Self::key(token))
            .filter(|c| c.expires_at().is_none_or(|exp| exp > now))
            .cloned()
    }

    pub fn insert(&self, token: &str, claims: Arc<T>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            // Crude but bounded: start over rather than track recency on the hot path.
            entries.clear();
        }
        entries.insert(Self::key(token), claims);
    }
}
