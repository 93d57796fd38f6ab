//! Apple App Attest (`DCAppAttestService.attestKey`), verified as Apple documents in
//! "Validating apps that connect to your server".

use base64::Engine;
use ciborium::Value;
use sha2::{Digest, Sha256};
use x509_parser::oid_registry::Oid;

use crate::chain::{RevokedSerials, TrustAnchors, verify_chain};
use crate::der::{constructed, explicit, octets, single};
use crate::{AttestError, Attested, Format, MAX_ATTESTATION_OBJECT_BYTES, malformed, mismatch};

/// `1.2.840.113635.100.8.2`: the nonce App Attest puts in the credential certificate.
const NONCE_OID: &[u64] = &[1, 2, 840, 113_635, 100, 8, 2];
/// The authenticator data's `aaguid`, which tells the two environments apart.
const AAGUID_PRODUCTION: &[u8; 16] = b"appattest\0\0\0\0\0\0\0";
const AAGUID_DEVELOPMENT: &[u8; 16] = b"appattestdevelop";

/// What an application accepts from App Attest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppleSettings {
    /// The Apple Developer team id (10 characters).
    pub team_id: String,
    /// Bundle ids of the application's iOS and tvOS apps.
    pub bundle_ids: Vec<String>,
    /// Whether attestations from the development environment (apps run from Xcode)
    /// are accepted.
    pub allow_development: bool,
}

/// Verifies an App Attest attestation `object` (CBOR) for `key_id` (base64, as
/// `generateKey` returned it), made over `client_data_hash`, at `at` (Unix seconds).
pub fn verify_app_attest(
    key_id: &str,
    object: &[u8],
    client_data_hash: &[u8],
    settings: &AppleSettings,
    anchors: &TrustAnchors,
    at: i64,
) -> Result<Attested, AttestError> {
    if object.len() > MAX_ATTESTATION_OBJECT_BYTES {
        return Err(malformed("the attestation object is too large"));
    }
    let key_id = base64::engine::general_purpose::STANDARD
        .decode(key_id)
        .map_err(|_| malformed("key_id is not base64"))?;
    let parsed = AttestationObject::decode(object)?;
    if parsed.fmt != "apple-appattest" {
        return Err(malformed(format!(
            "fmt is {:?}, not \"apple-appattest\"",
            parsed.fmt.chars().take(32).collect::<String>()
        )));
    }

    // 1. The certificates chain to Apple's App Attestation root.
    let chain = verify_chain(&parsed.x5c, anchors, &RevokedSerials::default(), at)?;
    let credential_cert = &chain[0];

    // 2-4. The nonce in the credential certificate is SHA-256(authData ‖ clientDataHash).
    let nonce_oid = Oid::from(NONCE_OID).map_err(|_| malformed("nonce OID"))?;
    let extension = credential_cert
        .get_extension_unique(&nonce_oid)
        .map_err(|_| malformed("the nonce extension appears twice"))?
        .ok_or_else(|| malformed("the credential certificate has no nonce extension"))?;
    let expected: [u8; 32] = Sha256::new()
        .chain_update(&parsed.auth_data)
        .chain_update(client_data_hash)
        .finalize()
        .into();
    if nonce(extension.value)? != expected {
        return Err(mismatch(
            "the attestation was not made for this challenge and install key",
        ));
    }

    // 5. The key id is the SHA-256 of the credential's public key.
    let point = credential_cert
        .public_key()
        .subject_public_key
        .data
        .as_ref();
    let digest: [u8; 32] = Sha256::digest(point).into();
    if digest.as_slice() != key_id.as_slice() {
        return Err(mismatch("key_id is not the hash of the attested key"));
    }

    // 6-9. Authenticator data: the app, counter 0, the environment, the credential id.
    let auth = AuthenticatorData::parse(&parsed.auth_data)?;
    let app = settings
        .bundle_ids
        .iter()
        .map(|bundle| format!("{}.{bundle}", settings.team_id))
        .find(|app_id| Sha256::digest(app_id.as_bytes()).as_slice() == auth.rp_id_hash)
        .ok_or_else(|| mismatch("the attestation is for another app (team id and bundle id)"))?;
    if auth.counter != 0 {
        return Err(mismatch("the attestation's counter is not 0"));
    }
    let environment = match auth.aaguid {
        a if a == AAGUID_PRODUCTION => "production",
        a if a == AAGUID_DEVELOPMENT => "development",
        _ => return Err(mismatch("the aaguid is neither App Attest environment")),
    };
    if environment == "development" && !settings.allow_development {
        return Err(mismatch(
            "the attestation comes from the development environment, which this application does not allow",
        ));
    }
    if auth.credential_id != key_id.as_slice() {
        return Err(mismatch("the credential id is not the key id"));
    }
    Ok(Attested {
        format: Format::AppleAppAttest,
        security_level: "secure-enclave",
        app,
        app_version: None,
        environment: Some(environment),
    })
}

