//! The command line (clap): names, flags and exit codes are a contract (docs/architecture.md,
//! "Contracts"), so they change only by growing.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;
use crate::vocabulary::Platform;

#[derive(Debug, Parser)]
#[command(
    name = "mxdoctor",
    version,
    about = "Diagnoses mail gateways and MTAs, and says what to type to fix them"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Extra playbook directory: adds playbooks, and replaces shipped ones with the same id.
    #[arg(
        long = "playbooks",
        global = true,
        value_name = "DIR",
        env = "MXDOCTOR_PLAYBOOKS",
        value_delimiter = ':'
    )]
    pub playbooks: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text, env = "MXDOCTOR_FORMAT")]
    pub format: Format,
    /// Also write the report as FORMAT to PATH, from the same run (repeatable): junit=out.xml.
    #[arg(long = "report", global = true, value_name = "FORMAT=PATH", value_parser = crate::report::output::parse_report_file)]
    pub reports: Vec<crate::report::output::ReportFile>,
    /// No report on stdout, only the exit code (--report files are still written).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// A previous JSON report: marks findings new or unchanged and lists those resolved.
    #[arg(long, global = true, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: the exit code counts only new findings.
    #[arg(long, global = true, requires = "baseline")]
    pub fail_on_new: bool,
    /// Defaults for a kind of run (explicit flags win): health, ci (fast, fails only on high), triage (thorough, verbose).
    #[arg(long, global = true, value_enum, env = "MXDOCTOR_PROFILE")]
    pub profile: Option<crate::profile::Profile>,
    /// Which remediation to show first (all are in JSON).
    #[arg(long, global = true, value_enum, default_value_t = Platform::Generic, env = "MXDOCTOR_PLATFORM")]
    pub platform: Platform,
    /// FortiMail firmware release (7.2, 7.4.6, ...): print the CLI syntax and GUI paths verified for it.
    #[arg(long, global = true, value_name = "X.Y", value_parser = crate::fortimail_version::parse_release, env = "MXDOCTOR_FORTIMAIL_VERSION")]
    pub fortimail_version: Option<String>,
    /// No progress bar or countdown on stderr.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Text report: list every observation and each finding's explanation.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe a live mail system (a domain's MX hosts, or HOST[:PORT]) and diagnose it.
    Check(CheckArgs),
    /// Explain SMTP replies, bounce text or log lines (stdin when no TEXT).
    Explain {
        text: Vec<String>,
        /// Whole messages: .eml files, mbox files or maildir folders (bounces, DSNs, auto-replies).
        #[arg(long, value_name = "FILE|MBOX|MAILDIR", num_args = 1..)]
        message: Vec<PathBuf>,
    },
    /// Scan log files (or - for stdin) for known problems, in one streaming pass; mbox files and
    /// maildir folders of bounces are aggregated by reason and recipient domain.
    Triage(TriageArgs),
    /// Diagnose a mail-queue listing (postqueue -j, FortiMail CSV export).
    Queue(QueueArgs),
    /// Audit a configuration: a FortiMail `show full-configuration` / backup, or Postfix `postconf -n`.
    Audit(AuditArgs),
    /// List, show or lint playbooks.
    Playbooks {
        #[command(subcommand)]
        action: PlaybooksAction,
    },
    /// Start simulated mail systems on loopback and diagnose each: mxdoctor at work, no setup needed.
    Demo,
    /// Re-diagnose a support bundle (`check --record`) offline with the current playbooks.
    Replay { file: PathBuf },
    /// Prometheus exporter: GET /probe?target=DOMAIN runs a check; check flags given here are defaults.
    #[command(mut_arg("target", |arg| arg.required(false).hide(true).default_value("")))]
    Serve(ServeArgs),
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff).
    Man,
}

/// `mxdoctor triage`: log files (any mix of plain, gzip, zstd, bzip2, xz; any order), mailboxes, or `-`.
#[derive(Debug, Args, Clone)]
pub struct TriageArgs {
    /// Log files, mbox files or maildir folders, or - for stdin. Compression is recognised by
    /// content, not by name.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Only lines from this time on: 2024-11-08T06:00:00Z, local "2024-11-08 06:00", 2024-11-08, or an age (90m, 36h, 7d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only lines before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9125")]
    pub listen: String,
    /// Probes running at once; more concurrent requests get 503.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_concurrent: u32,
    /// Only probe targets matching one of these patterns (`*` matches anything); others get 403.
    #[arg(long = "allow-target", value_name = "PATTERN")]
    pub allow_targets: Vec<String>,
    #[command(flatten)]
    pub probe: CheckArgs,
}

