//! Translates playbook symptom regexes (Rust `regex` syntax) to GNU `grep -E` patterns, for
//! `mxdoctor playbooks patterns`: the same knowledge, usable with grep on a box without mxdoctor.
//!
//! The target is POSIX ERE plus GNU's `\b \B \w \W \s \S`. `\d` becomes `[0-9]`, `(?:` becomes `(`,
//! lazy quantifiers become greedy (whether a line matches does not change). A leading `(?i)` is
//! either spelled out (`[Rr][Ee]...`, so plain `grep -E -f` matches the same lines) or dropped for
//! `grep -E -i -f` (`fold_case`). Anything else — other flags, Unicode classes, `\x..`, `\A` — is
//! refused with a reason. GNU grep's `\b`/`\w`/`\s` are ASCII in the C locale where the regex
//! crate's are Unicode: on ASCII logs they agree.

use std::fmt::Write as _;

/// Why a pattern has no grep form; `playbooks patterns` skips it with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EreError {
    #[error("pattern ends in a backslash")]
    TrailingBackslash,
    #[error("inline flags or named groups have no ERE form")]
    InlineFlags,
    #[error("case-insensitive non-ASCII letter {0:?}")]
    NonAsciiFoldedLetter(char),
    #[error("escape \\{0} has no ERE form")]
    Escape(char),
    #[error("escape \\{0} in a bracket has no ERE form")]
    EscapeInBracket(char),
    #[error("unclosed bracket")]
    UnclosedBracket,
    #[error("nested POSIX classes are not translated")]
    NestedPosixClass,
    #[error("class set operations have no ERE form")]
    ClassSetOperation,
    #[error("a range mixing letters and other characters under (?i)")]
    MixedFoldedRange,
    #[error("empty bracket")]
    EmptyBracket,
}

