//! From findings to a diagnosis: symptoms folded under their causes (`caused_by` / `explains`),
//! differential candidates, and `queue --probe` / `triage --probe` against lab servers on
//! 127.0.0.80–89 (never DATA, `--timeout` and `--deadline` obeyed).

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
use mxdoctor_lab::hostile::{HostileTcp, Step};
use mxdoctor_lab::smtp::{LabSmtp, Personality};
use serde_json::Value;

use crate::common::{fixture, json_report, lab_runtime, mxdoctor};
use crate::hostile::run_measured;

fn findings<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["playbook"] == id).collect())
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn unreachable_verification_backend_is_folded_under_recipient_verification() {
    let log = fixture("logs/verify-backend-down.log");
    let (code, report) = json_report(&["triage", &log]);
    let cause = &findings(&report, "recipient-verification-unavailable")[0];
    assert_eq!(strings(&cause["explains"]), ["smtp-unreachable"]);
    let unreachable = findings(&report, "smtp-unreachable");
    assert_eq!(unreachable.len(), 1, "one entry, folded: {report:#}");
    assert_eq!(
        unreachable[0]["caused_by"], "recipient-verification-unavailable",
        "{report:#}"
    );
    // Three lines shared with the cause, one more naming the same back end.
    assert_eq!(unreachable[0]["count"], 4);
    assert!(
        unreachable[0]["rank"].as_u64() > cause["rank"].as_u64(),
        "the symptom follows its cause"
    );
    // The status follows the cause (medium), not the folded high symptom.
    assert_eq!(report["status"], "warning");
    assert_eq!(code, 1);

    let text = mxdoctor()
        .args(["triage", &log])
        .output()
        .expect("run mxdoctor");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1 finding (+1 explained by them)"),
        "counts are not double-counted: {text}"
    );
    assert!(
        text.contains("\n     2. HIGH     smtp-unreachable"),
        "the symptom is indented under its cause: {text}"
    );
    let markdown = mxdoctor()
        .args(["triage", &log, "--format", "markdown"])
        .output()
        .expect("run mxdoctor");
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    assert!(
        markdown.contains("#### 2. `smtp-unreachable`")
            && markdown.contains("Caused by `recipient-verification-unavailable`"),
        "{markdown}"
    );
}

