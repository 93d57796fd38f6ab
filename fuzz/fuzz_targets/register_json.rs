//! Registration bodies (strict JSON, duplicate members refused).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dcr_core::wire::parse_registration_body(data);
});
