//! The SMTP probes against the lab server (and a few hand-written broken servers) on 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mxdoctor_checks::progress::Silent;
use mxdoctor_checks::smtp::{
    DataPermit, HostTarget, Session, SmtpError, SmtpProbes, SmtpSettings, TlsTrust, probe_host,
    probe_host_with_trust,
};
use mxdoctor_lab::smtp::{LAB_CA_PEM, LabCert, LabSmtp, LabSmtpConfig, OnConnect, Personality};
use mxdoctor_model::{Data, Observation, Outcome};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DOMAIN: &str = "example.test";
const TIMEOUT: Duration = Duration::from_secs(2);

fn settings() -> SmtpSettings {
    SmtpSettings {
        helo: "probe.outside.test".to_string(),
        mail_from: "probe@outside.test".to_string(),
        rcpt_invalid: "no-such-user-7f3a@example.test".to_string(),
        rcpt_valid: Some("alice@example.test".to_string()),
        relay_rcpt: "someone@foreign.test".to_string(),
        greylist_wait: Duration::ZERO,
        timeout: TIMEOUT,
        send_test_message: false,
        probes: SmtpProbes::ALL,
    }
}

fn target(addr: SocketAddr) -> HostTarget {
    HostTarget {
        host: "mx.example.test".to_string(),
        address: addr.ip(),
        port: addr.port(),
        role: "mx".to_string(),
        is_gateway: Some(true),
        mx_preference: Some(10),
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn lab_trust() -> TlsTrust {
    TlsTrust::system().with_root_pem(LAB_CA_PEM).unwrap()
}

async fn start(config: LabSmtpConfig) -> LabSmtp {
    LabSmtp::start(config, loopback()).await.unwrap()
}

async fn run(lab: &LabSmtp, settings: &SmtpSettings) -> Vec<Observation> {
    probe_host_with_trust(&target(lab.addr()), settings, &lab_trust(), &Silent).await
}

fn find<'a>(observations: &'a [Observation], check: &str) -> &'a Observation {
    observations
        .iter()
        .find(|observation| observation.check == check)
        .unwrap_or_else(|| panic!("no {check} observation in {observations:#?}"))
}

fn all<'a>(observations: &'a [Observation], check: &str) -> Vec<&'a Observation> {
    observations
        .iter()
        .filter(|observation| observation.check == check)
        .collect()
}

fn rcpt(observation: &Observation) -> (&str, &str, Option<u16>) {
    let Data::Rcpt(data) = &observation.data else {
        panic!("not RCPT data: {observation:#?}");
    };
    (
        data.verdict.as_str(),
        data.stage.as_str(),
        data.reply.as_ref().map(|reply| reply.code),
    )
}

