//! Parsing of the request parts the handlers share: bodies with limits, media types,
//! `X-Device-Info`, HTTP Basic and Bearer credentials. Every function here returns an
//! error instead of panicking on hostile input.

use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::{HeaderMap, HeaderName};
use dcr_core::device_info::{DeviceInfo, DeviceInfoError};
use dcr_core::throttle::TrustedProxies;

/// Headers of our own looked up on every request: as `HeaderName`s, a lookup hashes
/// the name directly instead of parsing text into one first.
pub const X_DEVICE_INFO: HeaderName = HeaderName::from_static("x-device-info");
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    TooLarge(usize),
    Unreadable,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge(limit) => write!(f, "the request body exceeds {limit} bytes"),
            Self::Unreadable => f.write_str("the request body could not be read"),
        }
    }
}

/// The caller's address: the peer, or the right-most untrusted `X-Forwarded-For` hop
/// when the peer is a trusted proxy.
pub fn client_ip(
    proxies: &TrustedProxies,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    let forwarded = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok());
    proxies.client_ip(peer, forwarded)
}

/// Reads at most `limit` bytes; a longer body is an error, not a truncation.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // `to_bytes` reports a length-limit error through its source chain.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.is::<http_body_util::LengthLimitError>() {
                return BodyError::TooLarge(limit);
            }
            source = err.source();
        }
        BodyError::Unreadable
    })
}

/// A form body, read within `limit`. Empty is allowed: OAuth parameters may come in the
/// query string alone (Adobe's reference shows them there); a body, when present,
/// must be `application/x-www-form-urlencoded`.
pub async fn read_form_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, String> {
    let bytes = read_body(body, limit).await.map_err(|e| e.to_string())?;
    if !bytes.is_empty() {
        require_media_type(headers, "application/x-www-form-urlencoded")?;
    }
    Ok(bytes)
}

/// The one value of header `name`; `Err` when it appears more than once or is not text.
pub fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a str>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("the {name} header must appear at most once"));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| format!("the {name} header must be visible ASCII"))
}

/// Checks that the body's media type is `want`, with at most a UTF-8 charset parameter.
pub fn require_media_type(headers: &HeaderMap, want: &str) -> Result<(), String> {
    let expected = || format!("Content-Type must be {want}");
    let raw = single_header(headers, &CONTENT_TYPE)?.ok_or_else(expected)?;
    let mut parts = raw.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(want) {
        return Err(expected());
    }
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (name, value) = param.split_once('=').ok_or_else(expected)?;
        let value = value.trim().trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") || !value.eq_ignore_ascii_case("utf-8") {
            return Err(format!(
                "{expected}; the only parameter allowed is charset=utf-8",
                expected = expected()
            ));
        }
    }
    Ok(())
}

/// True when there is no `Accept` header or it admits `application/json`.
pub fn accepts_json(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return headers.get(ACCEPT).is_none();
    }
    values.iter().flat_map(|v| v.split(',')).any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// `X-Device-Info`, or what `User-Agent` tells when it is absent.
pub fn device_info(headers: &HeaderMap) -> Result<DeviceInfo, DeviceInfoError> {
    match single_header(headers, &X_DEVICE_INFO) {
        Ok(Some(raw)) => DeviceInfo::parse_header(raw.as_bytes()),
        Ok(None) => Ok(DeviceInfo::from_user_agent(user_agent(headers))),
        Err(_) => Err(DeviceInfoError::NotBase64),
    }
}

/// `X-Device-Info` only when present.
pub fn explicit_device_info(headers: &HeaderMap) -> Result<Option<DeviceInfo>, DeviceInfoError> {
    if headers.contains_key(X_DEVICE_INFO) {
        device_info(headers).map(Some)
    } else {
        Ok(None)
    }
}

pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}

/// Credentials from `Authorization: Basic`; `Ok(None)` when another scheme or none
/// is used.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, String> {
    match single_header(headers, &AUTHORIZATION)? {
        Some(raw) => dcr_core::wire::parse_basic(raw),
        None => Ok(None),
    }
}

