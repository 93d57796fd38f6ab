//! The state proofs of possession need: single use of every `jti` (DPoP proofs,
//! client assertions, attestation PoPs) and server nonces (RFC 9449 8), and the
//! checks that use them. The JWT checks themselves are `crate::pop`'s.
//!
//! Single use is remembered in memory, bounded (past the bound new proofs are
//! refused as the server being busy, never accepted unchecked), and, when the store
//! is shared by several nodes (PostgreSQL), in the store too, so a proof used on one
//! node is refused on every other. Entries live as long as the proof could be
//! accepted (its freshness window, or an assertion's `exp`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Dcr;
use crate::pop::{DpopExpectations, Freshness, VerifiedDpop, verify_dpop};
pub use crate::replay::{ProofKind, ReplayError};
use crate::store::StoreError;
use crate::time::unix_now;

/// How DPoP proofs are judged (`dpop.*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpopSettings {
    /// A proof is fresh for this many seconds after its `iat`...
    pub max_age_seconds: i64,
    /// ...and may claim an `iat` this many seconds ahead (clock skew).
    pub max_future_seconds: i64,
    /// Whether the token endpoints require a server nonce (RFC 9449 8).
    pub require_nonce: bool,
    /// `jti`s remembered in memory for single use, at most.
    pub replay_capacity: usize,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            max_age_seconds: 60,
            max_future_seconds: 5,
            require_nonce: false,
            replay_capacity: 1_000_000,
        }
    }
}

impl DpopSettings {
    pub fn freshness(&self) -> Freshness {
        Freshness {
            max_age: self.max_age_seconds,
            max_future: self.max_future_seconds,
        }
    }
}

/// Length of a nonce's time slot: a nonce is good in its slot and the next.
const NONCE_SLOT_SECONDS: i64 = 60;

impl Dcr {
    /// Accepts `jti` once: in memory on this node, and in the store when the store is
    /// shared by several nodes.
    pub async fn first_use_of(
        &self,
        kind: ProofKind,
        jti: &str,
        until: i64,
    ) -> Result<(), ReplayError> {
        let now = unix_now();
        self.seen_jtis.first_use(kind, jti, until, now)?;
        if self.store.shared_by_nodes()
            && !self
                .store
                .first_use_of_jti(kind.as_str(), jti, until)
                .await?
        {
            return Err(ReplayError::Replayed);
        }
        Ok(())
    }

    /// A DPoP nonce for now: its time slot and a MAC of it under a key every node
    /// derives from the deployment's key-encryption key, so any node accepts it.
    pub fn dpop_nonce(&self) -> String {
        nonce_for(&self.hasher, unix_now().div_euclid(NONCE_SLOT_SECONDS))
    }

    fn nonce_is_fresh(&self, nonce: &str) -> bool {
        let slot = unix_now().div_euclid(NONCE_SLOT_SECONDS);
        [slot, slot - 1].into_iter().any(|s| {
            let expected = nonce_for(&self.hasher, s);
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), nonce.as_bytes()).into()
        })
    }

    /// A DPoP proof at a token endpoint (`htu` its public URL): verified, its nonce
    /// checked when nonces are required, its `jti` used once.
    pub async fn token_endpoint_dpop(
        &self,
        proof: &str,
        htu: &str,
    ) -> Result<VerifiedDpop, crate::error::TokenError> {
        use crate::error::TokenError;
        let settings = self.settings.dpop;
        let now = unix_now();
        let verified = verify_dpop(
            proof,
            &DpopExpectations {
                htm: "POST",
                htu,
                access_token: None,
                now,
                freshness: settings.freshness(),
            },
        )
        .map_err(|e| TokenError::InvalidDpopProof(format!("the DPoP proof is refused: {e}")))?;
        if settings.require_nonce
            && !verified
                .nonce
                .as_deref()
                .is_some_and(|n| self.nonce_is_fresh(n))
        {
            return Err(TokenError::UseDpopNonce {
                nonce: self.dpop_nonce(),
            });
        }
        let until = verified.iat + settings.max_age_seconds + settings.max_future_seconds;
        self.first_use_of(ProofKind::Dpop, &verified.jti, until)
            .await
            .map_err(|e| match e {
                ReplayError::Replayed => {
                    TokenError::InvalidDpopProof("the DPoP proof was used already".into())
                }
                ReplayError::Full => {
                    TokenError::Unavailable(StoreError::Unavailable(e.to_string()))
                }
                ReplayError::Store(s) => TokenError::from(s),
            })?;
        Ok(verified)
    }

    /// Spends a verified resource-side proof's `jti` (see
    /// [`crate::access::proven_possession`]).
    pub(crate) async fn spend_resource_proof(
        &self,
        spend: &crate::access::ProofToSpend,
    ) -> Result<(), crate::error::AccessError> {
        use crate::error::AccessError;
        self.first_use_of(ProofKind::Dpop, &spend.jti, spend.until)
            .await
            .map_err(|e| match e {
                ReplayError::Replayed => {
                    AccessError::InvalidDpopProof("the DPoP proof was used already".into())
                }
                ReplayError::Full => {
                    AccessError::Unavailable(StoreError::Unavailable(e.to_string()))
                }
                ReplayError::Store(s) => AccessError::from(s),
            })
    }
}

fn nonce_for(hasher: &crate::secrets::SecretHasher, slot: i64) -> String {
    let mac = hasher.hash(&format!("dpop-nonce:{slot}"));
    format!("{slot}.{}", URL_SAFE_NO_PAD.encode(&mac[..16]))
}
