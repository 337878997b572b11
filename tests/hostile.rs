//! Hostile peers: SMTP, DNS and HTTP servers that misbehave on purpose. Every `mxdoctor check` against
//! them must end within its timeout plus one second, name what happened, keep the other probes'
//! results, exit with the code its status says, and stay under 64 MiB of memory.
//!
//! The cases run one after another (so timings mean something on a shared machine) and leave a table,
//! case → outcome → time → peak RSS, in `target/hostile-table.txt`.

use std::fmt::Write as _;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mxdoctor_lab::dns::{LabDns, LabDnsConfig};
use mxdoctor_lab::hostile::{Answer, DnsMisbehaviour, HostileDns, HostileTcp, Step};
use mxdoctor_lab::http::LabHttp;
use mxdoctor_lab::smtp::{LAB_CA_PEM, LabCert, LabSmtp, Personality};
use serde_json::Value;

/// Peak resident memory a run may reach.
const RSS_LIMIT_KIB: u64 = 64 * 1024;
/// A run may take its case's timeout plus this, on top of the time the process needs to start.
const RUN_SLACK: Duration = Duration::from_secs(1);
/// Scheduling noise between the start-up measurement and the case itself, on a shared machine.
const JITTER: Duration = Duration::from_millis(500);
/// A run still alive after this is killed and reported as a hang.
const HANG_LIMIT: Duration = Duration::from_secs(60);
/// How often the child's memory high-water mark is read while it runs.
const RSS_POLL: Duration = Duration::from_millis(2);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// One finished run of the binary, measured from the outside.
pub struct Measured {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub wall: Duration,
    /// Largest `VmHWM` (kernel's peak RSS) seen while the process ran, in KiB.
    pub peak_rss_kib: u64,
    pub killed: bool,
}

/// Runs `mxdoctor ARGS`, polling `/proc/PID/status` for the peak RSS; kills it after [`HANG_LIMIT`].
///
/// `VmHWM` is the kernel's own high-water mark, so a spike between two polls is still seen by the
/// next one; only the last [`RSS_POLL`] before exit can escape.
pub fn run_measured(args: &[String]) -> Measured {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("mxdoctor"));
    for (name, _) in std::env::vars() {
        if name.starts_with("MXDOCTOR_") {
            command.env_remove(name);
        }
    }
    command
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("start mxdoctor");
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let mut peak_rss_kib = 0;
    let mut killed = false;
    let status = loop {
        if let Some(hwm) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kib)
        {
            peak_rss_kib = peak_rss_kib.max(hwm);
        }
        if let Some(status) = child.try_wait().expect("wait for mxdoctor") {
            break status;
        }
        if started.elapsed() > HANG_LIMIT && !killed {
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(RSS_POLL);
    };
    let wall = started.elapsed();
    Measured {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        wall,
        peak_rss_kib,
        killed,
    }
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The exit code a report status stands for (monitoring-plugins convention).
pub fn exit_code_of(status: &str) -> i32 {
    match status {
        "ok" => 0,
        "warning" => 1,
        "critical" => 2,
        _ => 3,
    }
}

