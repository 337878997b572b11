//! Turns a pattern whose letters are all case-insensitive into one for text already in ASCII
//! lowercase: nearly every playbook regex is `(?i)`, and on lowercase text it needs no uppercase
//! transitions and shows its words as plain literals, which the regex engine can skip to.

use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look, Repetition,
};

/// `hir` (parsed with Unicode off) made to match ASCII-lowercased text exactly where `hir` matches
/// the original text; `None` when some part of it tells the case of a letter apart (a
/// case-sensitive letter, a class holding `A` but not `a`), so the lowercase text cannot answer.
pub fn for_lowercase_text(hir: &Hir) -> Option<Hir> {
    Some(match hir.kind() {
        HirKind::Empty => hir.clone(),
        HirKind::Literal(literal) => {
            // Under `(?i)` letters are classes (`[Rr]`): a letter left as a literal is case-sensitive.
            if literal.0.iter().any(u8::is_ascii_alphabetic) {
                return None;
            }
            hir.clone()
        }
        HirKind::Class(Class::Bytes(class)) => {
            if !case_closed(class) {
                return None;
            }
            let mut lowercase = class.clone();
            lowercase.difference(&ClassBytes::new([ClassBytesRange::new(b'A', b'Z')]));
            Hir::class(Class::Bytes(lowercase))
        }
        HirKind::Look(look) if case_blind(*look) => hir.clone(),
        HirKind::Class(Class::Unicode(_)) | HirKind::Look(_) => return None,
        // Built from their parts: cloning a node to replace its sub-pattern copied the whole
        // subtree at every level (13% of a 64 MiB `triage`, in callgrind).
        HirKind::Repetition(repetition) => Hir::repetition(Repetition {
            min: repetition.min,
            max: repetition.max,
            greedy: repetition.greedy,
            sub: Box::new(for_lowercase_text(&repetition.sub)?),
        }),
        HirKind::Capture(capture) => Hir::capture(Capture {
            index: capture.index,
            name: capture.name.clone(),
            sub: Box::new(for_lowercase_text(&capture.sub)?),
        }),
        HirKind::Concat(parts) => Hir::concat(
            parts
                .iter()
                .map(for_lowercase_text)
                .collect::<Option<Vec<_>>>()?,
        ),
        HirKind::Alternation(branches) => Hir::alternation(
            branches
                .iter()
                .map(for_lowercase_text)
                .collect::<Option<Vec<_>>>()?,
        ),
    })
}

/// Whether the class holds each ASCII letter in both cases or in neither.
fn case_closed(class: &ClassBytes) -> bool {
    // The class's ASCII members as bits; a letter's uppercase is 32 below its lowercase.
    let mut ascii: u128 = 0;
    for range in class.ranges() {
        let (start, end) = (u32::from(range.start()), u32::from(range.end()).min(127));
        if start <= end {
            ascii |= (u128::MAX >> (127 - end)) & (u128::MAX << start);
        }
    }
    let letters: u128 = (1 << 26) - 1;
    (ascii >> b'A') & letters == (ascii >> b'a') & letters
}

