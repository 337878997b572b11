//! Necessary literals of a regex: strings one of which every match must contain, so a line without
//! any of them is skipped without running the regex (the way grep and ripgrep skip most lines).
//!
//! The analysis is for ASCII haystacks only, with literals folded to lowercase and meant to be
//! searched ASCII-case-insensitively: on an ASCII line a case-insensitive `(?i)k` can only be `k`
//! or `K` (never the Kelvin sign), and Unicode `\b`, `\w`, `\s` agree with their ASCII forms. Lines
//! with other bytes are matched by the regexes directly. A pattern with no usable literal gets `None`.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Most strings a set may hold before it is given up as too wide to be useful.
const MAX_STRINGS: usize = 64;
/// Widest character class still expanded into one-byte alternatives (`[05]`, `[Aa]`).
const MAX_CLASS_EXPANSION: usize = 4;

/// Literals (lowercase ASCII, non-empty) one of which every match of `pattern` on an ASCII
/// haystack contains; `None` when no such set was found or the pattern does not parse.
pub fn necessary_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    best(facts(&hir).options())
}

/// Required sets kept per sub-pattern: the most selective ones (an alternation may need a
/// smaller one than the best to keep its union under [`MAX_STRINGS`]).
const MAX_OPTIONS: usize = 16;

/// What one sub-pattern is known to match on an ASCII haystack (strings folded to lowercase).
struct Facts {
    /// Every match is exactly one of these strings.
    exact: Option<Vec<Vec<u8>>>,
    /// Sets of (non-empty) strings such that every match contains one string of each set.
    required: Vec<Vec<Vec<u8>>>,
}

impl Facts {
    const UNKNOWN: Self = Self {
        exact: None,
        required: Vec::new(),
    };

    fn exactly(strings: Vec<Vec<u8>>) -> Self {
        Self {
            exact: Some(strings),
            required: Vec::new(),
        }
    }

    /// Every set that every match must contain, the most selective first.
    fn options(self) -> Vec<Vec<Vec<u8>>> {
        ranked(self.required.into_iter().chain(usable(self.exact)))
    }
}

fn facts(hir: &Hir) -> Facts {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Facts::exactly(vec![Vec::new()]),
        HirKind::Literal(literal) => {
            if literal.0.is_ascii() {
                Facts::exactly(vec![literal.0.to_ascii_lowercase()])
            } else {
                Facts::UNKNOWN
            }
        }
        HirKind::Class(class) => class_facts(class),
        HirKind::Capture(capture) => facts(&capture.sub),
        HirKind::Repetition(repetition) => {
            if repetition.min == 0 {
                return if repetition.max == Some(0) {
                    Facts::exactly(vec![Vec::new()])
                } else {
                    Facts::UNKNOWN
                };
            }
            let sub = facts(&repetition.sub);
            let exact = match (&sub.exact, repetition.max) {
                (Some(strings), Some(max)) if max == repetition.min => repeat(strings, max),
                _ => None,
            };
            Facts {
                exact,
                required: sub.options(),
            }
        }
        HirKind::Concat(children) => concat_facts(children),
        HirKind::Alternation(branches) => {
            let all: Vec<Facts> = branches.iter().map(facts).collect();
            let exact = all
                .iter()
                .map(|f| f.exact.clone())
                .collect::<Option<Vec<_>>>()
                .and_then(union);
            let options: Vec<Vec<Vec<Vec<u8>>>> = all.into_iter().map(Facts::options).collect();
            Facts {
                exact,
                required: alternation_required(&options).into_iter().collect(),
            }
        }
    }
}

