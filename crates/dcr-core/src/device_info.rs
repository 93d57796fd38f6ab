//! `X-Device-Info`: base64 of a JSON object describing the streaming device (docs/api.md, X-Device-Info).
//!
//! Restricted keys are normalised to their canonical spelling (matched without regard
//! to case) and become `Unknown` when the value is not in the list, as Adobe does.
//! Free-form keys are kept as strings, bounded in length. Other keys are dropped: we
//! store what we understand, not whatever a client sends.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// Largest header value accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Longest free-form value kept, in characters.
const MAX_FREE_FORM_CHARS: usize = 512;

const PRIMARY_HARDWARE_TYPES: &[&str] = &[
    "Camera",
    "DataCollectionTerminal",
    "Desktop",
    "EmbeddedNetworkModule",
    "eReader",
    "GamesConsole",
    "GeolocationTracker",
    "Glasses",
    "MediaPlayer",
    "MobilePhone",
    "PaymentTerminal",
    "PluginModem",
    "SetTopBox",
    "TV",
    "Tablet",
    "WirelessHotspot",
    "Wristwatch",
];
const OS_NAMES: &[&str] = &[
    "Android",
    "Chrome OS",
    "Linux",
    "Mac OS",
    "OS X",
    "OpenBSD",
    "Roku OS",
    "Windows",
    "iOS",
    "tvOS",
    "webOS",
];
const OS_FAMILIES: &[&str] = &[
    "Android",
    "BSD",
    "Linux",
    "PlayStation OS",
    "Roku OS",
    "Symbian",
    "Tizen",
    "Windows",
    "iOS",
    "tvOS",
    "macOS",
    "webOS",
];
const OS_VENDORS: &[&str] = &[
    "Amazon",
    "Apple",
    "Canonical",
    "Google",
    "Huawei",
    "LG",
    "Microsoft",
    "Mozilla",
    "Nintendo",
    "Roku",
    "Samsung",
    "Sony",
    "Vizio",
    "Xiaomi",
];
const BROWSER_NAMES: &[&str] = &[
    "Chrome",
    "Chrome Mobile",
    "Edge",
    "Firefox",
    "Internet Explorer",
    "Opera",
    "Safari",
    "Mobile Safari",
    "Samsung Internet",
    "Silk",
    "Android Browser",
];
const BROWSER_VENDORS: &[&str] = &[
    "Amazon",
    "Apple",
    "Google",
    "Microsoft",
    "Mozilla",
    "Opera",
    "Samsung",
];
const CONNECTION_SECURE: &[&str] = &["true", "false"];

const RESTRICTED: &[(&str, &[&str])] = &[
    ("primaryHardwareType", PRIMARY_HARDWARE_TYPES),
    ("osName", OS_NAMES),
    ("osFamily", OS_FAMILIES),
    ("osVendor", OS_VENDORS),
    ("browserName", BROWSER_NAMES),
    ("browserVendor", BROWSER_VENDORS),
    ("connectionSecure", CONNECTION_SECURE),
];

const FREE_FORM: &[&str] = &[
    "model",
    "version",
    "manufacturer",
    "vendor",
    "osVersion",
    "browserVersion",
    "userAgent",
    "displayWidth",
    "displayHeight",
    "displayPpi",
    "diagonalScreenSize",
    "connectionIp",
    "connectionPort",
    "connectionType",
    "applicationId",
];

/// Why an `X-Device-Info` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceInfoError {
    #[error("X-Device-Info is larger than {MAX_HEADER_BYTES} bytes")]
    TooLarge,
    #[error("X-Device-Info is not valid base64")]
    NotBase64,
    #[error("X-Device-Info does not decode to JSON")]
    NotJson,
    #[error("X-Device-Info must decode to a JSON object")]
    NotAnObject,
}

/// A parsed, normalised `X-Device-Info`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceInfo {
    fields: Map<String, Value>,
    /// True when the header was absent and the fields come from `User-Agent`.
    derived_from_user_agent: bool,
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

