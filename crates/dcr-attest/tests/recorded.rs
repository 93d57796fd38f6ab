//! Attestations made by real devices, verified at the time they were recorded (their
//! certificates have expired since): they chain to the vendors' real roots, and are
//! refused for anything they were not made for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use dcr_attest::{
    AndroidSettings, AppleSettings, AttestError, Format, RevokedSerials, SecurityLevel,
    TrustAnchors, verify_android_key, verify_app_attest,
};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// 2024-06-01T00:00:00Z, when the App Attest sample's certificates were valid.
const APPLE_RECORDED: i64 = 1_717_200_000;
/// 2023-03-01T00:00:00Z, when the Android sample's intermediates were valid.
const ANDROID_RECORDED: i64 = 1_677_628_800;
/// 2026-12-01T00:00:00Z.
const LATER: i64 = 1_796_083_200;

struct AppleSample {
    object: Vec<u8>,
    key_id: String,
    client_data_hash: [u8; 32],
}

fn apple_sample() -> AppleSample {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("data/apple-appattest-development.json")).unwrap();
    let challenge = B64.decode(json["challenge"].as_str().unwrap()).unwrap();
    AppleSample {
        object: B64.decode(json["attestation"].as_str().unwrap()).unwrap(),
        key_id: json["keyId"].as_str().unwrap().to_owned(),
        // node-app-attest's test app sent SHA-256 of the challenge as clientDataHash.
        client_data_hash: Sha256::digest(&challenge).into(),
    }
}

fn apple_settings() -> AppleSettings {
    AppleSettings {
        team_id: "V8H6LQ9448".into(),
        bundle_ids: vec!["io.uebelacker.AppAttestExample".into()],
        allow_development: true,
    }
}

#[test]
fn a_real_app_attest_attestation_verifies_at_its_recorded_time() {
    let s = apple_sample();
    let attested = verify_app_attest(
        &s.key_id,
        &s.object,
        &s.client_data_hash,
        &apple_settings(),
        &TrustAnchors::apple_app_attest(),
        APPLE_RECORDED,
    )
    .unwrap();
    assert_eq!(attested.format, Format::AppleAppAttest);
    assert_eq!(attested.app, "V8H6LQ9448.io.uebelacker.AppAttestExample");
    assert_eq!(attested.environment, Some("development"));
}

#[test]
fn the_real_app_attest_attestation_is_refused_for_anything_else() {
    let s = apple_sample();
    let apple = TrustAnchors::apple_app_attest();
    let verify =
        |key_id: &str, hash: &[u8], settings: &AppleSettings, anchors: &TrustAnchors, at| {
            verify_app_attest(key_id, &s.object, hash, settings, anchors, at).unwrap_err()
        };
    let other_challenge = Sha256::digest(b"another challenge");
    assert!(matches!(
        verify(&s.key_id, &other_challenge, &apple_settings(), &apple, APPLE_RECORDED),
        AttestError::Mismatch(m) if m.contains("challenge")
    ));
    let production_only = AppleSettings {
        allow_development: false,
        ..apple_settings()
    };
    assert!(matches!(
        verify(&s.key_id, &s.client_data_hash, &production_only, &apple, APPLE_RECORDED),
        AttestError::Mismatch(m) if m.contains("development")
    ));
    let other_app = AppleSettings {
        bundle_ids: vec!["com.example.other".into()],
        ..apple_settings()
    };
    assert!(matches!(
        verify(&s.key_id, &s.client_data_hash, &other_app, &apple, APPLE_RECORDED),
        AttestError::Mismatch(m) if m.contains("another app")
    ));
    let other_key = B64.encode([7u8; 32]);
    assert!(matches!(
        verify(&other_key, &s.client_data_hash, &apple_settings(), &apple, APPLE_RECORDED),
        AttestError::Mismatch(m) if m.contains("key_id")
    ));
    assert!(matches!(
        verify(&s.key_id, &s.client_data_hash, &apple_settings(), &apple, LATER),
        AttestError::Chain(m) if m.contains("not valid")
    ));
    let google = TrustAnchors::google_key_attestation();
    assert!(matches!(
        verify(&s.key_id, &s.client_data_hash, &apple_settings(), &google, APPLE_RECORDED),
        AttestError::Chain(m) if m.contains("trusted root")
    ));
}

#[test]
fn a_tampered_app_attest_object_is_refused_cleanly() {
    let s = apple_sample();
    let apple = TrustAnchors::apple_app_attest();
    for cut in [0, 1, 10, 100, s.object.len() / 2, s.object.len() - 1] {
        let r = verify_app_attest(
            &s.key_id,
            &s.object[..cut],
            &s.client_data_hash,
            &apple_settings(),
            &apple,
            APPLE_RECORDED,
        );
        assert!(r.is_err(), "cut at {cut}");
    }
    let mut flipped = s.object.clone();
    let last = flipped.len() - 40;
    flipped[last] ^= 1;
    assert!(
        verify_app_attest(
            &s.key_id,
            &flipped,
            &s.client_data_hash,
            &apple_settings(),
            &apple,
            APPLE_RECORDED
        )
        .is_err()
    );
}

