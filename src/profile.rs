//! Run profiles (`--profile`): named sets of defaults for a kind of run. Explicit flags always win.

/// A kind of run and the defaults it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Scheduled health checks: the plain defaults (10 s timeouts, greylisting judged from the text).
    Health,
    /// CI smoke tests: 5 s timeouts, no greylisting wait, no progress display, and only high or
    /// critical findings fail the run (a WARNING exits 0).
    Ci,
    /// A support engineer on a case: 30 s timeouts, a 300 s greylisting retry, every observation and
    /// explanation shown.
    Triage,
}

/// Seconds each network step may take when neither the flag nor a profile says.
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Ci => "ci",
            Self::Triage => "triage",
        }
    }

    pub fn timeout_secs(profile: Option<Self>) -> f64 {
        match profile {
            Some(Self::Ci) => 5.0,
            Some(Self::Triage) => 30.0,
            Some(Self::Health) | None => DEFAULT_TIMEOUT_SECS,
        }
    }

    pub fn greylist_wait_secs(profile: Option<Self>) -> u64 {
        match profile {
            Some(Self::Triage) => 300,
            Some(Self::Health | Self::Ci) | None => 0,
        }
    }

    /// The text report lists every observation and explanation.
    pub fn verbose(profile: Option<Self>) -> bool {
        profile == Some(Self::Triage)
    }

    /// The exit code under this profile: `ci` lets WARNING pass so only high/critical fail a build.
    pub fn exit_code(profile: Option<Self>, code: u8) -> u8 {
        match (profile, code) {
            (Some(Self::Ci), 1) => 0,
            _ => code,
        }
    }

    /// No progress display (CI logs are not terminals, but some CI runners pretend to be).
    pub fn no_progress(profile: Option<Self>) -> bool {
        profile == Some(Self::Ci)
    }
}
