//! Lines grouped by the exact set of playbooks that matched them: what lets a cause claim the
//! lines of its symptom ("the same lines, one cause") without keeping every line.

use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;

use crate::finding::Evidence;
use crate::playbook::Playbook;
use crate::playbook::schema::SharedEvidence;

use super::matcher::SymptomKind;
use super::sample::{
    Sample, Seen, Subject, Written, keep_first, keep_first_written, keep_last, keep_last_written,
};

/// Distinct playbook sets tracked; lines of further sets are only counted (never folded).
pub const MAX_GROUPS: usize = 4096;
/// Sample lines kept per group.
const SAMPLES_PER_GROUP: usize = 3;

/// The lines matched by one set of playbooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineGroup {
    /// Indices of the playbooks that matched, ascending.
    pub playbooks: Vec<usize>,
    /// The remote host the lines name (`connect to HOST[IP]`, `relay=HOST[IP]`, ...), if any.
    pub host: Option<String>,
    pub count: u64,
    /// The earliest and latest line's times (by instant, then reading order).
    pub first_seen: Option<Seen>,
    pub last_seen: Option<Seen>,
    /// A few lines, with the order in which they were read.
    pub samples: Vec<(u64, Sample)>,
}

impl LineGroup {
    /// Adds the lines of the same group read later (see [`LineGroups::merge`]).
    fn merge(&mut self, later: Self, sequence_offset: u64, line_offset: u64) {
        self.count += later.count;
        if let Some(first) = later.first_seen {
            keep_first(&mut self.first_seen, first.shifted(sequence_offset));
        }
        if let Some(last) = later.last_seen {
            keep_last(&mut self.last_seen, last.shifted(sequence_offset));
        }
        let room = SAMPLES_PER_GROUP.saturating_sub(self.samples.len());
        self.samples.extend(
            later
                .samples
                .into_iter()
                .take(room)
                .map(|(sequence, sample)| {
                    let sample = Sample {
                        subject: sample.subject.shifted(line_offset),
                        ..sample
                    };
                    (sequence + sequence_offset, sample)
                }),
        );
    }

    /// The reading order of the group's first line.
    fn first_read(&self) -> u64 {
        self.samples
            .first()
            .map_or(u64::MAX, |(sequence, _)| *sequence)
    }
}

/// Every group seen in one text diagnosis, in bounded memory.
#[derive(Debug, Clone)]
pub struct LineGroups {
    /// By playbook set, then by the host the lines name ("" for none).
    /// Hashed with FxHash: every matched line looks its group up several times (nothing depends
    /// on the iteration order, which was random per run with SipHash).
    groups: FxHashMap<Vec<usize>, FxHashMap<String, LineGroup>>,
    tracked: usize,
    /// Groups tracked at most: [`MAX_GROUPS`], except in a piece of a parallel scan, which tracks
    /// all of its own (a chunk has a bounded number of lines) so that merging the pieces keeps
    /// exactly the groups one pass would have.
    cap: usize,
    /// Per playbook index: its lines' hosts matter (it is in a `same_host` link). Reading the host
    /// costs a regex, so it is only done for lines of these playbooks.
    host_playbooks: Vec<bool>,
    /// The current line's playbook set, reused so a line does not allocate.
    scratch: Vec<usize>,
    /// Lines whose playbook set arrived after [`MAX_GROUPS`] sets were already tracked.
    pub untracked_lines: u64,
}

impl Default for LineGroups {
    fn default() -> Self {
        Self {
            groups: FxHashMap::default(),
            tracked: 0,
            cap: MAX_GROUPS,
            host_playbooks: Vec::new(),
            scratch: Vec::new(),
            untracked_lines: 0,
        }
    }
}

impl PartialEq for LineGroups {
    fn eq(&self, other: &Self) -> bool {
        self.groups == other.groups
            && self.tracked == other.tracked
            && self.untracked_lines == other.untracked_lines
    }
}

impl Eq for LineGroups {}

/// One matched line, as [`LineGroups::record`] takes it.
pub struct GroupedLine<'a> {
    /// Its place among the matched lines read so far (from 1).
    pub sequence: u64,
    pub kind: SymptomKind,
    pub line: &'a str,
    pub written: Option<Written<'a>>,
}

impl LineGroups {
    /// Groups that read the host of lines matched by the playbooks in a `same_host` link.
    pub fn for_playbooks(playbooks: &[Playbook]) -> Self {
        let in_host_link = |id: &str| {
            playbooks.iter().any(|p| {
                p.explains.iter().any(|link| {
                    link.evidence == SharedEvidence::SameHost && (p.id == id || link.symptom == id)
                })
            })
        };
        Self {
            host_playbooks: playbooks.iter().map(|p| in_host_link(&p.id)).collect(),
            ..Self::default()
        }
    }

