//! Bench input generator: writes a large, realistic mail log (Postfix, Sendmail, FortiMail and Exim
//! lines) with the shipped playbooks' own example symptoms sprinkled in, for `bench/triage.sh`.
//!
//! ```text
//! cargo run --release --example maillog -- OUT [BYTES] [SYMPTOM_PER_MILLE]
//! ```
//! Defaults: 1 GiB, 15 symptom lines per 1000. The output is the same for the same arguments.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use mxdoctor::playbook::Library;

const DEFAULT_BYTES: u64 = 1 << 30;
const DEFAULT_SYMPTOMS_PER_MILLE: u64 = 15;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DOMAINS: [&str; 8] = [
    "example.test",
    "partner.test",
    "customer-mail.test",
    "bank.test",
    "newsletter.test",
    "corp.test",
    "university.test",
    "shop.test",
];
const USERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "mallory",
];

/// xorshift64*: deterministic and fast; statistical quality is irrelevant here.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A log clock that advances a little with every line.
struct Clock {
    seconds: u64,
}

impl Clock {
    fn tick(&mut self, random: &mut Random) {
        if random.below(8) == 0 {
            self.seconds += 1;
        }
    }

    fn parts(&self) -> (usize, u64, u64, u64, u64) {
        let day = self.seconds / 86_400;
        let month = (day / 28) % 12;
        (
            month as usize,
            day % 28 + 1,
            self.seconds / 3600 % 24,
            self.seconds / 60 % 60,
            self.seconds % 60,
        )
    }

    fn syslog(&self, out: &mut String) {
        let (month, day, hour, minute, second) = self.parts();
        let _ = write!(
            out,
            "{} {day:>2} {hour:02}:{minute:02}:{second:02}",
            MONTHS[month]
        );
    }

    fn iso(&self, out: &mut String) {
        let (month, day, hour, minute, second) = self.parts();
        let _ = write!(
            out,
            "2026-{:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}+00:00",
            month + 1,
            self.seconds % 1_000_000
        );
    }

    fn fortimail(&self, out: &mut String) {
        let (month, day, hour, minute, second) = self.parts();
        let _ = write!(
            out,
            "date=2026-{:02}-{day:02} time={hour:02}:{minute:02}:{second:02}",
            month + 1
        );
    }
}

fn queue_id(random: &mut Random, out: &mut String) {
    let _ = write!(out, "{:X}", 0x1000_0000 + random.below(0xEFFF_FFFF));
}

fn address(random: &mut Random, out: &mut String) {
    let _ = write!(
        out,
        "{}{}@{}",
        random.pick(&USERS),
        random.below(100),
        random.pick(&DOMAINS)
    );
}

fn ip(random: &mut Random, out: &mut String) {
    let _ = write!(
        out,
        "198.51.{}.{}",
        random.below(256),
        1 + random.below(254)
    );
}

