//! Allowed redirect URIs: an application's `domains` and its generated custom scheme.
//!
//! Apps registered here use the client-credentials grant, so redirect URIs are not
//! used for code delivery; they are still checked so that a statement cannot register
//! a client that claims another party's URIs, and so that later flows inherit a sound
//! list.

use std::net::IpAddr;

use url::{Host, Url};

/// Longest redirect URI or domain entry accepted.
pub const MAX_URI_LEN: usize = 2048;
/// Most redirect URIs one client may carry.
pub const MAX_REDIRECT_URIS: usize = 32;

/// Why a domain entry was refused when an application was created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("domain {entry:?}: {reason}")]
pub struct InvalidDomain {
    pub entry: String,
    pub reason: &'static str,
}

/// One entry of an application's `domains`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEntry {
    /// `https://host[:port]`: any path on exactly that origin.
    Https { host: String, port: u16 },
    /// `http://localhost[:port]` or a loopback address; no port means any port (RFC 8252).
    Loopback { host: String, port: Option<u16> },
    /// `com.acme.app`: the private-use URI scheme of an Android or iOS app (RFC 8252 7.1).
    ReverseDomain(String),
}

impl DomainEntry {
    pub fn parse(entry: &str) -> Result<Self, InvalidDomain> {
        let bad = |reason| InvalidDomain {
            entry: entry.chars().take(100).collect(),
            reason,
        };
        if entry.is_empty() || entry.len() > MAX_URI_LEN {
            return Err(bad("must be 1 to 2048 characters"));
        }
        if !entry.contains(':') {
            return if is_reverse_domain(entry) {
                Ok(Self::ReverseDomain(entry.to_ascii_lowercase()))
            } else {
                Err(bad(
                    "expected an https URL or a reverse-domain scheme such as com.acme.app",
                ))
            };
        }
        let url = Url::parse(entry).map_err(|_| bad("not a valid URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry user information"));
        }
        if url.fragment().is_some() || url.query().is_some() {
            return Err(bad("must not carry a query or fragment"));
        }
        let host = url.host().ok_or_else(|| bad("must name a host"))?;
        match url.scheme() {
            "https" => Ok(Self::Https {
                host: host.to_string(),
                port: url.port_or_known_default().unwrap_or(443),
            }),
            "http" if is_loopback(&host) => Ok(Self::Loopback {
                host: host.to_string(),
                port: url.port(),
            }),
            "http" => Err(bad(
                "http is allowed only for localhost and loopback addresses",
            )),
            _ => Err(bad(
                "expected an https URL or a reverse-domain scheme such as com.acme.app",
            )),
        }
    }
}

fn is_reverse_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// Schemes that are never a redirect target, whatever an application lists.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob", "about"];

/// Why a redirect URI was refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redirect URI {uri:?} {reason}")]
pub struct RefusedRedirectUri {
    pub uri: String,
    pub reason: &'static str,
}

