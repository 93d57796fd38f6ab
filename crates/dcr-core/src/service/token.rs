//! `POST /o/client/token` and `POST /oauth2/token`: client credentials become a
//! short-lived access token.

use dcr_proto::claims::{AccessTokenClaims, Audience};

use super::binding::{ProofKind, ReplayError};
use super::{AttestationHeaders, Dcr, PlatformPolicy};
use crate::binding::{AuthMethod, Mode};
use crate::device_info::DeviceInfo;
use crate::error::TokenError;
use crate::ids::TokenId;
use crate::time::{unix_now, unix_now_millis};

/// Largest `scope` parameter we look at.
const MAX_SCOPE_PARAM: usize = 4096;

/// A token request, already parsed from the wire; it borrows the request's text.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    /// How the client authenticated.
    pub credentials: ClientCredentials<'a>,
    /// Space-separated subset of the application's scopes; all of them when absent.
    pub scope: Option<&'a str>,
    /// RFC 8707 `resource` values: the token's `aud`, among the application's
    /// audiences. Empty: all of its audiences, or the deployment's default.
    pub resources: Vec<String>,
    /// Present when the request carried `X-Device-Info`.
    pub device: Option<DeviceInfo>,
    /// The `DPoP` header (RFC 9449), when sent: the token is then bound to its key.
    pub dpop: Option<&'a str>,
    /// The endpoint's path (`/oauth2/token` or `/o/client/token`): with the issuer,
    /// the URL a DPoP proof's `htu` and an assertion's `aud` name.
    pub endpoint: &'a str,
}

/// The client's credentials, in the one way it sent them.
#[derive(Debug, Clone)]
pub enum ClientCredentials<'a> {
    /// `client_id` and `client_secret` (HTTP Basic or form).
    Secret { client_id: &'a str, secret: &'a str },
    /// RFC 7523 `client_assertion` (`private_key_jwt`); `client_id` when also sent.
    Assertion {
        client_id: Option<&'a str>,
        assertion: &'a str,
    },
    /// Attestation-based client authentication; `client_id` when also sent.
    Attestation {
        client_id: Option<&'a str>,
        headers: AttestationHeaders,
    },
}

/// An issued token and what its answer shows. The ids are text already: the claims
/// spelled them out, and the answer reuses that text.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token's `jti`.
    pub id: String,
    pub access_token: String,
    pub expires_in: u64,
    pub created_at_millis: i64,
    /// Space-separated.
    pub scope: String,
    pub client_id: String,
    pub software_id: String,
    /// Bound to a DPoP key (`token_type: DPoP`).
    pub bound: bool,
    /// What the application asks of this client's platform (for reporting).
    pub bound_credentials: Mode,
}

/// How long a client assertion may be valid for (RFC 7523 `exp`).
const MAX_ASSERTION_LIFETIME: i64 = 300;

