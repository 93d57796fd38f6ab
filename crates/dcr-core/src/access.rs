//! The access decision for protected APIs (docs/errors.md), shared by forward auth in the
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

/// How a token was presented to a protected API: as a bearer token, or with a DPoP
/// proof (RFC 9449 7) of the original request.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    Bearer(&'a str),
    Dpop {
        token: &'a str,
        /// The `DPoP` header; `None` when missing.
        proof: Option<&'a str>,
        /// The original request's method and URI (without query).
        htm: &'a str,
        htu: &'a str,
    },
}

impl<'a> Presented<'a> {
    pub fn token(&self) -> &'a str {
        match self {
            Self::Bearer(token) | Self::Dpop { token, .. } => token,
        }
    }
}

/// A DPoP proof that verified: its `jti`, to be used once, until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofToSpend {
    pub jti: String,
    pub until: i64,
}

/// Step 1b: the token is presented as its binding asks. An unbound token is a bearer
/// token; a bound one (`cnf.jkt`) comes with a DPoP proof of the original request
/// (method, URI, `ath` of this token, fresh) signed by the key it is bound to.
/// Returns the proof's `jti` for the caller to spend once (in the store, or in a
/// guard's memory).
pub fn proven_possession(
    claims: &AccessTokenClaims,
    presented: &Presented<'_>,
    now: i64,
    freshness: crate::pop::Freshness,
) -> Result<Option<ProofToSpend>, AccessError> {
    let refused = |m: &str| AccessError::InvalidDpopProof(m.to_owned());
    match (&claims.cnf, presented) {
        (None, Presented::Bearer(_)) => Ok(None),
        (Some(_), Presented::Bearer(_)) => Err(refused(
            "the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof",
        )),
        (None, Presented::Dpop { .. }) => Err(refused(
            "the access token is not DPoP-bound: present it as a Bearer token",
        )),
        (
            Some(cnf),
            Presented::Dpop {
                token,
                proof,
                htm,
                htu,
            },
        ) => {
            let proof = proof.ok_or_else(|| refused("the DPoP proof is missing"))?;
            let verified = crate::pop::verify_dpop(
                proof,
                &crate::pop::DpopExpectations {
                    htm,
                    htu,
                    access_token: Some(token),
                    now,
                    freshness,
                },
            )
            .map_err(|e| {
                AccessError::InvalidDpopProof(format!("the DPoP proof is refused: {e}"))
            })?;
            if verified.key.thumbprint() != cnf.jkt {
                return Err(refused(
                    "the DPoP proof is not signed by the key the token is bound to",
                ));
            }
            Ok(Some(ProofToSpend {
                jti: verified.jti,
                until: verified.iat + freshness.max_age + freshness.max_future,
            }))
        }
    }
}

/// What a protected route requires of a token beyond being ours, unexpired and
/// standing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requirements<'a> {
    /// A scope the token must carry.
    pub scope: Option<&'a str>,
    /// A channel the token must cover.
    pub channel: Option<&'a str>,
    /// A value the token's `aud` must contain.
    pub audience: Option<&'a str>,
    /// The programmer the token must belong to.
    pub programmer: Option<&'a str>,
}

/// Step 2: with the origin's standing known, what the route requires, in the order
/// of the table of docs/errors.md: revoked, another programmer's, another audience's, another
/// channel's, then the scope. `programmer_has_channel` says whether the required
/// channel is one of the token's programmer's, needed only when the token covers all
/// of its programmer's channels ([`needs_programmer_channels`]). Channel ids are
/// unique per programmer only: a channel id alone does not name a tenant, so a route
/// that must admit one tenant pins it with `programmer`.
pub fn authorize(
    claims: &AccessTokenClaims,
    origin_active: bool,
    required: &Requirements<'_>,
    programmer_has_channel: bool,
) -> Result<(), AccessError> {
    if !origin_active {
        return Err(AccessError::Revoked);
    }
    if let Some(programmer) = required.programmer
        && programmer != claims.programmer
    {
        return Err(AccessError::OtherProgrammer);
    }
    if let Some(audience) = required.audience
        && !claims.aud.contains(audience)
    {
        return Err(AccessError::WrongAudience(
            audience.chars().take(100).collect(),
        ));
    }
    if let Some(channel) = required.channel {
        let covered = match &claims.channels {
            Some(list) => list.iter().any(|c| c == channel),
            None => programmer_has_channel,
        };
        if !covered {
            return Err(AccessError::WrongChannel(
                channel.chars().take(64).collect(),
            ));
        }
    }
    if let Some(scope) = required.scope
        && !claims.has_scope(scope)
    {
        return Err(AccessError::InsufficientScope(
            scope.chars().take(64).collect(),
        ));
    }
    Ok(())
}