#[derive(Debug, Subcommand)]
pub enum PlaybooksAction {
    /// One line per playbook.
    List,
    /// Everything one playbook says.
    Show { id: String },
    /// Check playbooks (default: the shipped set) and run their examples.
    Lint { dir: Option<PathBuf> },
    /// Print every text symptom pattern for `grep -E -f` (one per line; untranslatable ones are
    /// listed on stderr).
    Patterns {
        /// Drop `(?i)` instead of spelling it out, for `grep -E -i -f` (case-sensitive patterns
        /// then match more loosely).
        #[arg(long)]
        fold_case: bool,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    /// A domain (its MX hosts are probed) or HOST[:PORT]; not needed with --targets.
    #[arg(default_value = "", hide_default_value = true)]
    pub target: String,
    /// Check every target in FILE (one per line, # comments), several at once: one report per
    /// target (JSON Lines with --format json, else one table row each); exit code of the worst.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// With --targets: how many targets are checked at the same time.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Probe groups not to run (DNS always runs: it finds the hosts): smtp, dnsbl, http, auth, rdns.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "GROUP")]
    pub skip: Vec<ProbeGroup>,
    /// A host that should filter all inbound mail; any other MX bypasses it.
    #[arg(long = "gateway", value_name = "HOST")]
    pub gateways: Vec<String>,
    /// The protected server behind the gateway (probed for recipient verification too).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub backend: Option<String>,
    /// DNS server(s) to use instead of the system resolver.
    #[arg(
        long = "dns",
        value_name = "IP[:PORT]",
        env = "MXDOCTOR_DNS",
        value_delimiter = ','
    )]
    pub dns: Vec<String>,
    /// SMTP port of every probed host.
    #[arg(long, default_value_t = 25, env = "MXDOCTOR_SMTP_PORT")]
    pub smtp_port: u16,
    /// Name sent in EHLO.
    #[arg(long, default_value = "mxdoctor.invalid")]
    pub helo: String,
    /// Envelope sender of the probes (an outside address).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "mxdoctor-probe@example.org"
    )]
    pub mail_from: String,
    /// A recipient that exists (enables valid-user checks and, with --send-test-message, test messages).
    #[arg(long, value_name = "ADDR")]
    pub rcpt_valid: Option<String>,
    /// A recipient that does not exist (default: a random user at the target domain).
    #[arg(long, value_name = "ADDR")]
    pub rcpt_invalid: Option<String>,
    /// Recipient in a foreign domain for the relay probe.
    #[arg(long, value_name = "ADDR")]
    pub relay_rcpt: Option<String>,
    /// DNSBL zone to look each MX address up in.
    #[arg(long = "dnsbl", value_name = "ZONE")]
    pub dnsbls: Vec<String>,
    /// URI blocklist zone to look the test domain up in.
    #[arg(long = "surbl", value_name = "ZONE")]
    pub surbls: Vec<String>,
    /// Domain looked up in --surbl zones.
    #[arg(long, value_name = "DOMAIN", default_value = "test.surbl.org")]
    pub surbl_domain: String,
    /// URL the gateway must reach over HTTP (URL-redirect lookups, FortiGuard).
    #[arg(long = "http-egress", value_name = "URL")]
    pub http_egress: Vec<String>,
    /// Seconds to wait before retrying a deferred RCPT (0: judge greylisting from the text only) [default: 0; profile triage: 300].
    #[arg(long, value_name = "SECS", env = "MXDOCTOR_GREYLIST_WAIT")]
    pub greylist_wait: Option<u64>,
    /// Seconds each network step may take [default: 10; profile ci: 5; profile triage: 30].
    #[arg(long, value_name = "SECS", env = "MXDOCTOR_TIMEOUT")]
    pub timeout: Option<f64>,
    /// This host is a legitimate client of the gateway: a relay denial is then a problem.
    #[arg(long)]
    pub expect_relay: bool,
    /// Extra CA certificate (PEM) trusted when verifying STARTTLS certificates (a private CA).
    #[arg(long = "tls-ca", value_name = "FILE")]
    pub tls_ca: Vec<PathBuf>,
    /// Port of the MTA-STS policy hosts instead of 443, which RFC 8461 fixes: only for test labs
    /// that cannot bind port 443 (hidden from --help).
    #[arg(long, value_name = "PORT", hide = true)]
    pub mta_sts_port: Option<u16>,
    /// Send GTUBE and EICAR test messages to --rcpt-valid (the only probe that sends DATA).
    #[arg(long)]
    pub send_test_message: bool,
    /// Save everything this run observed as a support bundle (JSON) for `mxdoctor replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// The gateway's sending address (repeatable): SPF must pass for it, and its reverse DNS must be forward-confirmed.
    #[arg(long = "outbound-ip", value_name = "IP")]
    pub outbound_ips: Vec<std::net::IpAddr>,
    /// DKIM selector whose key record is checked (repeatable): SELECTOR._domainkey.DOMAIN.
    #[arg(long = "dkim-selector", value_name = "S")]
    pub dkim_selectors: Vec<String>,
    /// Whether this host may probe the MX hosts over IPv6: `auto` asks the kernel for a route to
    /// each address (no packet sent; a private-only source such as fd00::/8 counts as none), `yes`
    /// probes anyway, `no` never (the IPv6 half is then inconclusive, not a failure).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = Ipv6VantageArg::Auto, env = "MXDOCTOR_IPV6_VANTAGE")]
    pub ipv6_vantage: Ipv6VantageArg,
    /// A FortiMail configuration (or Postfix `postconf -n`): its DNSBL/SURBL servers are probed for latency
    /// and its settings are audited alongside the live probes.
    #[arg(long, value_name = "FILE")]
    pub from_config: Option<PathBuf>,
    /// Seconds the whole run may take; probes still running then are reported as timeouts, with everything that finished.
    #[arg(long, value_name = "SECS", env = "MXDOCTOR_DEADLINE")]
    pub deadline: Option<f64>,
}

