//! Public test vectors through the signature layer our JOSE code uses
//! (`jsonwebtoken` on aws-lc-rs): Wycheproof's ECDSA P-256/SHA-256 vectors in the
//! IEEE P1363 encoding JWS uses (RFC 7518 3.4), and the ES256 example of RFC 7515 A.3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use wycheproof::TestResult;
use wycheproof::ecdsa::{TestName, TestSet};

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in &set.test_groups {
        let point: &[u8] = group.key.key.as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        let key = DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..65]),
        )
        .unwrap();
        for test in &group.tests {
            let signature = URL_SAFE_NO_PAD.encode(test.sig.as_ref() as &[u8]);
            let verified =
                jsonwebtoken::crypto::verify(&signature, test.msg.as_ref(), &key, Algorithm::ES256)
                    .unwrap_or(false);
            match test.result {
                TestResult::Valid => {
                    assert!(
                        verified,
                        "tcId {} ({}) must verify",
                        test.tc_id, test.comment
                    );
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(
                        !verified,
                        "tcId {} ({}) must not verify",
                        test.tc_id, test.comment
                    );
                    invalid += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(
        valid > 100 && invalid > 50,
        "ran {valid} valid and {invalid} invalid vectors"
    );
}

/// RFC 7515 Appendix A.3: a JWS using ECDSA P-256 SHA-256.
#[test]
fn rfc7515_a3_es256_example_verifies_and_tampering_does_not() {
    let x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    let y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    let jws = "eyJhbGciOiJFUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let key = DecodingKey::from_ec_components(x, y).unwrap();
    let (message, signature) = jws.rsplit_once('.').unwrap();
    assert!(
        jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, Algorithm::ES256)
            .unwrap()
    );
    let tampered = message.replacen("eyJpc3Mi", "eyJpc3Ni", 1);
    assert!(
        !jsonwebtoken::crypto::verify(signature, tampered.as_bytes(), &key, Algorithm::ES256)
            .unwrap_or(false)
    );

    // Valid JOSE, but not ours: no `kid`, no `typ`, another key. Our verifier refuses it
    // before any signature work.
    let jwk = dcr_proto::discovery::PublicJwk {
        kty: "EC".into(),
        kid: "rfc7515".into(),
        alg: "ES256".into(),
        use_: "sig".into(),
        crv: Some("P-256".into()),
        x: Some(x.into()),
        y: Some(y.into()),
        n: None,
        e: None,
    };
    let verifier = dcr_core::jose::Verifier::from_jwks("joe", &[jwk]);
    assert!(verifier.verify_statement(jws, 0).is_err());
    assert!(verifier.verify_access_token(jws, 0).is_err());
}
