//! Single use of proofs' `jti`s (DPoP proofs, client assertions, attestation PoPs),
//! remembered in memory and bounded: past the bound new proofs are refused as the
//! server (or guard) being busy, never accepted unchecked. Entries live as long as the
//! proof could be accepted.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::StoreError;

/// What a `jti` was used for: one namespace each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofKind {
    Dpop,
    Assertion,
    AttestationPop,
    /// A platform attestation challenge (`POST /o/client/challenge`).
    Challenge,
}

impl ProofKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dpop => "dpop",
            Self::Assertion => "assertion",
            Self::AttestationPop => "attestation-pop",
            Self::Challenge => "challenge",
        }
    }
}

/// Why a `jti` cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("this proof was used already")]
    Replayed,
    #[error("too many proofs to remember; try again shortly")]
    Full,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `jti`s seen, with when each may be forgotten.
pub struct SeenJtis {
    entries: Mutex<HashMap<(ProofKind, String), i64>>,
    capacity: usize,
}

impl SeenJtis {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Records `jti` until `until`; `Replayed` if it was recorded and has not expired.
    pub fn first_use(
        &self,
        kind: ProofKind,
        jti: &str,
        until: i64,
        now: i64,
    ) -> Result<(), ReplayError> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (kind, jti.to_owned());
        if entries.get(&key).is_some_and(|expires| *expires >= now) {
            return Err(ReplayError::Replayed);
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, expires| *expires >= now);
            if entries.len() >= self.capacity {
                return Err(ReplayError::Full);
            }
        }
        entries.insert(key, until);
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_until_it_expires_and_memory_is_bounded() {
        let seen = SeenJtis::new(2);
        assert_eq!(seen.first_use(ProofKind::Dpop, "a", 100, 10), Ok(()));
        assert_eq!(
            seen.first_use(ProofKind::Dpop, "a", 100, 50),
            Err(ReplayError::Replayed)
        );
        // Another kind is another namespace.
        assert_eq!(seen.first_use(ProofKind::Assertion, "a", 100, 50), Ok(()));
        // Full of live entries: refused, not accepted unchecked.
        assert_eq!(
            seen.first_use(ProofKind::Dpop, "b", 100, 50),
            Err(ReplayError::Full)
        );
        // Once they expire there is room again.
        assert_eq!(seen.first_use(ProofKind::Dpop, "b", 300, 200), Ok(()));
        assert_eq!(seen.len(), 1);
        // An expired entry may be used again (its proof is stale by then anyway).
        assert_eq!(seen.first_use(ProofKind::Dpop, "a", 400, 250), Ok(()));
    }
}