/// One set every match of an alternation contains: a set of each branch, the most selective
/// ones whose union stays under [`MAX_STRINGS`] (the branch with the most strings gives way to
/// a smaller set of its own first).
fn alternation_required(branches: &[Vec<Vec<Vec<u8>>>]) -> Option<Vec<Vec<u8>>> {
    let mut chosen: Vec<usize> = vec![0; branches.len()];
    if branches.iter().any(Vec::is_empty) {
        return None;
    }
    loop {
        let sets: Vec<Vec<Vec<u8>>> = branches
            .iter()
            .zip(&chosen)
            .map(|(options, &index)| options[index].clone())
            .collect();
        if let Some(all) = union(sets) {
            return Some(all);
        }
        let (widest, _) = branches
            .iter()
            .zip(&chosen)
            .enumerate()
            .max_by_key(|(_, (options, index))| options[**index].len())?;
        let current = branches[widest][chosen[widest]].len();
        let smaller = branches[widest]
            .iter()
            .enumerate()
            .skip(chosen[widest] + 1)
            .find(|(_, set)| set.len() < current)
            .map(|(index, _)| index)?;
        chosen[widest] = smaller;
    }
}

/// A class is exact when its ASCII members fold to a few bytes: `[Kk\u{212A}]` is `k` on ASCII text.
fn class_facts(class: &Class) -> Facts {
    let mut members: Vec<u8> = Vec::new();
    let mut add = |start: u32, end: u32| {
        for code in start..=end.min(0x7F) {
            if members.len() > 2 * MAX_CLASS_EXPANSION {
                break;
            }
            members.push((code as u8).to_ascii_lowercase());
        }
    };
    match class {
        Class::Unicode(unicode) => {
            for range in unicode.ranges() {
                add(u32::from(range.start()), u32::from(range.end()));
            }
        }
        Class::Bytes(bytes) => {
            for range in bytes.ranges() {
                add(u32::from(range.start()), u32::from(range.end()));
            }
        }
    }
    members.sort_unstable();
    members.dedup();
    if members.is_empty() || members.len() > MAX_CLASS_EXPANSION {
        return Facts::UNKNOWN;
    }
    Facts::exactly(members.into_iter().map(|byte| vec![byte]).collect())
}

/// Consecutive exact children form longer literals; any child's own required set also holds.
fn concat_facts(children: &[Hir]) -> Facts {
    let all: Vec<Facts> = children.iter().map(facts).collect();
    let mut exact = Some(vec![Vec::new()]);
    let mut candidates: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut run: Option<Vec<Vec<u8>>> = None;
    for child in all {
        exact = match (&exact, &child.exact) {
            (Some(so_far), Some(strings)) => cross(so_far, strings),
            _ => None,
        };
        if let Some(strings) = &child.exact {
            run = match run.take() {
                None => Some(strings.clone()),
                Some(current) => {
                    if let Some(longer) = cross(&current, strings) {
                        Some(longer)
                    } else {
                        // Too many combinations: the run so far stands alone, a new one starts.
                        candidates.extend(usable(Some(current)));
                        Some(strings.clone())
                    }
                }
            };
        } else {
            candidates.extend(usable(run.take()));
        }
        candidates.extend(child.options());
    }
    candidates.extend(usable(run));
    Facts {
        exact,
        required: ranked(candidates.into_iter()),
    }
}

/// Every string of `left` followed by every string of `right`, unless that makes too many.
fn cross(left: &[Vec<u8>], right: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if left.len() * right.len() > MAX_STRINGS {
        return None;
    }
    let mut product = Vec::with_capacity(left.len() * right.len());
    for a in left {
        for b in right {
            let mut joined = a.clone();
            joined.extend_from_slice(b);
            product.push(joined);
        }
    }
    product.sort_unstable();
    product.dedup();
    Some(product)
}

/// `strings` repeated `times` times over, unless that makes too many.
fn repeat(strings: &[Vec<u8>], times: u32) -> Option<Vec<Vec<u8>>> {
    let mut product = vec![Vec::new()];
    for _ in 0..times {
        product = cross(&product, strings)?;
    }
    Some(product)
}

fn union(sets: Vec<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let mut all: Vec<Vec<u8>> = sets.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    (all.len() <= MAX_STRINGS).then_some(all)
}

/// An exact set can serve as a required one when it holds no empty string.
fn usable(exact: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    exact.filter(|strings| !strings.is_empty() && strings.iter().all(|s| !s.is_empty()))
}

/// The most selective set: longest shortest string, then fewest strings.
fn best(sets: Vec<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    ranked(sets.into_iter()).into_iter().next()
}

