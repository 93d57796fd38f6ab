//! The access decision for protected APIs (SPEC 3), shared by forward auth in the
//! server and by the `dcr-guard` crate so the two can never disagree. Only the source
//! of "is the origin still active" differs: the store for the server, the revocation
//! feed for the guard.

use dcr_proto::claims::AccessTokenClaims;

use crate::error::AccessError;
use crate::jose::{JoseError, Verifier};

/// Step 1: the token is ours, unaltered, an access token, and unexpired.
pub fn verify_token(
    verifier: &Verifier,
    token: &str,
    now: i64,
) -> Result<AccessTokenClaims, AccessError> {
    verifier
        .verify_access_token(token, now)
        .map_err(|e| match e {
            JoseError::Expired => AccessError::Expired,
            other => AccessError::InvalidToken(other),
        })
}

/// Step 2: with the origin's standing known, the channel the route names and the scope
/// it needs. `channel_owner` is the programmer owning `channel`, needed only when the
/// token covers all of its programmer's channels (it carries no channel list).
pub fn authorize(
    claims: &AccessTokenClaims,
    origin_active: bool,
    required_scope: Option<&str>,
    channel: Option<&str>,
    channel_owner: Option<&str>,
) -> Result<(), AccessError> {
    if !origin_active {
        return Err(AccessError::Revoked);
    }
    if let Some(channel) = channel {
        let covered = match &claims.channels {
            Some(list) => list.iter().any(|c| c == channel),
            None => channel_owner == Some(claims.programmer.as_str()),
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
    Ok(())
}

/// True when `channel` must be resolved to its programmer before [`authorize`].
pub fn needs_channel_owner(claims: &AccessTokenClaims, channel: Option<&str>) -> bool {
    channel.is_some() && claims.channels.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(channels: Option<Vec<&str>>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "i".into(),
            sub: "c".into(),
            client_id: "c".into(),
            jti: "t".into(),
            iat: 0,
            nbf: 0,
            exp: 1,
            scopes: "a,b".into(),
            scope: "a b".into(),
            software_id: "s".into(),
            sst: "j".into(),
            programmer: "acme".into(),
            channels: channels.map(|v| v.into_iter().map(String::from).collect()),
        }
    }

    #[test]
    fn revoked_origin_comes_first() {
        assert_eq!(
            authorize(&claims(None), false, Some("zzz"), None, None),
            Err(AccessError::Revoked)
        );
    }

    #[test]
    fn channel_lists_and_programmer_wide_tokens() {
        let limited = claims(Some(vec!["TV"]));
        assert_eq!(authorize(&limited, true, None, Some("TV"), None), Ok(()));
        assert!(matches!(
            authorize(&limited, true, None, Some("NEWS"), None),
            Err(AccessError::WrongChannel(_))
        ));
        let wide = claims(None);
        assert_eq!(
            authorize(&wide, true, None, Some("TV"), Some("acme")),
            Ok(())
        );
        assert!(matches!(
            authorize(&wide, true, None, Some("TV"), Some("other")),
            Err(AccessError::WrongChannel(_))
        ));
        assert!(matches!(
            authorize(&wide, true, None, Some("TV"), None),
            Err(AccessError::WrongChannel(_))
        ));
    }

    #[test]
    fn channel_before_scope() {
        let limited = claims(Some(vec!["TV"]));
        assert!(matches!(
            authorize(&limited, true, Some("zzz"), Some("NEWS"), None),
            Err(AccessError::WrongChannel(_))
        ));
        assert!(matches!(
            authorize(&limited, true, Some("zzz"), Some("TV"), None),
            Err(AccessError::InsufficientScope(_))
        ));
        assert_eq!(
            authorize(&limited, true, Some("b"), Some("TV"), None),
            Ok(())
        );
    }
}
