//! Evidence built in the test under a test root, through every check: what passes,
//! and each forgery a verifier must refuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcr_attest::testing::{AndroidKey, TestAuthority, client_data_hash};
use dcr_attest::{
    AndroidSettings, AppleSettings, AttestError, RevokedSerials, SecurityLevel, TrustAnchors,
    verify_android_key, verify_app_attest,
};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};

const NOW: i64 = 1_796_083_200; // 2026-12-01

fn anchors(authority: &TestAuthority) -> TrustAnchors {
    TrustAnchors::from_pem(authority.root_pem()).unwrap()
}

fn android_settings() -> AndroidSettings {
    AndroidSettings {
        package_names: vec!["com.example.tv".into()],
        signing_cert_sha256: vec![vec![0xab; 32]],
        min_security_level: SecurityLevel::Tee,
    }
}

fn verify_android(
    authority: &TestAuthority,
    chain: &[Vec<u8>],
    key: &KeyPair,
    settings: &AndroidSettings,
) -> Result<dcr_attest::Attested, AttestError> {
    verify_android_key(
        chain,
        &client_data_hash("c1", "jkt"),
        key.public_key_raw(),
        settings,
        &anchors(authority),
        &RevokedSerials::default(),
        NOW,
    )
}

#[test]
fn android_key_attestation_passes_and_refuses_each_forgery() {
    let google = TestAuthority::new("Test Google");
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let good = AndroidKey::new("c1", "jkt", "com.example.tv");
    let chain = google.android_key_chain(&key, &good);
    let attested = verify_android(&google, &chain, &key, &android_settings()).unwrap();
    assert_eq!(
        (
            attested.security_level,
            attested.app.as_str(),
            attested.app_version.as_deref()
        ),
        ("tee", "com.example.tv", Some("42"))
    );

    let refused = |chain: &[Vec<u8>], settings: &AndroidSettings| {
        verify_android(&google, chain, &key, settings)
            .unwrap_err()
            .to_string()
    };
    // Another root: a chain the attacker signed himself.
    let other = TestAuthority::new("Attacker");
    assert!(
        refused(&other.android_key_chain(&key, &good), &android_settings())
            .contains("trusted root")
    );
    // Another challenge (a replay of yesterday's evidence), another package, signer.
    let replay = AndroidKey::new("c0", "jkt", "com.example.tv");
    assert!(
        refused(
            &google.android_key_chain(&key, &replay),
            &android_settings()
        )
        .contains("challenge")
    );
    let other_app = AndroidKey::new("c1", "jkt", "com.evil.app");
    assert!(
        refused(
            &google.android_key_chain(&key, &other_app),
            &android_settings()
        )
        .contains("package")
    );
    let resigned = AndroidKey {
        signer_sha256: vec![1; 32],
        ..good.clone()
    };
    assert!(
        refused(
            &google.android_key_chain(&key, &resigned),
            &android_settings()
        )
        .contains("signed")
    );
    // Downgrades: a software key, a TEE key where StrongBox is asked, an unlocked device.
    let software = AndroidKey {
        security_level: 0,
        ..good.clone()
    };
    assert!(
        refused(
            &google.android_key_chain(&key, &software),
            &android_settings()
        )
        .contains("software")
    );
    let strongbox = AndroidSettings {
        min_security_level: SecurityLevel::StrongBox,
        ..android_settings()
    };
    assert!(refused(&chain, &strongbox).contains("strongbox"));
    let unlocked = AndroidKey {
        verified_boot: false,
        ..good.clone()
    };
    assert!(
        refused(
            &google.android_key_chain(&key, &unlocked),
            &android_settings()
        )
        .contains("verified boot")
    );
    // Another key than the install's.
    let stranger = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    assert!(
        refused(
            &google.android_key_chain(&stranger, &good),
            &android_settings()
        )
        .contains("install key")
    );
    // Reordered, truncated, padded chains.
    let mut reversed = chain.clone();
    reversed.reverse();
    assert!(verify_android(&google, &reversed, &key, &android_settings()).is_err());
    let hundred: Vec<Vec<u8>> = std::iter::repeat_n(chain[1].clone(), 100).collect();
    assert!(refused(&hundred, &android_settings()).contains("1 to 8"));
    let mut trailing = chain.clone();
    trailing[0].push(0);
    assert!(refused(&trailing, &android_settings()).contains("malformed"));
}

#[test]
fn app_attest_passes_and_refuses_each_forgery() {
    let apple = TestAuthority::new("Test Apple");
    let settings = AppleSettings {
        team_id: "TEAM123456".into(),
        bundle_ids: vec!["com.example.ios".into(), "com.example.tvos".into()],
        allow_development: false,
    };
    let hash = client_data_hash("c1", "jkt");
    let (key_id, object) = apple.app_attest("TEAM123456.com.example.tvos", &hash, false);
    let attested =
        verify_app_attest(&key_id, &object, &hash, &settings, &anchors(&apple), NOW).unwrap();
    assert_eq!(attested.app, "TEAM123456.com.example.tvos");
    assert_eq!(attested.environment, Some("production"));

    let refused = |key_id: &str, object: &[u8], hash: &[u8], anchors: &TrustAnchors| {
        verify_app_attest(key_id, object, hash, &settings, anchors, NOW)
            .unwrap_err()
            .to_string()
    };
    let other = TestAuthority::new("Attacker");
    let (forged_id, forged) = other.app_attest("TEAM123456.com.example.tvos", &hash, false);
    assert!(refused(&forged_id, &forged, &hash, &anchors(&apple)).contains("trusted root"));
    assert!(
        refused(
            &key_id,
            &object,
            &client_data_hash("c2", "jkt"),
            &anchors(&apple)
        )
        .contains("challenge")
    );
    assert!(
        refused(
            &key_id,
            &object,
            &client_data_hash("c1", "other-key"),
            &anchors(&apple)
        )
        .contains("challenge")
    );
    let (other_app_id, other_app) = apple.app_attest("TEAM123456.com.evil", &hash, false);
    assert!(refused(&other_app_id, &other_app, &hash, &anchors(&apple)).contains("another app"));
    let (dev_id, dev) = apple.app_attest("TEAM123456.com.example.ios", &hash, true);
    assert!(refused(&dev_id, &dev, &hash, &anchors(&apple)).contains("development"));
    assert!(refused(&dev_id, &object, &hash, &anchors(&apple)).contains("key_id"));
    for garbage in [
        &b""[..],
        b"\xa0",
        b"\xff\xff\xff",
        &[0x5b; 40][..],
        &vec![0u8; 40_000][..],
    ] {
        assert!(refused(&key_id, garbage, &hash, &anchors(&apple)).contains("malformed"));
    }
}
