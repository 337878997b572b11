//! Fuzzes the SMTP reply parser: whole replies, line-by-line building, and the enhanced-code reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxdoctor_model::reply::{Reply, ReplyBuilder, enhanced_code, parse_line};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(reply) = Reply::parse(&text) {
        assert!(
            (200..600).contains(&reply.code),
            "code {} escaped 2xx-5xx",
            reply.code
        );
        assert!(!reply.lines.is_empty());
        let _ = reply.to_string();
    }
    let mut builder = ReplyBuilder::new();
    for (number, line) in text.lines().enumerate() {
        let _ = parse_line(line, number + 1);
        if builder.push(line).is_err() {
            break;
        }
    }
    for code in [250, 450, 550] {
        if let Some(enhanced) = enhanced_code(&text, code) {
            assert!(text.contains(enhanced));
        }
    }
});