#[test]
fn an_unrelated_unreachable_host_stays_a_finding_of_its_own() {
    let mut log = std::fs::read_to_string(fixture("logs/verify-backend-down.log")).unwrap();
    log.push_str(
        "Nov 28 06:35:00 gw postfix/smtp[4430]: 5D6E7F: to=<x@partner.test>, relay=none, delay=30, \
         delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.partner.test[198.51.100.7]:25: Connection refused)\n",
    );
    let output = mxdoctor()
        .args(["triage", "-", "--format", "json"])
        .write_stdin(log)
        .output()
        .expect("run mxdoctor");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let unreachable = findings(&report, "smtp-unreachable");
    let folded: Vec<_> = unreachable
        .iter()
        .filter(|f| f["caused_by"] == "recipient-verification-unavailable")
        .collect();
    let own: Vec<_> = unreachable
        .iter()
        .filter(|f| f["caused_by"].is_null())
        .collect();
    assert_eq!((folded.len(), own.len()), (1, 1), "{report:#}");
    assert_eq!(folded[0]["count"], 4);
    assert_eq!(own[0]["count"], 1);
    assert!(
        own[0]["evidence"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("mx.partner.test")
    );
    assert_eq!(report["status"], "critical", "a separate unreachable host");
}

#[test]
fn bare_451_lists_its_candidates_and_what_decides() {
    let (code, report) = json_report(&["explain", "451 Try again later"]);
    let greylisting = &findings(&report, "greylisting")[0];
    let candidates: Vec<&str> = greylisting["alternatives"]
        .as_array()
        .expect("alternatives")
        .iter()
        .map(|a| a["playbook"].as_str().unwrap())
        .collect();
    assert_eq!(
        candidates,
        [
            "greylisting",
            "recipient-verification-unavailable",
            "milter-timeout-dnsbl"
        ]
    );
    let verification = &greylisting["alternatives"][1];
    assert!(
        verification["decided_by"]
            .as_str()
            .unwrap()
            .contains("Verify <user@domain> Failed, return TEMPFAIL"),
        "{verification}"
    );
    assert!(
        greylisting["alternatives"][0]["decided_by"]
            .as_str()
            .unwrap()
            .contains("--greylist-wait")
    );
    assert_eq!(code, 0);
    let text = mxdoctor()
        .args(["explain", "451 Try again later"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("what decides"));
}

#[test]
fn the_antispam_log_line_decides_the_bare_451() {
    let input = "451 Try again later\n\
        date=2026-11-28 time=06:32:32 devname=fm1 type=spam msg=\"Verify <user@example.com> Failed, return TEMPFAIL\"\n";
    let output = mxdoctor()
        .args(["explain", "--format", "json"])
        .write_stdin(input)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let greylisting = &findings(&report, "greylisting")[0];
    assert_eq!(
        greylisting["caused_by"], "recipient-verification-unavailable",
        "{report:#}"
    );
    assert!(greylisting["alternatives"].is_null());
    assert_eq!(
        report["findings"][0]["playbook"],
        "recipient-verification-unavailable"
    );
}

#[test]
fn lint_rejects_unknown_links_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = |id: &str, explains: &str| {
        format!(
            "id: {id}\ntitle: t\nsummary: s\nseverity: low\narea: queue\nexplains:\n  - {{ playbook: {explains}, evidence: same_input }}\n\
             when:\n  - confidence: likely\n    if: {{ check: queue.summary, where: [ {{ field: slow, gte: 1 }} ] }}\n\
             explanation: e\nremediation: {{}}\nreferences: [r]\n"
        )
    };
    std::fs::write(dir.path().join("a-one.yaml"), playbook("a-one", "a-two")).unwrap();
    std::fs::write(dir.path().join("a-two.yaml"), playbook("a-two", "a-one")).unwrap();
    std::fs::write(
        dir.path().join("a-three.yaml"),
        playbook("a-three", "no-such-playbook"),
    )
    .unwrap();
    let output = mxdoctor()
        .args(["playbooks", "lint", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{errors}");
    assert!(
        errors.contains("explains unknown playbook \"no-such-playbook\""),
        "{errors}"
    );
    assert!(errors.contains("a-one -> a-two -> a-one"), "{errors}");
}

/// Lab servers on this suite's loopback range, and the runtime serving them.
struct ProbeLab {
    dns: LabDns,
    smtp: Vec<LabSmtp>,
    hostile: Vec<HostileTcp>,
    runtime: tokio::runtime::Runtime,
}

fn at(host: &str) -> SocketAddr {
    SocketAddr::new(host.parse().unwrap(), 0)
}

fn ip(host: &str) -> IpAddr {
    host.parse().unwrap()
}

/// DNS for three destinations, all served on one SMTP port `P` (that of 127.0.0.83):
/// `d406.example` (two MX on .81/.82 where nothing listens on P: refused), `ok.example` (a healthy
/// lab server on .83), `silent.example` (a server on .84 that never sends its banner).
fn probe_lab() -> (ProbeLab, u16) {
    let runtime = lab_runtime();
    let healthy = runtime
        .block_on(LabSmtp::start(
            Personality::Healthy.config("ok.example"),
            at("127.0.0.83"),
        ))
        .expect("lab SMTP on 127.0.0.83");
    let port = healthy.addr().port();
    let silent = runtime
        .block_on(LabSmtp::start(
            Personality::Silent.config("silent.example"),
            SocketAddr::new(ip("127.0.0.84"), port),
        ))
        .expect("silent lab SMTP on 127.0.0.84");
    let mut config = LabDnsConfig::new();
    config
        .add_mx("d406.example", 10, "mx1.d406.example")
        .add_mx("d406.example", 20, "mx2.d406.example")
        .add_a("mx1.d406.example", ip("127.0.0.81"))
        .add_a("mx2.d406.example", ip("127.0.0.82"))
        .add_mx("ok.example", 10, "mx.ok.example")
        .add_a("mx.ok.example", ip("127.0.0.83"))
        .add_mx("silent.example", 10, "mx.silent.example")
        .add_a("mx.silent.example", ip("127.0.0.84"));
    let dns = runtime
        .block_on(LabDns::start(config, at("127.0.0.80")))
        .expect("lab DNS on 127.0.0.80");
    (
        ProbeLab {
            dns,
            smtp: vec![healthy, silent],
            hostile: Vec::new(),
            runtime,
        },
        port,
    )
}

/// A `postqueue -j` listing: `count` messages per destination, six hours old at `NOW`.
const NOW: u64 = 1_795_870_552;

fn listing(destinations: &[(&str, usize, &str)]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for (domain, count, reason) in destinations {
        for n in 0..*count {
            let record = serde_json::json!({
                "queue_name": "deferred",
                "queue_id": format!("{:X}{n:04X}", domain.len() * 4096),
                "arrival_time": NOW - 6 * 3600,
                "message_size": 2048,
                "forced_expire": false,
                "sender": "alice@lab.test",
                "recipients": [{"address": format!("user{n}@{domain}"), "delay_reason": reason}],
            });
            writeln!(file, "{record}").unwrap();
        }
    }
    file
}

fn saw_no_data(lab: &ProbeLab) {
    for server in &lab.smtp {
        assert!(
            !server.saw_data(),
            "a probe sent DATA: {:?}",
            server.commands()
        );
        assert!(
            !server
                .commands()
                .iter()
                .any(|c| c.to_ascii_uppercase().starts_with("MAIL")),
            "a probe sent MAIL FROM: {:?}",
            server.commands()
        );
    }
}

#[test]
fn queue_probe_makes_the_refusing_destination_the_cause() {
    let (lab, port) = probe_lab();
    let refused = "connect to mx1.d406.example[127.0.0.81]:25: Connection refused";
    let file = listing(&[
        ("d406.example", 30, refused),
        (
            "ok.example",
            4,
            "conversation with mx.ok.example[127.0.0.83] timed out while receiving the initial server greeting",
        ),
    ]);
    let path = file.path().to_str().unwrap();
    let (_, report) = json_report(&[
        "queue",
        path,
        "--now",
        &NOW.to_string(),
        "--probe",
        "--dns",
        &lab.dns.addr().to_string(),
        "--smtp-port",
        &port.to_string(),
        "--timeout",
        "3",
        "--no-progress",
    ]);
    let unreachable = &findings(&report, "smtp-unreachable");
    assert_eq!(unreachable.len(), 1, "{report:#}");
    let cause = unreachable[0];
    assert_eq!(cause["subject"], "d406.example");
    let summary = cause["evidence"][0]["detail"].as_str().unwrap();
    assert_eq!(summary, format!("both MX refuse port {port}"));
    let explained = strings(&cause["explains"]);
    assert!(
        explained.contains(&"queue-slow".to_string()),
        "{explained:?} in {report:#}"
    );
    let slow = findings(&report, "queue-slow");
    let under_cause: Vec<_> = slow
        .iter()
        .filter(|f| f["caused_by"] == "smtp-unreachable")
        .collect();
    assert_eq!(under_cause.len(), 1, "{report:#}");
    let destinations: Vec<&str> = under_cause[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(destinations, ["d406.example"]);
    // The healthy destination is not blamed: its queue evidence stays where it was, with the probe's
    // word that it answers now.
    let own: Vec<_> = slow.iter().filter(|f| f["caused_by"].is_null()).collect();
    assert_eq!(own.len(), 1, "{report:#}");
    let own_evidence = own[0]["evidence"].to_string();
    assert!(own_evidence.contains("ok.example"), "{own_evidence}");
    assert!(own_evidence.contains("\"probe\""), "{own_evidence}");
    assert!(report["notes"].to_string().contains("no DATA sent"));
    saw_no_data(&lab);
    drop(lab.runtime);
}

#[test]
fn triage_probe_obeys_timeout_and_never_sends_data() {
    let (lab, port) = probe_lab();
    let log = format!(
        "Nov 28 06:32:32 gw postfix/smtp[8812]: 5D6E7F: to=<u@silent.example>, relay=none, delay=300, \
         status=deferred (conversation with mx.silent.example[127.0.0.84]:{port} timed out while receiving the initial server greeting)\n\
         Nov 28 06:32:40 gw postfix/smtp[8813]: connect to mx1.d406.example[127.0.0.81]:{port}: Connection refused\n"
    );
    let measured = {
        let mut args: Vec<String> = [
            "triage",
            "-",
            "--probe",
            "--timeout",
            "1",
            "--format",
            "json",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(["--dns".to_string(), lab.dns.addr().to_string()]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.log");
        std::fs::write(&path, &log).unwrap();
        args[1] = path.display().to_string();
        run_measured(&args)
    };
    assert!(
        measured.wall < Duration::from_secs(8),
        "--timeout 1 bounds the probe: {:?}",
        measured.wall
    );
    let report: Value = serde_json::from_slice(&measured.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&measured.stderr)));
    let observations = report["observations"].as_array().unwrap();
    let silent = observations
        .iter()
        .find(|o| {
            o["check"] == "smtp.session" && o["subject"].as_str().unwrap().starts_with("127.0.0.84")
        })
        .unwrap_or_else(|| panic!("the silent host was probed: {report:#}"));
    assert_eq!(silent["outcome"], "timeout", "{silent}");
    // Each probe is joined to the log finding naming its host, as evidence of the same problem now.
    let probe_of = |playbook: &str, host: &str| {
        findings(&report, playbook).iter().any(|f| {
            f["evidence"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|e| e["check"] == "probe" && e["subject"] == host)
            })
        })
    };
    assert!(
        probe_of("smtp-unreachable", "mx1.d406.example"),
        "{report:#}"
    );
    let banner = ["smtp-no-banner", "smtp-unreachable"]
        .iter()
        .any(|id| probe_of(id, "mx.silent.example"));
    assert!(banner, "{report:#}");
    saw_no_data(&lab);
}

#[test]
fn queue_probe_obeys_the_deadline() {
    let (mut lab, port) = probe_lab();
    // A host that accepts and then says nothing for a minute, on this suite's range.
    let stalled = lab
        .runtime
        .block_on(HostileTcp::start(
            SocketAddr::new(ip("127.0.0.85"), port),
            vec![Step::Pause(Duration::from_secs(60))],
        ))
        .expect("hostile server on 127.0.0.85");
    lab.hostile.push(stalled);
    let mut config = LabDnsConfig::new();
    config
        .add_mx("stall.example", 10, "mx.stall.example")
        .add_a("mx.stall.example", ip("127.0.0.85"));
    let dns = lab
        .runtime
        .block_on(LabDns::start(config, at("127.0.0.86")))
        .expect("lab DNS on 127.0.0.86");
    let file = listing(&[(
        "stall.example",
        5,
        "lost connection with mx.stall.example[127.0.0.85] while receiving the initial server greeting",
    )]);
    let args: Vec<String> = [
        "queue",
        file.path().to_str().unwrap(),
        "--now",
        &NOW.to_string(),
        "--probe",
        "--dns",
        &dns.addr().to_string(),
        "--smtp-port",
        &port.to_string(),
        "--timeout",
        "30",
        "--deadline",
        "2",
        "--format",
        "json",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let measured = run_measured(&args);
    assert!(
        measured.wall < Duration::from_secs(10),
        "--deadline 2 stops a 30 s timeout: {:?}",
        measured.wall
    );
    let report: Value = serde_json::from_slice(&measured.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&measured.stderr)));
    let session = report["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["check"] == "smtp.session")
        .unwrap_or_else(|| panic!("a session observation: {report:#}"));
    assert_eq!(session["outcome"], "timeout", "{session}");
    assert!(
        session["detail"].as_str().unwrap().contains("deadline"),
        "{session}"
    );
    saw_no_data(&lab);
}

#[test]
fn queue_probe_looks_our_address_up_when_reasons_name_a_block_list() {
    let (lab, port) = probe_lab();
    let mut config = LabDnsConfig::new();
    config
        .add_mx("strict.example", 10, "mx.strict.example")
        .add_a("mx.strict.example", ip("127.0.0.83"))
        .listed_with_reason(
            "bl.lab.test",
            "198.51.100.25",
            std::net::Ipv4Addr::new(127, 0, 0, 2),
            "listed for the lab",
        );
    let dns = lab
        .runtime
        .block_on(LabDns::start(config, at("127.0.0.87")))
        .expect("lab DNS on 127.0.0.87");
    let reason = "host mx.strict.example[127.0.0.83] said: 554 5.7.1 Service unavailable; Client host [198.51.100.25] blocked using bl.lab.test (in reply to RCPT TO command)";
    let file = listing(&[("strict.example", 6, reason)]);
    let path = file.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["queue", path, "--now", "1795870552", "--probe", "--dns"];
        let dns = dns.addr().to_string();
        let port = port.to_string();
        args.push(&dns);
        args.extend(["--smtp-port", &port, "--timeout", "3"]);
        args.extend(extra);
        json_report(&args).1
    };
    let report = run(&["--outbound-ip", "198.51.100.25", "--dnsbl", "bl.lab.test"]);
    let listed = &findings(&report, "dnsbl-listed");
    assert_eq!(listed.len(), 1, "{report:#}");
    assert!(strings(&listed[0]["explains"]).contains(&"queue-slow".to_string()));
    let slow = findings(&report, "queue-slow");
    assert!(
        slow.iter().all(|f| f["caused_by"] == "dnsbl-listed"),
        "{report:#}"
    );
    // Without our address the lookup cannot be made; a note says what to give.
    let report = run(&[]);
    assert!(findings(&report, "dnsbl-listed").is_empty());
    assert!(
        report["notes"].to_string().contains("--outbound-ip"),
        "{}",
        report["notes"]
    );
    saw_no_data(&lab);
}

/// The listing real Postfix wrote for mail to `dead.test` (see `queue.rs`), probed against a lab
/// DNS that points `dead.test` at an address of this suite's range where nothing listens.
#[test]
fn a_captured_postfix_queue_gets_its_dead_destination_probed() {
    let (lab, port) = probe_lab();
    let mut config = LabDnsConfig::new();
    config
        .add_mx("dead.test", 10, "mx.dead.test")
        .add_a("mx.dead.test", ip("127.0.0.88"));
    let dns = lab
        .runtime
        .block_on(LabDns::start(config, at("127.0.0.89")))
        .expect("lab DNS on 127.0.0.89");
    let (_, report) = json_report(&[
        "queue",
        &fixture("queue/postqueue-deferred.jsonl"),
        "--now",
        "1795870552",
        "--probe",
        "--probe-top",
        "1",
        "--dns",
        &dns.addr().to_string(),
        "--smtp-port",
        &port.to_string(),
        "--timeout",
        "3",
    ]);
    let cause = &findings(&report, "smtp-unreachable")[0];
    assert_eq!(cause["subject"], "dead.test");
    assert_eq!(
        cause["evidence"][0]["detail"],
        format!("its MX refuses port {port}")
    );
    let explained: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["caused_by"] == "smtp-unreachable")
        .collect();
    assert!(!explained.is_empty(), "{report:#}");
    for symptom in explained {
        let evidence = symptom["evidence"].to_string();
        assert!(
            evidence.contains("queue.destination") && evidence.contains("dead.test"),
            "{evidence}"
        );
    }
    assert!(
        report["notes"]
            .to_string()
            .contains("probed 1 target live (dead.test)")
    );
}

#[test]
fn a_bare_policy_refusal_lists_what_would_decide_it() {
    let (_, report) = json_report(&["explain", "550 5.7.1 Message rejected"]);
    let refusal = &findings(&report, "reputation-rejection")[0];
    let candidates: Vec<&str> = refusal["alternatives"]
        .as_array()
        .expect("alternatives")
        .iter()
        .map(|a| a["playbook"].as_str().unwrap())
        .collect();
    assert!(
        candidates.starts_with(&["reputation-rejection", "dnsbl-listed"]),
        "{candidates:?}"
    );
    // A reply that says what it is has no alternatives.
    let (_, report) = json_report(&[
        "explain",
        "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org",
    ]);
    assert!(
        report["findings"][0]["alternatives"].is_null(),
        "{report:#}"
    );
}