/// The token of `Authorization: Bearer <token>`, if that is what the header holds.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    dcr_core::wire::parse_bearer(single_header(headers, &AUTHORIZATION).ok()??)
}

/// An id from the request path, parsed where it enters (`PathId<ApplicationId>`).
/// Text that cannot be an id of its kind names nothing, so it is answered 404 in the
/// same words as an id that names nothing, or names another tenant's resource: the
/// answer tells a caller nothing about what exists elsewhere.
pub struct PathId<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for PathId<T>
where
    S: Send + Sync,
    T: dcr_core::ids::ParseId + Send,
{
    type Rejection = crate::error::EnhancedFailure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| crate::error::EnhancedFailure::not_found())?;
        T::parse_id(&raw)
            .map(Self)
            .map_err(|_| crate::error::EnhancedFailure::not_found())
    }
}

/// A query string in which every name appears once. A singular parameter given twice
/// is ambiguous (`?dry_run=true&dry_run=false` must mean neither), so it is refused
/// with 400 wherever a query is read, instead of letting the first or the last win.
#[derive(Debug, Default)]
pub struct SingleQuery(Vec<(String, String)>);

impl SingleQuery {
    /// Longest query string read.
    const MAX_LEN: usize = 8 * 1024;

    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let raw = raw.unwrap_or_default();
        if raw.len() > Self::MAX_LEN {
            return Err("the query string is too long".into());
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            if pairs.iter().any(|(n, _)| *n == name) {
                let shown: String = name.chars().take(64).collect();
                return Err(format!("query parameter {shown:?} is given more than once"));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self(pairs))
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name` as a boolean (`true`/`1`, `false`/`0`/empty); absent is `false`.
    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            None | Some("false" | "0" | "") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(format!("{name} must be true or false")),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SingleQuery {
    type Rejection = crate::error::EnhancedFailure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Self::parse(parts.uri.query()).map_err(crate::error::EnhancedFailure::invalid_request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_repeated_query_parameter_is_refused() {
        assert!(SingleQuery::parse(Some("dry_run=true&dry_run=false")).is_err());
        assert!(SingleQuery::parse(Some("limit=1&cursor=2&limit=3")).is_err());
        // Percent-encoding does not hide a repeat.
        assert!(SingleQuery::parse(Some("dry_run=1&dry%5Frun=0")).is_err());
        let q = SingleQuery::parse(Some("dry_run=true&limit=5")).unwrap();
        assert_eq!(q.flag("dry_run"), Ok(true));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.flag("absent"), Ok(false));
        assert!(q.flag("limit").is_err());
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn media_types() {
        let ok = [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"UTF-8\"",
        ];
        for ct in ok {
            assert_eq!(
                require_media_type(&headers(&[("content-type", ct)]), "application/json"),
                Ok(()),
                "{ct}"
            );
        }
        let bad = [
            "text/plain",
            "application/json; charset=latin1",
            "application/jsonx",
            "application/json; boundary=x",
        ];
        for ct in bad {
            assert!(
                require_media_type(&headers(&[("content-type", ct)]), "application/json").is_err(),
                "{ct}"
            );
        }
        assert!(require_media_type(&headers(&[]), "application/json").is_err());
        assert!(
            require_media_type(
                &headers(&[
                    ("content-type", "application/json"),
                    ("content-type", "application/json")
                ]),
                "application/json"
            )
            .is_err()
        );
    }

    #[test]
    fn accept_header() {
        assert!(accepts_json(&headers(&[])));
        assert!(accepts_json(&headers(&[("accept", "application/json")])));
        assert!(accepts_json(&headers(&[(
            "accept",
            "text/html, */*;q=0.1"
        )])));
        assert!(!accepts_json(&headers(&[("accept", "text/html")])));
        assert!(!accepts_json(&headers(&[(
            "accept",
            "application/json;q=0"
        )])));
    }
}
