//! Verifiers for what a device says about an install: Apple App Attest and Android
//! Key Attestation. Pure: no I/O, the clock and the trust anchors are arguments, so a
//! recorded attestation verifies at its recorded time and a test root stands in for
//! the vendors' in tests. X.509 and DER go through `x509-parser` and `asn1-rs`, CBOR
//! through `ciborium`, signatures through `aws-lc-rs`; nothing here parses bytes by hand
//! except App Attest's fixed-layout authenticator data.
//!
//! Every verifier answers [`Attested`] or an [`AttestError`] whose text says what
//! failed, for the `error_description` of a `400 invalid_attestation` and for the
//! verdict stored with the client.

mod android;
mod apple;
mod chain;
mod der;
#[cfg(feature = "testing")]
pub mod testing;

pub use android::{AndroidSettings, SecurityLevel, verify_android_key};
pub use apple::{AppleSettings, verify_app_attest};
pub use chain::{RevokedSerials, TrustAnchors};

/// A chain longer than this is refused before any signature is checked (real ones
/// have 2 to 5 certificates).
pub const MAX_CHAIN: usize = 8;
/// A certificate larger than this is refused unparsed (real ones are under 2 KiB).
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;
/// An App Attest attestation object larger than this is refused undecoded (real
/// ones are about 5 KiB, most of it the receipt).
pub const MAX_ATTESTATION_OBJECT_BYTES: usize = 32 * 1024;

/// Which kind of evidence verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    AppleAppAttest,
    AndroidKey,
}

impl Format {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AppleAppAttest => "apple-appattest",
            Self::AndroidKey => "android-key",
        }
    }
}

/// What a passing attestation established about the install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    pub format: Format,
    /// Where the key lives: `secure-enclave` (App Attest), `tee` or `strongbox`.
    pub security_level: &'static str,
    /// The app as the evidence names it: `TEAMID.bundle.id`, or the Android package.
    pub app: String,
    /// The app's version where the evidence carries one (Android's `versionCode`).
    pub app_version: Option<String>,
    /// App Attest's environment: `production` or `development`.
    pub environment: Option<&'static str>,
}

/// Why evidence was refused. The text is safe to show to the device: it names what
/// failed, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    /// Not the encoding it claims to be (CBOR, DER, base64, sizes).
    #[error("malformed evidence: {0}")]
    Malformed(String),
    /// The certificates do not chain to a trusted root, or one is not valid now.
    #[error("untrusted certificate chain: {0}")]
    Chain(String),
    /// Well formed and trusted, but not for this challenge, key, app or device.
    #[error("{0}")]
    Mismatch(String),
}

pub(crate) fn malformed(what: impl Into<String>) -> AttestError {
    AttestError::Malformed(what.into())
}

pub(crate) fn mismatch(what: impl Into<String>) -> AttestError {
    AttestError::Mismatch(what.into())
}
