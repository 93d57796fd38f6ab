//! Android Key Attestation: a certificate chain from the device's keystore whose leaf
//! carries the attested key and a KeyDescription (OID `1.3.6.1.4.1.11129.2.1.17`),
//! as "Verify hardware-backed key pairs with key attestation" documents.

use x509_parser::asn1_rs::Any;
use x509_parser::oid_registry::Oid;

use crate::chain::{RevokedSerials, TrustAnchors, verify_chain};
use crate::der::{constructed, explicit, octets, single, unsigned};
use crate::{AttestError, Attested, Format, malformed, mismatch};

const KEY_DESCRIPTION_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11_129, 2, 1, 17];
/// AuthorizationList tags this verifier reads.
const TAG_ROOT_OF_TRUST: u32 = 704;
const TAG_ATTESTATION_APPLICATION_ID: u32 = 709;
/// RootOfTrust.verifiedBootState `Verified`.
const VERIFIED_BOOT: u64 = 0;

/// Where the attested key lives, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum SecurityLevel {
    Software,
    /// A trusted execution environment.
    #[default]
    Tee,
    /// A separate secure element (StrongBox).
    StrongBox,
}

impl SecurityLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Software => "software",
            Self::Tee => "tee",
            Self::StrongBox => "strongbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Software, Self::Tee, Self::StrongBox]
            .into_iter()
            .find(|l| l.as_str() == s)
    }

    fn from_der(value: u64) -> Result<Self, AttestError> {
        match value {
            0 => Ok(Self::Software),
            1 => Ok(Self::Tee),
            2 => Ok(Self::StrongBox),
            _ => Err(malformed("KeyDescription: unknown security level")),
        }
    }
}

/// What an application accepts from Android Key Attestation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AndroidSettings {
    /// Package names of the application's Android, Android TV and Fire TV apps.
    pub package_names: Vec<String>,
    /// SHA-256 digests of the app signing certificates (32 bytes each); empty accepts
    /// any signer of a listed package.
    pub signing_cert_sha256: Vec<Vec<u8>>,
    /// The weakest place the key may live (`tee` by default; never `software`).
    pub min_security_level: SecurityLevel,
}

/// Verifies a Key Attestation chain (DER, leaf first) at `at` (Unix seconds): it
/// chains to a trusted root and no certificate in it is revoked; the leaf attests
/// `install_key` (the subjectPublicKey bits: `04 ‖ x ‖ y` for P-256) for `challenge`,
/// for one of the application's packages and signers, in hardware at least as strong
/// as the settings ask, on a device whose verified boot succeeded.
pub fn verify_android_key(
    chain: &[Vec<u8>],
    challenge: &[u8],
    install_key: &[u8],
    settings: &AndroidSettings,
    anchors: &TrustAnchors,
    revoked: &RevokedSerials,
    at: i64,
) -> Result<Attested, AttestError> {
    let chain = verify_chain(chain, anchors, revoked, at)?;
    let leaf = &chain[0];
    let oid = Oid::from(KEY_DESCRIPTION_OID).map_err(|_| malformed("KeyDescription OID"))?;
    let extension = leaf
        .get_extension_unique(&oid)
        .map_err(|_| malformed("the KeyDescription extension appears twice"))?
        .ok_or_else(|| malformed("the leaf certificate has no KeyDescription extension"))?;
    let description = KeyDescription::parse(extension.value)?;

    if description.challenge != challenge {
        return Err(mismatch(
            "the key attestation was not made for this challenge and install key",
        ));
    }
    if leaf.public_key().subject_public_key.data.as_ref() != install_key {
        return Err(mismatch("the attested key is not the install key in jwks"));
    }
    let minimum = settings.min_security_level.max(SecurityLevel::Tee);
    let level = description.attestation_level.min(description.keymint_level);
    if level < minimum {
        return Err(mismatch(format!(
            "the key lives in {}, and this application asks for {} or stronger",
            level.as_str(),
            minimum.as_str()
        )));
    }
    if !description.verified_boot {
        return Err(mismatch(
            "the device's verified boot state is not Verified (unlocked or modified device)",
        ));
    }
    let package = description
        .packages
        .iter()
        .find(|(name, _)| settings.package_names.iter().any(|p| p == name))
        .ok_or_else(|| mismatch("the attested key belongs to another app (package name)"))?;
    if !settings.signing_cert_sha256.is_empty()
        && !description
            .signature_digests
            .iter()
            .any(|d| settings.signing_cert_sha256.contains(d))
    {
        return Err(mismatch(
            "the app is signed with a certificate this application does not list",
        ));
    }
    Ok(Attested {
        format: Format::AndroidKey,
        security_level: level.as_str(),
        app: package.0.clone(),
        app_version: Some(package.1.to_string()),
        environment: None,
    })
}

