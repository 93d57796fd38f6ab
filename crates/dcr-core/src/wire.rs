//! Parsers for what arrives on the wire: the registration body, token-endpoint
//! parameters, and `Authorization` header values. Pure functions over bytes and text,
//! so they are unit-tested and fuzzed without a server.

use std::borrow::Cow;
use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::redirect::MAX_REDIRECT_URIS;
use crate::service::RegistrationRequest;

/// The registration body: `software_statement` (required), `redirect_uri` (Adobe)
/// and/or `redirect_uris` (RFC 7591), `token_endpoint_auth_method`; other members are
/// ignored. Duplicate members anywhere are refused.
pub fn parse_registration_body(bytes: &[u8]) -> Result<RegistrationRequest, String> {
    let value = crate::strict_json::from_slice(bytes)
        .map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Value::Object(members) = value else {
        return Err("the body must be a JSON object".into());
    };
    let statement = match members.get("software_statement") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_) | Value::Null) | None => {
            return Err("software_statement is required".into());
        }
        Some(_) => return Err("software_statement must be a string".into()),
    };
    let single = match members.get("redirect_uri") {
        None | Some(Value::Null) => None,
        Some(Value::String(uri)) => Some(uri),
        Some(_) => return Err("redirect_uri must be a string".into()),
    };
    let listed: &[Value] = match members.get("redirect_uris") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => return Err("redirect_uris must be an array of strings".into()),
    };
    // The cap comes before any work per item.
    if listed.len() + usize::from(single.is_some()) > MAX_REDIRECT_URIS {
        return Err(format!("at most {MAX_REDIRECT_URIS} redirect URIs"));
    }
    let mut redirect_uris: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    if let Some(uri) = single {
        seen.insert(uri);
        redirect_uris.push(uri.clone());
    }
    for item in listed {
        let Value::String(uri) = item else {
            return Err("redirect_uris must be an array of strings".into());
        };
        if seen.insert(uri) {
            redirect_uris.push(uri.clone());
        }
    }
    let token_endpoint_auth_method = match members.get("token_endpoint_auth_method") {
        Some(Value::String(m)) => Some(m.clone()),
        None | Some(Value::Null) => None,
        Some(_) => return Err("token_endpoint_auth_method must be a string".into()),
    };
    // RFC 7591 2: `jwks` by value (a `jwks_uri` would make us fetch keys, which we
    // never do).
    let jwks = match members.get("jwks") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err("jwks must be a JSON Web Key Set object".into()),
    };
    let evidence = match members.get("attestation") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => {
            Some(serde_json::from_value(v.clone()).map_err(|e| format!("attestation: {e}"))?)
        }
        Some(_) => return Err("attestation must be an object".into()),
    };
    if members.contains_key("jwks_uri") {
        return Err("jwks_uri is not supported: send the key in jwks".into());
    }
    Ok(RegistrationRequest {
        software_statement: statement,
        redirect_uris,
        token_endpoint_auth_method,
        jwks,
        attestation: None,
        evidence,
        device: Default::default(),
        user_agent: None,
        source_ip: None,
    })
}

/// Form parameters by name, in arrival order, each name once. Names and values borrow
/// the request's text unless percent-decoding had to change them.
///
/// A list rather than a map: a request carries a handful of parameters and the
/// endpoints ask for about as many, so a scan beats hashing every name (token path
/// +1.5%, see the commit).
#[derive(Debug, Default)]
pub struct FormParams<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> FormParams<'a> {
    pub fn get(&self, name: &str) -> Option<&Cow<'a, str>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A name given more than once, if any: a pairwise scan for the usual handful,
    /// sorting beyond it so a hostile body of thousands of names stays O(n log n).
    fn repeated_name(&self) -> Option<&str> {
        const SCAN_UP_TO: usize = 16;
        let names = self.0.iter().map(|(n, _)| &**n);
        if self.0.len() <= SCAN_UP_TO {
            return names
                .enumerate()
                .find(|&(i, name)| self.0[..i].iter().any(|(n, _)| n == name))
                .map(|(_, name)| name);
        }
        let mut sorted: Vec<&str> = names.collect();
        sorted.sort_unstable();
        sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }
}