/// Assertions that read only line endings or ASCII word characters, whose answer lowercasing
/// does not change. (Unicode word boundaries do not occur with Unicode off.)
fn case_blind(look: Look) -> bool {
    matches!(
        look,
        Look::Start
            | Look::End
            | Look::StartLF
            | Look::EndLF
            | Look::StartCRLF
            | Look::EndCRLF
            | Look::WordAscii
            | Look::WordAsciiNegate
            | Look::WordStartAscii
            | Look::WordEndAscii
            | Look::WordStartHalfAscii
            | Look::WordEndHalfAscii
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pattern: &str) -> Hir {
        regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(pattern)
            .unwrap()
    }

    fn lowered(pattern: &str) -> Option<regex::bytes::Regex> {
        for_lowercase_text(&parse(pattern)).map(|hir| {
            regex::bytes::RegexBuilder::new(&hir.to_string())
                .unicode(false)
                .build()
                .unwrap()
        })
    }

    #[test]
    fn case_insensitive_patterns_match_the_lowercase_text_as_the_original_matches_the_text() {
        let original_text = [
            "550 5.1.1 <u@example.test>: Recipient address rejected: User unknown",
            "RELAY ACCESS DENIED",
            "relay access denied (in reply to RCPT TO)",
            "Relaying not permitted, sorry",
            "over quota",
            "OverQuota",
            "mailbox is FULL.",
            "NO SUCH USER here",
            "x\r\nuser unknown",
            "",
        ];
        for pattern in [
            r"(?i)\buser unknown\b",
            r"(?i)\brelay(ing)?\b.{0,20}?\b(denied|not permitted)\b",
            r"(?i)(^|[\s:;])over ?quota($|[\s.])",
            r"(?i)mailbox (is )?full\.",
            r"(?i)^no such (user|mailbox)\b",
            r"(?im)^user unknown$",
            r"(?i)[^a-z]full",
            r"(?i)\w+ ACCESS",
            r"\d{3} \d\.\d\.\d",
            r"(?i:relay) (?i:access)",
        ] {
            let original = regex::bytes::RegexBuilder::new(pattern)
                .unicode(false)
                .build()
                .unwrap();
            let lowercase = lowered(pattern)
                .unwrap_or_else(|| panic!("{pattern} has no case-sensitive letter"));
            for text in original_text {
                assert_eq!(
                    lowercase.is_match(text.to_ascii_lowercase().as_bytes()),
                    original.is_match(text.as_bytes()),
                    "{pattern} on {text:?}"
                );
            }
        }
    }

    #[test]
    fn a_pattern_telling_case_apart_has_no_lowercase_form() {
        for pattern in [
            r"TRANSPORT\.RULES",
            r"(?i:relay) ACCESS",
            r"RCPT_[A-Z]+",
            r"(?i)relay|(?-i:[a-z]+) denied",
            r"(?i)relay(?-i:[^A-Z])",
        ] {
            assert!(lowered(pattern).is_none(), "{pattern}");
        }
    }

    /// Only ASCII assertions are known to ignore case: a Unicode word boundary (which a parse
    /// with Unicode off never yields, but a caller may build) gives no lowercase form.
    #[test]
    fn an_assertion_not_known_to_ignore_case_gives_no_lowercase_form() {
        let digit_after = |look| Hir::concat(vec![Hir::look(look), Hir::literal(*b"1")]);
        assert!(for_lowercase_text(&digit_after(Look::WordAscii)).is_some());
        assert!(for_lowercase_text(&digit_after(Look::WordUnicode)).is_none());
    }

    #[test]
    fn case_closed_classes_lose_their_uppercase_only() {
        let class = |pattern: &str| match parse(pattern).into_kind() {
            HirKind::Class(Class::Bytes(class)) => class,
            other => panic!("{other:?}"),
        };
        assert!(case_closed(&class("[A-Za-z0-9]")));
        assert!(case_closed(&class(r"[^.]")));
        assert!(!case_closed(&class("[A-Z]")));
        assert!(!case_closed(&class("[a-y]")));
        assert!(case_closed(&class(r"[\x00-\xFF]")));
        assert!(case_closed(&class(r"[\x80-\xFF0-9]")));
        assert!(!case_closed(&class("[Z-a]")));
        assert!(!case_closed(&class("[Az]")));
        // Bytes just outside the letters need no partner: `[` and `]` follow `Z`, `@` and
        // `` ` `` come before `A` and `a`.
        assert!(case_closed(&class(r"[\[\]]")));
        assert!(case_closed(&class(r"[@`]")));
        let hir = for_lowercase_text(&parse("(?i)[q-s0]")).unwrap();
        assert_eq!(hir, Hir::class(Class::Bytes(class("[q-s0]"))));
    }
}
