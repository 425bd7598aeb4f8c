//! The bridge (external adapter) response decoder must never panic, whatever the status,
//! pending header and body; it decides the same way twice, and what it accepts obeys the
//! protocol: only HTTP 200, a completed answer is exactly the parsed body, and "pending"
//! comes only from the header or `"pending": true`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orakel_pipeline::{BridgeReply, Value, decode_bridge_response, parse_json};

fuzz_target!(|data: &[u8]| {
    // Layout: two bytes of HTTP status, one byte whose low bit is the pending header, body.
    let [s0, s1, flags, body @ ..] = data else {
        return;
    };
    let status = u16::from_be_bytes([*s0, *s1]);
    let pending_header = flags & 1 == 1;
    let first = decode_bridge_response(status, pending_header, body);
    let again = decode_bridge_response(status, pending_header, body);
    assert_eq!(first, again);
    match first {
        Err(e) => assert!(!e.is_empty()),
        Ok(reply) => {
            assert_eq!(status, 200, "status {status} accepted");
            let parsed = parse_json(body);
            match reply {
                BridgeReply::Done(value) => {
                    assert!(!pending_header);
                    assert_eq!(parsed.as_ref(), Ok(&value));
                    if let Value::Map(m) = &value {
                        assert_ne!(m.get("pending"), Some(&Value::Bool(true)));
                        assert!(m.get("error").is_none_or(|e| *e == Value::Null));
                    }
                }
                BridgeReply::Pending => {
                    let pending_body = matches!(
                        &parsed,
                        Ok(Value::Map(m)) if m.get("pending") == Some(&Value::Bool(true))
                    );
                    assert!(pending_header || pending_body);
                }
            }
        }
    }
});
