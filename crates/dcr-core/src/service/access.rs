//! Forward auth (`/o/auth/verify`): the shared decision of [`crate::access`], with the
//! origin's standing read from the store so revocation takes effect at once.

use dcr_proto::claims::AccessTokenClaims;

use super::Dcr;
use crate::access::{authorize, needs_channel_owner, verify_token};
use crate::error::AccessError;
use crate::ids::{ChannelId, ClientId};
use crate::jose::JoseError;
use crate::time::unix_now;

/// A call that may proceed, and who makes it.
#[derive(Debug, Clone)]
pub struct VerifiedAccess {
    pub claims: AccessTokenClaims,
}

impl Dcr {
    /// Verifies `token`, that its client, statement and application are still active,
    /// then the channel the route names and the scope it needs.
    pub async fn verify_access(
        &self,
        token: &str,
        required_scope: Option<&str>,
        channel: Option<&str>,
    ) -> Result<VerifiedAccess, AccessError> {
        let claims = verify_token(self.keys().verifier(), token, unix_now())?;
        let origin_active = self.origin_active(&claims).await?;
        let owner = match channel {
            Some(ch) if origin_active && needs_channel_owner(&claims, channel) => {
                match ChannelId::parse(ch) {
                    Ok(id) => self.store.get_channel(&id).await?.map(|c| c.programmer_id),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        authorize(
            &claims,
            origin_active,
            required_scope,
            channel,
            owner.as_ref().map(|p| p.as_str()),
        )?;
        Ok(VerifiedAccess { claims })
    }

    /// Whether the token's client, statement and application all still stand.
    pub(crate) async fn origin_active(
        &self,
        claims: &AccessTokenClaims,
    ) -> Result<bool, AccessError> {
        let client_id = ClientId::parse(&claims.client_id)
            .map_err(|_| AccessError::InvalidToken(JoseError::BadClaims))?;
        let Some(standing) = self.store.client_standing(&client_id).await? else {
            return Ok(false);
        };
        let same_origin = standing.client.statement_jti.to_string() == claims.sst
            && standing.application.id.to_string() == claims.software_id;
        Ok(standing.is_active() && same_origin)
    }
}