impl Dcr {
    pub async fn issue_token(&self, req: TokenRequest<'_>) -> Result<IssuedToken, TokenError> {
        let endpoint_url = format!(
            "{}{}",
            self.settings.issuer.trim_end_matches('/'),
            req.endpoint
        );
        // The proof first: a nonce challenge (`use_dpop_nonce`) then costs the client
        // no client assertion, whose `jti` authentication would spend.
        let proof = match req.dpop {
            Some(proof) => Some(self.token_endpoint_dpop(proof, &endpoint_url).await?),
            None => None,
        };
        let standing = self.authenticate(&req.credentials).await?;
        let client_id = standing.client.id;
        let app = &standing.application;

        if self.settings.platform_policy == PlatformPolicy::Enforce
            && let Some(device) = &req.device
        {
            let platform = device.platform();
            if !app.platforms.iter().any(|p| p == platform) {
                return Err(TokenError::UnauthorizedClient(format!(
                    "platform {platform:?} is not one of the application's platforms"
                )));
            }
        }

        let scopes = granted_scopes(&app.scopes, req.scope)?;
        let aud = granted_audience(
            &app.audiences,
            &self.settings.default_audience,
            &req.resources,
        )?;
        let bound_credentials = app
            .policy
            .bound_credentials
            .for_platform(&standing.client.platform);
        let cnf = match proof {
            Some(verified) => Some(dcr_proto::pop::Confirmation {
                jkt: verified.key.thumbprint().to_owned(),
            }),
            None if bound_credentials == Mode::Require => {
                return Err(TokenError::InvalidDpopProof(format!(
                    "this application requires DPoP-bound tokens on {}: send a DPoP proof",
                    standing.client.platform
                )));
            }
            None => None,
        };
        let now = unix_now();
        let created_at_millis = unix_now_millis();
        let ttl = self.settings.token_ttl_seconds;
        let client_text = client_id.to_string();
        let bound = cnf.is_some();
        let claims = AccessTokenClaims {
            cnf,
            iss: self.settings.issuer.clone(),
            sub: client_text.clone(),
            aud,
            client_id: client_text,
            jti: TokenId::new_random().to_string(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
            scopes: scopes.join(","),
            scope: scopes.join(" "),
            software_id: app.id.to_string(),
            sst: standing.client.statement_jti.to_string(),
            programmer: app.programmer_id.to_string(),
            channels: app
                .is_channel_limited()
                .then(|| app.channels.iter().map(ToString::to_string).collect()),
        };
        let access_token = self
            .keys()
            .sign_access_token(&claims)
            .map_err(|e| TokenError::Internal(e.to_string()))?;

        // Counted in memory: the periodic flush writes the count and the last use
        // (what inactivity expiry reads) of every client in one transaction, so the
        // token path writes nothing.
        self.count_token(app.id, standing.client.statement_jti, client_id, bound);
        Ok(IssuedToken {
            id: claims.jti,
            access_token,
            expires_in: ttl,
            created_at_millis,
            scope: claims.scope,
            client_id: claims.client_id,
            software_id: claims.software_id,
            bound,
            bound_credentials,
        })
    }

    /// The client behind `credentials`, standing, authenticated the one way its
    /// registration allows: a secret client by its secret, a key-bound one by a
    /// proof signed with its key. Any failure is `invalid_client`.
    pub(crate) async fn authenticate(
        &self,
        credentials: &ClientCredentials<'_>,
    ) -> Result<std::sync::Arc<crate::model::ClientStanding>, TokenError> {
        match credentials {
            ClientCredentials::Secret { client_id, secret } => {
                let standing = self.authenticated_client(client_id, secret).await?;
                if standing.client.auth_method != AuthMethod::ClientSecret {
                    tracing::info!(client_id = %standing.client.id, "a key-bound client sent a secret");
                    return Err(TokenError::InvalidClient);
                }
                Ok(standing)
            }
            ClientCredentials::Assertion {
                client_id,
                assertion,
            } => self.authenticate_assertion(*client_id, assertion).await,
            ClientCredentials::Attestation { client_id, headers } => {
                self.authenticate_attestation(*client_id, headers).await
            }
        }
    }

    async fn authenticate_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
    ) -> Result<std::sync::Arc<crate::model::ClientStanding>, TokenError> {
        let refused = |why: &dyn std::fmt::Display| {
            tracing::info!(reason = %why, "client assertion refused");
            TokenError::InvalidClient
        };
        let subject = unverified_subject(assertion).ok_or_else(|| refused(&"malformed"))?;
        if client_id.is_some_and(|id| id != subject) {
            return Err(refused(&"client_id differs from the assertion's sub"));
        }
        let standing = self.standing_of(&subject).await?;
        let key = match (&standing.client.auth_method, &standing.client.key) {
            (AuthMethod::PrivateKeyJwt, Some(key)) => stored_key(key)?,
            _ => {
                return Err(refused(
                    &"the client does not authenticate with private_key_jwt",
                ));
            }
        };
        let issuer = self.settings.issuer.trim_end_matches('/');
        let audiences = [
            self.settings.issuer.clone(),
            issuer.to_owned(),
            format!("{issuer}/oauth2/token"),
            format!("{issuer}/o/client/token"),
        ];
        let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
        let now = unix_now();
        let verified = crate::pop::verify_assertion(
            assertion,
            &key,
            &subject,
            &audiences,
            now,
            MAX_ASSERTION_LIFETIME,
        )
        .map_err(|e| refused(&e))?;
        self.first_use_of(ProofKind::Assertion, &verified.jti, verified.exp)
            .await
            .map_err(|e| match e {
                ReplayError::Replayed => refused(&"the assertion was used already"),
                ReplayError::Full => {
                    TokenError::Unavailable(crate::store::StoreError::Unavailable(e.to_string()))
                }
                ReplayError::Store(s) => TokenError::from(s),
            })?;
        if !standing.is_active() {
            return Err(TokenError::InvalidClient);
        }
        Ok(standing)
    }

    async fn authenticate_attestation(
        &self,
        client_id: Option<&str>,
        headers: &AttestationHeaders,
    ) -> Result<std::sync::Arc<crate::model::ClientStanding>, TokenError> {
        let refused = |why: &dyn std::fmt::Display| {
            tracing::info!(reason = %why, "client attestation refused");
            TokenError::InvalidClient
        };
        // The client is named by `client_id`, or else by the attestation's `sub`.
        let named = match client_id {
            Some(id) => id.to_owned(),
            None => {
                unverified_subject(&headers.attestation).ok_or_else(|| refused(&"malformed"))?
            }
        };
        let standing = self.standing_of(&named).await?;
        let stored = match (&standing.client.auth_method, &standing.client.key) {
            (AuthMethod::AttestJwtClientAuth, Some(key)) => key.jkt.clone(),
            _ => {
                return Err(refused(
                    &"the client does not authenticate with attest_jwt_client_auth",
                ));
            }
        };
        let attested = self
            .verify_attestation(headers, &standing.application, &named)
            .await
            .map_err(|e| match e {
                crate::error::RegisterError::Unavailable(s) => TokenError::Unavailable(s),
                other => refused(&other),
            })?;
        if attested.thumbprint() != stored {
            return Err(refused(&"the attested key is not the client's"));
        }
        if !standing.is_active() {
            return Err(TokenError::InvalidClient);
        }
        Ok(standing)
    }

