//! Fuzzes log triage: the embedded-reply finder and the shipped playbooks' matcher on one line.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mxdoctor::playbook::load::Library;
use mxdoctor::diagnose::text::embedded_reply::find_reply;
use mxdoctor::diagnose::text::matcher::TextMatcher;

static LIBRARY: LazyLock<Library> =
    LazyLock::new(|| Library::load(&[]).expect("the shipped playbooks load"));
static MATCHER: LazyLock<TextMatcher<'static>> =
    LazyLock::new(|| TextMatcher::new(&LIBRARY.playbooks));

fuzz_target!(|bytes: &[u8]| {
    let line = String::from_utf8_lossy(bytes);
    let reply = find_reply(&line);
    for hit in MATCHER.match_line(&line, reply.as_ref()) {
        assert!(hit.playbook < LIBRARY.playbooks.len());
    }
});