/// The parts of a KeyDescription the verifier judges.
struct KeyDescription {
    attestation_level: SecurityLevel,
    keymint_level: SecurityLevel,
    challenge: Vec<u8>,
    /// (package name, version code) from attestationApplicationId.
    packages: Vec<(String, u64)>,
    signature_digests: Vec<Vec<u8>>,
    verified_boot: bool,
}

impl KeyDescription {
    fn parse(value: &[u8]) -> Result<Self, AttestError> {
        const WHAT: &str = "KeyDescription";
        let fields = constructed(&single(value, WHAT)?, false, WHAT)?;
        let [
            _version,
            attestation_level,
            _keymint_version,
            keymint_level,
            challenge,
            _unique_id,
            software,
            hardware,
            ..,
        ] = fields.as_slice()
        else {
            return Err(malformed("KeyDescription: fewer than 8 fields"));
        };
        let software = constructed(software, false, "softwareEnforced")?;
        let hardware = constructed(hardware, false, "hardwareEnforced")?;
        let application_id = match explicit(&software, TAG_ATTESTATION_APPLICATION_ID, WHAT)? {
            Some(any) => Some(any),
            None => explicit(&hardware, TAG_ATTESTATION_APPLICATION_ID, WHAT)?,
        }
        .ok_or_else(|| malformed("KeyDescription: no attestationApplicationId"))?;
        let (packages, signature_digests) = application(&application_id)?;
        let verified_boot = match explicit(&hardware, TAG_ROOT_OF_TRUST, WHAT)? {
            Some(root) => root_of_trust_verified(&root)?,
            None => false,
        };
        Ok(Self {
            attestation_level: SecurityLevel::from_der(unsigned(attestation_level, WHAT)?)?,
            keymint_level: SecurityLevel::from_der(unsigned(keymint_level, WHAT)?)?,
            challenge: octets(challenge, "attestationChallenge")?.to_vec(),
            packages,
            signature_digests,
            verified_boot,
        })
    }
}

/// attestationApplicationId: an OCTET STRING holding
/// `SEQUENCE { SET OF SEQUENCE { packageName OCTET STRING, version INTEGER },
/// SET OF OCTET STRING (signature digests) }`.
#[allow(clippy::type_complexity)]
fn application(any: &Any<'_>) -> Result<(Vec<(String, u64)>, Vec<Vec<u8>>), AttestError> {
    const WHAT: &str = "attestationApplicationId";
    let inner = single(octets(any, WHAT)?, WHAT)?;
    let parts = constructed(&inner, false, WHAT)?;
    let [infos, digests, ..] = parts.as_slice() else {
        return Err(malformed("attestationApplicationId: fewer than 2 fields"));
    };
    let mut packages = Vec::new();
    for info in constructed(infos, true, WHAT)? {
        let info = constructed(&info, false, WHAT)?;
        let [name, version, ..] = info.as_slice() else {
            return Err(malformed(
                "attestationApplicationId: a package without a version",
            ));
        };
        let name = String::from_utf8(octets(name, WHAT)?.to_vec())
            .map_err(|_| malformed("attestationApplicationId: a package name is not UTF-8"))?;
        packages.push((name, unsigned(version, WHAT)?));
    }
    let digests = constructed(digests, true, WHAT)?
        .iter()
        .map(|d| octets(d, WHAT).map(<[u8]>::to_vec))
        .collect::<Result<_, _>>()?;
    Ok((packages, digests))
}

/// RootOfTrust: `SEQUENCE { verifiedBootKey, deviceLocked BOOLEAN, verifiedBootState
/// ENUMERATED, ... }`: verified boot and a locked bootloader.
fn root_of_trust_verified(any: &Any<'_>) -> Result<bool, AttestError> {
    const WHAT: &str = "rootOfTrust";
    let fields = constructed(any, false, WHAT)?;
    let [_key, locked, state, ..] = fields.as_slice() else {
        return Err(malformed("rootOfTrust: fewer than 3 fields"));
    };
    let locked = locked
        .as_bool()
        .map_err(|_| malformed("rootOfTrust.deviceLocked is not a BOOLEAN"))?;
    Ok(locked && unsigned(state, WHAT)? == VERIFIED_BOOT)
}
