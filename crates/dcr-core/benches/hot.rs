//! The hot pieces, one at a time: `cargo bench -p dcr-core`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use dcr_core::device_info::DeviceInfo;
use dcr_core::jose::{KeyRing, SigningAlgorithm, generate_key};
use dcr_core::secrets::{SecretHasher, generate_client_secret};
use dcr_core::time::unix_now;
use dcr_proto::claims::{AccessTokenClaims, StatementClaims};

fn ring() -> KeyRing {
    let g = generate_key(SigningAlgorithm::Es256).unwrap();
    KeyRing::new("http://127.0.0.1:8080".into(), g.into(), vec![]).unwrap()
}

fn claims(now: i64) -> AccessTokenClaims {
    AccessTokenClaims {
        cnf: None,
        iss: "http://127.0.0.1:8080".into(),
        sub: "8c1a3d7e-0000-4000-8000-000000000001".into(),
        aud: dcr_proto::claims::Audience(vec!["http://127.0.0.1:8080".into()]),
        client_id: "8c1a3d7e-0000-4000-8000-000000000001".into(),
        jti: "8c1a3d7e-0000-4000-8000-000000000002".into(),
        iat: now,
        nbf: now,
        exp: now + 21_600,
        scopes: "api:client:v2,config:client".into(),
        scope: "api:client:v2 config:client".into(),
        software_id: "8c1a3d7e-0000-4000-8000-000000000003".into(),
        sst: "8c1a3d7e-0000-4000-8000-000000000004".into(),
        programmer: "acme".into(),
        channels: None,
    }
}

fn bench(c: &mut Criterion) {
    let ring = ring();
    let now = unix_now();
    let token_claims = claims(now);
    c.bench_function("access token signing (ES256)", |b| {
        b.iter(|| ring.sign_access_token(&token_claims).unwrap())
    });

    let statement = ring
        .sign_statement(&StatementClaims {
            iss: "http://127.0.0.1:8080".into(),
            sub: "8c1a3d7e-0000-4000-8000-000000000003".into(),
            software_id: "8c1a3d7e-0000-4000-8000-000000000003".into(),
            software_version: "1.0.0".into(),
            jti: "8c1a3d7e-0000-4000-8000-000000000004".into(),
            iat: now,
            nbf: now,
        })
        .unwrap();
    c.bench_function("software statement verification (ES256)", |b| {
        b.iter(|| ring.verify_statement(&statement, now).unwrap())
    });
    let token = ring.sign_access_token(&token_claims).unwrap();
    c.bench_function("access token verification (ES256)", |b| {
        b.iter(|| ring.verify_access_token(&token, now).unwrap())
    });

    // A DPoP proof as forward auth sees one: a fresh P-256 key in its header, the
    // token's hash. The replay check and nonce are the caller's (a map insert).
    let proof = dpop_proof(now, &token);
    let want = dcr_core::pop::DpopExpectations {
        htm: "GET",
        htu: "https://api.example/v1/configuration",
        access_token: Some(&token),
        now,
        freshness: dcr_core::pop::Freshness {
            max_age: 60,
            max_future: 5,
        },
    };
    c.bench_function(
        "DPoP proof verification (ES256, key from the header)",
        |b| b.iter(|| dcr_core::pop::verify_dpop(&proof, &want).unwrap()),
    );

    let hasher = SecretHasher::new([7u8; 32]);
    let secret = generate_client_secret().unwrap();
    let stored = hasher.hash(&secret);
    c.bench_function("client secret check (HMAC-SHA256, constant time)", |b| {
        b.iter(|| hasher.verify(&secret, &stored))
    });

    let device = base64::engine::general_purpose::STANDARD.encode(
        r#"{"primaryHardwareType":"MobilePhone","model":"SM-S901U","vendor":"samsung","version":"r0q","manufacturer":"samsung","osName":"Android","osVersion":"14"}"#,
    );
    c.bench_function("X-Device-Info parsing", |b| {
        b.iter(|| {
            DeviceInfo::parse_header(device.as_bytes())
                .unwrap()
                .platform()
        })
    });
}

fn dpop_proof(now: i64, token: &str) -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(
        serde_json::from_value(serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])}))
        .unwrap(),
    );
    let claims = serde_json::json!({"jti": "bench", "htm": "GET",
        "htu": "https://api.example/v1/configuration", "iat": now,
        "ath": dcr_core::pop::token_hash(token)});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
    .unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
