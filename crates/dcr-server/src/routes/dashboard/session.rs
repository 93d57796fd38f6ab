//! Who is asking: the caller's address, the signed-in session (a cookie), and the
//! signed-in form (the session plus a body whose CSRF token matches it), as axum
//! extractors in the style of `dcr-guard`'s `VerifiedClient`. A handler that takes a
//! [`SignedIn`] cannot run for a visitor who is not signed in.
//!
//! Sessions are an `HttpOnly`, `SameSite=Strict` cookie (and `Secure`, with the
//! `__Host-` prefix, unless configured off) holding a random token whose keyed hash is
//! stored. Every form carries the session's synchronizer CSRF token; the sign-in form,
//! which has no session yet, uses a double-submit cookie.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use dcr_core::error::AdminError;
use dcr_core::service::DashboardSession;
use dcr_core::throttle::{BucketSpec, LocalBuckets};
use subtle::ConstantTimeEq;

use super::failure;
use crate::config::DashboardConfig;
use crate::extract::read_body;
use crate::state::AppState;

/// Cookie names. With secure cookies they carry the `__Host-` prefix, which browsers
/// accept only from a secure origin, with `Path=/` and no `Domain`: a sibling subdomain
/// or a plain-HTTP page cannot plant one (a cookie-tossing attack on the sign-in CSRF
/// check).
pub(super) const SESSION_COOKIE: &str = "dcr_session";
pub(super) const LOGIN_CSRF_COOKIE: &str = "dcr_login_csrf";
const HOST_PREFIX: &str = "__Host-";
const MAX_FORM_BODY: usize = 16 * 1024;

/// Dashboard settings and the sign-in limiter, handed to handlers as an extension.
pub struct Dashboard {
    pub(super) enabled: bool,
    pub(super) secure_cookies: bool,
    pub(super) sign_ins: LocalBuckets,
}

impl Dashboard {
    pub fn new(config: &DashboardConfig, ipv6_prefix: u8) -> Self {
        let per_minute = config.login_attempts_per_minute.max(1);
        Self {
            enabled: config.enabled,
            secure_cookies: config.secure_cookies,
            sign_ins: LocalBuckets::new(
                BucketSpec {
                    capacity: per_minute,
                    refill_per_second: f64::from(per_minute) / 60.0,
                },
                100_000,
            )
            .with_ipv6_prefix(ipv6_prefix),
        }
    }

    pub(super) fn cookie(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let text = if self.secure_cookies {
            format!(
                "{HOST_PREFIX}{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}; Secure"
            )
        } else {
            format!("{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age}")
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The value of our cookie `name` in the request; `Err` when the request carries it
    /// more than once, since then it is unknowable which one we set. With secure
    /// cookies only the `__Host-` name is read: an unprefixed twin can be planted by a
    /// sibling subdomain or any plain-HTTP answer, so it is ignored rather than allowed
    /// to make the request ambiguous (which would lock the user out).
    pub(super) fn cookie_value<'a>(
        &self,
        headers: &'a HeaderMap,
        name: &str,
    ) -> Result<Option<&'a str>, AdminError> {
        let prefixed;
        let wanted = if self.secure_cookies {
            prefixed = format!("{HOST_PREFIX}{name}");
            prefixed.as_str()
        } else {
            name
        };
        let mut found = None;
        let pairs = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        for (k, v) in pairs {
            if k.trim() != wanted {
                continue;
            }
            if found.is_some() {
                return Err(AdminError::InvalidRequest(
                    "the request carries a dashboard cookie twice; clear this site's cookies and sign in again".into(),
                ));
            }
            found = Some(v);
        }
        Ok(found)
    }
}

/// The dashboard settings of the router serving this request.
fn dashboard_of(parts: &Parts) -> Result<Arc<Dashboard>, AdminError> {
    parts
        .extensions
        .get::<Arc<Dashboard>>()
        .cloned()
        .ok_or_else(|| AdminError::Internal("dashboard not configured".into()))
}

/// The caller's address, behind the trusted proxies.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| failure(None, AdminError::Internal("no peer address".into())))?;
        Ok(Self(state.client_ip(peer, &parts.headers)))
    }
}

/// A signed-in user; visitors without a live session are sent to the sign-in page.
pub struct SignedIn(pub DashboardSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let dashboard = dashboard_of(parts).map_err(|e| failure(None, e))?;
        let token = match dashboard.cookie_value(&parts.headers, SESSION_COOKIE) {
            Ok(Some(token)) => token,
            Ok(None) => return Err(Redirect::to("/dashboard/login").into_response()),
            Err(e) => return Err(failure(None, e)),
        };
        state
            .admit_authentication(ip)
            .map_err(IntoResponse::into_response)?;
        match state
            .dcr
            .dashboard_session(token, Some(ip.to_string()))
            .await
        {
            Ok(session) => Ok(Self(session)),
            Err(AdminError::Unauthenticated) => {
                state.failed_auth.failed(ip).await;
                Err(Redirect::to("/dashboard/login").into_response())
            }
            Err(e) => Err(failure(None, e)),
        }
    }
}

/// A signed-in POST: the session and its form, with the CSRF token checked.
pub struct SignedInForm {
    pub session: DashboardSession,
    pub form: Form,
}

impl FromRequest<AppState> for SignedInForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, state).await?;
        let form = Form::read(&parts.headers, body)
            .await
            .map_err(|e| failure(Some(&session), e))?;
        if !same_secret(form.one("csrf"), &session.csrf_token) {
            return Err(failure(
                Some(&session),
                AdminError::InvalidRequest(
                    "the form has expired or did not come from this dashboard; reload and retry"
                        .into(),
                ),
            ));
        }
        Ok(Self { session, form })
    }
}

/// A posted form's (or a query string's) fields, in order. Only the checkbox lists
/// ([`Form::MULTI_VALUED`]) may repeat; any other field given twice is refused, since
/// which value was meant is unknowable.
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The fields that are lists of checkboxes.
    const MULTI_VALUED: &'static [&'static str] = &["channels", "platforms", "scopes"];

    pub(super) async fn read(headers: &HeaderMap, body: Body) -> Result<Self, AdminError> {
        crate::extract::require_media_type(headers, "application/x-www-form-urlencoded")
            .map_err(AdminError::InvalidRequest)?;
        let bytes = read_body(body, MAX_FORM_BODY)
            .await
            .map_err(|e| AdminError::InvalidRequest(e.to_string()))?;
        Self::parse(&bytes)
    }

    /// Fields of a query string or a form body.
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, AdminError> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(bytes) {
            if !Self::MULTI_VALUED.contains(&k.as_ref()) && fields.iter().any(|(n, _)| *n == k) {
                let shown: String = k.chars().take(64).collect();
                return Err(AdminError::InvalidRequest(format!(
                    "{shown} is given more than once"
                )));
            }
            fields.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(fields))
    }

    /// The first value of `name`, or "".
    pub(super) fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

pub(super) fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
