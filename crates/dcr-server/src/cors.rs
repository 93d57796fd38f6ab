//! CORS for the public endpoints browsers and smart-TV web apps call from their own
//! origin: registration (and RFC 7592), token, revocation, discovery and the JWKS.
//! Admin routes and the dashboard never answer CORS. No cookies are involved, so
//! credentials are never allowed and `*` is safe to configure.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `scheme://host[:port]`, as browsers send in `Origin`; `None` for anything else.
pub fn parse_origin(text: &str) -> Option<HeaderValue> {
    let url = url::Url::parse(text).ok()?;
    let origin = url.origin().ascii_serialization();
    let same = origin == text.trim_end_matches('/');
    (same && matches!(url.scheme(), "http" | "https"))
        .then(|| HeaderValue::from_str(&origin).ok())
        .flatten()
}

/// The layer for the public routes; `None` when no origin is allowed.
pub fn layer(allowed_origins: &[String]) -> Option<CorsLayer> {
    if allowed_origins.is_empty() {
        return None;
    }
    let origin = if allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(allowed_origins.iter().filter_map(|o| parse_origin(o)))
    };
    Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::ACCEPT,
                HeaderName::from_static("x-device-info"),
                // Proofs of possession a browser app sends (RFC 9449, attestation).
                HeaderName::from_static(dcr_proto::pop::DPOP_HEADER),
                HeaderName::from_static(dcr_proto::pop::ATTESTATION_HEADER),
                HeaderName::from_static(dcr_proto::pop::ATTESTATION_POP_HEADER),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
                HeaderName::from_static("x-request-id"),
                // The nonce a browser app must read to retry (RFC 9449 8).
                HeaderName::from_static(dcr_proto::pop::DPOP_NONCE_HEADER),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for ok in [
            "https://app.example",
            "http://localhost:3000",
            "https://tv.example:8443",
        ] {
            assert!(parse_origin(ok).is_some(), "{ok}");
        }
        for bad in [
            "app.example",
            "https://app.example/path",
            "file:///x",
            "https://app.example?x",
            "*.example",
        ] {
            assert!(parse_origin(bad).is_none(), "{bad}");
        }
    }
}