    /// Empty groups for one piece of a parallel scan (no cap: see `cap`), merged later with [`merge`](Self::merge).
    #[must_use]
    pub fn piece(&self) -> Self {
        Self {
            cap: usize::MAX,
            host_playbooks: self.host_playbooks.clone(),
            ..Self::default()
        }
    }

    /// Records one matched line: `playbooks` matched it, `sample` renders it when kept.
    pub fn record(
        &mut self,
        playbooks: impl Iterator<Item = usize>,
        matched: &GroupedLine<'_>,
        subject: &dyn Fn() -> Subject,
        sample: impl FnOnce() -> String,
    ) {
        self.scratch.clear();
        self.scratch.extend(playbooks);
        self.scratch.sort_unstable();
        self.scratch.dedup();
        let wants_host = self
            .scratch
            .iter()
            .any(|&index| self.host_playbooks.get(index).copied().unwrap_or(false));
        let host = if wants_host {
            named_host(matched.line).map(|(host, _, _)| host)
        } else {
            None
        };
        let host_key = host.as_deref().unwrap_or("");
        let known = self
            .groups
            .get(self.scratch.as_slice())
            .is_some_and(|by_host| by_host.contains_key(host_key));
        if !known && self.tracked >= self.cap {
            self.untracked_lines += 1;
            return;
        }
        if !known {
            self.tracked += 1;
        }
        if !self.groups.contains_key(self.scratch.as_slice()) {
            self.groups
                .insert(self.scratch.clone(), FxHashMap::default());
        }
        let Some(by_host) = self.groups.get_mut(self.scratch.as_slice()) else {
            return;
        };
        if !by_host.contains_key(host_key) {
            by_host.insert(
                host_key.to_string(),
                LineGroup {
                    playbooks: self.scratch.clone(),
                    host: host.clone(),
                    ..LineGroup::default()
                },
            );
        }
        let Some(group) = by_host.get_mut(host_key) else {
            return;
        };
        group.count += 1;
        if let Some(written) = matched.written {
            keep_first_written(&mut group.first_seen, written, matched.sequence);
            keep_last_written(&mut group.last_seen, written, matched.sequence);
        }
        if group.samples.len() < SAMPLES_PER_GROUP {
            group.samples.push((
                matched.sequence,
                Sample {
                    kind: matched.kind,
                    subject: subject(),
                    detail: sample(),
                },
            ));
        }
    }

    /// Adds the groups of lines read right after this one's: their reading order counts from
    /// `sequence_offset` matched lines, their line numbers from `line_offset` lines into the same
    /// input. The result is the one a single pass over both would give.
    pub fn merge(&mut self, later: Self, sequence_offset: u64, line_offset: u64) {
        self.untracked_lines += later.untracked_lines;
        let mut arrived: Vec<LineGroup> = later
            .groups
            .into_values()
            .flat_map(FxHashMap::into_values)
            .collect();
        // A group is tracked, or not, in the order its first line was read.
        arrived.sort_by_key(LineGroup::first_read);
        for group in arrived {
            let host_key = group.host.clone().unwrap_or_default();
            let known = self
                .groups
                .get(group.playbooks.as_slice())
                .and_then(|by_host| by_host.get(&host_key))
                .is_some();
            if !known && self.tracked >= self.cap {
                self.untracked_lines += group.count;
                continue;
            }
            let by_host = self.groups.entry(group.playbooks.clone()).or_default();
            if let Some(existing) = by_host.get_mut(&host_key) {
                existing.merge(group, sequence_offset, line_offset);
            } else {
                self.tracked += 1;
                let mut fresh = LineGroup {
                    playbooks: group.playbooks.clone(),
                    host: group.host.clone(),
                    ..LineGroup::default()
                };
                fresh.merge(group, sequence_offset, line_offset);
                by_host.insert(host_key, fresh);
            }
        }
    }

    /// The groups whose set contains playbook `index`.
    pub fn containing(&self, index: usize) -> impl Iterator<Item = &LineGroup> {
        self.groups
            .iter()
            .filter(move |(set, _)| set.binary_search(&index).is_ok())
            .flat_map(|(_, by_host)| by_host.values())
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Groups reading the host of every line of `playbooks` playbooks, for tests.
    #[cfg(test)]
    pub fn reading_hosts_of(playbooks: usize) -> Self {
        Self {
            host_playbooks: vec![true; playbooks],
            ..Self::default()
        }
    }
}

/// The first remote host a log line names, with its address and port when given: Postfix
/// `connect to HOST[IP]:PORT`, `conversation with` / `lost connection with HOST[IP]`,
/// `relay=HOST[IP]:PORT`, `host HOST[IP] said`, Exim `H=HOST [IP]`.
pub fn named_host(line: &str) -> Option<(String, IpAddr, Option<u16>)> {
    static HOST: OnceLock<Option<Regex>> = OnceLock::new();
    let regex = HOST
        .get_or_init(|| {
            Regex::new(
                r"(?i)(?:connect to |conversation with |lost connection with |relay=|\bhost |\bH=)([a-z0-9][a-z0-9.-]*)\s?\[([0-9a-f:.]+)\](?::(\d+))?",
            )
            .ok()
        })
        .as_ref()?;
    let captures = regex.captures(line)?;
    let name = captures
        .get(1)?
        .as_str()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let address: IpAddr = captures.get(2)?.as_str().parse().ok()?;
    let port = captures.get(3).and_then(|p| p.as_str().parse().ok());
    Some((name, address, port))
}

/// Several groups seen as one: their total, first and last timestamps and earliest samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub samples: Vec<Evidence>,
}

