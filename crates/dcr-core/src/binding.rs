//! What binds a client's credentials to its install: how it authenticates
//! ([`AuthMethod`]), the public key it registered ([`ClientKey`]), and how strictly an
//! application asks for it, per platform ([`PlatformModes`]).

use std::collections::BTreeMap;

/// How a client authenticates at the token endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// A `client_secret` (HTTP Basic or form parameters): the Adobe-compatible default.
    #[default]
    ClientSecret,
    /// RFC 7523 client assertions signed by the key it registered.
    PrivateKeyJwt,
    /// Attestation-based client authentication: an attester vouched for its key.
    AttestJwtClientAuth,
}

impl AuthMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::PrivateKeyJwt => dcr_proto::pop::PRIVATE_KEY_JWT,
            Self::AttestJwtClientAuth => dcr_proto::pop::ATTEST_JWT_CLIENT_AUTH,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::ClientSecret,
            Self::PrivateKeyJwt,
            Self::AttestJwtClientAuth,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Whether the client holds a key rather than a secret.
    pub const fn is_key_bound(self) -> bool {
        !matches!(self, Self::ClientSecret)
    }
}

/// The public install key a client registered: its JWK (the RFC 7638 members, as
/// JSON text) and thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    pub jwk: String,
    pub jkt: String,
}

impl ClientKey {
    pub fn of(key: &crate::pop::InstallKey) -> Self {
        Self {
            jwk: key.to_jwk().to_string(),
            jkt: key.thumbprint().to_owned(),
        }
    }
}

/// How strictly a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum Mode {
    /// Not asked for (accepted when offered).
    #[default]
    Off,
    /// Accepted either way; what lacks it is counted and flagged.
    Report,
    /// Refused without it.
    Require,
}

impl Mode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Report => "report",
            Self::Require => "require",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "report" => Some(Self::Report),
            "require" => Some(Self::Require),
            _ => None,
        }
    }
}

/// A [`Mode`] per platform, with a default for the platforms not named.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlatformModes {
    pub default: Mode,
    pub platforms: BTreeMap<String, Mode>,
}

impl PlatformModes {
    /// The mode for a client of `platform`.
    pub fn for_platform(&self, platform: &str) -> Mode {
        self.platforms
            .get(platform)
            .copied()
            .unwrap_or(self.default)
    }

    /// Whether anything is asked at all.
    pub fn is_off(&self) -> bool {
        self.default == Mode::Off && self.platforms.values().all(|m| *m == Mode::Off)
    }

    /// The JSON the store keeps and the API shows: `{"default": "off", "ios": "require"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("default".into(), self.default.as_str().into());
        for (platform, mode) in &self.platforms {
            map.insert(platform.clone(), mode.as_str().into());
        }
        serde_json::Value::Object(map)
    }

    /// From that JSON: every value a mode, `default` optional (off).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        let serde_json::Value::Object(map) = value else {
            return Err("must be an object of platform → off, report or require".into());
        };
        let mut out = Self::default();
        for (key, value) in map {
            let mode = value
                .as_str()
                .and_then(Mode::parse)
                .ok_or_else(|| format!("{key}: must be \"off\", \"report\" or \"require\""))?;
            if key == "default" {
                out.default = mode;
            } else {
                out.platforms.insert(key.clone(), mode);
            }
        }
        Ok(out)
    }
}

/// A client attester an application trusts (attestation-based client
/// authentication): its `iss` and public keys, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttesterConfig {
    /// `iss` of its attestations; `None` accepts attestations without one.
    pub issuer: Option<String>,
    /// Public JWKs (P-256 or Ed25519), as JSON text.
    pub keys: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_per_platform_round_trip_and_default() {
        let modes = PlatformModes::from_json(
            &serde_json::json!({"default": "report", "ios": "require", "roku": "off"}),
        )
        .unwrap();
        assert_eq!(modes.for_platform("ios"), Mode::Require);
        assert_eq!(modes.for_platform("roku"), Mode::Off);
        assert_eq!(modes.for_platform("web"), Mode::Report);
        assert_eq!(PlatformModes::from_json(&modes.to_json()), Ok(modes));
        assert!(PlatformModes::from_json(&serde_json::json!({"ios": "maybe"})).is_err());
        assert!(PlatformModes::default().is_off());
        for m in [
            AuthMethod::ClientSecret,
            AuthMethod::PrivateKeyJwt,
            AuthMethod::AttestJwtClientAuth,
        ] {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(m));
        }
    }
}