impl DeviceInfo {
    /// Parses a header value.
    pub fn parse_header(raw: &[u8]) -> Result<Self, DeviceInfoError> {
        if raw.len() > MAX_HEADER_BYTES {
            return Err(DeviceInfoError::TooLarge);
        }
        let text = std::str::from_utf8(raw).map_err(|_| DeviceInfoError::NotBase64)?;
        // Some clients wrap long base64 at 76 columns; folded header whitespace is not data.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if compact.is_empty() {
            return Err(DeviceInfoError::NotBase64);
        }
        let bytes = STANDARD_LENIENT
            .decode(&compact)
            .or_else(|_| URL_SAFE_LENIENT.decode(&compact))
            .map_err(|_| DeviceInfoError::NotBase64)?;
        let value = crate::strict_json::from_slice(&bytes).map_err(|_| DeviceInfoError::NotJson)?;
        let Value::Object(raw_fields) = value else {
            return Err(DeviceInfoError::NotAnObject);
        };
        Ok(Self {
            fields: normalise(&raw_fields),
            derived_from_user_agent: false,
        })
    }

    /// What can be told from a `User-Agent` when `X-Device-Info` is missing. The platform
    /// of such a device is `unknown` whatever the agent claims: a header is not proof.
    pub fn from_user_agent(user_agent: Option<&str>) -> Self {
        let mut fields = Map::new();
        if let Some(ua) = user_agent {
            fields.insert("userAgent".into(), Value::String(truncate(ua)));
            let lower = ua.to_ascii_lowercase();
            let os = [
                ("iphone", "iOS"),
                ("ipad", "iOS"),
                ("apple tv", "tvOS"),
                ("android", "Android"),
                ("roku", "Roku OS"),
                ("web0s", "webOS"),
                ("webos", "webOS"),
                ("cros", "Chrome OS"),
                ("windows", "Windows"),
                ("mac os x", "Mac OS"),
                ("linux", "Linux"),
            ]
            .iter()
            .find(|(needle, _)| lower.contains(needle))
            .map(|(_, name)| *name);
            if let Some(os) = os {
                fields.insert("osName".into(), Value::String(os.into()));
            }
        }
        Self {
            fields,
            derived_from_user_agent: true,
        }
    }

    /// `osName`, for the activity breakdowns.
    pub fn os_name(&self) -> Option<&str> {
        self.get("osName").filter(|v| !v.is_empty())
    }

    /// `model`, for the activity breakdowns.
    pub fn model(&self) -> Option<&str> {
        self.get("model").filter(|v| !v.is_empty())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// The normalised fields, as stored with the client.
    pub fn to_json(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    pub fn derived_from_user_agent(&self) -> bool {
        self.derived_from_user_agent
    }

    /// The catalog platform this device is, or `unknown`.
    pub fn platform(&self) -> &'static str {
        if self.derived_from_user_agent {
            return "unknown";
        }
        let hw = self.get("primaryHardwareType").unwrap_or("Unknown");
        let os = self.get("osName").unwrap_or("Unknown");
        let family = self.get("osFamily").unwrap_or("Unknown");
        let vendor = self.get("osVendor").unwrap_or("Unknown");
        let maker = [self.get("manufacturer"), self.get("vendor")]
            .into_iter()
            .flatten()
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>();
        let made_by = |name: &str| maker.iter().any(|m| m.contains(name));
        let browser = self.get("browserName").is_some_and(|b| b != "Unknown");

        if os == "tvOS" || family == "tvOS" {
            "tvos"
        } else if os == "iOS" || family == "iOS" {
            "ios"
        } else if os == "Roku OS" || family == "Roku OS" {
            "roku"
        } else if (os == "Android" || family == "Android")
            && (vendor == "Amazon" || made_by("amazon"))
        {
            "fire-tv"
        } else if os == "Android" || family == "Android" {
            "android"
        } else if hw == "GamesConsole" && (vendor == "Microsoft" || made_by("microsoft")) {
            "xbox"
        } else if os == "webOS" || family == "webOS" || family == "Tizen" || hw == "TV" {
            "smart-tv"
        } else if browser {
            "web"
        } else {
            "unknown"
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_FREE_FORM_CHARS).collect()
}

fn normalise(raw: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, allowed) in RESTRICTED {
        if let Some(v) = raw.get(*key) {
            let text = scalar_text(v);
            let canonical = text
                .as_deref()
                .and_then(|t| allowed.iter().find(|a| a.eq_ignore_ascii_case(t.trim())))
                .copied()
                .unwrap_or("Unknown");
            out.insert((*key).to_owned(), Value::String(canonical.to_owned()));
        }
    }
    for key in FREE_FORM {
        if let Some(text) = raw.get(*key).and_then(scalar_text) {
            out.insert((*key).to_owned(), Value::String(truncate(&text)));
        }
    }
    out
}