/// Merges `groups`, keeping `samples` of the earliest sample lines.
pub fn merge<'a>(groups: impl Iterator<Item = &'a LineGroup>, samples: usize) -> Merged {
    let mut count = 0;
    let mut first: Option<Seen> = None;
    let mut last: Option<Seen> = None;
    let mut all_samples: Vec<&(u64, Sample)> = Vec::new();
    for group in groups {
        count += group.count;
        if let Some(seen) = &group.first_seen {
            keep_first(&mut first, seen.clone());
        }
        if let Some(seen) = &group.last_seen {
            keep_last(&mut last, seen.clone());
        }
        all_samples.extend(&group.samples);
    }
    all_samples.sort_by_key(|(sequence, _)| *sequence);
    Merged {
        count,
        first_seen: first.map(|seen| seen.written),
        last_seen: last.map(|seen| seen.written),
        samples: all_samples
            .into_iter()
            .take(samples)
            .map(|(_, sample)| sample.evidence())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(groups: &mut LineGroups, sequence: u64, playbooks: &[usize], text: &str, at: &str) {
        let matched = GroupedLine {
            sequence,
            kind: SymptomKind::Log,
            line: text,
            written: Some(Written {
                instant: None,
                text: at,
            }),
        };
        groups.record(
            playbooks.iter().copied(),
            &matched,
            &|| Subject::Label("input".to_string()),
            || text.to_string(),
        );
    }

    #[test]
    fn named_hosts_are_read_from_postfix_and_exim_lines() {
        let postfix =
            "postfix/smtp[1]: connect to MX1.Partner.test[198.51.100.7]:25: Connection refused";
        assert_eq!(
            named_host(postfix),
            Some((
                "mx1.partner.test".into(),
                "198.51.100.7".parse().unwrap(),
                Some(25)
            ))
        );
        let exim = "1tGabc-000123-AB H=mx.partner.test [198.51.100.7] Connection timed out";
        assert_eq!(
            named_host(exim).map(|h| h.0),
            Some("mx.partner.test".into())
        );
        assert_eq!(named_host("no host here"), None);
    }

    #[test]
    fn merged_pieces_keep_the_groups_one_capped_pass_keeps() {
        let sets: [&[usize]; 6] = [&[0], &[1], &[0], &[2], &[1], &[3]];
        let mut whole = LineGroups {
            cap: 2,
            ..LineGroups::default()
        };
        for (index, set) in sets.iter().enumerate() {
            line(&mut whole, index as u64 + 1, set, "x", "t");
        }
        assert_eq!((whole.tracked, whole.untracked_lines), (2, 2));
        for split in 0..=sets.len() {
            let mut merged = LineGroups {
                cap: 2,
                ..LineGroups::default()
            };
            for (from, to) in [(0, split), (split, sets.len())] {
                let mut piece = merged.piece();
                for (index, set) in sets[from..to].iter().enumerate() {
                    line(&mut piece, index as u64 + 1, set, "x", "t");
                }
                merged.merge(piece, from as u64, 0);
            }
            assert_eq!(merged, whole, "split at {split}");
        }
    }

    #[test]
    fn groups_lines_by_their_playbook_set_and_merges_in_reading_order() {
        let mut groups = LineGroups {
            host_playbooks: vec![true; 3],
            ..LineGroups::default()
        };
        line(&mut groups, 1, &[2, 1], "a", "t1");
        line(&mut groups, 2, &[1], "b", "t2");
        line(&mut groups, 3, &[1, 2], "c", "t3");
        let both: Vec<&LineGroup> = groups
            .containing(2)
            .filter(|g| g.playbooks == [1, 2])
            .collect();
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].count, 2);
        let all = merge(groups.containing(1), 2);
        assert_eq!(all.count, 3);
        assert_eq!(all.first_seen.as_deref(), Some("t1"));
        assert_eq!(all.last_seen.as_deref(), Some("t3"));
        let details: Vec<&str> = all.samples.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(details, ["a", "b"]);
    }
}
