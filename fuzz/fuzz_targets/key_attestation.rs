//! Android Key Attestation chains: DER certificates, their signatures and the
//! KeyDescription extension. The input is cut into certificates at each `0x30 0x82`
//! that starts a plausible one, so mutations of a real chain stay chain-shaped. Any
//! input is refused or verified, never a panic, in bounded time.
#![no_main]

use dcr_attest::{
    AndroidSettings, RevokedSerials, SecurityLevel, TrustAnchors, verify_android_key,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut chain = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 && chain.len() < 12 {
        let length = 4 + usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let (cert, tail) = rest.split_at(length.min(rest.len()));
        chain.push(cert.to_vec());
        rest = tail;
    }
    let settings = AndroidSettings {
        package_names: vec!["com.google.attestationexample".into()],
        signing_cert_sha256: vec![],
        min_security_level: SecurityLevel::Tee,
    };
    let _ = verify_android_key(
        &chain,
        b"challenge",
        &[4u8; 65],
        &settings,
        &TrustAnchors::google_key_attestation(),
        &RevokedSerials::default(),
        1_677_628_800,
    );
});
