//! Fuzzes the playbook loader (YAML parse, schema, regex compilation): errors are values, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxdoctor::playbook::compile::RegexBuild;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    // RegexBuild::Now: how `--playbooks DIR` files (user input) are loaded.
    if let Err(errors) = mxdoctor::playbook::load::parse("fuzz.yaml", text, RegexBuild::Now) {
        assert!(!errors.is_empty(), "a failed parse must say why");
        for error in &errors {
            let _ = error.to_string();
        }
    }
});
