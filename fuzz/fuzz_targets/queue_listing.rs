//! Fuzzes the queue listing parsers (`postqueue -j` lines, FortiMail CSV) through the streaming scan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxdoctor::queue::model::QueueSettings;
use mxdoctor::queue::{InputFormat, QueueScan};

const NOW: u64 = 2_000_000_000;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    for format in [
        None,
        Some(InputFormat::PostqueueJson),
        Some(InputFormat::FortimailCsv),
    ] {
        let mut scan = QueueScan::new(format, QueueSettings::new(NOW), 3600);
        for (number, line) in text.lines().enumerate() {
            scan.feed_line(number as u64 + 1, line);
        }
        scan.finish();
        assert!(scan.malformed.quoted.len() <= mxdoctor::queue::MALFORMED_QUOTED);
        let _ = scan.malformed.note();
    }
    for line in text.lines() {
        let _ = mxdoctor::queue::postqueue::parse_line(line);
    }
});
