//! Lines grouped by the exact set of playbooks that matched them: what lets a cause claim the
//! lines of its symptom ("the same lines, one cause") without keeping every line.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;

use crate::finding::Evidence;
use crate::playbook::Playbook;
use crate::playbook::schema::SharedEvidence;

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
    /// The first and last line's timestamps, with the order in which those lines were read.
    pub first_seen: Option<(u64, String)>,
    pub last_seen: Option<(u64, String)>,
    /// A few lines, with the order in which they were read.
    pub samples: Vec<(u64, Evidence)>,
}

/// Every group seen in one text diagnosis, in bounded memory.
#[derive(Debug, Default)]
pub struct LineGroups {
    /// By playbook set, then by the host the lines name ("" for none).
    groups: HashMap<Vec<usize>, HashMap<String, LineGroup>>,
    tracked: usize,
    /// Per playbook index: its lines' hosts matter (it is in a `same_host` link). Reading the host
    /// costs a regex, so it is only done for lines of these playbooks.
    host_playbooks: Vec<bool>,
    /// The current line's playbook set, reused so a line does not allocate.
    scratch: Vec<usize>,
    /// Matched lines so far: the order of first/last timestamps and samples across groups.
    sequence: u64,
    /// Lines whose playbook set arrived after [`MAX_GROUPS`] sets were already tracked.
    pub untracked_lines: u64,
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

    /// Records one matched `line`: `playbooks` matched it, `sample` renders it when kept.
    pub fn record(
        &mut self,
        playbooks: impl Iterator<Item = usize>,
        kind: &str,
        subject: &dyn Fn() -> String,
        line: &str,
        sample: impl FnOnce() -> String,
        timestamp: Option<&str>,
    ) {
        self.sequence += 1;
        let sequence = self.sequence;
        self.scratch.clear();
        self.scratch.extend(playbooks);
        self.scratch.sort_unstable();
        self.scratch.dedup();
        let wants_host = self
            .scratch
            .iter()
            .any(|&index| self.host_playbooks.get(index).copied().unwrap_or(false));
        let host = if wants_host {
            named_host(line).map(|(host, _, _)| host)
        } else {
            None
        };
        let host_key = host.as_deref().unwrap_or("");
        let known = self
            .groups
            .get(self.scratch.as_slice())
            .is_some_and(|by_host| by_host.contains_key(host_key));
        if !known && self.tracked >= MAX_GROUPS {
            self.untracked_lines += 1;
            return;
        }
        if !known {
            self.tracked += 1;
        }
        if !self.groups.contains_key(self.scratch.as_slice()) {
            self.groups.insert(self.scratch.clone(), HashMap::new());
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
        if let Some(timestamp) = timestamp {
            if group.first_seen.is_none() {
                group.first_seen = Some((sequence, timestamp.to_string()));
            }
            match &mut group.last_seen {
                Some((at, text)) => {
                    *at = sequence;
                    text.clear();
                    text.push_str(timestamp);
                }
                None => group.last_seen = Some((sequence, timestamp.to_string())),
            }
        }
        if group.samples.len() < SAMPLES_PER_GROUP {
            group.samples.push((
                sequence,
                Evidence {
                    check: kind.to_string(),
                    subject: subject(),
                    detail: sample(),
                },
            ));
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
    let mut first: Option<&(u64, String)> = None;
    let mut last: Option<&(u64, String)> = None;
    let mut all_samples: Vec<&(u64, Evidence)> = Vec::new();
    for group in groups {
        count += group.count;
        if let Some(seen) = &group.first_seen {
            if first.is_none_or(|f| seen.0 < f.0) {
                first = Some(seen);
            }
        }
        if let Some(seen) = &group.last_seen {
            if last.is_none_or(|l| seen.0 > l.0) {
                last = Some(seen);
            }
        }
        all_samples.extend(&group.samples);
    }
    all_samples.sort_by_key(|(sequence, _)| *sequence);
    Merged {
        count,
        first_seen: first.map(|(_, t)| t.clone()),
        last_seen: last.map(|(_, t)| t.clone()),
        samples: all_samples
            .into_iter()
            .take(samples)
            .map(|(_, e)| e.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(groups: &mut LineGroups, playbooks: &[usize], text: &str, at: &str) {
        groups.record(
            playbooks.iter().copied(),
            "log",
            &|| "input".to_string(),
            text,
            || text.to_string(),
            Some(at),
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
    fn groups_lines_by_their_playbook_set_and_merges_in_reading_order() {
        let mut groups = LineGroups {
            host_playbooks: vec![true; 3],
            ..LineGroups::default()
        };
        line(&mut groups, &[2, 1], "a", "t1");
        line(&mut groups, &[1], "b", "t2");
        line(&mut groups, &[1, 2], "c", "t3");
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
