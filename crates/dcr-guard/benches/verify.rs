//! Guard verification: cold (full ES256 verification) and warm (token seen before).
//! `cargo bench -p dcr-guard`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use dcr_core::jose::{KeyRing, SigningAlgorithm, generate_key};
use dcr_core::time::unix_now;
use dcr_guard::{Guard, GuardConfig};
use dcr_proto::claims::AccessTokenClaims;
use dcr_proto::resource::RevocationFeed;

const ISSUER: &str = "http://127.0.0.1:8080";

fn setup(cache: usize) -> (Guard, String) {
    let g = generate_key(SigningAlgorithm::Es256).unwrap();
    let jwk = g.public_jwk.clone();
    let ring = KeyRing::new(ISSUER.into(), g.into(), vec![]).unwrap();
    let now = unix_now();
    let token = ring
        .sign_access_token(&AccessTokenClaims {
            cnf: None,
            iss: ISSUER.into(),
            sub: "8c1a3d7e-0000-4000-8000-000000000001".into(),
            aud: dcr_proto::claims::Audience(vec!["https://api.example".into()]),
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
            channels: Some(vec!["ACMETV".into()]),
        })
        .unwrap();
    let mut config = GuardConfig::new(ISSUER, "unused");
    config.token_cache_capacity = cache;
    config.max_staleness = std::time::Duration::from_secs(3600);
    let feed = RevocationFeed {
        cursor: "0".into(),
        has_more: false,
        horizon: 0,
        revoked_clients: vec![],
        revoked_statements: vec![],
        revoked_applications: vec![],
        revoked_tokens: vec![],
        entries: vec![],
        channels: BTreeMap::new(),
        programmer_channels: BTreeMap::new(),
        programmer: None,
    };
    (Guard::with_keys(config, &[jwk], feed).unwrap(), token)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cold, token) = setup(0);
    c.bench_function("guard verify, cold (ES256 verification)", |b| {
        b.iter(|| {
            rt.block_on(cold.verify(&token, Some("api:client:v2"), Some("ACMETV")))
                .unwrap()
        })
    });
    let (warm, token) = setup(10_000);
    rt.block_on(warm.verify(&token, None, None)).unwrap();
    c.bench_function("guard verify, warm (token cache hit)", |b| {
        b.iter(|| {
            rt.block_on(warm.verify(&token, Some("api:client:v2"), Some("ACMETV")))
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
