//! Proofs of possession: DPoP proofs, client assertions, attestations and their PoPs,
//! and registered JWKs. Any input is refused or verified, never a panic.
#![no_main]

use std::sync::OnceLock;

use dcr_core::pop::{
    Attester, DpopExpectations, Freshness, InstallKey, verify_assertion, verify_attestation,
    verify_dpop,
};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;
const FRESH: Freshness = Freshness {
    max_age: 60,
    max_future: 5,
};

fn key() -> &'static InstallKey {
    static K: OnceLock<InstallKey> = OnceLock::new();
    K.get_or_init(|| {
        // The P-256 key of RFC 7515 A.3.
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        InstallKey::from_jwk(&jwk).expect("a valid key")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for token in [None, Some("t")] {
        let _ = verify_dpop(
            text,
            &DpopExpectations {
                htm: "GET",
                htu: "https://api.example/v1/x",
                access_token: token,
                now: NOW,
                freshness: FRESH,
            },
        );
    }
    let _ = verify_assertion(text, key(), "c", &["https://dcr.example"], NOW, 300);
    let attesters = [Attester {
        issuer: None,
        keys: vec![key().clone()],
    }];
    let (attestation, pop) = text.split_once('~').unwrap_or((text, text));
    let _ = verify_attestation(attestation, pop, &attesters, "https://dcr.example", NOW, FRESH);
    if let Ok(jwk) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = InstallKey::from_jwk(&jwk);
    }
});