/// Query-string and form-body parameters together; a name given twice, in either or
/// across both, is refused (RFC 6749 3.1).
pub fn parse_form<'a>(query: &'a [u8], body: &'a [u8]) -> Result<FormParams<'a>, String> {
    parse_form_with(query, body, "").map(|(params, _)| params)
}

/// [`parse_form`], except that `repeatable` may be given any number of times (RFC 8707
/// `resource`); its values come back apart, in order.
pub fn parse_form_with<'a>(
    query: &'a [u8],
    body: &'a [u8],
    repeatable: &str,
) -> Result<(FormParams<'a>, Vec<String>), String> {
    let mut params = FormParams(Vec::with_capacity(8));
    let mut repeated = Vec::new();
    for (name, value) in form_urlencoded::parse(query).chain(form_urlencoded::parse(body)) {
        if name.is_empty() {
            continue;
        }
        if !repeatable.is_empty() && name == repeatable {
            if repeated.len() >= MAX_REPEATED_PARAMS {
                return Err(format!(
                    "at most {MAX_REPEATED_PARAMS} {repeatable} parameters"
                ));
            }
            repeated.push(value.into_owned());
            continue;
        }
        params.0.push((name, value));
    }
    if let Some(name) = params.repeated_name() {
        let shown: String = name.chars().take(64).collect();
        return Err(format!("parameter {shown:?} was given more than once"));
    }
    Ok((params, repeated))
}

/// Most values of a repeatable parameter one request may carry.
const MAX_REPEATED_PARAMS: usize = 16;

/// Credentials of an `Authorization: Basic` value (RFC 6749 2.3.1: each half is
/// form-urlencoded before the base64). `Ok(None)` for any other scheme.
pub fn parse_basic(value: &str) -> Result<Option<(String, String)>, String> {
    let Some((scheme, rest)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || "the Basic authorization header is malformed".to_owned();
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The token of an `Authorization: Bearer <token>` value.
/// The two schemes a protected API takes an access token in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScheme {
    Bearer,
    /// RFC 9449 7.1: a DPoP-bound token, with a `DPoP` proof beside it.
    Dpop,
}

/// `Bearer <token>` or `DPoP <token>` (schemes case-insensitive).
pub fn parse_authorization(value: &str) -> Option<(TokenScheme, &str)> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((TokenScheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((TokenScheme::Dpop, token))
    } else {
        None
    }
}

pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_bodies() {
        let ok = parse_registration_body(br#"{"software_statement":"a.b.c","redirect_uri":"x:/1","redirect_uris":["x:/1","x:/2"],"other":1}"#).unwrap();
        assert_eq!(ok.redirect_uris, vec!["x:/1", "x:/2"]);
        for bad in [
            &b"{}"[..],
            b"[]",
            b"{",
            br#"{"software_statement":1}"#,
            br#"{"software_statement":"a","software_statement":"b"}"#,
            br#"{"software_statement":"a","redirect_uris":[1]}"#,
        ] {
            assert!(
                parse_registration_body(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn form_parameters_refuse_duplicates() {
        assert_eq!(parse_form(b"a=1", b"b=2").unwrap().len(), 2);
        assert!(parse_form(b"a=1", b"a=1").is_err());
        assert!(parse_form(b"", b"a=1&a=2").is_err());
        // Names compare decoded.
        assert!(parse_form(b"", b"a=1&%61=2").is_err());
        // Beyond the pairwise scan, the sorted check.
        let many: String = (0..40).map(|i| format!("p{i}=v&")).collect();
        let params = parse_form(b"", many.as_bytes()).unwrap();
        assert_eq!(params.len(), 40);
        assert_eq!(params.get("p39").map(|v| &**v), Some("v"));
        let err = parse_form(b"p7=x", many.as_bytes()).unwrap_err();
        assert!(err.contains("\"p7\""), "{err}");
    }

    #[test]
    fn authorization_values() {
        let raw = STANDARD.encode("my%3Aid:p%40ss+word");
        assert_eq!(
            parse_basic(&format!("Basic {raw}")),
            Ok(Some(("my:id".into(), "p@ss word".into())))
        );
        assert!(parse_basic("Basic !!!").is_err());
        assert!(parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))).is_err());
        assert_eq!(parse_basic("Bearer x"), Ok(None));
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer  abc "), Some("abc"));
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearer"), None);
        assert_eq!(parse_bearer("Bearer a b"), None);
    }
}
