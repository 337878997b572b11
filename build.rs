//! Embeds every `playbooks/*.yaml` in the binary, so `mxdoctor` works without its source tree.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("playbooks");
    println!("cargo:rerun-if-changed=playbooks");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| {
                    let path = entry.path();
                    let extension = path
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or_default();
                    extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml")
                })
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut code = String::from(
        "/// (file name, contents) of every shipped playbook.\npub const EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        println!("cargo:rerun-if-changed=playbooks/{name}");
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!(\"{manifest}/playbooks/{name}\")),"
        );
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("embedded_playbooks.rs"), code)
        .expect("write embedded playbook list");
}