/// One ordinary line, none of which is a known problem.
fn background_line(random: &mut Random, clock: &Clock, out: &mut String) {
    match random.below(12) {
        0 | 1 => {
            clock.syslog(out);
            let _ = write!(
                out,
                " gw postfix/smtpd[{}]: connect from mail{}.{}[",
                1000 + random.below(9000),
                random.below(50),
                random.pick(&DOMAINS)
            );
            ip(random, out);
            out.push(']');
        }
        2 => {
            clock.syslog(out);
            let _ = write!(
                out,
                " gw postfix/smtpd[{}]: disconnect from unknown[",
                1000 + random.below(9000)
            );
            ip(random, out);
            out.push_str("] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5");
        }
        3 | 4 => {
            clock.syslog(out);
            let _ = write!(out, " gw postfix/qmgr[{}]: ", 400 + random.below(100));
            queue_id(random, out);
            out.push_str(": from=<");
            address(random, out);
            let _ = write!(
                out,
                ">, size={}, nrcpt={} (queue active)",
                800 + random.below(200_000),
                1 + random.below(3)
            );
        }
        5 => {
            clock.syslog(out);
            let _ = write!(out, " gw postfix/cleanup[{}]: ", 2000 + random.below(5000));
            queue_id(random, out);
            let _ = write!(
                out,
                ": message-id=<{:x}.{}@{}>",
                random.next(),
                random.below(1000),
                random.pick(&DOMAINS)
            );
        }
        6 | 7 => {
            clock.syslog(out);
            let _ = write!(out, " gw postfix/smtp[{}]: ", 3000 + random.below(5000));
            queue_id(random, out);
            out.push_str(": to=<");
            address(random, out);
            let _ = write!(out, ">, relay=mx.{}[", random.pick(&DOMAINS));
            ip(random, out);
            let _ = write!(
                out,
                "]:25, delay={}.{}, delays=0.1/0/0.{}/0.{}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ",
                random.below(5),
                random.below(10),
                random.below(10),
                random.below(10)
            );
            queue_id(random, out);
            out.push(')');
        }
        8 => {
            clock.syslog(out);
            let _ = write!(out, " mta sendmail[{}]: ", 10_000 + random.below(50_000));
            let _ = write!(out, "5AS{:07}", random.below(10_000_000));
            out.push_str(": to=<");
            address(random, out);
            let _ = write!(
                out,
                ">, ctladdr=<root@mta.corp.test> (0/0), delay=00:00:0{}, xdelay=00:00:0{}, mailer=esmtp, pri={}, relay=mx.partner.test. [",
                random.below(10),
                random.below(10),
                30_000 + random.below(90_000)
            );
            ip(random, out);
            out.push_str("], dsn=2.0.0, stat=Sent (Ok: queued)");
        }
        9 | 10 => {
            clock.fortimail(out);
            let _ = write!(
                out,
                " devname=fm1 device_id=FEVM020000000001 log_id=0200{:06} type=statistics subtype=n/a pri=information session_id=\"{:x}\" client_name=\"mail{}.{}\" client_ip=\"",
                random.below(1_000_000),
                random.next() >> 16,
                random.below(50),
                random.pick(&DOMAINS)
            );
            ip(random, out);
            out.push_str("\" from=\"");
            address(random, out);
            out.push_str("\" to=\"");
            address(random, out);
            let _ = write!(
                out,
                "\" subject=\"Quarterly report {}\" mailer=\"mta\" resolved=\"OK\" direction=\"in\" virus=\"\" disposition=\"Accept\" classifier=\"Not Spam\" message_length=\"{}\"",
                random.below(100),
                1000 + random.below(500_000)
            );
        }
        _ => {
            clock.iso(out);
            let _ = write!(
                out,
                " edge exim[{}]: 1tG{:05}-000{:03}-AB <= ",
                20_000 + random.below(9000),
                random.below(100_000),
                random.below(1000)
            );
            address(random, out);
            out.push_str(" H=mail.partner.test [");
            ip(random, out);
            let _ = write!(
                out,
                "] P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S={}",
                1000 + random.below(90_000)
            );
        }
    }
}

/// Lines that show a problem: the playbooks' own examples, as the MTA would log them.
fn symptom_lines() -> Vec<String> {
    let library = Library::load(&[]).expect("shipped playbooks load");
    let mut lines = Vec::new();
    for playbook in &library.playbooks {
        for example in &playbook.examples.matches {
            let one_line = example.replace(['\n', '\r'], " ");
            if one_line.as_bytes().first().is_some_and(u8::is_ascii_digit) && one_line.len() > 4 {
                // A bare reply: logged by Postfix as the remote server's answer to a delivery.
                lines.push(format!(
                    " relay postfix/smtp[8812]: 5D6E7F: to=<u@partner.test>, relay=mx.partner.test[192.0.2.25]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.0.0, status=bounced (host mx.partner.test[192.0.2.25] said: {one_line} (in reply to RCPT TO command))"
                ));
            } else {
                lines.push(one_line);
            }
        }
    }
    lines
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: maillog OUT [BYTES] [SYMPTOM_PER_MILLE]");
        return ExitCode::from(2);
    };
    let bytes: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_BYTES);
    let per_mille: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SYMPTOMS_PER_MILLE);
    let symptoms = symptom_lines();
    let file = match File::create(&path) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("maillog: {path}: {error}");
            return ExitCode::from(1);
        }
    };
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let mut clock = Clock {
        seconds: 86_400 * 300,
    };
    let mut line = String::with_capacity(512);
    let (mut written, mut lines, mut symptom_count) = (0u64, 0u64, 0u64);
    while written < bytes {
        line.clear();
        clock.tick(&mut random);
        if random.below(1000) < per_mille {
            let symptom = &symptoms[random.below(symptoms.len() as u64) as usize];
            if symptom.starts_with(' ') {
                clock.syslog(&mut line);
            }
            line.push_str(symptom);
            symptom_count += 1;
        } else {
            background_line(&mut random, &clock, &mut line);
        }
        line.push('\n');
        if let Err(error) = writer.write_all(line.as_bytes()) {
            eprintln!("maillog: {path}: {error}");
            return ExitCode::from(1);
        }
        written += line.len() as u64;
        lines += 1;
    }
    if let Err(error) = writer.flush() {
        eprintln!("maillog: {path}: {error}");
        return ExitCode::from(1);
    }
    eprintln!("maillog: {path}: {written} bytes, {lines} lines, {symptom_count} symptom lines");
    ExitCode::SUCCESS
}
