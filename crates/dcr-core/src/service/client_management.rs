//! What a client does to its own credentials: revoke one of its access tokens
//! (RFC 7009), and read or delete its registration (RFC 7592) with the registration
//! access token it was given at registration.

use crate::model::AuditAction;
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::Dcr;
use crate::access::verify_token;
use crate::error::TokenError;
use crate::ids::ClientId;
use crate::model::{AuditEvent, ClientStanding, RevocationKind, RevokedVia};
use crate::store::StoreError;
use crate::time::unix_now;

/// Why an RFC 7592 call is refused: always 401 `invalid_token`, with no hint whether
/// the client exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationAccessError {
    #[error("the registration access token is not valid for this client")]
    InvalidToken,
    #[error("the store is unavailable")]
    Unavailable(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for RegistrationAccessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Access tokens revoked one by one (RFC 7009), by `jti`, with when: what every
/// verifier in this process checks besides the client's standing. Filled at once on
/// the node that revokes and within a second on the others (from the revocation
/// log); entries leave once every token they could name has expired.
///
/// At most `capacity` are kept in memory: clients revoking tokens from many
/// addresses cannot grow it without bound. Past that the revocation is only in the
/// store (the revocation log, which holds every one anyway), and this set remembers
/// the newest such revocation: a token issued at or before it, and not in memory,
/// may be one of them, so it is looked up in the store ([`Lookup::InStore`]) until
/// every spilled entry has expired. A token is issued before its revocation, so one
/// issued after that time cannot be among them and costs nothing more.
pub(crate) struct RevokedTokens {
    entries: RwLock<HashMap<String, i64>>,
    /// Revocation-log position read so far.
    cursor: RwLock<i64>,
    capacity: usize,
    /// Time of the newest revocation not kept in memory (0: none).
    spilled_until: AtomicI64,
    /// Counts spills: a store lookup that found a token standing holds until the next.
    spills: AtomicU64,
}

/// What the in-memory set knows of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Revoked,
    Standing,
    /// Only the store knows: the set has spilled since this token was issued. The
    /// number is the spill count to remember a standing answer with.
    InStore(u64),
}