    /// The standing of a client named by id text; unknown is `invalid_client`.
    async fn standing_of(
        &self,
        client_id: &str,
    ) -> Result<std::sync::Arc<crate::model::ClientStanding>, TokenError> {
        let id = crate::ids::ClientId::parse(client_id).map_err(|_| TokenError::InvalidClient)?;
        self.standing(&id).await?.ok_or(TokenError::InvalidClient)
    }
}

/// The install key a client registered, as stored.
fn stored_key(key: &crate::binding::ClientKey) -> Result<crate::pop::InstallKey, TokenError> {
    serde_json::from_str(&key.jwk)
        .ok()
        .and_then(|jwk| crate::pop::InstallKey::from_jwk(&jwk).ok())
        .ok_or_else(|| TokenError::Internal("a stored client key does not parse".into()))
}

/// The `sub` a JWT claims, read before any verification: only to find the client
/// whose key then verifies it.
fn unverified_subject(jws: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = jws.split('.').nth(1)?;
    if payload.len() > crate::jose::MAX_JWS_BYTES {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = crate::strict_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

fn granted_scopes(
    app_scopes: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, TokenError> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(app_scopes.to_vec());
    };
    if requested.len() > MAX_SCOPE_PARAM {
        return Err(TokenError::InvalidRequest("scope is too long".into()));
    }
    let wanted: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(extra) = wanted.iter().find(|w| !app_scopes.iter().any(|s| s == *w)) {
        let shown: String = extra.chars().take(64).collect();
        return Err(TokenError::InvalidScope(format!(
            "scope {shown:?} is not granted to this application"
        )));
    }
    // Keep the application's order so equal requests give equal tokens.
    Ok(app_scopes
        .iter()
        .filter(|s| wanted.contains(&s.as_str()))
        .cloned()
        .collect())
}

/// The token's `aud` (RFC 9068 2.2, RFC 8707 2): the requested resources, each one of
/// the application's audiences (or the deployment default when it lists none); without
/// a request, all of the application's audiences, else the default.
fn granted_audience(
    app_audiences: &[String],
    default: &str,
    requested: &[String],
) -> Result<Audience, TokenError> {
    let default = [default.to_owned()];
    let allowed: &[String] = if app_audiences.is_empty() {
        &default
    } else {
        app_audiences
    };
    if requested.is_empty() {
        return Ok(Audience(allowed.to_vec()));
    }
    for r in requested {
        crate::audience::Audience::parse(r)
            .map_err(|e| TokenError::InvalidTarget(format!("resource {e}")))?;
        if !allowed.contains(r) {
            let shown: String = r.chars().take(100).collect();
            return Err(TokenError::InvalidTarget(format!(
                "resource {shown:?} is not an audience of this application"
            )));
        }
    }
    // The application's order, so equal requests give equal tokens.
    Ok(Audience(
        allowed
            .iter()
            .filter(|a| requested.contains(a))
            .cloned()
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_audience_is_requested_among_the_applications_or_the_default() {
        let apis = s(&["https://a.example", "https://b.example"]);
        let d = "https://issuer.example";
        assert_eq!(granted_audience(&apis, d, &[]), Ok(Audience(apis.clone())));
        assert_eq!(granted_audience(&[], d, &[]), Ok(Audience(s(&[d]))));
        assert_eq!(
            granted_audience(&apis, d, &s(&["https://b.example"])),
            Ok(Audience(s(&["https://b.example"])))
        );
        assert_eq!(granted_audience(&[], d, &s(&[d])), Ok(Audience(s(&[d]))));
        for bad in ["https://c.example", "b.example", "https://b.example#x", d] {
            assert!(
                matches!(
                    granted_audience(&apis, d, &s(&[bad])),
                    Err(TokenError::InvalidTarget(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn scopes_narrow_to_a_subset_in_application_order() {
        let app = s(&["a", "b", "c"]);
        assert_eq!(granted_scopes(&app, None), Ok(app.clone()));
        assert_eq!(granted_scopes(&app, Some("  ")), Ok(app.clone()));
        assert_eq!(granted_scopes(&app, Some("c a")), Ok(s(&["a", "c"])));
        assert!(matches!(
            granted_scopes(&app, Some("a z")),
            Err(TokenError::InvalidScope(_))
        ));
    }
}
