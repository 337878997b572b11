//! A playbook regex that may be built on first use: the shipped playbooks hold ~250 regexes whose
//! construction dominated start-up (86% of `playbooks list`), and most commands use few of them.
//!
//! Playbooks read from `--playbooks` directories are compiled at load time, so their errors are
//! located in the file; the embedded ones are proven by `playbooks lint` (run by the test suite),
//! which forces every regex, and are compiled when a command first needs them.

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use regex::Regex;

/// The compile limit every playbook regex is built with.
pub const SIZE_LIMIT: usize = 1 << 22;

/// A regex from a playbook, compiled now or on first use.
pub struct PlaybookRegex {
    /// The full pattern compiled (with anchors added for `code` and `enhanced`).
    pattern: String,
    compiled: OnceLock<Regex>,
}

impl PlaybookRegex {
    /// Compiles `pattern` now.
    pub fn compile(pattern: String) -> Result<Self, regex::Error> {
        let regex = build(&pattern)?;
        Ok(Self {
            pattern,
            compiled: OnceLock::from(regex),
        })
    }

    /// Keeps `pattern` and compiles it when first used; for patterns already proven valid.
    pub fn deferred(pattern: String) -> Self {
        Self {
            pattern,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as compiled, without compiling it.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The compiled regex (built now if it was deferred).
    pub fn regex(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            build(&self.pattern).unwrap_or_else(|error| {
                panic!(
                    "shipped playbook regex {:?} does not compile ({error}); `mxdoctor playbooks lint` reports it",
                    self.pattern
                )
            })
        })
    }

    /// Compiles a deferred pattern now, reporting an error instead of panicking (for `lint`).
    pub fn force(&self) -> Result<(), regex::Error> {
        if self.compiled.get().is_none() {
            let regex = build(&self.pattern)?;
            let _ = self.compiled.set(regex);
        }
        Ok(())
    }
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()
}

impl Deref for PlaybookRegex {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        self.regex()
    }
}

impl fmt::Debug for PlaybookRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PlaybookRegex").field(&self.pattern).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_compiles_on_first_use() {
        let regex = PlaybookRegex::deferred("(?i)relay".into());
        assert_eq!(regex.as_str(), "(?i)relay");
        assert!(regex.is_match("Relay access denied"));
    }

    #[test]
    fn force_reports_a_broken_deferred_pattern() {
        assert!(PlaybookRegex::deferred("relay(".into()).force().is_err());
        assert!(PlaybookRegex::compile("relay(".into()).is_err());
    }
}
