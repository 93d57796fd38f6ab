//! Forward auth (`/o/auth/verify`): the shared decision of [`crate::access`], with the
//! origin's standing read from the store so revocation takes effect at once.

use dcr_proto::claims::AccessTokenClaims;

use super::Dcr;
use crate::access::{Requirements, authorize, needs_channel_owner, verify_token};
use crate::error::AccessError;
use std::sync::Arc;

use crate::ids::{ApplicationId, ClientId, StatementId};
use crate::jose::JoseError;
use crate::time::unix_now;

/// A call that may proceed, and who makes it: the verified token's claims, shared
/// with the cache of verified tokens rather than copied for each call.
#[derive(Debug, Clone)]
pub struct VerifiedAccess {
    pub claims: Arc<AccessTokenClaims>,
}

impl Dcr {
    /// Verifies `token`, that it and its client, statement and application are still
    /// active, then what the route requires (programmer, audience, channel, scope).
    pub async fn verify_access(
        &self,
        token: &str,
        required: &Requirements<'_>,
    ) -> Result<VerifiedAccess, AccessError> {
        let claims = self.verified_claims(token)?;
        let origin_active = self.origin_active(&claims).await?;
        let owner = match required.channel {
            Some(ch) if origin_active && needs_channel_owner(&claims, required) => {
                self.channel_owner(ch).await?
            }
            _ => None,
        };
        authorize(&claims, origin_active, required, owner.as_deref())?;
        Ok(VerifiedAccess { claims })
    }

    /// The token's claims: from the cache of verified tokens, or verified now.
    pub(crate) fn verified_claims(
        &self,
        token: &str,
    ) -> Result<Arc<AccessTokenClaims>, AccessError> {
        let now = unix_now();
        if let Some(claims) = self.tokens.get(token, now) {
            return Ok(claims);
        }
        let claims = Arc::new(verify_token(self.keys().verifier(), token, now)?);
        self.tokens.insert(token, claims.clone());
        Ok(claims)
    }

    /// Whether the token itself (RFC 7009) and its client, statement and application
    /// all still stand.
    pub(crate) async fn origin_active(
        &self,
        claims: &AccessTokenClaims,
    ) -> Result<bool, AccessError> {
        if self.revoked_tokens.contains(&claims.jti) {
            return Ok(false);
        }
        let client_id = ClientId::parse(&claims.client_id)
            .map_err(|_| AccessError::InvalidToken(JoseError::BadClaims))?;
        let Some(standing) = self.standing(&client_id).await? else {
            return Ok(false);
        };
        // Compared as parsed ids: no string is built on this path.
        let same_origin = StatementId::parse(&claims.sst)
            .is_ok_and(|sst| sst == standing.client.statement_jti)
            && ApplicationId::parse(&claims.software_id)
                .is_ok_and(|app| app == standing.application.id);
        Ok(standing.is_active() && same_origin)
    }
}
