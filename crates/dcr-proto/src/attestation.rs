//! Platform attestation of an install at registration: the challenge, the evidence a
//! device sends, what an application accepts, and the verdict kept with each client.

use serde::{Deserialize, Serialize};

/// `POST /o/client/challenge` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    pub software_statement: String,
}

/// `POST /o/client/challenge` answer: base64url, single use, for the statement's
/// application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    pub challenge: String,
    pub expires_in: u64,
}

/// The `attestation` member of a registration: evidence made over
/// `SHA-256(challenge + "." + jkt)`, `jkt` the RFC 7638 thumbprint of the install key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", deny_unknown_fields)]
pub enum Evidence {
    /// `DCAppAttestService.attestKey`: the key id (base64) and the attestation object
    /// (base64 CBOR).
    #[serde(rename = "apple-appattest")]
    AppleAppAttest {
        key_id: String,
        object: String,
        challenge: String,
    },
    /// Android Key Attestation: the install key's certificate chain (base64 DER, leaf
    /// first) from `KeyStore.getCertificateChain`.
    #[serde(rename = "android-key")]
    AndroidKey {
        certificate_chain: Vec<String>,
        challenge: String,
    },
    /// A Play Integrity token (standard or classic request).
    #[serde(rename = "play-integrity")]
    PlayIntegrity { token: String, challenge: String },
}

impl Evidence {
    pub fn format(&self) -> &'static str {
        match self {
            Self::AppleAppAttest { .. } => FORMAT_APPLE_APP_ATTEST,
            Self::AndroidKey { .. } => FORMAT_ANDROID_KEY,
            Self::PlayIntegrity { .. } => FORMAT_PLAY_INTEGRITY,
        }
    }

    pub fn challenge(&self) -> &str {
        match self {
            Self::AppleAppAttest { challenge, .. }
            | Self::AndroidKey { challenge, .. }
            | Self::PlayIntegrity { challenge, .. } => challenge,
        }
    }
}

pub const FORMAT_APPLE_APP_ATTEST: &str = "apple-appattest";
pub const FORMAT_ANDROID_KEY: &str = "android-key";
pub const FORMAT_PLAY_INTEGRITY: &str = "play-integrity";

/// What an application accepts from each platform's attestation
/// (`PUT /applications/{app_id}/attestation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<AppleApp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android: Option<AndroidApp>,
}

/// App Attest: the team and bundle ids of the iOS and tvOS apps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppleApp {
    pub team_id: String,
    pub bundle_ids: Vec<String>,
    /// Accept attestations of the development environment (apps run from Xcode).
    #[serde(default)]
    pub allow_development: bool,
}

/// Key Attestation: the packages of the Android, Android TV and Fire TV apps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndroidApp {
    pub package_names: Vec<String>,
    /// SHA-256 of the app signing certificates (hex, colons allowed); empty accepts any
    /// signer of a listed package.
    #[serde(default)]
    pub signing_cert_sha256: Vec<String>,
    /// `tee` (default) or `strongbox`.
    #[serde(default = "tee")]
    pub min_security_level: String,
}

fn tee() -> String {
    "tee".to_owned()
}

/// The verdict on a client's attestation, as the client keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// `apple-appattest`, `android-key` or `play-integrity`.
    pub format: String,
    /// `pass` or `fail` (a failing attestation registers only under `report`).
    pub result: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `secure-enclave`, `tee` or `strongbox`, when it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_level: Option<String>,
    /// The app as the evidence names it (`TEAM.bundle`, or the package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The app's version, where the evidence carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.result == "pass"
    }
}
