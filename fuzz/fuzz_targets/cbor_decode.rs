//! The CBOR decoders must never panic; decoded values must re-encode to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = orakel_pipeline::decode_cbor(data) {
        let encoded = orakel_pipeline::encode_cbor(&value);
        assert_eq!(orakel_pipeline::decode_cbor(&encoded).as_ref(), Ok(&value));
    }
    let _ = orakel_pipeline::decode_diet_cbor(data);
});
