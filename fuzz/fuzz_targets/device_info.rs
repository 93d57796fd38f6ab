//! `X-Device-Info` header values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = dcr_core::device_info::DeviceInfo::parse_header(data) {
        let _ = info.platform();
        let _ = info.to_json();
    }
});