/// `{fmt, attStmt: {x5c, receipt}, authData}`.
struct AttestationObject {
    fmt: String,
    x5c: Vec<Vec<u8>>,
    auth_data: Vec<u8>,
}

impl AttestationObject {
    fn decode(object: &[u8]) -> Result<Self, AttestError> {
        let value: Value =
            ciborium::from_reader(object).map_err(|e| malformed(format!("CBOR: {e}")))?;
        let map = value
            .into_map()
            .map_err(|_| malformed("the attestation object is not a CBOR map"))?;
        let (mut fmt, mut statement, mut auth_data) = (None, None, None);
        for (key, value) in map {
            match key.as_text() {
                Some("fmt") => fmt = value.into_text().ok(),
                Some("attStmt") => statement = value.into_map().ok(),
                Some("authData") => auth_data = value.into_bytes().ok(),
                _ => {}
            }
        }
        let (Some(fmt), Some(statement), Some(auth_data)) = (fmt, statement, auth_data) else {
            return Err(malformed(
                "the attestation object needs fmt, attStmt and authData",
            ));
        };
        let x5c = statement
            .into_iter()
            .find(|(k, _)| k.as_text() == Some("x5c"))
            .and_then(|(_, v)| v.into_array().ok())
            .ok_or_else(|| malformed("attStmt has no x5c array"))?;
        if x5c.len() > crate::MAX_CHAIN {
            return Err(malformed("x5c is too long"));
        }
        let x5c = x5c
            .into_iter()
            .map(|c| {
                c.into_bytes()
                    .map_err(|_| malformed("x5c holds a non-byte-string"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            fmt,
            x5c,
            auth_data,
        })
    }
}

/// The nonce extension's value: `SEQUENCE { [1] EXPLICIT OCTET STRING }`.
fn nonce(value: &[u8]) -> Result<Vec<u8>, AttestError> {
    let sequence = constructed(&single(value, "nonce extension")?, false, "nonce extension")?;
    let inner = explicit(&sequence, 1, "nonce extension")?
        .ok_or_else(|| malformed("nonce extension: no [1]"))?;
    Ok(octets(&inner, "nonce")?.to_vec())
}

/// WebAuthn authenticator data, as App Attest fills it.
struct AuthenticatorData<'a> {
    rp_id_hash: &'a [u8],
    counter: u32,
    aaguid: &'a [u8],
    credential_id: &'a [u8],
}

impl<'a> AuthenticatorData<'a> {
    /// rpIdHash (32) ‖ flags (1) ‖ counter (4, big-endian) ‖ aaguid (16) ‖ credential
    /// id length (2, big-endian) ‖ credential id ‖ COSE key.
    fn parse(data: &'a [u8]) -> Result<Self, AttestError> {
        let short = || malformed("authData is too short");
        let rp_id_hash = data.get(..32).ok_or_else(short)?;
        let flags = *data.get(32).ok_or_else(short)?;
        if flags & 0x40 == 0 {
            return Err(malformed("authData has no attested credential data"));
        }
        let counter = data
            .get(33..37)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(short)?;
        let aaguid = data.get(37..53).ok_or_else(short)?;
        let length = data
            .get(53..55)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_be_bytes)
            .ok_or_else(short)?;
        let credential_id = data.get(55..55 + usize::from(length)).ok_or_else(short)?;
        Ok(Self {
            rp_id_hash,
            counter,
            aaguid,
            credential_id,
        })
    }
}
