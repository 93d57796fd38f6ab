//! JWT claim sets signed by dcr.

use serde::{Deserialize, Serialize};

/// `typ` header of a software statement.
pub const STATEMENT_TYP: &str = "JWT";
/// `typ` header of an access token (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of a software statement. No `exp`: valid until revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementClaims {
    pub iss: String,
    /// The application id.
    pub sub: String,
    /// Equal to `sub`.
    pub software_id: String,
    pub software_version: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
}

/// Claims of an access token (RFC 9068 profile plus Adobe's `scopes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// RFC 9068 2.2: the resource(s) the token is for.
    #[serde(default, skip_serializing_if = "Audience::is_empty")]
    pub aud: Audience,
    pub client_id: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Comma-separated, as Adobe's tokens carry them.
    pub scopes: String,
    /// Space-separated (RFC 9068).
    pub scope: String,
    pub software_id: String,
    /// `jti` of the software statement the client registered with.
    pub sst: String,
    /// Programmer (tenant) id.
    pub programmer: String,
    /// Present when the application is limited to some channels of its programmer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Present when the token is bound to a key (DPoP, RFC 9449): only a request
    /// signed by that key may present it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::pop::Confirmation>,
}

impl AccessTokenClaims {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.split(' ').any(|s| s == wanted)
    }

    /// What `serde_json::to_vec(self)` writes, written member by member
    /// ([`crate::json`]): every token signed writes these claims.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        // Sized for a typical token's claims, so the buffer is not regrown.
        let mut out = Vec::with_capacity(512);
        let mut claims = crate::json::Object::open(&mut out);
        claims.str("iss", &self.iss)?;
        claims.str("sub", &self.sub)?;
        match self.aud.0.as_slice() {
            [] => {}
            [one] => claims.str("aud", one)?,
            many => claims.str_array("aud", many)?,
        }
        claims.str("client_id", &self.client_id)?;
        claims.str("jti", &self.jti)?;
        claims.value("iat", &self.iat)?;
        claims.value("nbf", &self.nbf)?;
        claims.value("exp", &self.exp)?;
        claims.str("scopes", &self.scopes)?;
        claims.str("scope", &self.scope)?;
        claims.str("software_id", &self.software_id)?;
        claims.str("sst", &self.sst)?;
        claims.str("programmer", &self.programmer)?;
        if let Some(channels) = &self.channels {
            claims.str_array("channels", channels)?;
        }
        if let Some(cnf) = &self.cnf {
            claims.value("cnf", cnf)?;
        }
        claims.close();
        Ok(out)
    }
}

/// The `aud` claim: a string when there is one value, an array when several (RFC 7519
/// 4.1.3), as every JWT validator expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience(pub Vec<String>);

impl Audience {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, wanted: &str) -> bool {
        self.0.iter().any(|a| a == wanted)
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => Self(vec![one]),
            OneOrMany::Many(many) => Self(many),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: &[&str], channels: Option<&[&str]>, odd: &str) -> AccessTokenClaims {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        AccessTokenClaims {
            cnf: None,
            iss: "https://dcr.example".into(),
            sub: "4f0c5d3e-0000-4000-8000-000000000001".into(),
            aud: Audience(strings(aud)),
            client_id: "4f0c5d3e-0000-4000-8000-000000000001".into(),
            jti: odd.into(),
            iat: 1_796_000_000,
            nbf: -1,
            exp: i64::MAX,
            scopes: "api:client:v2,b".into(),
            scope: "api:client:v2 b".into(),
            software_id: "app".into(),
            sst: odd.into(),
            programmer: "bench".into(),
            channels: channels.map(strings),
        }
    }

    #[test]
    fn the_claims_json_is_what_serde_writes() {
        let odd = "q\"uote\\ \u{1} é";
        for c in [
            claims(&[], None, "plain"),
            claims(&["https://api.example"], None, odd),
            claims(
                &["https://a.example", "https://b\".example"],
                Some(&[]),
                "x",
            ),
            claims(&[], Some(&["BENCHTV", odd]), odd),
        ] {
            assert_eq!(
                c.to_json().unwrap(),
                serde_json::to_vec(&c).unwrap(),
                "{c:?}"
            );
        }
    }
}
