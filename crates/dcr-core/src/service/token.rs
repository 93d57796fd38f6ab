//! `POST /o/client/token` and `POST /oauth2/token`: client credentials become a
//! short-lived access token.

use dcr_proto::claims::{AccessTokenClaims, Audience};

use super::{Dcr, PlatformPolicy};
use crate::device_info::DeviceInfo;
use crate::error::TokenError;
use crate::ids::TokenId;
use crate::time::{unix_now, unix_now_millis};

/// Largest `scope` parameter we look at.
const MAX_SCOPE_PARAM: usize = 4096;

/// A token request, already parsed from the wire; it borrows the request's text.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    /// Space-separated subset of the application's scopes; all of them when absent.
    pub scope: Option<&'a str>,
    /// RFC 8707 `resource` values: the token's `aud`, among the application's
    /// audiences. Empty: all of its audiences, or the deployment's default.
    pub resources: Vec<String>,
    /// Present when the request carried `X-Device-Info`.
    pub device: Option<DeviceInfo>,
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
}

impl Dcr {
    pub async fn issue_token(&self, req: TokenRequest<'_>) -> Result<IssuedToken, TokenError> {
        // An id that cannot exist still costs one hash, so timing does not tell a
        // malformed id from a wrong secret.
        let standing = self
            .authenticated_client(req.client_id, req.client_secret)
            .await?;
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
        let now = unix_now();
        let created_at_millis = unix_now_millis();
        let ttl = self.settings.token_ttl_seconds;
        let client_text = client_id.to_string();
        let claims = AccessTokenClaims {
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
        self.count_token(app.id, standing.client.statement_jti, client_id);
        Ok(IssuedToken {
            id: claims.jti,
            access_token,
            expires_in: ttl,
            created_at_millis,
            scope: claims.scope,
            client_id: claims.client_id,
            software_id: claims.software_id,
        })
    }
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