/// True when [`authorize`] needs to know whether the required channel is one of the
/// token's programmer's.
pub fn needs_programmer_channels(claims: &AccessTokenClaims, required: &Requirements<'_>) -> bool {
    required.channel.is_some() && claims.channels.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(channels: Option<Vec<&str>>) -> AccessTokenClaims {
        AccessTokenClaims {
            cnf: None,
            iss: "i".into(),
            sub: "c".into(),
            aud: dcr_proto::claims::Audience(vec!["https://api.example".into()]),
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

    fn needs<'a>(scope: Option<&'a str>, channel: Option<&'a str>) -> Requirements<'a> {
        Requirements {
            scope,
            channel,
            ..Default::default()
        }
    }

    #[test]
    fn revoked_origin_comes_first() {
        assert_eq!(
            authorize(&claims(None), false, &needs(Some("zzz"), None), false),
            Err(AccessError::Revoked)
        );
    }

    #[test]
    fn channel_lists_and_programmer_wide_tokens() {
        let limited = claims(Some(vec!["TV"]));
        assert_eq!(
            authorize(&limited, true, &needs(None, Some("TV")), false),
            Ok(())
        );
        assert!(matches!(
            authorize(&limited, true, &needs(None, Some("NEWS")), false),
            Err(AccessError::WrongChannel(_))
        ));
        let wide = claims(None);
        assert_eq!(
            authorize(&wide, true, &needs(None, Some("TV")), true),
            Ok(())
        );
        assert!(matches!(
            authorize(&wide, true, &needs(None, Some("TV")), false),
            Err(AccessError::WrongChannel(_))
        ));
        assert!(matches!(
            authorize(&wide, true, &needs(None, Some("TV")), false),
            Err(AccessError::WrongChannel(_))
        ));
    }

    #[test]
    fn channel_before_scope() {
        let limited = claims(Some(vec!["TV"]));
        assert!(matches!(
            authorize(&limited, true, &needs(Some("zzz"), Some("NEWS")), false),
            Err(AccessError::WrongChannel(_))
        ));
        assert!(matches!(
            authorize(&limited, true, &needs(Some("zzz"), Some("TV")), false),
            Err(AccessError::InsufficientScope(_))
        ));
        assert_eq!(
            authorize(&limited, true, &needs(Some("b"), Some("TV")), false),
            Ok(())
        );
    }

    #[test]
    fn programmer_and_audience_come_before_channel_and_scope() {
        let token = claims(Some(vec!["TV"]));
        let other = Requirements {
            programmer: Some("beta"),
            channel: Some("NEWS"),
            ..Default::default()
        };
        assert_eq!(
            authorize(&token, true, &other, false),
            Err(AccessError::OtherProgrammer)
        );
        let elsewhere = Requirements {
            audience: Some("https://other.example"),
            scope: Some("zzz"),
            ..Default::default()
        };
        assert!(matches!(
            authorize(&token, true, &elsewhere, false),
            Err(AccessError::WrongAudience(_))
        ));
        let fine = Requirements {
            audience: Some("https://api.example"),
            programmer: Some("acme"),
            channel: Some("TV"),
            scope: Some("a"),
        };
        assert_eq!(authorize(&token, true, &fine, false), Ok(()));
    }
}
