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
}

impl AccessTokenClaims {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.split(' ').any(|s| s == wanted)
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
