//! `mxdoctor triage` on the logs users really have: compressed, rotated, several at once, dated in
//! every syslog flavour, from Postfix, Exim, Sendmail, FortiMail and Exchange.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::common::{fixture, mxdoctor};

/// Runs `triage --format json` with `TZ=UTC` (year-less times are local); exit code and report.
fn triage(args: &[&str]) -> (i32, Value) {
    let output = mxdoctor()
        .env("TZ", "UTC")
        .arg("triage")
        .args(args)
        .args(["--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

/// The findings without where the evidence was found (file names differ between runs).
fn findings_without_subjects(report: &Value) -> Value {
    let mut findings = report["findings"].clone();
    for finding in findings.as_array_mut().unwrap() {
        finding.as_object_mut().unwrap().remove("subject");
        for evidence in finding["evidence"].as_array_mut().unwrap() {
            evidence.as_object_mut().unwrap().remove("subject");
        }
    }
    findings
}

fn notes(report: &Value) -> String {
    report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn finding<'a>(report: &'a Value, playbook: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["playbook"] == playbook)
        .unwrap_or_else(|| panic!("no {playbook} in {report}"))
}

#[test]
fn every_compression_gives_the_report_of_the_plain_file() {
    let plain = fs::read(fixture("logs/maillog")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&plain).unwrap();
    let mut bzip2 = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bzip2.write_all(&plain).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&plain).unwrap();
    // Names that lie on purpose: the content decides.
    let variants = [
        ("maillog", plain.clone()),
        ("maillog.1", gzip.finish().unwrap()),
        (
            "maillog.2.zst",
            zstd::encode_all(plain.as_slice(), 3).unwrap(),
        ),
        ("maillog.3.bz2", bzip2.finish().unwrap()),
        ("maillog.4.gz", xz.finish().unwrap()),
    ];
    let mut reports = Vec::new();
    for (name, bytes) in &variants {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let (code, report) = triage(&[path.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}");
        reports.push((name, report));
    }
    let (_, plain_report) = &reports[0];
    assert!(!plain_report["findings"].as_array().unwrap().is_empty());
    for (name, report) in &reports[1..] {
        assert_eq!(
            findings_without_subjects(report),
            findings_without_subjects(plain_report),
            "{name}"
        );
        assert_eq!(
            report["notes"][0], plain_report["notes"][0],
            "{name}: same lines and bytes"
        );
    }
    for (name, format) in [
        ("maillog.1", "gzip"),
        ("maillog.2.zst", "zstd"),
        ("maillog.3.bz2", "bzip2"),
        ("maillog.4.gz", "xz"),
    ] {
        let report = &reports.iter().find(|(n, _)| **n == name).unwrap().1;
        assert!(
            notes(report).contains(&format!(
                "{name}: {format} compressed, read decompressed; 7 lines"
            )),
            "{}",
            notes(report)
        );
    }
}

#[test]
fn a_corrupt_compressed_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&fs::read(fixture("logs/maillog")).unwrap())
        .unwrap();
    let mut bytes = gzip.finish().unwrap();
    bytes.truncate(bytes.len() - 20);
    let path = dir.path().join("mail.log.1.gz");
    fs::write(&path, bytes).unwrap();
    let output = mxdoctor()
        .args(["triage", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mail.log.1.gz"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Writes `lines` (relay rejects at the given syslog times) to `dir/name`, modified at `modified`.
fn dated_log(dir: &Path, name: &str, times: &[&str], modified: SystemTime) -> String {
    let path = dir.join(name);
    let mut file = File::create(&path).unwrap();
    for time in times {
        writeln!(file, "{time} gw postfix/smtpd[4501]: NOQUEUE: reject: RCPT from unknown[198.51.100.23]: 554 5.7.1 <v@elsewhere.test>: Relay access denied; from=<s@bad.test> to=<v@elsewhere.test> proto=ESMTP helo=<bad.test>").unwrap();
        writeln!(
            file,
            "{time} gw postfix/smtpd[4501]: connect from mail.partner.test[192.0.2.10]"
        )
        .unwrap();
    }
    file.set_modified(modified).unwrap();
    path.to_str().unwrap().to_string()
}

/// 2026-12-01T00:00:00Z: the rotated logs below were last written before then.
fn december_2026() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200)
}

#[test]
fn shuffled_rotated_files_report_first_and_last_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let modified = december_2026();
    let old = dated_log(
        dir.path(),
        "mail.log.2",
        &["Nov  1 06:00:00", "Nov  2 07:00:00"],
        modified,
    );
    let mid = dated_log(dir.path(), "mail.log.1", &["Nov 10 12:00:00"], modified);
    let new = dated_log(
        dir.path(),
        "mail.log",
        &["Nov 20 08:00:00", "Nov 21 09:30:00"],
        modified,
    );
    for order in [[&new, &old, &mid], [&mid, &new, &old], [&old, &mid, &new]] {
        let args: Vec<&str> = order.iter().map(|s| s.as_str()).collect();
        let (code, report) = triage(&args);
        assert_eq!(code, 2);
        let relay = finding(&report, "relay-access-denied");
        assert_eq!(relay["count"], 5, "{args:?}");
        assert_eq!(relay["first_seen"], "Nov  1 06:00:00", "{args:?}");
        assert_eq!(relay["last_seen"], "Nov 21 09:30:00", "{args:?}");
        assert!(notes(&report).contains("remediation shown for postfix"));
    }
}