/// Checks `uri` against the application's domains and custom scheme and returns it in
/// its parsed, normalised form: what is stored and returned is what every URL parser
/// reads the same way, never the bytes as sent.
pub fn check_redirect_uri(
    uri: &str,
    domains: &[DomainEntry],
    custom_scheme: &str,
) -> Result<String, RefusedRedirectUri> {
    let refuse = |reason| RefusedRedirectUri {
        uri: uri.chars().take(100).collect(),
        reason,
    };
    if uri.is_empty() || uri.len() > MAX_URI_LEN {
        return Err(refuse("must be 1 to 2048 characters"));
    }
    // Parsers disagree about these (WHATWG parsers drop tabs and read `\` as `/`, so
    // `https://a.example\@b.example` has host `a.example` for one and `b.example` for
    // another): refuse rather than pick one reading.
    if uri
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(refuse(
            "must not contain whitespace, control characters or backslashes",
        ));
    }
    if uri.contains('#') {
        return Err(refuse("must not contain a fragment"));
    }
    let url = Url::parse(uri).map_err(|_| refuse("is not an absolute URI"))?;
    let scheme = url.scheme();
    if FORBIDDEN_SCHEMES.contains(&scheme) {
        return Err(refuse("uses a forbidden scheme"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not carry user information"));
    }
    let app_scheme = custom_scheme.trim_end_matches("://").trim_end_matches(':');
    if scheme.eq_ignore_ascii_case(app_scheme) {
        return Ok(url.into());
    }
    let allowed = domains.iter().any(|entry| match entry {
        DomainEntry::Https { host, port } => {
            scheme == "https"
                && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
                && url.port_or_known_default() == Some(*port)
        }
        DomainEntry::Loopback { host, port } => {
            scheme == "http"
                && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
                && port.is_none_or(|p| url.port_or_known_default() == Some(p))
        }
        DomainEntry::ReverseDomain(reverse) => scheme.eq_ignore_ascii_case(reverse),
    });
    if allowed {
        Ok(url.into())
    } else {
        Err(refuse("is not among the application's domains"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(entries: &[&str]) -> Vec<DomainEntry> {
        entries
            .iter()
            .filter_map(|e| DomainEntry::parse(e).ok())
            .collect()
    }

    #[test]
    fn domain_entries_parse() {
        assert!(DomainEntry::parse("https://acme.example").is_ok());
        assert!(DomainEntry::parse("https://acme.example:8443/app").is_ok());
        assert!(DomainEntry::parse("com.acme.app").is_ok());
        assert!(DomainEntry::parse("http://localhost:3000").is_ok());
        assert!(DomainEntry::parse("http://127.0.0.1").is_ok());
        for bad in [
            "",
            "http://acme.example",
            "https://user@acme.example",
            "https://acme.example/#x",
            "acme",
            "javascript:alert(1)",
            "ftp://acme.example",
            ".com.acme",
        ] {
            assert!(DomainEntry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris_match_the_documented_rules() {
        let d = domains(&[
            "https://acme.example",
            "com.acme.app",
            "http://localhost:3000",
        ]);
        let scheme = "dcr.0123abcd://";
        let ok = [
            "https://acme.example/cb",
            "https://acme.example:443/deep/path?x=1",
            "HTTPS://ACME.example/cb",
            "com.acme.app:/cb",
            "com.acme.app://cb",
            "dcr.0123abcd://callback",
            "http://localhost:3000/cb",
        ];
        for uri in ok {
            assert!(check_redirect_uri(uri, &d, scheme).is_ok(), "{uri}");
        }
        let refused = [
            "https://evil.example/cb",
            "https://sub.acme.example/cb",
            "https://acme.example:8443/cb",
            "https://user:pw@acme.example/cb",
            "http://acme.example/cb",
            "http://localhost:4000/cb",
            "https://acme.example/cb#frag",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative/cb",
            "com.evil.app:/cb",
            "",
            "https://acme.example\\@evil.example/cb",
            "https://acme.example/cb\t",
            " https://acme.example/cb",
            "https://acme.example/c\nb",
            "https://acme.example/c b",
            "https://acme.example/\u{0}",
        ];
        for uri in refused {
            assert!(check_redirect_uri(uri, &d, scheme).is_err(), "{uri:?}");
        }
    }

    #[test]
    fn accepted_uris_come_back_normalised() {
        let d = domains(&["https://acme.example", "com.acme.app"]);
        let scheme = "dcr.0123abcd://";
        for (sent, stored) in [
            ("HTTPS://ACME.example/cb", "https://acme.example/cb"),
            (
                "https://acme.example:443/a/../cb",
                "https://acme.example/cb",
            ),
            ("https://acme.example", "https://acme.example/"),
            ("com.acme.app:/cb", "com.acme.app:/cb"),
            ("https://acme.example/%7Ex", "https://acme.example/%7Ex"),
        ] {
            assert_eq!(
                check_redirect_uri(sent, &d, scheme).as_deref(),
                Ok(stored),
                "{sent}"
            );
        }
    }
}