#[tokio::test]
async fn healthy_gateway_passes_every_probe_and_never_sees_data() {
    let lab = start(Personality::Healthy.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;

    let session = find(&observations, "smtp.session");
    assert_eq!(session.outcome, Outcome::Ok, "{session:#?}");
    assert_eq!(
        session.subject,
        format!("mx.example.test:{}", lab.addr().port())
    );
    let Data::Session(data) = &session.data else {
        panic!()
    };
    assert_eq!(data.software, "postfix");
    assert!(data.starttls_offered);
    assert!(data.extensions.contains(&"PIPELINING".to_string()));
    assert!(
        data.transcript
            .iter()
            .any(|line| line.dir == 'C' && line.line.starts_with("EHLO"))
    );

    let tls = find(&observations, "tls");
    let Data::Tls(tls_data) = &tls.data else {
        panic!()
    };
    assert_eq!(tls.outcome, Outcome::Ok, "{tls:#?}");
    assert!(tls_data.offered && tls_data.handshake && tls_data.verified);

    let relay = find(&observations, "relay");
    assert_eq!(relay.outcome, Outcome::Ok);
    assert_eq!(rcpt(relay), ("rejected", "rcpt", Some(554)));
    let invalid = find(&observations, "recipient.invalid");
    assert_eq!(invalid.outcome, Outcome::Ok);
    assert_eq!(rcpt(invalid), ("rejected", "rcpt", Some(550)));
    let valid = find(&observations, "recipient.valid");
    assert_eq!(valid.outcome, Outcome::Ok);
    assert_eq!(rcpt(valid), ("accepted", "rcpt", Some(250)));

    assert_eq!(find(&observations, "greylist").outcome, Outcome::Skipped);
    assert!(all(&observations, "test_message").is_empty());
    assert!(!lab.saw_data());
    let commands = lab.commands();
    assert!(commands.iter().any(|command| command == "RSET"));
    assert!(commands.iter().any(|command| command == "QUIT"));
}

#[tokio::test]
async fn no_data_without_send_test_message_even_when_the_probe_is_enabled() {
    let lab = start(Personality::NoFilter.config(DOMAIN)).await;
    let mut settings = settings();
    settings.probes = SmtpProbes::ALL;
    settings.send_test_message = false;
    assert!(DataPermit::from_settings(&settings).is_none());
    let observations = run(&lab, &settings).await;
    assert!(all(&observations, "test_message").is_empty());
    assert!(!lab.saw_data());
    assert!(
        !lab.commands()
            .iter()
            .any(|command| command.eq_ignore_ascii_case("DATA"))
    );

    settings.send_test_message = true;
    settings.rcpt_valid = None;
    assert!(DataPermit::from_settings(&settings).is_none());
    let _ = run(&lab, &settings).await;
    assert!(!lab.saw_data(), "no valid recipient: still no DATA");
}

async fn test_messages(personality: Personality) -> (Vec<(String, String, String)>, bool) {
    let lab = start(personality.config(DOMAIN)).await;
    let mut settings = settings();
    settings.send_test_message = true;
    let observations = run(&lab, &settings).await;
    let verdicts = all(&observations, "test_message")
        .into_iter()
        .map(|observation| {
            let Data::TestMessage(data) = &observation.data else {
                panic!()
            };
            (
                data.sample.clone(),
                data.verdict.clone(),
                data.stage.clone(),
            )
        })
        .collect();
    (verdicts, lab.saw_data())
}

fn verdicts(list: &[(&str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(sample, verdict)| (sample.to_string(), verdict.to_string(), "data".to_string()))
        .collect()
}

#[tokio::test]
async fn session_command_refuses_data_and_smuggled_lines() {
    let lab = start(Personality::NoFilter.config(DOMAIN)).await;
    let mut session = Session::connect(lab.addr(), TIMEOUT).await.unwrap();
    assert_eq!(session.read_reply("the banner").await.unwrap().code, 220);
    assert_eq!(session.command("EHLO probe.test").await.unwrap().code, 250);
    assert_eq!(
        session
            .command("MAIL FROM:<a@outside.test>")
            .await
            .unwrap()
            .code,
        250
    );
    assert_eq!(
        session
            .command("RCPT TO:<alice@example.test>")
            .await
            .unwrap()
            .code,
        250
    );
    for line in ["DATA", "data", "BDAT 10 LAST", "NOOP\r\nDATA", "NOOP\nDATA"] {
        assert!(
            matches!(session.command(line).await, Err(SmtpError::Forbidden(_))),
            "{line:?}"
        );
    }
    session.quit().await;
    assert!(!lab.saw_data());
}

#[tokio::test]
async fn test_messages_are_judged_by_the_end_of_data_reply() {
    let (healthy, saw_data) = test_messages(Personality::Healthy).await;
    assert!(saw_data);
    assert_eq!(
        healthy,
        verdicts(&[("gtube", "rejected"), ("eicar", "rejected")])
    );
    let (no_filter, _) = test_messages(Personality::NoFilter).await;
    assert_eq!(
        no_filter,
        verdicts(&[("gtube", "accepted"), ("eicar", "accepted")])
    );
    let (safelisted, _) = test_messages(Personality::SpamSafelisted).await;
    assert_eq!(
        safelisted,
        verdicts(&[("gtube", "accepted"), ("eicar", "rejected")])
    );
}

#[tokio::test]
async fn greylisting_passes_on_retry_after_the_window() {
    let mut config = Personality::Greylister.config(DOMAIN);
    if let Some(greylist) = config.greylist.as_mut() {
        greylist.window = Duration::from_millis(800);
    }
    let lab = start(config).await;
    let mut settings = settings();
    settings.greylist_wait = Duration::from_millis(1200);
    let started = Instant::now();
    let observations = run(&lab, &settings).await;
    assert!(started.elapsed() >= Duration::from_millis(1200));

    assert_eq!(
        rcpt(find(&observations, "recipient.valid")),
        ("deferred", "rcpt", Some(450))
    );
    assert_eq!(
        find(&observations, "recipient.valid").outcome,
        Outcome::Inconclusive
    );
    let greylist = find(&observations, "greylist");
    let Data::Greylist(data) = &greylist.data else {
        panic!()
    };
    assert_eq!(greylist.outcome, Outcome::Ok, "{greylist:#?}");
    assert!(data.text_says_greylist);
    assert_eq!(data.retry_passed, Some(true));
    assert_eq!(data.waited_secs, 1);
    assert_eq!(data.first.as_ref().map(|reply| reply.code), Some(450));
    assert_eq!(data.retry.as_ref().map(|reply| reply.code), Some(250));
}

#[tokio::test]
async fn greylisting_without_wait_is_judged_by_text_only() {
    let lab = start(Personality::Greylister.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;
    let greylist = find(&observations, "greylist");
    let Data::Greylist(data) = &greylist.data else {
        panic!()
    };
    assert_eq!(greylist.outcome, Outcome::Inconclusive);
    assert!(data.text_says_greylist);
    assert_eq!(data.retry_passed, None);
    assert!(data.retry.is_none());
}

#[tokio::test]
async fn dead_verification_backend_stays_deferred() {
    let lab = start(Personality::VerifyDeadBackend.config(DOMAIN)).await;
    let mut settings = settings();
    settings.greylist_wait = Duration::from_millis(200);
    let observations = run(&lab, &settings).await;
    let valid = find(&observations, "recipient.valid");
    assert_eq!(rcpt(valid), ("deferred", "rcpt", Some(450)));
    let Data::Rcpt(data) = &valid.data else {
        panic!()
    };
    assert!(
        data.reply
            .as_ref()
            .unwrap()
            .text
            .contains("unverified address")
    );
    let greylist = find(&observations, "greylist");
    let Data::Greylist(greylist_data) = &greylist.data else {
        panic!()
    };
    assert_eq!(greylist.outcome, Outcome::Fail);
    assert!(!greylist_data.text_says_greylist);
    assert_eq!(greylist_data.retry_passed, Some(false));
}

#[tokio::test]
async fn open_relay_is_a_failure() {
    let lab = start(Personality::OpenRelay.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;
    let relay = find(&observations, "relay");
    assert_eq!(relay.outcome, Outcome::Fail);
    assert_eq!(rcpt(relay), ("accepted", "rcpt", Some(250)));
    assert!(!lab.saw_data());
}

#[tokio::test]
async fn relay_denied_in_fortimail_words() {
    let lab = start(Personality::RelayDenied.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;
    let relay = find(&observations, "relay");
    assert_eq!(rcpt(relay), ("rejected", "rcpt", Some(550)));
    let Data::Rcpt(data) = &relay.data else {
        panic!()
    };
    assert_eq!(data.software, "fortimail");
    assert!(
        data.reply
            .as_ref()
            .unwrap()
            .text
            .contains("Relay access denied")
    );
}

#[tokio::test]
async fn exchange_accepts_unknown_users() {
    let lab = start(Personality::ExchangeLike.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;
    let Data::Session(session) = &find(&observations, "smtp.session").data else {
        panic!()
    };
    assert_eq!(session.software, "exchange");
    assert!(session.extensions.contains(&"X-ANONYMOUSTLS".to_string()));
    let invalid = find(&observations, "recipient.invalid");
    assert_eq!(invalid.outcome, Outcome::Fail);
    assert_eq!(rcpt(invalid), ("accepted", "rcpt", Some(250)));
    assert_eq!(
        rcpt(find(&observations, "relay")),
        ("rejected", "rcpt", Some(550))
    );
}

#[tokio::test]
async fn unfiltered_backup_has_no_starttls_and_no_recipient_check() {
    let lab = start(Personality::UnfilteredBackup.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;
    let tls = find(&observations, "tls");
    let Data::Tls(data) = &tls.data else { panic!() };
    assert_eq!(tls.outcome, Outcome::Fail);
    assert!(!data.offered);
    assert_eq!(rcpt(find(&observations, "recipient.invalid")).0, "accepted");
}

#[tokio::test]
async fn reputation_block_rejects_at_mail_from() {
    let lab = start(Personality::ReputationBlock.config(DOMAIN)).await;
    let observations = run(&lab, &settings()).await;
    for check in ["relay", "recipient.invalid", "recipient.valid"] {
        let observation = find(&observations, check);
        assert_eq!(
            rcpt(observation),
            ("rejected", "mail", Some(550)),
            "{check}"
        );
        let Data::Rcpt(data) = &observation.data else {
            panic!()
        };
        assert!(data.reply.as_ref().unwrap().text.contains("reputation"));
    }
    assert_eq!(find(&observations, "relay").outcome, Outcome::Inconclusive);
    assert_eq!(
        find(&observations, "recipient.valid").outcome,
        Outcome::Fail
    );
}

async fn tls_with(cert: LabCert, trust: &TlsTrust) -> Observation {
    let mut config = Personality::Healthy.config(DOMAIN);
    config.starttls = Some(cert);
    let lab = start(config).await;
    let observations =
        probe_host_with_trust(&target(lab.addr()), &settings(), trust, &Silent).await;
    find(&observations, "tls").clone()
}

#[tokio::test]
async fn tls_certificate_problems_are_classified() {
    let expired = tls_with(LabCert::Expired, &lab_trust()).await;
    let Data::Tls(data) = &expired.data else {
        panic!()
    };
    assert_eq!(expired.outcome, Outcome::Fail);
    assert!(
        data.handshake && !data.verified && data.expired,
        "{expired:#?}"
    );
    assert!(!data.name_mismatch);

    let wrong_name = tls_with(LabCert::WrongName, &lab_trust()).await;
    let Data::Tls(data) = &wrong_name.data else {
        panic!()
    };
    assert!(
        data.handshake && !data.verified && data.name_mismatch,
        "{wrong_name:#?}"
    );
    assert!(!data.expired);

    let self_signed = tls_with(LabCert::SelfSigned, &TlsTrust::system()).await;
    let Data::Tls(data) = &self_signed.data else {
        panic!()
    };
    assert!(
        data.handshake && !data.verified && data.self_signed,
        "{self_signed:#?}"
    );
    assert!(data.verify_error.is_some());
}

#[tokio::test]
async fn silent_server_times_out_and_later_probes_are_skipped() {
    let lab = start(Personality::Silent.config(DOMAIN)).await;
    let mut settings = settings();
    settings.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let observations = probe_host(&target(lab.addr()), &settings, &Silent).await;
    assert!(started.elapsed() < settings.timeout + Duration::from_secs(1));
    let session = find(&observations, "smtp.session");
    assert_eq!(session.outcome, Outcome::Timeout, "{session:#?}");
    for check in [
        "tls",
        "relay",
        "recipient.invalid",
        "recipient.valid",
        "greylist",
    ] {
        assert_eq!(
            find(&observations, check).outcome,
            Outcome::Skipped,
            "{check}"
        );
    }
}

#[tokio::test]
async fn reject_at_connect_is_a_failed_session() {
    let mut config = Personality::Healthy.config(DOMAIN);
    config.on_connect =
        OnConnect::Reject("421 4.3.2 mx.example.test Service shutting down".to_string());
    let lab = start(config).await;
    let observations = run(&lab, &settings()).await;
    let session = find(&observations, "smtp.session");
    assert_eq!(session.outcome, Outcome::Fail);
    let Data::Session(data) = &session.data else {
        panic!()
    };
    assert_eq!(data.banner.as_ref().map(|reply| reply.code), Some(421));
    assert_eq!(find(&observations, "tls").outcome, Outcome::Skipped);
    assert_eq!(find(&observations, "relay").outcome, Outcome::Skipped);
}

#[tokio::test]
async fn greet_delay_is_measured() {
    let mut config = Personality::Healthy.config(DOMAIN);
    config.greet_delay = Duration::from_millis(300);
    let lab = start(config).await;
    let mut settings = settings();
    settings.probes = SmtpProbes {
        tls: false,
        relay: false,
        recipient: false,
        greylist: false,
        test_message: false,
    };
    let observations = run(&lab, &settings).await;
    assert_eq!(observations.len(), 1, "{observations:#?}");
    let Data::Session(data) = &observations[0].data else {
        panic!()
    };
    assert!(data.greet_delay_ms >= 300, "{}", data.greet_delay_ms);
}

#[tokio::test]
async fn refused_connection_is_an_error_not_a_panic() {
    let listener = TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let observations = probe_host(&target(addr), &settings(), &Silent).await;
    let session = find(&observations, "smtp.session");
    assert_eq!(session.outcome, Outcome::Error);
    assert!(session.detail.contains("connect"), "{}", session.detail);
    assert!(
        observations
            .iter()
            .skip(1)
            .all(|observation| observation.outcome == Outcome::Skipped)
    );
}

/// A one-shot server that sends `greeting` bytes to every client and then waits.
async fn raw_server(greeting: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let greeting = greeting.clone();
            tokio::spawn(async move {
                let _ = stream.write_all(&greeting).await;
                let mut sink = [0_u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
            });
        }
    });
    addr
}

async fn session_against(greeting: Vec<u8>) -> Observation {
    let addr = raw_server(greeting).await;
    let mut settings = settings();
    settings.timeout = Duration::from_millis(500);
    let observations = probe_host(&target(addr), &settings, &Silent).await;
    find(&observations, "smtp.session").clone()
}

#[tokio::test]
async fn garbage_banner_is_an_error_naming_what_arrived() {
    let session = session_against(b"HTTP/1.1 400 Bad Request\r\n\xff\xfe\r\n".to_vec()).await;
    assert_eq!(session.outcome, Outcome::Error);
    assert!(
        session.detail.contains("HTTP/1.1 400"),
        "{}",
        session.detail
    );
}

#[tokio::test]
async fn overlong_line_is_an_error_not_a_bigger_buffer() {
    let mut greeting = b"220 ".to_vec();
    greeting.extend(std::iter::repeat_n(b'x', 10_000));
    let session = session_against(greeting).await;
    assert_eq!(session.outcome, Outcome::Error);
    assert!(session.detail.contains("longer than"), "{}", session.detail);
}

#[tokio::test]
async fn endless_continuation_is_an_error() {
    let greeting = "220-still talking\r\n".repeat(500).into_bytes();
    let session = session_against(greeting).await;
    assert_eq!(session.outcome, Outcome::Error);
    assert!(session.detail.contains("lines"), "{}", session.detail);
}

#[tokio::test]
async fn ehlo_refused_falls_back_to_helo() {
    let listener = TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (reader, mut writer) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(reader).lines();
        writer
            .write_all(b"220 old.example.test SMTP qmail\r\n")
            .await
            .unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply: &[u8] = if line.starts_with("EHLO") {
                b"502 5.5.2 unimplemented\r\n"
            } else {
                b"250 old.example.test\r\n"
            };
            if writer.write_all(reply).await.is_err() {
                break;
            }
        }
    });
    let mut settings = settings();
    settings.probes = SmtpProbes {
        tls: true,
        relay: false,
        recipient: false,
        greylist: false,
        test_message: false,
    };
    let observations = probe_host(&target(addr), &settings, &Silent).await;
    let session = find(&observations, "smtp.session");
    assert_eq!(session.outcome, Outcome::Ok, "{session:#?}");
    let Data::Session(data) = &session.data else {
        panic!()
    };
    assert_eq!(data.software, "qmail");
    assert!(data.extensions.is_empty());
    assert!(
        data.transcript
            .iter()
            .any(|line| line.line.starts_with("HELO"))
    );
    let tls = find(&observations, "tls");
    assert_eq!(tls.outcome, Outcome::Fail);
}

#[tokio::test]
async fn lab_serves_many_clients_at_once() {
    let lab = start(Personality::Healthy.config(DOMAIN)).await;
    let mut settings = settings();
    settings.probes.tls = false;
    let runs = (0..20).map(|_| {
        let settings = settings.clone();
        let target = target(lab.addr());
        async move { probe_host(&target, &settings, &Silent).await }
    });
    let results = futures_join_all(runs).await;
    for observations in results {
        assert_eq!(find(&observations, "smtp.session").outcome, Outcome::Ok);
        assert_eq!(find(&observations, "recipient.valid").outcome, Outcome::Ok);
    }
}

/// Runs futures concurrently on a `JoinSet` (no extra crate needed).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for future in futures {
        set.spawn(future);
    }
    let mut outputs = Vec::new();
    while let Some(output) = set.join_next().await {
        outputs.push(output.unwrap());
    }
    outputs
}
