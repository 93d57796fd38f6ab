//! Verification of a bearer token for a protected API (SPEC 3): what forward auth
//! (`/o/auth/verify`) answers.

use dcr_proto::claims::AccessTokenClaims;

use super::Dcr;
use crate::error::AccessError;
use crate::ids::{ChannelId, ClientId};
use crate::jose::JoseError;
use crate::model::Status;
use crate::time::unix_now;

/// A call that may proceed, and who makes it.
#[derive(Debug, Clone)]
pub struct VerifiedAccess {
    pub claims: AccessTokenClaims,
}

impl VerifiedAccess {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.claims.scope.split(' ').filter(|s| !s.is_empty())
    }
}

impl Dcr {
    /// Verifies `token` and that everything it stands on is still active, then the
    /// scope and the channel the route names. Checks run from "who are you" (401) to
    /// "may you" (403).
    pub async fn verify_access(
        &self,
        token: &str,
        required_scope: Option<&str>,
        channel: Option<&str>,
    ) -> Result<VerifiedAccess, AccessError> {
        let claims = self
            .keys()
            .verify_access_token(token, unix_now())
            .map_err(|e| match e {
                JoseError::Expired => AccessError::Expired,
                other => AccessError::InvalidToken(other),
            })?;

        let client_id = ClientId::parse(&claims.client_id)
            .map_err(|_| AccessError::InvalidToken(JoseError::BadClaims))?;
        let standing = self
            .store
            .client_standing(&client_id)
            .await?
            .ok_or(AccessError::Revoked)?;
        let same_origin = standing.client.statement_jti.to_string() == claims.sst
            && standing.application.id.to_string() == claims.software_id;
        if !standing.is_active() || !same_origin {
            return Err(AccessError::Revoked);
        }

        if let Some(channel) = channel {
            let covered = match &claims.channels {
                Some(list) => list.iter().any(|c| c == channel),
                // All channels of the programmer, including ones created after the token.
                None => match ChannelId::parse(channel) {
                    Ok(id) => self
                        .store
                        .get_channel(&id)
                        .await?
                        .is_some_and(|c| c.programmer_id.as_str() == claims.programmer),
                    Err(_) => false,
                },
            };
            if !covered {
                return Err(AccessError::WrongChannel(
                    channel.chars().take(64).collect(),
                ));
            }
        }

        if let Some(scope) = required_scope
            && !claims.has_scope(scope)
        {
            return Err(AccessError::InsufficientScope(
                scope.chars().take(64).collect(),
            ));
        }
        debug_assert_eq!(standing.client.status, Status::Active);
        Ok(VerifiedAccess { claims })
    }
}
