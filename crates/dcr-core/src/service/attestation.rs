//! Platform attestation at registration: single-use challenges bound to an
//! application, and evidence (App Attest, Key Attestation) judged against the
//! application's settings. Every judgement is a [`Verdict`]: `report` keeps a failing
//! one with the client, `require` refuses the registration with it.

use base64::Engine;
use dcr_attest::{AndroidSettings, AppleSettings, RevokedSerials, SecurityLevel, TrustAnchors};
use dcr_proto::attestation::{AttestationSettings, ChallengeResponse, Evidence, Verdict};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Dcr;
use super::binding::{ProofKind, ReplayError};
use crate::error::RegisterError;
use crate::ids::ApplicationId;
use crate::model::Application;
use crate::pop::InstallKey;
use crate::store::StoreError;
use crate::time::unix_now;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How long a challenge may be used.
pub const CHALLENGE_TTL_SECONDS: i64 = 300;
/// random (16) ‖ application id (16) ‖ expiry (8) ‖ tag (16).
const CHALLENGE_BYTES: usize = 56;

/// Whom attestations are checked against, and when.
#[derive(Debug, Clone)]
pub struct AttestationTrust {
    /// Apple App Attestation roots (`attestation.apple_roots`; Apple's by default).
    pub apple: TrustAnchors,
    /// Android hardware attestation roots (`attestation.android_roots`; Google's).
    pub android: TrustAnchors,
    /// Verify at this Unix time instead of now (`attestation.verify_at`; tests only).
    pub verify_at: Option<i64>,
}

impl Default for AttestationTrust {
    fn default() -> Self {
        Self {
            apple: TrustAnchors::apple_app_attest(),
            android: TrustAnchors::google_key_attestation(),
            verify_at: None,
        }
    }
}

impl Dcr {
    /// `POST /o/client/challenge`: a challenge for the statement's application, usable
    /// once within [`CHALLENGE_TTL_SECONDS`]. Stateless until it is used: its expiry
    /// and application are inside it, under a keyed tag every node can check.
    pub async fn attestation_challenge(
        &self,
        software_statement: &str,
    ) -> Result<ChallengeResponse, RegisterError> {
        let (_, app) = self.approved_statement(software_statement).await?;
        let mut payload = [0u8; CHALLENGE_BYTES - 16];
        crate::crypto::random_bytes(&mut payload[..16])
            .map_err(|e| RegisterError::Internal(e.to_string()))?;
        payload[16..32].copy_from_slice(app.id.as_uuid().as_bytes());
        let expires = unix_now() + CHALLENGE_TTL_SECONDS;
        payload[32..40].copy_from_slice(&expires.to_be_bytes());
        let mut challenge = payload.to_vec();
        challenge.extend_from_slice(&self.challenge_tag(&payload));
        Ok(ChallengeResponse {
            challenge: B64URL.encode(challenge),
            expires_in: CHALLENGE_TTL_SECONDS.unsigned_abs(),
        })
    }

    fn challenge_tag(&self, payload: &[u8]) -> [u8; 16] {
        let mut tag = [0u8; 16];
        let mac = self.hasher.hash(&format!(
            "dcr attestation challenge {}",
            B64URL.encode(payload)
        ));
        tag.copy_from_slice(&mac[..16]);
        tag
    }

    /// The challenge's expiry, if it is ours, for `app`, and not expired.
    fn open_challenge(
        &self,
        challenge: &str,
        app: &ApplicationId,
        now: i64,
    ) -> Result<i64, String> {
        let bytes = B64URL
            .decode(challenge)
            .ok()
            .filter(|b| b.len() == CHALLENGE_BYTES)
            .ok_or("the challenge is not one this server issued")?;
        let (payload, tag) = bytes.split_at(CHALLENGE_BYTES - 16);
        if !bool::from(self.challenge_tag(payload).ct_eq(tag)) {
            return Err("the challenge is not one this server issued".into());
        }
        if payload[16..32] != *app.as_uuid().as_bytes() {
            return Err("the challenge was issued for another application".into());
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&payload[32..40]);
        let expires = i64::from_be_bytes(expiry);
        if expires <= now {
            return Err("the challenge has expired: ask for a new one".into());
        }
        Ok(expires)
    }

