//! A playbook regex that may be built on first use: the shipped playbooks hold ~250 regexes whose
//! construction dominated start-up (86% of `playbooks list`), and most commands use few of them.
//!
//! Playbooks read from `--playbooks` directories are compiled at load time, so their errors are
//! located in the file; the embedded ones are proven by `playbooks lint` (run by the test suite),
//! which forces every regex, and are compiled when a command first needs them.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use regex::Regex;

use super::lowercase::for_lowercase_text;

/// The compile limit every playbook regex is built with.
pub const SIZE_LIMIT: usize = 1 << 22;

/// A regex from a playbook, compiled now or on first use.
pub struct PlaybookRegex {
    /// The full pattern compiled (with anchors added for `code` and `enhanced`).
    pattern: String,
    compiled: OnceLock<Regex>,
    /// The pattern with Unicode off, for ASCII text; built on first need, `None` when the
    /// pattern needs Unicode (see [`PlaybookRegex::matches`]).
    ascii: OnceLock<Option<AsciiForm>>,
}

/// How a pattern matches ASCII text, with Unicode off.
enum AsciiForm {
    /// Every letter of the pattern is case-insensitive: a form that matches the text's ASCII
    /// lowercase. It has no uppercase transitions and its words are plain literals the regex
    /// engine skips to, where `(?i)` words have a case variant per letter.
    Lowercase(regex::bytes::Regex),
    /// The pattern tells the case of some letter apart: it matches the text as it is.
    AsIs(regex::bytes::Regex),
}

/// ASCII text with its ASCII lowercase, made once for the many patterns a line is tried with.
pub struct AsciiText<'a> {
    text: &'a str,
    lowercase: Cow<'a, [u8]>,
}

impl<'a> AsciiText<'a> {
    /// `None` when `text` is not pure ASCII.
    pub fn new(text: &'a str) -> Option<Self> {
        if !text.is_ascii() {
            return None;
        }
        let lowercase = if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
            Cow::Owned(text.as_bytes().to_ascii_lowercase())
        } else {
            Cow::Borrowed(text.as_bytes())
        };
        Some(Self { text, lowercase })
    }

    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

impl PlaybookRegex {
    /// Compiles `pattern` now.
    pub fn compile(pattern: String) -> Result<Self, regex::Error> {
        let regex = build(&pattern)?;
        Ok(Self {
            pattern,
            compiled: OnceLock::from(regex),
            ascii: OnceLock::new(),
        })
    }

    /// Keeps `pattern` and compiles it when first used; for patterns already proven valid.
    pub fn deferred(pattern: String) -> Self {
        Self {
            pattern,
            compiled: OnceLock::new(),
            ascii: OnceLock::new(),
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

    /// Whether the pattern matches `text`. ASCII text (nearly every log line and reply) is
    /// matched with Unicode off, which gives the same answer there (`\b`, `\w`, `\d`, `\s`, `.`
    /// and case folding agree on ASCII) from a far smaller automaton, and leaves the Unicode
    /// regex uncompiled when nothing else needs it.
    pub fn matches(&self, text: &str) -> bool {
        match AsciiText::new(text) {
            Some(ascii) => self.matches_ascii(&ascii),
            // Non-ASCII text never needs the ASCII form: it is not built for it.
            None => self.regex().is_match(text),
        }
    }

    /// [`PlaybookRegex::matches`] for text known to be ASCII, lowercased by the caller once for
    /// all the patterns it tries.
    pub fn matches_ascii(&self, text: &AsciiText<'_>) -> bool {
        match self.ascii_form() {
            Some(AsciiForm::Lowercase(regex)) => regex.is_match(&text.lowercase),
            Some(AsciiForm::AsIs(regex)) => regex.is_match(text.text.as_bytes()),
            None => self.regex().is_match(text.text),
        }
    }

    /// Builds the form [`PlaybookRegex::matches_ascii`] uses, if not built yet.
    pub fn prepare_ascii(&self) {
        let _ = self.ascii_form();
    }

    fn ascii_form(&self) -> Option<&AsciiForm> {
        self.ascii
            .get_or_init(|| {
                // Parsing fails when the pattern needs Unicode (a non-ASCII class member, `\p{..}`).
                let hir = regex_syntax::ParserBuilder::new()
                    .unicode(false)
                    .utf8(false)
                    .build()
                    .parse(&self.pattern)
                    .ok()?;
                let (pattern, form): (String, fn(regex::bytes::Regex) -> AsciiForm) =
                    match for_lowercase_text(&hir) {
                        Some(lowercase) => (lowercase.to_string(), AsciiForm::Lowercase),
                        None => (hir.to_string(), AsciiForm::AsIs),
                    };
                regex::bytes::RegexBuilder::new(&pattern)
                    .unicode(false)
                    .size_limit(SIZE_LIMIT)
                    .build()
                    .ok()
                    .map(form)
            })
            .as_ref()
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

    /// ASCII text goes to the regex with Unicode off, other text to the Unicode one; both give
    /// the pattern's own answer.
    #[test]
    fn matches_takes_the_ascii_regex_only_for_ascii_text() {
        let word_at = PlaybookRegex::deferred(r"\w+@".into());
        // With Unicode off, the bytes of "é" are not a word character: this only matches
        // because non-ASCII text goes to the Unicode regex.
        assert!(word_at.matches("josé@example.test"));
        assert!(word_at.matches("jose@example.test"));
        assert!(!word_at.matches("@example.test"));
        assert!(
            word_at.ascii.get().is_some(),
            "ASCII text built the ASCII form"
        );
        let only_unicode = PlaybookRegex::deferred(r"\w+@".into());
        assert!(only_unicode.matches("josé@example.test"));
        assert!(
            only_unicode.ascii.get().is_none(),
            "non-ASCII text builds no ASCII form"
        );
        assert!(
            word_at.compiled.get().is_some(),
            "the Unicode regex was needed"
        );

        let quota = PlaybookRegex::deferred(r"(?i)\bover quota\b".into());
        assert!(quota.matches("552 5.2.2 Mailbox OVER QUOTA"));
        assert!(!quota.matches("over quotas"));
        assert!(
            quota.compiled.get().is_none(),
            "ASCII text needs no Unicode regex"
        );

        // A class with a non-ASCII member has no Unicode-free form: the Unicode regex serves all.
        let reponse = PlaybookRegex::deferred("(?i)r[ée]ponse automatique".into());
        assert!(reponse.matches("RÉPONSE AUTOMATIQUE"));
        assert!(reponse.matches("Reponse automatique"));
        assert!(!reponse.matches("reponse manuelle"));
    }
}
