//! Token-endpoint parameters: query string and form body together.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (query, body) = data.split_at(split);
    let _ = dcr_core::wire::parse_form(query, body);
});
