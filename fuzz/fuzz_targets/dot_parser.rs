//! The DOT lexer/parser and the pipeline compiler must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = orakel_pipeline::parse_dot(text);
        let _ = orakel_pipeline::Pipeline::parse(text, "fuzz.dot");
    }
});
