//! What resource servers use: token introspection (RFC 7662) and the revocation feed.
//! Both need a resource-server (or operator) API key; a key made under a programmer
//! sees only that programmer's tokens and revocations.

use dcr_proto::claims::AccessTokenClaims;

use super::{Dcr, Principal};
use crate::error::AdminError;
use crate::ids::{ApiKeyId, ChannelId, ProgrammerId};
use crate::model::{RevocationEntry, Role};
use crate::time::unix_now;

/// Most entries one feed page returns.
pub const FEED_PAGE: u32 = 1000;
/// Entries stay in the feed this long after every token they could affect has expired.
const FEED_GRACE_SECONDS: i64 = 300;

/// One page of the revocation feed.
#[derive(Debug, Clone)]
pub struct RevocationFeed {
    pub entries: Vec<RevocationEntry>,
    /// Pass back as `since` to get what happened after this page.
    pub cursor: i64,
    /// More entries are waiting: ask again at once.
    pub has_more: bool,
    /// Channel → programmer for the caller's programmer(s), so a verifier can tell
    /// whether a programmer-wide token covers a channel.
    pub channels: Vec<(ChannelId, ProgrammerId)>,
    /// Entries older than this (Unix seconds) are no longer listed: no token issued
    /// before them can still be live.
    pub horizon: i64,
}

impl Dcr {
    /// A principal allowed to introspect and read the feed.
    pub async fn authenticate_resource_server(
        &self,
        key: &str,
        claimed_id: Option<&str>,
    ) -> Result<Principal, AdminError> {
        let who = self.authenticate_api_key(key).await?;
        if let Some(claimed) = claimed_id {
            // Standard introspection clients send the key id as client_id.
            let matches = ApiKeyId::parse(claimed)
                .is_ok_and(|id| who.actor == super::admin::Actor::ApiKey(id));
            if !matches {
                return Err(AdminError::Unauthenticated);
            }
        }
        match who.role {
            Role::ResourceServer | Role::Operator => Ok(who),
            Role::ProgrammerAdmin | Role::ChannelAdmin => Err(AdminError::Forbidden),
        }
    }

    /// RFC 7662: the token's claims when it is active now and the caller may see it;
    /// `None` otherwise, whatever the reason.
    pub async fn introspect(
        &self,
        who: &Principal,
        token: &str,
    ) -> Result<Option<AccessTokenClaims>, AdminError> {
        let Ok(token) = self.verified_token(token) else {
            return Ok(None);
        };
        let claims = &token.claims;
        if let Some(pid) = &who.programmer
            && pid.as_str() != claims.programmer
        {
            return Ok(None);
        }
        let active = self.origin_active(&token).await.map_err(|e| match e {
            crate::error::AccessError::Unavailable(e) => AdminError::Unavailable(e),
            other => AdminError::Internal(other.to_string()),
        })?;
        Ok(active.then(|| claims.clone()))
    }

    /// Revocations after `since` (a cursor from an earlier page; 0 for all).
    pub async fn revocation_feed(
        &self,
        who: &Principal,
        since: i64,
    ) -> Result<RevocationFeed, AdminError> {
        let ttl = i64::try_from(self.settings.token_ttl_seconds).unwrap_or(i64::MAX);
        let horizon = unix_now()
            .saturating_sub(ttl)
            .saturating_sub(FEED_GRACE_SECONDS);
        let programmer = who.programmer.as_ref();
        let entries = self
            .store
            .revocations_since(since.max(0), horizon, programmer, FEED_PAGE + 1)
            .await?;
        let has_more = entries.len() > FEED_PAGE as usize;
        let entries: Vec<RevocationEntry> = entries.into_iter().take(FEED_PAGE as usize).collect();
        let cursor = entries.last().map_or(since.max(0), |e| e.seq);
        let channels = self.store.channel_directory(programmer).await?;
        Ok(RevocationFeed {
            entries,
            cursor,
            has_more,
            channels,
            horizon,
        })
    }
}
