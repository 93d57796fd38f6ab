//! Forward auth (`/o/auth/verify`): the shared decision of [`crate::access`], with the
//! origin's standing read from the store so revocation takes effect at once.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use dcr_proto::claims::AccessTokenClaims;

use super::Dcr;
use super::client_management::Lookup;
use crate::access::{Presented, Requirements, authorize, needs_programmer_channels, verify_token};
use crate::error::AccessError;
use crate::ids::{ApplicationId, ClientId, StatementId};
use crate::jose::JoseError;
use crate::time::unix_now;
use crate::token_cache::Expiring;

/// A call that may proceed, and who makes it: the verified token, shared with the
/// cache of verified tokens rather than copied for each call.
#[derive(Debug, Clone)]
pub struct VerifiedAccess {
    pub token: Arc<VerifiedToken>,
}

impl VerifiedAccess {
    pub fn claims(&self) -> &AccessTokenClaims {
        &self.token.claims
    }
}

/// An access token whose signature checked out, as the cache of verified tokens keeps
/// it. A token is presented many times (every API call of its client, for hours), so
/// what follows from its claims alone is worked out once: the ids the standing check
/// compares, and whatever the HTTP layer renders from them ([`VerifiedToken::derived`]).
pub struct VerifiedToken {
    pub claims: AccessTokenClaims,
    /// `None` when the claim is not a well-formed id.
    client: Option<ClientId>,
    statement: Option<StatementId>,
    application: Option<ApplicationId>,
    derived: OnceLock<Box<dyn Any + Send + Sync>>,
    /// One more than the spill count at which the store last said this token is not
    /// revoked (0: never asked); see `RevokedTokens`.
    stood_at: AtomicU64,
}

impl VerifiedToken {
    pub fn new(claims: AccessTokenClaims) -> Self {
        Self {
            client: ClientId::parse(&claims.client_id).ok(),
            statement: StatementId::parse(&claims.sst).ok(),
            application: ApplicationId::parse(&claims.software_id).ok(),
            claims,
            derived: OnceLock::new(),
            stood_at: AtomicU64::new(0),
        }
    }

    /// Whether the store said this token is not revoked since the set last spilled.
    fn standing_at(&self, spills: u64) -> bool {
        self.stood_at.load(Ordering::Acquire) == spills + 1
    }

    fn stood_at(&self, spills: u64) {
        self.stood_at.store(spills + 1, Ordering::Release);
    }

    /// What `derive` makes of the claims, made on the first call and kept with the
    /// token: the same token always gets the same answer, so its bytes need not be
    /// built again for each call. One type per token: `None` if a value of another
    /// type was derived first.
    pub fn derived<D: Any + Send + Sync>(
        &self,
        derive: impl FnOnce(&AccessTokenClaims) -> D,
    ) -> Option<&D> {
        self.derived
            .get_or_init(|| Box::new(derive(&self.claims)))
            .downcast_ref()
    }
}

impl Expiring for VerifiedToken {
    fn expires_at(&self) -> Option<i64> {
        Some(self.claims.exp)
    }
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl Dcr {
    /// Verifies the token, its binding (a bound token needs a proof of its key; an
    /// unbound one is a bearer token), that it and its client, statement and
    /// application are still active, then what the route requires (programmer,
    /// audience, channel, scope).
    pub async fn verify_access(
        &self,
        presented: Presented<'_>,
        required: &Requirements<'_>,
    ) -> Result<VerifiedAccess, AccessError> {
        let token = self.verified_token(presented.token())?;
        let claims = &token.claims;
        let freshness = self.settings.dpop.freshness();
        if let Some(spend) =
            crate::access::proven_possession(claims, &presented, unix_now(), freshness)?
        {
            self.spend_resource_proof(&spend).await?;
        }
        let origin_active = self.origin_active(&token).await?;
        let has_channel = match required.channel {
            Some(ch) if origin_active && needs_programmer_channels(claims, required) => {
                match (
                    crate::ids::ProgrammerId::parse(claims.programmer.as_str()),
                    crate::ids::ChannelId::parse(ch),
                ) {
                    (Ok(programmer), Ok(channel)) => {
                        self.is_channel_of(&programmer, &channel).await?
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        authorize(claims, origin_active, required, has_channel)?;
        Ok(VerifiedAccess { token })
    }

    /// The token from the cache of verified tokens, or verified now.
    pub(crate) fn verified_token(&self, token: &str) -> Result<Arc<VerifiedToken>, AccessError> {
        let now = unix_now();
        if let Some(verified) = self.tokens.get(token, now) {
            return Ok(verified);
        }
        let verified = Arc::new(VerifiedToken::new(verify_token(
            self.keys().verifier(),
            token,
            now,
        )?));
        self.tokens.insert(token, verified.clone());
        Ok(verified)
    }

    /// Whether the token itself (RFC 7009) and its client, statement and application
    /// all still stand.
    pub(crate) async fn origin_active(&self, token: &VerifiedToken) -> Result<bool, AccessError> {
        match self
            .revoked_tokens
            .lookup(&token.claims.jti, token.claims.iat)
        {
            Lookup::Revoked => return Ok(false),
            Lookup::Standing => {}
            Lookup::InStore(spills) => {
                if !token.standing_at(spills) {
                    if self.store.is_token_revoked(&token.claims.jti).await? {
                        return Ok(false);
                    }
                    token.stood_at(spills);
                }
            }
        }
        let client_id = token
            .client
            .ok_or(AccessError::InvalidToken(JoseError::BadClaims))?;
        let Some(standing) = self.standing(&client_id).await? else {
            return Ok(false);
        };
        let same_origin = token.statement == Some(standing.client.statement_jti)
            && token.application == Some(standing.application.id);
        Ok(standing.is_active() && same_origin)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn claims(client_id: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            cnf: None,
            iss: "https://dcr.example".into(),
            sub: client_id.into(),
            aud: dcr_proto::claims::Audience(vec!["https://api.example".into()]),
            client_id: client_id.into(),
            jti: "t".into(),
            iat: 1,
            nbf: 1,
            exp: 100,
            scopes: "a".into(),
            scope: "a".into(),
            software_id: ApplicationId::new_random().to_string(),
            sst: "not-a-statement-id".into(),
            programmer: "p".into(),
            channels: None,
        }
    }

    #[test]
    fn what_is_derived_from_a_token_is_made_once() {
        let token = VerifiedToken::new(claims(&ClientId::new_time_ordered().to_string()));
        let made = AtomicUsize::new(0);
        let derive = |c: &AccessTokenClaims| {
            made.fetch_add(1, Ordering::Relaxed);
            c.scope.len()
        };
        assert_eq!(token.derived(derive), Some(&1));
        assert_eq!(token.derived(derive), Some(&1));
        assert_eq!(
            made.load(Ordering::Relaxed),
            1,
            "derived on the first call only"
        );
        assert_eq!(
            token.derived(|_| "another type"),
            None,
            "a second type does not replace the first"
        );
    }

    #[test]
    fn ids_are_parsed_once_and_malformed_ones_stay_unknown() {
        let client = ClientId::new_time_ordered();
        let token = VerifiedToken::new(claims(&client.to_string()));
        assert_eq!(token.client, Some(client));
        assert!(token.application.is_some());
        assert_eq!(
            token.statement, None,
            "not a UUID: never the standing's statement"
        );
        assert_eq!(VerifiedToken::new(claims("c")).client, None);
    }
}
