//! App Attest attestation objects: CBOR, the certificates in `x5c`, the nonce
//! extension and the authenticator data. Any input is refused or verified, never a
//! panic, in bounded time.
#![no_main]

use dcr_attest::{AppleSettings, TrustAnchors, verify_app_attest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = AppleSettings {
        team_id: "V8H6LQ9448".into(),
        bundle_ids: vec!["io.uebelacker.AppAttestExample".into()],
        allow_development: true,
    };
    let anchors = TrustAnchors::apple_app_attest();
    // The recorded sample's key id and time, so mutations of it go deep.
    let _ = verify_app_attest(
        "s/134MbeEEZDZKCvOTf+jZgNhpoDwdXZ8cKfTym8FUg=",
        data,
        &[0u8; 32],
        &settings,
        &anchors,
        1_717_200_000,
    );
});