    /// Judges `evidence` for the install key `key` of a registration to `app`. Only a
    /// store failure is an error; everything else is a verdict.
    pub(super) async fn judge_evidence(
        &self,
        evidence: &Evidence,
        key: Option<&InstallKey>,
        app: &Application,
    ) -> Result<Verdict, RegisterError> {
        let now = unix_now();
        let fail = |reason: String| Verdict {
            format: evidence.format().to_owned(),
            result: "fail".into(),
            reason: Some(reason),
            security_level: None,
            app: None,
            app_version: None,
        };
        let Some(key) = key else {
            return Ok(fail(
                "an attestation vouches for the install key: send it in jwks".into(),
            ));
        };
        let expires = match self.open_challenge(evidence.challenge(), &app.id, now) {
            Ok(expires) => expires,
            Err(reason) => return Ok(fail(reason)),
        };
        match self
            .first_use_of(ProofKind::Challenge, evidence.challenge(), expires)
            .await
        {
            Ok(()) => {}
            Err(ReplayError::Replayed) => {
                return Ok(fail(
                    "the challenge was used already: ask for a new one".into(),
                ));
            }
            Err(ReplayError::Full) => {
                return Err(RegisterError::Unavailable(StoreError::Unavailable(
                    ReplayError::Full.to_string(),
                )));
            }
            Err(ReplayError::Store(e)) => return Err(RegisterError::from(e)),
        }
        let client_data = format!("{}.{}", evidence.challenge(), key.thumbprint());
        let client_data_hash: [u8; 32] = Sha256::digest(client_data.as_bytes()).into();
        let at = self.settings.attestation.verify_at.unwrap_or(now);
        let settings = &app.settings.attestation;
        let trust = &self.settings.attestation;
        let outcome = match evidence {
            Evidence::AppleAppAttest { key_id, object, .. } => match apple(settings) {
                None => {
                    Err("this application has no App Attest settings (team and bundle ids)".into())
                }
                Some(apple) => match B64.decode(object) {
                    Err(_) => Err("object is not base64".into()),
                    Ok(object) => dcr_attest::verify_app_attest(
                        key_id,
                        &object,
                        &client_data_hash,
                        &apple,
                        &trust.apple,
                        at,
                    )
                    .map_err(|e| e.to_string()),
                },
            },
            Evidence::AndroidKey {
                certificate_chain, ..
            } => match android(settings) {
                None => {
                    Err("this application has no Key Attestation settings (package names)".into())
                }
                Some(android) => match decode_chain(certificate_chain) {
                    Err(reason) => Err(reason),
                    Ok(chain) => {
                        // Verification is synchronous: the list is read in place.
                        let revoked = self
                            .revoked_attestation_serials
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        dcr_attest::verify_android_key(
                            &chain,
                            &client_data_hash,
                            &key.public_key_bits(),
                            &android,
                            &trust.android,
                            &revoked,
                            at,
                        )
                        .map_err(|e| e.to_string())
                    }
                },
            },
            Evidence::PlayIntegrity { .. } => Err(
                "play-integrity evidence is not verified by this server yet: send android-key"
                    .into(),
            ),
        };
        Ok(match outcome {
            Ok(attested) => Verdict {
                format: evidence.format().to_owned(),
                result: "pass".into(),
                reason: None,
                security_level: Some(attested.security_level.to_owned()),
                app: Some(attested.app),
                app_version: attested.app_version,
            },
            Err(reason) => fail(reason),
        })
    }

