//! SMTP reply parsing (RFC 5321 §4.2, enhanced codes RFC 3463), shared by the live probes and `explain`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the first digit of a reply code says about the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReplyClass {
    /// 2xx
    Success,
    /// 3xx
    Intermediate,
    /// 4xx: try again later.
    Transient,
    /// 5xx: do not try again.
    #[default]
    Permanent,
}

impl ReplyClass {
    pub fn from_code(code: u16) -> Option<Self> {
        match code / 100 {
            2 => Some(Self::Success),
            3 => Some(Self::Intermediate),
            4 => Some(Self::Transient),
            5 => Some(Self::Permanent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Intermediate => "intermediate",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }
}

/// A complete SMTP reply: one code, one or more lines of text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reply {
    pub code: u16,
    pub class: ReplyClass,
    /// RFC 3463 enhanced status code (`5.7.1`) when the server sent one.
    pub enhanced: Option<String>,
    /// Every line's text, joined by a space, without codes.
    pub text: String,
    /// Each line's text without the code and separator.
    pub lines: Vec<String>,
}

/// Why some bytes are not an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("empty reply")]
    Empty,
    #[error("line {line}: expected a three-digit code 2xx-5xx, got {found:?}")]
    BadCode { line: usize, found: String },
    #[error("line {line}: expected ' ' or '-' after the code, got {found:?}")]
    BadSeparator { line: usize, found: char },
    #[error("line {line}: code {found} differs from the first line's {expected}")]
    CodeChanged {
        line: usize,
        expected: u16,
        found: u16,
    },
    #[error("reply ends with a continuation line (`-`) and no final line")]
    Unterminated,
    #[error("text after the final line")]
    TrailingLines,
}

/// One parsed reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: u16,
    pub last: bool,
    pub text: &'a str,
}

/// Parses one line (without its line ending) of a reply.
pub fn parse_line(line: &str, number: usize) -> Result<ReplyLine<'_>, ReplyError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let bytes = line.as_bytes();
    let code_ok = bytes.len() >= 3
        && (b'2'..=b'5').contains(&bytes[0])
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit();
    if !code_ok {
        return Err(ReplyError::BadCode {
            line: number,
            found: line.chars().take(16).collect(),
        });
    }
    let code = u16::from(bytes[0] - b'0') * 100
        + u16::from(bytes[1] - b'0') * 10
        + u16::from(bytes[2] - b'0');
    match bytes.get(3) {
        None => Ok(ReplyLine {
            code,
            last: true,
            text: "",
        }),
        Some(b' ') => Ok(ReplyLine {
            code,
            last: true,
            text: &line[4..],
        }),
        Some(b'-') => Ok(ReplyLine {
            code,
            last: false,
            text: &line[4..],
        }),
        Some(_) => Err(ReplyError::BadSeparator {
            line: number,
            found: line[3..].chars().next().unwrap_or('?'),
        }),
    }
}

/// Builds a reply from parsed lines, one at a time, as they arrive from a socket.
#[derive(Debug, Default)]
pub struct ReplyBuilder {
    code: Option<u16>,
    lines: Vec<String>,
    done: bool,
}

impl ReplyBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line; returns the finished reply when this line was the final one.
    pub fn push(&mut self, raw: &str) -> Result<Option<Reply>, ReplyError> {
        if self.done {
            return Err(ReplyError::TrailingLines);
        }
        let number = self.lines.len() + 1;
        let line = parse_line(raw, number)?;
        match self.code {
            None => self.code = Some(line.code),
            Some(expected) if expected != line.code => {
                return Err(ReplyError::CodeChanged {
                    line: number,
                    expected,
                    found: line.code,
                });
            }
            Some(_) => {}
        }
        self.lines.push(line.text.to_string());
        if line.last {
            self.done = true;
            let code = line.code;
            return Ok(Some(Reply::from_parts(
                code,
                std::mem::take(&mut self.lines),
            )));
        }
        Ok(None)
    }

    /// How many lines are buffered: callers cap this against endless `250-` continuations.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }
}