#[test]
fn a_log_rotated_in_january_puts_december_in_the_year_before() {
    let dir = tempfile::tempdir().unwrap();
    // Modified 2027-01-01T12:00:00Z: "Dec 31" is 2026, "Jan  1" is 2027.
    let january = SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_804_800);
    let log = dated_log(
        dir.path(),
        "mail.log.1",
        &["Jan  1 00:10:00", "Dec 31 23:50:00"],
        january,
    );
    let (_, report) = triage(&[&log]);
    let relay = finding(&report, "relay-access-denied");
    assert_eq!(relay["first_seen"], "Dec 31 23:50:00");
    assert_eq!(relay["last_seen"], "Jan  1 00:10:00");
}

#[test]
fn since_and_until_keep_the_window_only() {
    let dir = tempfile::tempdir().unwrap();
    let modified = december_2026();
    let old = dated_log(
        dir.path(),
        "a.log",
        &["Nov  1 06:00:00", "Nov  2 07:00:00"],
        modified,
    );
    let new = dated_log(
        dir.path(),
        "b.log",
        &["Nov 20 08:00:00", "Nov 21 09:30:00"],
        modified,
    );
    let (code, report) = triage(&[
        &new,
        &old,
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-20 09:00",
    ]);
    assert_eq!(code, 2);
    let relay = finding(&report, "relay-access-denied");
    assert_eq!(relay["count"], 2);
    assert_eq!(relay["first_seen"], "Nov  2 07:00:00");
    assert_eq!(relay["last_seen"], "Nov 20 08:00:00");
    assert!(
        notes(&report).contains("2 matching lines outside it"),
        "{}",
        notes(&report)
    );

    let (code, report) = triage(&[&old, "--since", "2026-11-25T00:00:00Z"]);
    assert_eq!((code, report["status"].as_str()), (0, Some("ok")));

    let output = mxdoctor()
        .args(["triage", &old, "--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a time"));
}

#[test]
fn a_window_over_lines_without_times_is_unknown_not_ok() {
    let output = mxdoctor()
        .args(["triage", "-", "--since", "7d", "--format", "json"])
        .write_stdin("554 5.7.1 <x@other.test>: Relay access denied\n")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "unknown");
    assert_eq!(output.status.code(), Some(3));
    assert!(notes(&report).contains("without a readable time"));
}