    /// Replaces the certificate serials Google has revoked (its attestation status
    /// list), which Key Attestation chains must not contain.
    pub fn set_revoked_attestation_serials(&self, serials: RevokedSerials) {
        *self
            .revoked_attestation_serials
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = serials;
    }
}

fn apple(settings: &AttestationSettings) -> Option<AppleSettings> {
    settings.apple.as_ref().map(|a| AppleSettings {
        team_id: a.team_id.clone(),
        bundle_ids: a.bundle_ids.clone(),
        allow_development: a.allow_development,
    })
}

fn android(settings: &AttestationSettings) -> Option<AndroidSettings> {
    settings.android.as_ref().map(|a| AndroidSettings {
        package_names: a.package_names.clone(),
        signing_cert_sha256: a
            .signing_cert_sha256
            .iter()
            .filter_map(|hex| parse_digest(hex))
            .collect(),
        min_security_level: SecurityLevel::parse(&a.min_security_level)
            .unwrap_or(SecurityLevel::Tee),
    })
}

/// A SHA-256 digest written as hex, with or without colons.
pub(crate) fn parse_digest(text: &str) -> Option<Vec<u8>> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn decode_chain(chain: &[String]) -> Result<Vec<Vec<u8>>, String> {
    if chain.is_empty() || chain.len() > dcr_attest::MAX_CHAIN {
        return Err(format!(
            "certificate_chain has 1 to {} certificates",
            dcr_attest::MAX_CHAIN
        ));
    }
    chain
        .iter()
        .enumerate()
        .map(|(i, c)| {
            B64.decode(c)
                .map_err(|_| format!("certificate_chain[{i}] is not base64"))
        })
        .collect()
}

/// Checks settings before they are stored: what a verifier would silently ignore is
/// refused here instead.
pub(crate) fn validate_settings(settings: &AttestationSettings) -> Result<(), String> {
    if let Some(apple) = &settings.apple {
        if apple.team_id.len() != 10 || !apple.team_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("apple.team_id: the 10-character Apple Developer team id".into());
        }
        if apple.bundle_ids.is_empty() || apple.bundle_ids.len() > 16 {
            return Err("apple.bundle_ids: 1 to 16 bundle ids".into());
        }
        if let Some(bad) = apple.bundle_ids.iter().find(|b| !is_reverse_dns(b)) {
            return Err(format!(
                "apple.bundle_ids: {:?} is not a bundle id",
                shown(bad)
            ));
        }
    }
    if let Some(android) = &settings.android {
        if android.package_names.is_empty() || android.package_names.len() > 16 {
            return Err("android.package_names: 1 to 16 package names".into());
        }
        if let Some(bad) = android.package_names.iter().find(|p| !is_reverse_dns(p)) {
            return Err(format!(
                "android.package_names: {:?} is not a package name",
                shown(bad)
            ));
        }
        if android.signing_cert_sha256.len() > 16 {
            return Err("android.signing_cert_sha256: at most 16 digests".into());
        }
        if let Some(bad) = android
            .signing_cert_sha256
            .iter()
            .find(|d| parse_digest(d).is_none())
        {
            return Err(format!(
                "android.signing_cert_sha256: {:?} is not a SHA-256 digest in hex",
                shown(bad)
            ));
        }
        if !matches!(android.min_security_level.as_str(), "tee" | "strongbox") {
            return Err("android.min_security_level: \"tee\" or \"strongbox\"".into());
        }
    }
    Ok(())
}

fn shown(text: &str) -> String {
    text.chars().take(64).collect()
}

fn is_reverse_dns(id: &str) -> bool {
    id.len() <= 255
        && id.split('.').count() >= 2
        && id.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_read_with_or_without_colons() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_digest(&plain), Some(vec![0xab; 32]));
        assert_eq!(parse_digest(&colons), Some(vec![0xab; 32]));
        assert_eq!(parse_digest("abc"), None);
        assert_eq!(parse_digest(&"zz".repeat(32)), None);
    }
}
