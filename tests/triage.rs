//! `mxdoctor triage` end to end: finds the seed's milter lines inside real log lines, streaming.

use std::fmt::Write as _;

use crate::common::{fixture, json_report, mxdoctor, ranked_ids};

#[test]
fn finds_both_milter_timeouts_with_counts_and_times() {
    let (_, report) = json_report(&["triage", &fixture("logs/maillog")]);
    let ids = ranked_ids(&report);
    for id in [
        "milter-timeout-dnsbl",
        "milter-timeout-uri-redirect",
        "relay-access-denied",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} not in {ids:?}");
    }
    let dnsbl = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == "milter-timeout-dnsbl")
        .unwrap();
    assert_eq!(dnsbl["count"], 2);
    assert_eq!(dnsbl["first_seen"], "Nov 28 06:31:10");
    assert_eq!(dnsbl["last_seen"], "Nov 28 06:33:00");
    assert!(
        dnsbl["evidence"][0]["subject"]
            .as_str()
            .unwrap()
            .ends_with("maillog:4")
    );
    let redirect = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == "milter-timeout-uri-redirect")
        .unwrap();
    assert_eq!(
        redirect["count"], 1,
        "the where=eom line is the URI-redirect problem only"
    );
}

#[test]
fn a_delivered_line_is_not_a_problem() {
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin("Nov 28 06:31:40 gw postfix/smtp[4600]: 4B1C2A1: to=<bob@remote.test>, relay=mx.remote.test[203.0.113.5]:25, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(ranked_ids(&report).is_empty());
}

#[test]
fn streams_stdin_and_keeps_only_a_few_samples() {
    let mut log = String::new();
    for n in 0..50_000 {
        let _ = writeln!(
            log,
            "Nov 28 07:{:02}:{:02} gw postfix/smtpd[1]: connect from host{n}.test[192.0.2.1]",
            n / 60 % 60,
            n % 60
        );
        if n % 1000 == 0 {
            let _ = writeln!(
                log,
                "Nov 28 07:00:00 fm1 mail: sendmail[1]: x: Milter (fas_milter): timeout before data read"
            );
        }
    }
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin(log)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["playbook"], "milter-timeout-dnsbl");
    assert_eq!(finding["count"], 50);
    assert!(finding["evidence"].as_array().unwrap().len() <= 3);
}

#[test]
fn a_missing_file_is_exit_3_with_its_name() {
    mxdoctor()
        .args(["triage", "/nonexistent/maillog"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("/nonexistent/maillog"));
}

#[test]
fn non_utf8_and_huge_lines_do_not_stop_the_scan() {
    let mut bytes = vec![0xff, 0xfe, b'\n'];
    bytes.extend(std::iter::repeat_n(b'x', 200_000));
    bytes.extend_from_slice(
        b"\nNov 28 06:31:10 fm1 mail: Milter (fas_milter): timeout before data read\n",
    );
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        ranked_ids(&report),
        vec!["milter-timeout-dnsbl".to_string()]
    );
    assert!(report["notes"].to_string().contains("longer than"));
}

/// The findings of a triage report as (playbook, count, first seen, last seen), the parts that must
/// not depend on how the file was stored.
fn finding_summary(report: &serde_json::Value) -> Vec<(String, u64, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            (
                finding["playbook"].as_str().unwrap_or_default().to_string(),
                finding["count"].as_u64().unwrap_or_default(),
                finding["first_seen"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                finding["last_seen"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn gzip_zstd_bzip2_and_xz_copies_give_the_plain_files_report() {
    use std::io::Write as _;
    let plain = std::fs::read(fixture("logs/dialects/postfix-interop.log")).expect("fixture");
    let dir = tempfile::tempdir().expect("temp dir");
    let plain_path = dir.path().join("mail.log");
    std::fs::write(&plain_path, &plain).expect("write plain");
    let (_, expected) = json_report(&["triage", plain_path.to_str().expect("utf-8 path")]);
    let expected = finding_summary(&expected);
    assert!(!expected.is_empty(), "the postfix log has findings");

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&plain).expect("gzip");
    let mut bzip = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bzip.write_all(&plain).expect("bzip2");
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&plain).expect("xz");
    let copies = [
        ("mail.log.1.gz", gzip.finish().expect("gzip")),
        (
            "mail.log.2.zst",
            zstd::encode_all(&plain[..], 3).expect("zstd"),
        ),
        ("mail.log.3.bz2", bzip.finish().expect("bzip2")),
        ("mail.log.4.xz", xz.finish().expect("xz")),
    ];
    for (name, bytes) in copies {
        assert_ne!(bytes, plain, "{name} is really compressed");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write copy");
        let (_, report) = json_report(&["triage", path.to_str().expect("utf-8 path")]);
        assert_eq!(finding_summary(&report), expected, "{name}");
        let notes = report["notes"].to_string();
        assert!(
            notes.contains("compressed, read decompressed"),
            "{name}: {notes}"
        );
    }
}