/// What the decisive observation must say.
struct Expect {
    check: &'static str,
    outcomes: &'static [&'static str],
    /// Every one of these must appear in the observation's detail (case-insensitive).
    detail: &'static [&'static str],
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    timeout: Duration,
    expect: Expect,
    /// Probes that must still report, with the outcomes they may have.
    others: Vec<(&'static str, &'static [&'static str])>,
    /// A playbook that must be among the findings.
    finding: Option<&'static str>,
    /// A playbook that would misread this case and must not be among the findings.
    not_finding: Option<&'static str>,
}

/// Every server the cases talk to; dropping it stops them all.
struct World {
    lab_dns: LabDns,
    lab_http: LabHttp,
    healthy_smtp: LabSmtp,
    cert_servers: Vec<(LabCert, LabSmtp)>,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

const TLS_EXPIRED_DOMAIN: &str = "expired.lab.test";
const TLS_WRONG_NAME_DOMAIN: &str = "wrong-name.lab.test";
const CNAME_LOOP_DOMAIN: &str = "loop.lab.test";

impl World {
    fn start(runtime: tokio::runtime::Runtime) -> Self {
        let (lab_http, healthy_smtp, cert_servers) = runtime.block_on(async {
            let http = LabHttp::start(loopback()).await.unwrap();
            let healthy = LabSmtp::start(Personality::Healthy.config("example.test"), loopback())
                .await
                .unwrap();
            let mut certs = Vec::new();
            for cert in [LabCert::Expired, LabCert::WrongName] {
                let mut config = Personality::Healthy.config("lab.test");
                config.starttls = Some(cert);
                certs.push((cert, LabSmtp::start(config, loopback()).await.unwrap()));
            }
            (http, healthy, certs)
        });
        let mut dns = LabDnsConfig::new();
        let localhost: IpAddr = "127.0.0.1".parse().unwrap();
        dns.zone("lab.test")
            .add_mx(TLS_EXPIRED_DOMAIN, 10, "expired-mx1.lab.test")
            .add_a("expired-mx1.lab.test", localhost)
            .add_mx(TLS_WRONG_NAME_DOMAIN, 10, "wrong-name-mx1.lab.test")
            .add_a("wrong-name-mx1.lab.test", localhost)
            .add_cname(CNAME_LOOP_DOMAIN, "loop2.lab.test")
            .add_cname("loop2.lab.test", CNAME_LOOP_DOMAIN);
        let lab_dns = runtime
            .block_on(LabDns::start(dns, loopback()))
            .expect("lab DNS starts");
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("lab-ca.pem");
        std::fs::write(&ca_file, LAB_CA_PEM).unwrap();
        Self {
            lab_dns,
            lab_http,
            healthy_smtp,
            cert_servers,
            ca_file,
            _dir: dir,
            runtime,
        }
    }

    fn scripted(&self, script: Vec<Step>) -> HostileTcp {
        self.runtime
            .block_on(HostileTcp::start(loopback(), script))
            .expect("hostile server starts")
    }

    fn crafted_dns(&self, misbehaviour: DnsMisbehaviour) -> HostileDns {
        self.runtime
            .block_on(HostileDns::start(loopback(), misbehaviour))
            .expect("hostile DNS starts")
    }

    fn cert_server(&self, cert: LabCert) -> &LabSmtp {
        &self
            .cert_servers
            .iter()
            .find(|(c, _)| *c == cert)
            .expect("cert server")
            .1
    }

    /// `check TARGET` resolved by `dns`, with `url` as the HTTP egress target, `timeout` and JSON output.
    fn check_args(target: &str, dns: SocketAddr, url: &str, timeout: Duration) -> Vec<String> {
        args(&[
            "check",
            target,
            "--dns",
            &dns.to_string(),
            "--http-egress",
            url,
            "--timeout",
            &timeout.as_secs().to_string(),
            "--format",
            "json",
            "--no-progress",
        ])
    }

    /// `check TARGET` with the lab DNS and one healthy HTTP egress URL.
    fn smtp_args(&self, target: SocketAddr, timeout: Duration) -> Vec<String> {
        Self::check_args(
            &target.to_string(),
            self.lab_dns.addr(),
            &self.lab_http.url("/ok"),
            timeout,
        )
    }

    /// `check DOMAIN` resolved by `dns`, one healthy HTTP egress URL.
    fn domain_args(&self, domain: &str, dns: SocketAddr, timeout: Duration) -> Vec<String> {
        Self::check_args(domain, dns, &self.lab_http.url("/ok"), timeout)
    }

    /// `check` of the healthy lab SMTP server with `url` as the HTTP egress target.
    fn http_args(&self, url: &str, timeout: Duration) -> Vec<String> {
        Self::check_args(
            &self.healthy_smtp.addr().to_string(),
            self.lab_dns.addr(),
            url,
            timeout,
        )
    }

    /// A domain whose only MX is the lab server with `cert`, with the lab CA trusted.
    fn tls_args(&self, domain: &str, cert: LabCert, timeout: Duration) -> Vec<String> {
        let mut list = self.domain_args(domain, self.lab_dns.addr(), timeout);
        list.extend(args(&[
            "--smtp-port",
            &self.cert_server(cert).addr().port().to_string(),
            "--tls-ca",
            &self.ca_file.display().to_string(),
        ]));
        list
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

const SECOND: Duration = Duration::from_secs(1);
const SMTP_OTHERS: &[(&str, &[&str])] = &[("http.egress", &["ok"]), ("dns.ptr", &["ok", "fail"])];
const DNS_OTHERS: &[(&str, &[&str])] = &[("http.egress", &["ok"])];
const HTTP_OTHERS: &[(&str, &[&str])] = &[("smtp.session", &["ok"]), ("relay", &["ok"])];

fn banner() -> Step {
    Step::Send(b"220 mx.hostile.test ESMTP\r\n".to_vec())
}

/// An SMTP dialogue that otherwise behaves: STARTTLS offered, relay denied.
fn polite_answers(ehlo: &[u8]) -> Vec<Answer> {
    vec![
        Answer::new("EHLO", ehlo),
        Answer::new("MAIL", b"250 2.1.0 Ok\r\n"),
        Answer::new("RCPT", b"550 5.7.1 Relay access denied\r\n"),
        Answer::new("RSET", b"250 2.0.0 Ok\r\n"),
        Answer::closing("QUIT", b"221 2.0.0 Bye\r\n"),
        Answer::new("", b"502 5.5.2 Error: command not recognized\r\n"),
    ]
}

/// The cases, each with the servers it needs (kept alive by the returned guards).
fn cases(world: &World) -> (Vec<Case>, Vec<HostileTcp>, Vec<HostileDns>) {
    let mut servers = Vec::new();
    let mut dns_servers = Vec::new();
    let mut cases = Vec::new();
    let mut smtp = |name, timeout, script, expect, finding| {
        let server = world.scripted(script);
        cases.push(Case {
            name,
            args: world.smtp_args(server.addr(), timeout),
            timeout,
            expect,
            others: SMTP_OTHERS.to_vec(),
            finding,
            not_finding: None,
        });
        servers.push(server);
    };
    smtp(
        "smtp: no banner",
        SECOND,
        vec![Step::Hold],
        Expect {
            check: "smtp.session",
            outcomes: &["timeout"],
            detail: &["no banner within 1s"],
        },
        Some("smtp-no-banner"),
    );
    let mut long_line = b"220 ".to_vec();
    long_line.extend(std::iter::repeat_n(b'x', 64 * 1024));
    smtp(
        "smtp: 1 MiB line",
        SECOND,
        vec![
            Step::Flood {
                chunk: long_line,
                total: 1 << 20,
            },
            Step::Send(b"\r\n".to_vec()),
            Step::Hold,
        ],
        Expect {
            check: "smtp.session",
            outcomes: &["error"],
            detail: &["longer than 4096 bytes", "banner"],
        },
        Some("smtp-protocol-error"),
    );
    smtp(
        "smtp: non-UTF-8 bytes",
        SECOND,
        vec![
            Step::Send(b"220 mx.hostile.test \xff\xfe ESMTP \xc3\x28\r\n".to_vec()),
            Step::Converse(
                [
                    vec![
                        Answer::new("EHLO", b"250-mx.hostile.test \xff\xff\r\n250 8BITMIME\r\n"),
                        Answer::new("RCPT", b"550 5.7.1 \xfe\xff Relay access denied\r\n"),
                    ],
                    polite_answers(b""),
                ]
                .concat(),
            ),
        ],
        Expect {
            check: "relay",
            outcomes: &["ok"],
            detail: &["\u{fffd}", "relay access denied"],
        },
        None,
    );
    smtp(
        "smtp: endless 250- continuation",
        SECOND,
        vec![
            banner(),
            Step::ReadLine,
            Step::Flood {
                chunk: b"250-PIPELINING\r\n".repeat(256),
                total: u64::MAX,
            },
        ],
        Expect {
            check: "smtp.session",
            outcomes: &["error"],
            detail: &["longer than 100 lines", "EHLO"],
        },
        Some("smtp-protocol-error"),
    );
    smtp(
        "smtp: closes mid-reply",
        SECOND,
        vec![Step::Send(
            b"220-mx.hostile.test first line\r\n220-second li".to_vec(),
        )],
        Expect {
            check: "smtp.session",
            outcomes: &["error"],
            detail: &["closed the connection during the banner"],
        },
        Some("smtp-protocol-error"),
    );
    smtp(
        "smtp: 1 byte per second",
        2 * SECOND,
        vec![Step::Trickle {
            bytes: b"220 mx.hostile.test ESMTP slowly\r\n".to_vec(),
            interval: SECOND,
        }],
        Expect {
            check: "smtp.session",
            outcomes: &["timeout"],
            detail: &["no banner within 2s"],
        },
        Some("smtp-no-banner"),
    );
    smtp(
        "smtp: 421 at connect",
        SECOND,
        vec![Step::Send(
            b"421 4.3.2 mx.hostile.test Service shutting down\r\n".to_vec(),
        )],
        Expect {
            check: "smtp.session",
            outcomes: &["fail"],
            detail: &["refused the session", "421"],
        },
        None,
    );
    smtp(
        "smtp: silent after the banner",
        SECOND,
        vec![banner(), Step::Hold],
        Expect {
            check: "smtp.session",
            outcomes: &["timeout"],
            detail: &["no answer within 1s while waiting for EHLO"],
        },
        Some("smtp-protocol-error"),
    );
    smtp(
        "smtp: TLS handshake fails",
        SECOND,
        vec![
            banner(),
            Step::Converse(
                [
                    // A fatal handshake_failure alert instead of a ServerHello.
                    vec![
                        Answer::closing("STARTTLS", b"220 2.0.0 Ready to start TLS\r\n")
                            .then_after(
                                Duration::from_millis(100),
                                b"\x15\x03\x03\x00\x02\x02\x28",
                            ),
                    ],
                    polite_answers(b"250-mx.hostile.test\r\n250 STARTTLS\r\n"),
                ]
                .concat(),
            ),
        ],
        Expect {
            check: "tls",
            outcomes: &["fail"],
            detail: &["handshake fails even without certificate checks"],
        },
        None,
    );
    smtp(
        "smtp: data pipelined before TLS",
        SECOND,
        vec![
            banner(),
            Step::Converse(
                [
                    vec![Answer::closing(
                        "STARTTLS",
                        b"220 2.0.0 Ready to start TLS\r\n250 injected before the handshake\r\n",
                    )],
                    polite_answers(b"250-mx.hostile.test\r\n250 STARTTLS\r\n"),
                ]
                .concat(),
            ),
        ],
        Expect {
            check: "tls",
            outcomes: &["error"],
            detail: &["before the TLS handshake"],
        },
        None,
    );
    for (name, domain, cert, words) in [
        (
            "smtp: expired certificate",
            TLS_EXPIRED_DOMAIN,
            LabCert::Expired,
            &["does not verify", "expired"] as &'static [&'static str],
        ),
        (
            "smtp: wrong-name certificate",
            TLS_WRONG_NAME_DOMAIN,
            LabCert::WrongName,
            &["does not verify", "mismatch"],
        ),
    ] {
        cases.push(Case {
            name,
            args: world.tls_args(domain, cert, SECOND),
            timeout: SECOND,
            expect: Expect {
                check: "tls",
                outcomes: &["fail"],
                detail: words,
            },
            others: vec![
                ("dns.mx", &["ok"]),
                ("relay", &["ok"]),
                ("http.egress", &["ok"]),
            ],
            finding: Some("tls-certificate-invalid"),
            not_finding: None,
        });
    }

    let mut dns = |name, misbehaviour, expect| {
        let server = world.crafted_dns(misbehaviour);
        cases.push(Case {
            name,
            args: world.domain_args("hostile.test", server.addr(), SECOND),
            timeout: SECOND,
            expect,
            others: DNS_OTHERS.to_vec(),
            finding: None,
            not_finding: None,
        });
        dns_servers.push(server);
    };
    dns(
        "dns: SERVFAIL",
        DnsMisbehaviour::ServFail,
        Expect {
            check: "dns.mx",
            outcomes: &["error"],
            detail: &["SERVFAIL"],
        },
    );
    dns(
        "dns: no answer",
        DnsMisbehaviour::Silent,
        Expect {
            check: "dns.mx",
            outcomes: &["timeout"],
            detail: &["timed out"],
        },
    );
    dns(
        "dns: truncated (TC), no TCP answer",
        DnsMisbehaviour::Truncated,
        Expect {
            check: "dns.mx",
            outcomes: &["error", "timeout"],
            detail: &["MX lookup for hostile.test"],
        },
    );
    dns(
        "dns: malformed packets",
        DnsMisbehaviour::Malformed,
        Expect {
            check: "dns.mx",
            outcomes: &["error", "timeout"],
            detail: &["MX lookup for hostile.test"],
        },
    );
    dns(
        "dns: huge answer (TC, then 64 KiB over TCP)",
        DnsMisbehaviour::Huge,
        Expect {
            check: "dns.mx",
            outcomes: &["ok", "fail"],
            detail: &["hostile.test MX"],
        },
    );
    cases.push(Case {
        name: "dns: CNAME loop",
        args: world.domain_args(CNAME_LOOP_DOMAIN, world.lab_dns.addr(), SECOND),
        timeout: SECOND,
        expect: Expect {
            check: "dns.mx",
            outcomes: &["fail"],
            detail: &["CNAME loop (loop.lab.test → loop2.lab.test → loop.lab.test)"],
        },
        others: DNS_OTHERS.to_vec(),
        finding: None,
        not_finding: None,
    });

    let mut http = |name, url: String, expect| {
        cases.push(Case {
            name,
            args: world.http_args(&url, SECOND),
            timeout: SECOND,
            expect,
            others: HTTP_OTHERS.to_vec(),
            finding: None,
            not_finding: None,
        });
    };
    http(
        "http: redirect loop",
        world.lab_http.url("/loop"),
        Expect {
            check: "http.egress",
            outcomes: &["fail"],
            detail: &["redirect loop"],
        },
    );
    http(
        "http: redirect to ftp://",
        world.lab_http.url("/to-ftp"),
        Expect {
            check: "http.egress",
            outcomes: &["error"],
            detail: &["ftp: scheme"],
        },
    );
    http(
        "http: stalled body",
        world.lab_http.url("/slow-body"),
        Expect {
            check: "http.egress",
            outcomes: &["ok"],
            detail: &["200"],
        },
    );
    http(
        "http: no answer at all",
        world.lab_http.url("/blackhole"),
        Expect {
            check: "http.egress",
            outcomes: &["timeout"],
            detail: &["no answer"],
        },
    );
    let endless_headers = world.scripted(vec![
        Step::ReadUntil(b"\r\n\r\n".to_vec()),
        Step::Send(b"HTTP/1.1 200 OK\r\n".to_vec()),
        Step::Flood {
            chunk: b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                .repeat(64),
            total: u64::MAX,
        },
    ]);
    http(
        "http: endless headers",
        format!("http://{}/headers", endless_headers.addr()),
        Expect {
            check: "http.egress",
            outcomes: &["error"],
            detail: &["headers"],
        },
    );
    servers.push(endless_headers);
    let gigabyte = world.scripted(vec![
        Step::ReadUntil(b"\r\n\r\n".to_vec()),
        Step::Send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\n"
                .to_vec(),
        ),
        Step::Flood {
            chunk: vec![0; 64 * 1024],
            total: 1 << 30,
        },
    ]);
    http(
        "http: 1 GiB body",
        format!("http://{}/big", gigabyte.addr()),
        Expect {
            check: "http.egress",
            outcomes: &["ok"],
            detail: &["200"],
        },
    );
    servers.push(gigabyte);
    for case in &mut cases {
        if case.name == "smtp: silent after the banner" {
            // It greeted: "never greets" would be the wrong diagnosis.
            case.not_finding = Some("smtp-no-banner");
        }
    }
    (cases, servers, dns_servers)
}

/// What starting the binary costs right now: `explain` loads and compiles every playbook as `check`
/// does, and touches no network. On a loaded machine with a debug build this is around a second.
fn start_up_cost() -> Duration {
    let measured = run_measured(&args(&["explain", "250 ok", "--format", "json"]));
    assert_eq!(
        measured.code,
        0,
        "{}",
        String::from_utf8_lossy(&measured.stderr)
    );
    measured.wall
}

/// One row of the table, and what was wrong with the run.
struct Row {
    case: &'static str,
    outcome: String,
    /// The decisive observation's own latency.
    probe: Duration,
    /// The report's `duration_ms`: the run as the binary timed it (playbook loading included).
    run: Duration,
    start_up: Duration,
    wall: Duration,
    rss_kib: u64,
    exit: i32,
    problems: Vec<String>,
}

fn judge(case: &Case, measured: &Measured, start_up: Duration) -> Row {
    let mut problems = Vec::new();
    let report: Value = serde_json::from_slice(&measured.stdout).unwrap_or_else(|error| {
        problems.push(format!(
            "stdout is not JSON ({error}); stderr: {}",
            String::from_utf8_lossy(&measured.stderr)
        ));
        Value::Null
    });
    let observations = report["observations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |check: &str| observations.iter().find(|o| o["check"] == check);
    let millis = |value: &Value| Duration::from_millis(value.as_u64().unwrap_or(u64::MAX / 4));
    let mut probe = Duration::ZERO;
    let outcome = if let Some(observation) = find(case.expect.check) {
        probe = millis(&observation["latency_ms"]);
        if probe > case.timeout + RUN_SLACK {
            problems.push(format!(
                "{} took {probe:?}, more than its timeout {:?} + {RUN_SLACK:?}",
                case.expect.check, case.timeout
            ));
        }
        let outcome = observation["outcome"].as_str().unwrap_or("?").to_string();
        let detail = observation["detail"].as_str().unwrap_or_default();
        if !case.expect.outcomes.contains(&outcome.as_str()) {
            problems.push(format!(
                "{} is {outcome}, expected one of {:?}: {detail}",
                case.expect.check, case.expect.outcomes
            ));
        }
        for word in case.expect.detail {
            if !detail.to_lowercase().contains(&word.to_lowercase()) {
                problems.push(format!(
                    "{} detail lacks {word:?}: {detail}",
                    case.expect.check
                ));
            }
        }
        format!("{} {outcome}: {detail}", case.expect.check)
    } else {
        problems.push(format!("no {} observation", case.expect.check));
        format!("{} missing", case.expect.check)
    };
    for (check, outcomes) in &case.others {
        match find(check).and_then(|o| o["outcome"].as_str()) {
            Some(outcome) if outcomes.contains(&outcome) => {}
            other => problems.push(format!(
                "other probe {check} should still report {outcomes:?}, got {other:?}"
            )),
        }
    }
    let found = |playbook: &str| {
        report["findings"]
            .as_array()
            .is_some_and(|findings| findings.iter().any(|f| f["playbook"] == playbook))
    };
    if let Some(playbook) = case.finding.filter(|playbook| !found(playbook)) {
        problems.push(format!("no {playbook} finding"));
    }
    if let Some(playbook) = case.not_finding.filter(|playbook| found(playbook)) {
        problems.push(format!("misread as {playbook}"));
    }
    let status = report["status"].as_str().unwrap_or("?");
    if exit_code_of(status) != measured.code {
        problems.push(format!("exit code {} but status {status}", measured.code));
    }
    if measured.killed {
        problems.push(format!("still running after {HANG_LIMIT:?}: killed"));
    }
    let bound = start_up + case.timeout + RUN_SLACK + JITTER;
    if measured.wall > bound {
        problems.push(format!(
            "took {:?}: more than start-up {start_up:?} + timeout {:?} + {RUN_SLACK:?} (+ {JITTER:?})",
            measured.wall, case.timeout
        ));
    }
    if measured.peak_rss_kib == 0 || measured.peak_rss_kib > RSS_LIMIT_KIB {
        problems.push(format!("peak RSS {} KiB", measured.peak_rss_kib));
    }
    Row {
        case: case.name,
        outcome,
        probe,
        run: millis(&report["duration_ms"]),
        start_up,
        wall: measured.wall,
        rss_kib: measured.peak_rss_kib,
        exit: measured.code,
        problems,
    }
}

fn table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| case | outcome (decisive observation) | probe | run | wall | start-up | peak RSS | exit |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let outcome: String = row.outcome.chars().take(110).collect();
        let _ = writeln!(
            text,
            "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.1} MiB | {} |",
            row.case,
            outcome.replace('|', "/"),
            row.probe.as_secs_f64(),
            row.run.as_secs_f64(),
            row.wall.as_secs_f64(),
            row.start_up.as_secs_f64(),
            row.rss_kib as f64 / 1024.0,
            row.exit
        );
    }
    text.push_str(
        "\nprobe = the decisive observation's latency (bound: timeout + 1 s); run = the report's duration_ms (includes loading the playbooks); wall = process start to exit (bound: start-up + timeout + 1 s + 0.5 s jitter); start-up = wall time of `mxdoctor explain` (same playbook loading, no network), the larger of two runs just before and just after the case; peak RSS = the process's VmHWM (bound: 64 MiB).\n",
    );
    text
}

/// Where the table goes: `target/hostile-table.txt`.
fn table_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("hostile-table.txt")
}

#[test]
fn hostile_peers_end_in_time_tell_the_truth_and_stay_small() {
    let world = World::start(crate::common::lab_runtime());
    let (cases, _servers, _dns_servers) = cases(&world);
    let rows: Vec<Row> = cases
        .iter()
        .map(|case| {
            // Measured before and after: the larger is the start-up cost at the time of the case.
            let before = start_up_cost();
            let measured = run_measured(&case.args);
            judge(case, &measured, before.max(start_up_cost()))
        })
        .collect();
    let text = table(&rows);
    let _ = std::fs::write(table_path(), &text);
    println!("{text}");
    let problems: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.problems
                .iter()
                .map(move |p| format!("{}: {p}", row.case))
        })
        .collect();
    assert!(problems.is_empty(), "{}\n{text}", problems.join("\n"));
}