#[test]
fn each_dialect_is_recognised_and_picks_its_platform() {
    // (fixture, dialect named in the notes, platform whose fix comes first, a finding it must give)
    let cases = [
        ("exim-mainlog", "Exim", "generic", "relay-access-denied"),
        (
            "sendmail-maillog",
            "Sendmail",
            "generic",
            "relay-access-denied",
        ),
        (
            "fortimail-kv.log",
            "FortiMail log",
            "fortimail",
            "recipient-verification-unavailable",
        ),
        (
            "fortimail-history.csv",
            "FortiMail GUI log export",
            "fortimail",
            "recipient-verification-unavailable",
        ),
        (
            "exchange-tracking.log",
            "Exchange message tracking log",
            "exchange",
            "mailbox-unknown",
        ),
        (
            "journald-short-iso.log",
            "Postfix",
            "postfix",
            "relay-access-denied",
        ),
        ("rfc5424.log", "Postfix", "postfix", "relay-access-denied"),
        (
            "postfix-interop.log",
            "Postfix",
            "postfix",
            "relay-access-denied",
        ),
    ];
    for (name, dialect, platform, playbook) in cases {
        let path = fixture(&format!("logs/dialects/{name}"));
        let (_, report) = triage(&[&path]);
        let notes = notes(&report);
        assert!(
            notes.contains(&format!("{name}: ")) && notes.contains(&format!(" lines, {dialect}")),
            "{name}: {notes}"
        );
        let found = finding(&report, playbook);
        assert_eq!(found["remediation"][0]["platform"], platform, "{name}");
        assert!(
            found["first_seen"].is_string(),
            "{name}: every dialect's lines are dated"
        );
        if platform != "generic" {
            assert!(
                notes.contains(&format!("remediation shown for {platform}")),
                "{name}: {notes}"
            );
        }
        // --platform wins over the detection.
        let (_, chosen) = triage(&[&path, "--platform", "exchange"]);
        assert_eq!(
            finding(&chosen, playbook)["remediation"][0]["platform"],
            "exchange"
        );
        assert!(!crate::triage_inputs::notes(&chosen).contains("remediation shown for"));
    }
}

#[test]
fn dialect_fixtures_date_their_lines_from_their_own_columns() {
    let (_, report) = triage(&[&fixture("logs/dialects/exchange-tracking.log")]);
    assert_eq!(
        finding(&report, "mailbox-unknown")["first_seen"],
        "2024-11-08T06:31:11.012Z"
    );
    let (_, report) = triage(&[
        &fixture("logs/dialects/fortimail-history.csv"),
        "--since",
        "2024-11-08T06:31:00Z",
        "--until",
        "2024-11-08T06:32:00Z",
    ]);
    assert_eq!(
        finding(&report, "recipient-verification-unavailable")["count"],
        1
    );
    let (_, report) = triage(&[
        &fixture("logs/dialects/fortimail-history.csv"),
        "--since",
        "2024-11-08T06:32:00Z",
    ]);
    assert!(report["findings"].as_array().unwrap().is_empty());
}

/// A file over the progress bar's threshold that costs no disk: sparse, one line of zeros, of which
/// only the first 64 KiB are matched.
fn large_sparse_log(dir: &Path) -> String {
    let path = dir.join("large.log");
    let file = File::create(&path).unwrap();
    file.set_len(mxdoctor::progress_ui::BYTE_BAR_MIN_BYTES + 1)
        .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn no_progress_output_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_sparse_log(dir.path());
    let output = mxdoctor()
        .args(["triage", &large, "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.code().is_some());
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`), a large input gets the bar on
/// stderr: bytes of the total and a rate; `--no-progress` takes it away.
#[test]
fn a_progress_bar_on_a_terminal_for_large_inputs() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux script is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let large = large_sparse_log(dir.path());
    let binary = assert_cmd::cargo::cargo_bin("mxdoctor");
    let on_terminal = |extra: &str| {
        // stdout goes to a file so that only stderr reaches the terminal's transcript.
        let command = format!(
            "{} triage {large} --format json {extra} >{}/report.json",
            binary.display(),
            dir.path().display()
        );
        let output = std::process::Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shown = on_terminal("");
    assert!(shown.contains("64.00 MiB"), "no bar drawn: {shown:?}");
    let hidden = on_terminal("--no-progress");
    assert!(!hidden.contains("MiB"), "{hidden:?}");
}