/// Strings, numbers and booleans as text; anything else has no meaning here.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn header(json: &str) -> Vec<u8> {
        STANDARD.encode(json).into_bytes()
    }

    #[test]
    fn parses_adobe_sample() {
        let raw = b"ewogICJwcmltYXJ5SGFyZHdhcmVUeXBlIiA6ICJNb2JpbGVQaG9uZSIsCiAgIm1vZGVsIjoiU00tUzkwMVUiLAogICJ2ZW5kb3IiOiJzYW1zdW5nIiwKICAidmVyc2lvbiI6InIwcSIsCiAgIm1hbnVmYWN0dXJlciI6InNhbXN1bmciLAogICJvc05hbWUiOiJBbmRyb2lkIiwKICAib3NWZXJzaW9uIjoiMTQiCn0=";
        let info = DeviceInfo::parse_header(raw);
        let info = info.as_ref().ok();
        assert_eq!(info.and_then(|i| i.get("model")), Some("SM-S901U"));
        assert_eq!(info.map(DeviceInfo::platform), Some("android"));
    }

    #[test]
    fn accepts_url_safe_and_unpadded() {
        let json = r#"{"osName":"iOS","model":"iPhone??>>"}"#;
        let url = URL_SAFE_NO_PAD.encode(json);
        let info = DeviceInfo::parse_header(url.as_bytes());
        assert_eq!(info.map(|i| i.platform()), Ok("ios"));
    }

    #[test]
    fn restricted_values_are_canonicalised_or_unknown() {
        let info = DeviceInfo::parse_header(&header(
            r#"{"osName":"ios","primaryHardwareType":"Toaster","connectionSecure":true}"#,
        ));
        let info = info.as_ref().ok();
        assert_eq!(info.and_then(|i| i.get("osName")), Some("iOS"));
        assert_eq!(
            info.and_then(|i| i.get("primaryHardwareType")),
            Some("Unknown")
        );
        assert_eq!(info.and_then(|i| i.get("connectionSecure")), Some("true"));
    }

    #[test]
    fn refuses_undecodable_values() {
        assert_eq!(
            DeviceInfo::parse_header(b"!!!"),
            Err(DeviceInfoError::NotBase64)
        );
        assert_eq!(
            DeviceInfo::parse_header(b""),
            Err(DeviceInfoError::NotBase64)
        );
        assert_eq!(
            DeviceInfo::parse_header(&header("not json")),
            Err(DeviceInfoError::NotJson)
        );
        assert_eq!(
            DeviceInfo::parse_header(&header("[1]")),
            Err(DeviceInfoError::NotAnObject)
        );
        assert_eq!(
            DeviceInfo::parse_header(&header("\"s\"")),
            Err(DeviceInfoError::NotAnObject)
        );
        assert_eq!(
            DeviceInfo::parse_header(&header(r#"{"a":1,"a":2}"#)),
            Err(DeviceInfoError::NotJson)
        );
        let big = vec![b'A'; MAX_HEADER_BYTES + 1];
        assert_eq!(
            DeviceInfo::parse_header(&big),
            Err(DeviceInfoError::TooLarge)
        );
    }

    #[test]
    fn platforms_are_derived() {
        let cases = [
            (r#"{"osName":"tvOS"}"#, "tvos"),
            (r#"{"osName":"Roku OS"}"#, "roku"),
            (r#"{"osName":"Android","manufacturer":"Amazon"}"#, "fire-tv"),
            (
                r#"{"osFamily":"Tizen","primaryHardwareType":"TV"}"#,
                "smart-tv",
            ),
            (
                r#"{"primaryHardwareType":"GamesConsole","osVendor":"Microsoft"}"#,
                "xbox",
            ),
            (r#"{"browserName":"chrome","osName":"Windows"}"#, "web"),
            (r#"{}"#, "unknown"),
        ];
        for (json, want) in cases {
            let got = DeviceInfo::parse_header(&header(json)).map(|i| i.platform());
            assert_eq!(got, Ok(want), "{json}");
        }
    }

    #[test]
    fn user_agent_fallback_is_unknown_platform() {
        let info = DeviceInfo::from_user_agent(Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"));
        assert_eq!(info.get("osName"), Some("iOS"));
        assert_eq!(info.platform(), "unknown");
    }
}