fn android_chain() -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(include_bytes!("data/android-key-chain.pem"))
        .map(|p| p.unwrap().contents)
        .collect()
}

fn android_settings() -> AndroidSettings {
    AndroidSettings {
        package_names: vec!["com.google.attestationexample".into()],
        signing_cert_sha256: vec![],
        min_security_level: SecurityLevel::Tee,
    }
}

fn leaf_key(chain: &[Vec<u8>]) -> Vec<u8> {
    use x509_parser::prelude::FromDer;
    let (_, leaf) = x509_parser::certificate::X509Certificate::from_der(&chain[0]).unwrap();
    leaf.public_key().subject_public_key.data.to_vec()
}

#[test]
fn a_real_key_attestation_chain_verifies_at_its_recorded_time() {
    let chain = android_chain();
    let key = leaf_key(&chain);
    let attested = verify_android_key(
        &chain,
        b"challenge",
        &key,
        &android_settings(),
        &TrustAnchors::google_key_attestation(),
        &RevokedSerials::default(),
        ANDROID_RECORDED,
    )
    .unwrap();
    assert_eq!(attested.format, Format::AndroidKey);
    assert_eq!(attested.security_level, "tee");
    assert_eq!(attested.app, "com.google.attestationexample");
    assert_eq!(attested.app_version.as_deref(), Some("1"));
}

#[test]
fn the_real_key_attestation_is_refused_for_anything_else() {
    let chain = android_chain();
    let key = leaf_key(&chain);
    let google = TrustAnchors::google_key_attestation();
    let none = RevokedSerials::default();
    let verify = |chain: &[Vec<u8>],
                  challenge: &[u8],
                  key: &[u8],
                  settings: &AndroidSettings,
                  anchors: &TrustAnchors,
                  revoked: &RevokedSerials,
                  at| {
        verify_android_key(chain, challenge, key, settings, anchors, revoked, at).unwrap_err()
    };
    let hash = Sha256::digest(b"a challenge it was not made for");
    assert!(
        matches!(verify(&chain, &hash, &key, &android_settings(), &google, &none, ANDROID_RECORDED),
        AttestError::Mismatch(m) if m.contains("challenge"))
    );
    let mut other_key = key.clone();
    other_key[10] ^= 1;
    assert!(
        matches!(verify(&chain, b"challenge", &other_key, &android_settings(), &google, &none, ANDROID_RECORDED),
        AttestError::Mismatch(m) if m.contains("install key"))
    );
    let strongbox = AndroidSettings {
        min_security_level: SecurityLevel::StrongBox,
        ..android_settings()
    };
    assert!(
        matches!(verify(&chain, b"challenge", &key, &strongbox, &google, &none, ANDROID_RECORDED),
        AttestError::Mismatch(m) if m.contains("strongbox"))
    );
    let other_package = AndroidSettings {
        package_names: vec!["com.example.tv".into()],
        ..android_settings()
    };
    assert!(
        matches!(verify(&chain, b"challenge", &key, &other_package, &google, &none, ANDROID_RECORDED),
        AttestError::Mismatch(m) if m.contains("package"))
    );
    let other_signer = AndroidSettings {
        signing_cert_sha256: vec![vec![1; 32]],
        ..android_settings()
    };
    assert!(
        matches!(verify(&chain, b"challenge", &key, &other_signer, &google, &none, ANDROID_RECORDED),
        AttestError::Mismatch(m) if m.contains("signed"))
    );
    assert!(
        matches!(verify(&chain, b"challenge", &key, &android_settings(), &google, &none, LATER),
        AttestError::Chain(m) if m.contains("not valid"))
    );
    assert!(
        matches!(verify(&chain, b"challenge", &key, &android_settings(), &TrustAnchors::apple_app_attest(), &none, ANDROID_RECORDED),
        AttestError::Chain(m) if m.contains("trusted root"))
    );
    // The intermediate "Droid CA3" on Google's status list.
    let revoked = RevokedSerials::new(["00D05FACF443ED535548D994F6845E6D3C".to_owned()]);
    assert!(
        matches!(verify(&chain, b"challenge", &key, &android_settings(), &google, &revoked, ANDROID_RECORDED),
        AttestError::Chain(m) if m.contains("revoked"))
    );
    // Without the root and intermediates, the leaf alone leads nowhere.
    assert!(matches!(
        verify(
            &chain[..1],
            b"challenge",
            &key,
            &android_settings(),
            &google,
            &none,
            ANDROID_RECORDED
        ),
        AttestError::Chain(_)
    ));
}
