//! Whole job specs (TOML + embedded DOT): parsing must never panic, and every error must
//! point inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = orakel_pipeline::parse_job_spec(text, "fuzz.toml")
    {
        assert!(e.line >= 1 && e.column >= 1);
        assert!(e.line <= text.lines().count().max(1) + 1);
    }
});
