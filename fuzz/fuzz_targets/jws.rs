//! Statements and access tokens: any input is refused or verified, never a panic.
#![no_main]

use std::sync::OnceLock;

use dcr_core::jose::Verifier;
use dcr_proto::discovery::PublicJwk;
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        // The P-256 key of RFC 7515 A.3, under the kid the corpus uses.
        let jwk = PublicJwk {
            kty: "EC".into(),
            kid: "k1".into(),
            alg: "ES256".into(),
            use_: "sig".into(),
            crv: Some("P-256".into()),
            x: Some("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU".into()),
            y: Some("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0".into()),
            n: None,
            e: None,
        };
        Verifier::from_jwks("http://127.0.0.1:8080", &[jwk])
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verifier().verify_statement(text, 1_700_000_000);
        let _ = verifier().verify_access_token(text, 1_700_000_000);
        let _ = dcr_core::jose::access_token_kid(text);
    }
});
