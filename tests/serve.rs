//! `mxdoctor serve` as Prometheus scrapes it: /probe against the lab, the allow-list, /metrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::check::start_lab;
use crate::common::ENVIRONMENT_FLAGS;
use crate::formats::assert_valid_exposition;

/// The exporter process, killed when the test ends however it ends.
pub struct Exporter {
    child: Child,
    pub address: String,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mxdoctor serve` on a free loopback port, allowing `*.lab.test`, at most `max_concurrent` probes.
pub fn start_exporter(probe_flags: &[String], max_concurrent: u32) -> Exporter {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("mxdoctor"));
    for variable in ENVIRONMENT_FLAGS {
        command.env_remove(variable);
    }
    let mut child = command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allow-target",
            "*.lab.test",
            "--max-concurrent",
            &max_concurrent.to_string(),
        ])
        .args(probe_flags)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address announced: {line:?}"))
        .to_string();
    Exporter { child, address }
}

/// `GET path` over a fresh connection: (status, body).
pub fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

#[test]
fn probe_answers_the_lab_findings_as_metrics_and_refuses_targets_off_the_list() {
    let running = start_lab();
    let check_args = running.args("open-relay");
    let exporter = start_exporter(&check_args[2..], 2);

    let (status, metrics) = get(&exporter.address, "/probe?target=open-relay.lab.test");
    assert_eq!(status, 200, "{metrics}");
    assert_valid_exposition(&metrics);
    assert!(
        metrics.lines().any(|l| l.starts_with("mxdoctor_finding{")
            && l.contains("playbook=\"open-relay\"")
            && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains("mxdoctor_status{command=\"check\",target=\"open-relay.lab.test\"} 2")
    );

    let (status, healthy) = get(
        &exporter.address,
        "/probe?target=healthy.lab.test&profile=ci",
    );
    assert_eq!(status, 200);
    assert!(
        !healthy.contains("playbook=\"open-relay\""),
        "each probe is its own run: {healthy}"
    );

    assert_eq!(get(&exporter.address, "/probe?target=example.com").0, 403);
    assert_eq!(get(&exporter.address, "/probe").0, 400);
    assert_eq!(
        get(&exporter.address, "/probe?target=a.lab.test&profile=nope").0,
        400
    );
    assert_eq!(get(&exporter.address, "/nothing").0, 404);

    let (status, own) = get(&exporter.address, "/metrics");
    assert_eq!(status, 200);
    assert_valid_exposition(&own);
    assert!(
        own.contains("mxdoctor_exporter_probes_total{status=\"critical\"} 1"),
        "{own}"
    );
    assert!(
        own.contains("mxdoctor_exporter_requests_refused_total{reason=\"forbidden\"} 1"),
        "{own}"
    );
}