impl RevokedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            cursor: RwLock::new(0),
            capacity: capacity.max(1),
            spilled_until: AtomicI64::new(0),
            spills: AtomicU64::new(0),
        }
    }

    pub(crate) fn contains(&self, jti: &str) -> bool {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(jti)
    }

    /// Whether the token `jti`, issued at `iat`, is revoked, as far as memory tells.
    pub(crate) fn lookup(&self, jti: &str, iat: i64) -> Lookup {
        if self.contains(jti) {
            return Lookup::Revoked;
        }
        if iat <= self.spilled_until.load(Ordering::Acquire) {
            return Lookup::InStore(self.spills.load(Ordering::Acquire));
        }
        Lookup::Standing
    }

    fn insert(&self, jti: String, at: i64) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&jti) {
            drop(entries);
            self.spilled_until.fetch_max(at, Ordering::AcqRel);
            self.spills.fetch_add(1, Ordering::AcqRel);
            return;
        }
        entries.insert(jti, at);
    }

    /// Forgets what expired before `horizon`, the spill included.
    fn expire(&self, horizon: i64) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, at| *at >= horizon);
        let spilled = self.spilled_until.load(Ordering::Acquire);
        if spilled != 0 && spilled < horizon {
            let _ = self.spilled_until.compare_exchange(
                spilled,
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

impl Dcr {
    /// RFC 7009: the client (authenticated like at the token endpoint) revokes one of
    /// its own access tokens. A token that is not ours, not the client's, malformed or
    /// already expired is a success that changes nothing (RFC 7009 2.2).
    pub async fn revoke_own_token(
        &self,
        credentials: &super::ClientCredentials<'_>,
        token: &str,
    ) -> Result<(), TokenError> {
        let standing = self.authenticate(credentials).await?;
        let Ok(claims) = verify_token(self.keys().verifier(), token, unix_now()) else {
            return Ok(());
        };
        if claims.client_id != standing.client.id.to_string()
            || self.revoked_tokens.contains(&claims.jti)
        {
            return Ok(());
        }
        let now = unix_now();
        self.store
            .revoke_token(&claims.jti, &standing.client.programmer_id, now)
            .await?;
        self.revoked_tokens.insert(claims.jti.clone(), now);
        tracing::info!(client_id = %standing.client.id, jti = %claims.jti, "access token revoked by its client");
        Ok(())
    }

    /// Client authentication as at the token endpoint: a known, active client and its
    /// secret, compared in constant time (an unknown id still costs one hash).
    pub(crate) async fn authenticated_client(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<std::sync::Arc<ClientStanding>, TokenError> {
        let Ok(id) = ClientId::parse(client_id) else {
            let _ = self.hasher.verify(client_secret, &[0u8; 32]);
            return Err(TokenError::InvalidClient);
        };
        let Some(standing) = self.standing(&id).await? else {
            let _ = self.hasher.verify(client_secret, &[0u8; 32]);
            return Err(TokenError::InvalidClient);
        };
        if !self
            .hasher
            .verify(client_secret, &standing.client.secret_hash)
            || !standing.is_active()
        {
            return Err(TokenError::InvalidClient);
        }
        Ok(standing)
    }

    /// RFC 7592 read: the client's registration, for the holder of its registration
    /// access token. A deleted (or otherwise revoked) client answers like an unknown one.
    pub async fn read_registration(
        &self,
        client_id: &str,
        registration_access_token: &str,
    ) -> Result<ClientStanding, RegistrationAccessError> {
        self.registration_holder(client_id, registration_access_token)
            .await
    }

    /// RFC 7592 delete: an app uninstall. The client is revoked (`revoked_via: self`),
    /// logged for the feed so every verifier refuses its tokens, and audited.
    pub async fn delete_registration(
        &self,
        client_id: &str,
        registration_access_token: &str,
        source_ip: Option<String>,
    ) -> Result<(), RegistrationAccessError> {
        let standing = self
            .registration_holder(client_id, registration_access_token)
            .await?;
        let client = &standing.client;
        // The device acts on itself, as at registration.
        let audit = AuditEvent {
            seq: 0,
            at: unix_now(),
            actor: format!("client:{}", client.id),
            role: "device".into(),
            programmer_id: Some(client.programmer_id.clone()),
            action: AuditAction::ClientDeleted.to_string(),
            target_kind: "client".into(),
            target_id: client.id.to_string(),
            source_ip,
        };
        self.store
            .revoke_client(&client.id, RevokedVia::SelfDeleted, audit.at, &audit)
            .await?;
        self.forget_standings();
        tracing::info!(client_id = %client.id, "client deleted its own registration");
        Ok(())
    }

    /// The client the registration access token belongs to, if it still stands. Any
    /// failure is the same `InvalidToken`; a miss still costs one hash.
    async fn registration_holder(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<ClientStanding, RegistrationAccessError> {
        let invalid = || {
            let _ = self.hasher.verify(token, &[0u8; 32]);
            RegistrationAccessError::InvalidToken
        };
        let Ok(id) = ClientId::parse(client_id) else {
            return Err(invalid());
        };
        if token.is_empty() || token.len() > 512 {
            return Err(invalid());
        }
        // Not the cached standing: a deletion on another node must be seen at once.
        let Some(standing) = self.store.client_standing(&id).await? else {
            return Err(invalid());
        };
        let Some(stored) = standing.client.registration_token_hash.as_deref() else {
            return Err(invalid());
        };
        // A client cut off in any way (itself, its statement, its application) is
        // answered exactly like an unknown one, and cannot delete itself: that would
        // rewrite why it was cut off (`statement` → `self`) and log a deletion.
        if !self.hasher.verify(token, stored) || !standing.is_active() {
            return Err(RegistrationAccessError::InvalidToken);
        }
        Ok(standing)
    }

    /// Reads the revocation log since the last call (run every second, so what is
    /// revoked on another node is enforced here within about a second): access tokens
    /// join the revoked set, and any client, statement or application entry clears the
    /// cached standings, approvals and API keys. Then forgets revoked tokens every one
    /// of which has expired. While the log cannot be read, standings are trusted for
    /// [`APPROVAL_TTL`](super::standing::APPROVAL_TTL) only, as if there were no log:
    /// clearing them all instead would send every request to a store that is already
    /// failing (an overloaded database got slower still, and refused more).
    pub async fn sync_revocations(&self) -> Result<(), StoreError> {
        let synced = self.read_revocation_log().await;
        if synced.is_err() {
            self.standings
                .expire_older_than(super::standing::APPROVAL_TTL);
        }
        synced
    }

    async fn read_revocation_log(&self) -> Result<(), StoreError> {
        let ttl = i64::try_from(self.settings.token_ttl_seconds).unwrap_or(i64::MAX);
        let horizon = unix_now().saturating_sub(ttl).saturating_sub(60);
        loop {
            let since = *self
                .revoked_tokens
                .cursor
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let page = self
                .store
                .revocations_since(since, horizon, None, super::FEED_PAGE)
                .await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            let mut standings_changed = false;
            for entry in &page {
                if entry.kind == RevocationKind::Token {
                    self.revoked_tokens
                        .insert(entry.target.clone(), entry.revoked_at);
                } else {
                    standings_changed = true;
                }
            }
            if standings_changed {
                self.forget_standings();
            }
            *self
                .revoked_tokens
                .cursor
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = last;
            if page.len() < super::FEED_PAGE as usize {
                break;
            }
        }
        self.revoked_tokens.expire(horizon);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Lookup, RevokedTokens};

    #[test]
    fn past_its_capacity_the_set_spills_to_the_store_for_older_tokens_only() {
        let set = RevokedTokens::new(2);
        set.insert("a".into(), 100);
        set.insert("b".into(), 110);
        assert_eq!(set.lookup("a", 50), Lookup::Revoked);
        assert_eq!(set.lookup("x", 50), Lookup::Standing);
        // Full: the third is not kept, and tokens issued before it need the store.
        set.insert("c".into(), 120);
        assert_eq!(set.len(), 2);
        assert!(!set.contains("c"));
        assert_eq!(set.lookup("c", 115), Lookup::InStore(1));
        assert_eq!(set.lookup("x", 120), Lookup::InStore(1));
        // Issued after the newest spilled revocation: it cannot be among them.
        assert_eq!(set.lookup("x", 121), Lookup::Standing);
        // Once everything spilled has expired, memory answers alone again.
        set.expire(121);
        assert_eq!(set.len(), 0);
        assert_eq!(set.lookup("c", 115), Lookup::Standing);
    }
}
