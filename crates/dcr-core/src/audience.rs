//! Audiences (RFC 8707 resource indicators, RFC 9068 `aud`): absolute URIs without a
//! fragment, naming the APIs a token is for.

use url::Url;

/// Most audiences one application may list.
pub const MAX_AUDIENCES: usize = 10;
/// Longest audience accepted.
pub const MAX_AUDIENCE_LEN: usize = 2048;

/// One audience, as written by its owner (compared by exact string, as JWT validators
/// compare `aud`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(String);

/// Why a value is not an audience.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an absolute URI without a fragment")]
pub struct InvalidAudience {
    pub value: String,
}

impl Audience {
    /// An absolute URI (scheme and, for hierarchical URIs, a host) without a fragment,
    /// whitespace or control characters.
    pub fn parse(value: &str) -> Result<Self, InvalidAudience> {
        let invalid = || InvalidAudience {
            value: value.chars().take(100).collect(),
        };
        if value.is_empty()
            || value.len() > MAX_AUDIENCE_LEN
            || value.contains('#')
            || value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return Err(invalid());
        }
        let url = Url::parse(value).map_err(|_| invalid())?;
        if url.fragment().is_some() || (url.has_authority() && url.host().is_none()) {
            return Err(invalid());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An application's audiences: at most [`MAX_AUDIENCES`], no duplicates.
pub fn parse_list(values: &[String]) -> Result<Vec<Audience>, String> {
    if values.len() > MAX_AUDIENCES {
        return Err(format!("at most {MAX_AUDIENCES} audiences"));
    }
    let mut out: Vec<Audience> = Vec::with_capacity(values.len());
    for v in values {
        let a = Audience::parse(v).map_err(|e| format!("audiences: {e}"))?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_are_absolute_uris_without_fragments() {
        for ok in [
            "https://api.acme.example",
            "https://api.acme.example/v2/",
            "urn:acme:api",
            "http://localhost:8080/",
        ] {
            assert!(Audience::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "api.acme.example",
            "/v2",
            "https://api.acme.example/#x",
            "https://api.acme.example/ x",
            "https://a.example\\@b.example",
        ] {
            assert!(Audience::parse(bad).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..11).map(|i| format!("https://a{i}.example")).collect();
        assert!(parse_list(&many).is_err());
        assert_eq!(
            parse_list(&["urn:a".into(), "urn:a".into()]).map(|l| l.len()),
            Ok(1)
        );
    }
}