impl Reply {
    /// Parses a complete reply, single or multi-line; lines end with LF or CRLF.
    pub fn parse(text: &str) -> Result<Self, ReplyError> {
        let mut builder = ReplyBuilder::new();
        let mut result = None;
        for raw in text.lines().filter(|line| !line.trim().is_empty()) {
            if result.is_some() {
                return Err(ReplyError::TrailingLines);
            }
            result = builder.push(raw)?;
        }
        match result {
            Some(reply) => Ok(reply),
            None if builder.line_count() == 0 => Err(ReplyError::Empty),
            None => Err(ReplyError::Unterminated),
        }
    }

    /// Builds a reply from its code and per-line texts, finding the enhanced code.
    pub fn from_parts(code: u16, lines: Vec<String>) -> Self {
        let enhanced = lines
            .first()
            .and_then(|first| enhanced_code(first, code))
            .map(str::to_string);
        let text = lines
            .iter()
            .map(|line| strip_enhanced(line, enhanced.as_deref()))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            code,
            class: ReplyClass::from_code(code).unwrap_or_default(),
            enhanced,
            text,
            lines,
        }
    }

    pub fn is_success(&self) -> bool {
        self.class == ReplyClass::Success
    }

    pub fn is_transient(&self) -> bool {
        self.class == ReplyClass::Transient
    }

    pub fn is_permanent(&self) -> bool {
        self.class == ReplyClass::Permanent
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(enhanced) = &self.enhanced {
            write!(f, " {enhanced}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// The RFC 3463 code at the start of `text`, if its class digit agrees with the basic code.
pub fn enhanced_code(text: &str, code: u16) -> Option<&str> {
    let token = text.split_whitespace().next()?;
    let mut parts = token.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    let digits = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
    };
    let valid = parts.next().is_none()
        && matches!(class, "2" | "4" | "5")
        && digits(subject, 3)
        && digits(detail, 3)
        && class.as_bytes()[0] - b'0' == u8::try_from(code / 100).unwrap_or(0);
    valid.then_some(token)
}

fn strip_enhanced<'a>(line: &'a str, enhanced: Option<&str>) -> &'a str {
    match enhanced {
        Some(code) => line
            .strip_prefix(code)
            .map_or(line, |rest| rest.trim_start()),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_with_enhanced_code() {
        let reply = Reply::parse("554 5.7.1 <x@other.test>: Relay access denied\r\n").unwrap();
        assert_eq!(reply.code, 554);
        assert_eq!(reply.class, ReplyClass::Permanent);
        assert_eq!(reply.enhanced.as_deref(), Some("5.7.1"));
        assert_eq!(reply.text, "<x@other.test>: Relay access denied");
    }

    #[test]
    fn multi_line_ehlo() {
        let reply =
            Reply::parse("250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n").unwrap();
        assert_eq!(reply.code, 250);
        assert_eq!(
            reply.lines,
            vec!["mx.example.test", "PIPELINING", "STARTTLS"]
        );
        assert_eq!(reply.enhanced, None);
    }

    #[test]
    fn enhanced_class_must_agree_with_code() {
        let reply = Reply::parse("450 5.7.1 odd").unwrap();
        assert_eq!(reply.enhanced, None);
        assert_eq!(reply.text, "5.7.1 odd");
    }

    #[test]
    fn bare_code_is_a_final_line() {
        let reply = Reply::parse("250").unwrap();
        assert_eq!(reply.code, 250);
        assert_eq!(reply.text, "");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            Reply::parse("hello"),
            Err(ReplyError::BadCode { .. })
        ));
        assert!(matches!(
            Reply::parse("250x"),
            Err(ReplyError::BadSeparator { .. })
        ));
        assert!(matches!(
            Reply::parse("250-a\n251 b"),
            Err(ReplyError::CodeChanged { .. })
        ));
        assert!(matches!(
            Reply::parse("250-a"),
            Err(ReplyError::Unterminated)
        ));
        assert!(matches!(Reply::parse(""), Err(ReplyError::Empty)));
        assert!(matches!(
            Reply::parse("250 a\n250 b"),
            Err(ReplyError::TrailingLines)
        ));
        assert!(matches!(
            Reply::parse("\u{e9}\u{e9}\u{e9}"),
            Err(ReplyError::BadCode { .. })
        ));
    }
}