/// `check --ipv6-vantage`: whether this host can probe over IPv6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Ipv6VantageArg {
    /// The kernel's routing table decides, address by address.
    #[default]
    Auto,
    /// Probe over IPv6 whatever the routing table says.
    Yes,
    /// Never probe over IPv6.
    No,
}

/// Probes that `check --skip` can leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeGroup {
    /// Connecting to the MX hosts: session, TLS, relay, recipients, greylisting, test messages.
    Smtp,
    /// DNSBL and SURBL lookups (--dnsbl, --surbl).
    Dnsbl,
    /// HTTP egress (--http-egress).
    Http,
    /// Sender authentication records of the domain: SPF, DMARC, DKIM.
    Auth,
    /// Forward-confirmed reverse DNS of the MX addresses and --outbound-ip.
    Rdns,
    /// MTA-STS policy and TLS-RPT record.
    TlsPolicy,
    /// DNSSEC of the domain and the MX zones, and DANE TLSA records.
    Dnssec,
    /// AAAA records of the MX hosts and reachability over IPv6.
    Ipv6,
}

#[derive(Debug, Args, Clone)]
pub struct QueueArgs {
    /// The listing, or - for stdin.
    #[arg(required_unless_present = "postqueue")]
    pub file: Option<PathBuf>,
    /// Listing format (default: detected from the first non-empty line).
    #[arg(long, value_enum)]
    pub input: Option<QueueInput>,
    /// Judge the queue as of this Unix time (default: now).
    #[arg(long, value_name = "EPOCH")]
    pub now: Option<u64>,
    /// Run `postqueue -j` on this host instead of reading FILE.
    #[arg(long, conflicts_with_all = ["file", "input"])]
    pub postqueue: bool,
    /// Age at which senders get a delay warning DSN (Postfix delay_warning_time), e.g. 4h.
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = crate::queue::time::parse_duration_secs)]
    pub dsn_warn: u64,
    /// Age at which mail is returned undelivered (Postfix maximal_queue_lifetime), e.g. 5d.
    #[arg(long, value_name = "DURATION", default_value = "5d", value_parser = crate::queue::time::parse_duration_secs)]
    pub max_lifetime: u64,
    /// Destinations and reasons shown (and destinations observed).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// A Postfix `postconf -n` or FortiMail configuration: its lifetimes replace --dsn-warn and
    /// --max-lifetime, and its outbreak hold period is checked against the held mail.
    #[arg(long, value_name = "FILE")]
    pub from_config: Option<PathBuf>,
    /// UTC offset of CSV times written without a zone, e.g. +02:00.
    #[arg(long, value_name = "OFFSET", default_value = "+00:00", allow_hyphen_values = true, value_parser = crate::queue::time::parse_utc_offset)]
    pub utc_offset: i64,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

/// `--probe` for `queue` and `triage`: look at the destinations or hosts the input names, live.
#[derive(Debug, Args, Clone, Default)]
pub struct ProbeArgs {
    /// Probe live the top destinations of the slow/deferred queue (queue) or the remote hosts named
    /// by the top findings (triage): MX, connect, banner, STARTTLS; never DATA. Each probe's finding
    /// is joined to the finding it explains.
    #[arg(long)]
    pub probe: bool,
    /// How many destinations or hosts --probe looks at.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub probe_top: u16,
    /// DNS server(s) for --probe instead of the system resolver.
    #[arg(
        long = "dns",
        value_name = "IP[:PORT]",
        env = "MXDOCTOR_DNS",
        value_delimiter = ','
    )]
    pub dns: Vec<String>,
    /// SMTP port --probe connects to.
    #[arg(long, default_value_t = 25, env = "MXDOCTOR_SMTP_PORT")]
    pub smtp_port: u16,
    /// Name --probe sends in EHLO.
    #[arg(long, default_value = "mxdoctor.invalid")]
    pub helo: String,
    /// Seconds each network step of --probe may take [default: 10].
    #[arg(long, value_name = "SECS", env = "MXDOCTOR_TIMEOUT")]
    pub timeout: Option<f64>,
    /// Seconds all of --probe may take; probes still running then are reported as timeouts.
    #[arg(long, value_name = "SECS", env = "MXDOCTOR_DEADLINE")]
    pub deadline: Option<f64>,
    /// Our own outbound address: with --dnsbl, looked up when deferral reasons name a block list.
    #[arg(long = "outbound-ip", value_name = "IP")]
    pub outbound_ips: Vec<std::net::IpAddr>,
    /// DNSBL zone to look --outbound-ip up in.
    #[arg(long = "dnsbl", value_name = "ZONE")]
    pub dnsbls: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// The configuration file, or - for stdin (platform from --platform fortimail|postfix, else detected).
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueueInput {
    PostqueueJson,
    FortimailCsv,
}