/// The usable sets, the most selective first (longest shortest string, then fewest strings), at
/// most [`MAX_OPTIONS`] of them.
fn ranked(sets: impl Iterator<Item = Vec<Vec<u8>>>) -> Vec<Vec<Vec<u8>>> {
    let mut sets: Vec<Vec<Vec<u8>>> = sets
        .filter(|set| !set.is_empty() && set.iter().all(|s| !s.is_empty()))
        .collect();
    sets.sort_by_key(|set| {
        let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
        (std::cmp::Reverse(shortest.min(8)), set.len())
    });
    sets.dedup();
    sets.truncate(MAX_OPTIONS);
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(pattern: &str) -> Option<Vec<String>> {
        necessary_literals(pattern).map(|set| {
            set.into_iter()
                .map(|s| String::from_utf8(s).unwrap())
                .collect()
        })
    }

    #[test]
    fn case_insensitive_words_fold_to_lowercase() {
        assert_eq!(strings("(?i)greylisted"), Some(vec!["greylisted".into()]));
        assert_eq!(
            strings(r"(?i)\bRelay access denied\b"),
            Some(vec!["relay access denied".into()])
        );
    }

    #[test]
    fn alternation_needs_every_branch() {
        assert_eq!(
            strings("(?i)mailbox full|quota exceeded"),
            Some(vec!["mailbox full".into(), "quota exceeded".into()])
        );
        assert_eq!(strings("(?i)relay|.*"), None);
    }

    #[test]
    fn a_wide_alternation_takes_smaller_sets_of_its_widest_branches() {
        // The first branch's best set is its 8 x 8 = 64 phrases: with "narrow", one too many.
        let found = strings(
            "(?i)(alpha|bravo|charlie|delta|echo|foxtrot|golf|hotel) (one|two|three|four|five|six|seven|eight)|narrow",
        )
        .unwrap();
        assert_eq!(found.len(), 9, "{found:?}");
        assert!(found.contains(&"narrow".to_string()), "{found:?}");
        assert!(found.contains(&"alpha".to_string()), "{found:?}");
    }

    #[test]
    fn small_classes_expand_and_optional_parts_break_runs() {
        assert_eq!(
            strings("^(?:53[05])$"),
            Some(vec!["530".into(), "535".into()])
        );
        assert_eq!(
            strings(r"(?i)come back (later|in)"),
            Some(vec!["come back in".into(), "come back later".into()])
        );
        assert_eq!(
            strings(r"(?i)client (was )?not authenticated"),
            Some(vec!["not authenticated".into()])
        );
    }

    #[test]
    fn wide_classes_and_unbounded_repeats_are_not_literals() {
        assert_eq!(strings(r"\d+"), None);
        assert_eq!(strings(r"x*"), None);
        assert_eq!(
            strings(r"\b127\.255\.255\.25[2-5]\b"),
            Some(vec!["127.255.255.25".into()])
        );
    }

    #[test]
    fn every_match_of_every_shipped_pattern_contains_a_literal() {
        let library = crate::playbook::Library::load(&[]).unwrap();
        for playbook in &library.playbooks {
            for example in &playbook.examples.matches {
                if !example.is_ascii() {
                    continue;
                }
                let lower = example.to_ascii_lowercase();
                let patterns = playbook
                    .logs
                    .iter()
                    .chain(&playbook.bounces)
                    .map(|p| &p.regex)
                    .chain(playbook.replies.iter().filter_map(|r| r.text.as_ref()));
                for regex in patterns {
                    let Some(found) = regex.find(example) else {
                        continue;
                    };
                    let Some(literals) = necessary_literals(regex.as_str()) else {
                        continue;
                    };
                    let matched = &lower[found.range()];
                    assert!(
                        literals
                            .iter()
                            .any(|l| matched.contains(std::str::from_utf8(l).unwrap())),
                        "{}: {example:?} matches {:?} without any of its literals",
                        playbook.id,
                        regex.as_str()
                    );
                }
            }
        }
    }
}
