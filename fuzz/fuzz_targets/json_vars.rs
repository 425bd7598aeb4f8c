//! The JSON parser (plain and with `$(…)` placeholders) must never panic, and plain JSON
//! must survive a render/parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = orakel_pipeline::parse_json(data) {
        let rendered = value.to_json();
        let again = orakel_pipeline::parse_json(rendered.as_bytes());
        assert_eq!(again.as_ref(), Ok(&value), "round trip changed {rendered}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = orakel_pipeline::parse_json_template(text);
    }
});