/// One pattern in grep's syntax, or why it has none.
pub fn to_ere(pattern: &str, fold_case: bool) -> Result<String, EreError> {
    let (case_insensitive, body) = match pattern.strip_prefix("(?i)") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let expand_case = case_insensitive && !fold_case;
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::with_capacity(body.len() * 2);
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        index += 1;
        match c {
            '\\' => {
                let escaped = *chars.get(index).ok_or(EreError::TrailingBackslash)?;
                index += 1;
                out.push_str(&escape_outside_brackets(escaped)?);
            }
            '[' => {
                let (bracket, next) = bracket(&chars, index, expand_case)?;
                out.push_str(&bracket);
                index = next;
            }
            '(' if chars.get(index) == Some(&'?') => {
                if chars.get(index + 1) == Some(&':') {
                    out.push('(');
                    index += 2;
                } else {
                    return Err(EreError::InlineFlags);
                }
            }
            '*' | '+' | '?' | '}' => {
                out.push(c);
                // Lazy quantifier: for "does the line match" it is the same as greedy.
                if chars.get(index) == Some(&'?') {
                    index += 1;
                }
            }
            c if expand_case && c.is_ascii_alphabetic() => {
                let _ = write!(
                    out,
                    "[{}{}]",
                    c.to_ascii_uppercase(),
                    c.to_ascii_lowercase()
                );
            }
            c if case_insensitive && !c.is_ascii() && c.is_alphabetic() => {
                return Err(EreError::NonAsciiFoldedLetter(c));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn escape_outside_brackets(escaped: char) -> Result<String, EreError> {
    Ok(match escaped {
        'd' => "[0-9]".into(),
        'D' => "[^0-9]".into(),
        'b' | 'B' | 'w' | 'W' | 's' | 'S' => format!("\\{escaped}"),
        '.' | '[' | ']' | '(' | ')' | '*' | '+' | '?' | '{' | '}' | '|' | '^' | '$' | '\\' => {
            format!("\\{escaped}")
        }
        c if c.is_ascii_punctuation() || c == ' ' => c.to_string(),
        other => return Err(EreError::Escape(other)),
    })
}

/// Translates the bracket expression starting after `[` at `start`; returns it and the index after `]`.
fn bracket(chars: &[char], start: usize, expand_case: bool) -> Result<(String, usize), EreError> {
    let mut index = start;
    let negated = chars.get(index) == Some(&'^');
    if negated {
        index += 1;
    }
    let mut items: Vec<(char, char)> = Vec::new();
    let mut classes: Vec<&str> = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(index).ok_or(EreError::UnclosedBracket)?;
        index += 1;
        if c == ']' && !first {
            break;
        }
        first = false;
        let low = match c {
            '\\' => {
                let escaped = *chars.get(index).ok_or(EreError::UnclosedBracket)?;
                index += 1;
                match escaped {
                    's' => {
                        classes.push("[:space:]");
                        continue;
                    }
                    'd' => {
                        items.push(('0', '9'));
                        continue;
                    }
                    'w' => {
                        classes.push("[:alnum:]");
                        items.push(('_', '_'));
                        continue;
                    }
                    c if c.is_ascii_punctuation() => c,
                    other => return Err(EreError::EscapeInBracket(other)),
                }
            }
            '[' if chars.get(index) == Some(&':') => {
                return Err(EreError::NestedPosixClass);
            }
            '&' | '~' | '-' if chars.get(index) == Some(&c) => {
                return Err(EreError::ClassSetOperation);
            }
            c => c,
        };
        if chars.get(index) == Some(&'-') && chars.get(index + 1).is_some_and(|&n| n != ']') {
            let mut high = chars[index + 1];
            index += 2;
            if high == '\\' {
                high = *chars.get(index).ok_or(EreError::UnclosedBracket)?;
                index += 1;
            }
            items.push((low, high));
        } else {
            items.push((low, low));
        }
    }
    if expand_case {
        let mut folded = Vec::new();
        for &(low, high) in &items {
            if low.is_ascii_lowercase() && high.is_ascii_lowercase() {
                folded.push((low.to_ascii_uppercase(), high.to_ascii_uppercase()));
            } else if low.is_ascii_uppercase() && high.is_ascii_uppercase() {
                folded.push((low.to_ascii_lowercase(), high.to_ascii_lowercase()));
            } else if low != high && (low.is_ascii_alphabetic() || high.is_ascii_alphabetic()) {
                return Err(EreError::MixedFoldedRange);
            }
        }
        items.extend(folded);
    }
    // In a POSIX bracket `]` must come first, `-` last and `^` anywhere but first.
    let mut out = String::from("[");
    if negated {
        out.push('^');
    }
    let has = |c: char| items.iter().any(|&(low, high)| low == c && high == c);
    if has(']') {
        out.push(']');
    }
    for class in &classes {
        out.push_str(class);
    }
    for &(low, high) in &items {
        if low == high && matches!(low, ']' | '-' | '^' | '[') {
            continue;
        }
        if low == high {
            out.push(low);
        } else {
            let _ = write!(out, "{low}-{high}");
        }
    }
    // `[` before `:`, `.` or `=` would open a class: it goes after every other member.
    if has('[') {
        out.push('[');
    }
    if has('^') {
        out.push('^');
    }
    if has('-') {
        out.push('-');
    }
    out.push(']');
    if out == "[]" || out == "[^]" {
        return Err(EreError::EmptyBracket);
    }
    Ok((out, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_is_spelled_out_or_dropped() {
        assert_eq!(to_ere("(?i)relay", false).unwrap(), "[Rr][Ee][Ll][Aa][Yy]");
        assert_eq!(to_ere("(?i)relay", true).unwrap(), "relay");
        assert_eq!(to_ere("URIBL_BLOCKED", false).unwrap(), "URIBL_BLOCKED");
    }

    #[test]
    fn perl_classes_and_groups() {
        assert_eq!(
            to_ere(r"(?:5\d\d)\b x\.y", true).unwrap(),
            r"(5[0-9][0-9])\b x\.y"
        );
        assert_eq!(to_ere(r"a.*?b\/c", true).unwrap(), "a.*b/c");
    }

    #[test]
    fn brackets_follow_posix_placement() {
        assert_eq!(
            to_ere(r"(^|[\s:;,(\[])x", true).unwrap(),
            "(^|[[:space:]:;,([])x"
        );
        assert_eq!(to_ere(r"[\[:]", true).unwrap(), "[:[]");
        assert_eq!(to_ere(r"[\]\-a]", true).unwrap(), "[]a-]");
        assert_eq!(to_ere(r"(?i)[a-c5]", false).unwrap(), "[a-c5A-C]");
    }

    #[test]
    fn untranslatable_patterns_say_why() {
        assert!(to_ere(r"(?i:relay)", true).is_err());
        assert!(to_ere(r"\p{L}", true).is_err());
        assert!(to_ere(r"[\S]", true).is_err());
    }

    #[test]
    fn translations_agree_with_grep_semantics_on_examples() {
        // Every shipped symptom pattern translates (none is skipped today).
        let library = crate::playbook::Library::load(&[]).unwrap();
        for playbook in &library.playbooks {
            for pattern in playbook.text_patterns() {
                assert!(
                    to_ere(pattern, false).is_ok() && to_ere(pattern, true).is_ok(),
                    "{}: {pattern}",
                    playbook.id
                );
            }
        }
    }
}
