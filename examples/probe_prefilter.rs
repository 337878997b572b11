//! Throwaway: measures whole-buffer prefilter options.
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind, packed};
use mxdoctor::playbook::Library;
use mxdoctor::triage::TextMatcher;
use std::io::Read;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).unwrap();
    let limit: usize = std::env::args()
        .nth(2)
        .map_or(256 << 20, |a| a.parse().unwrap());
    let mut data = Vec::new();
    std::fs::File::open(&path)
        .unwrap()
        .take(limit as u64)
        .read_to_end(&mut data)
        .unwrap();
    let library = Library::load(&[]).unwrap();
    let matcher = TextMatcher::new(&library.playbooks);
    let literals = matcher.line_literals().expect("all have literals");
    // minimal set: drop literals containing another
    let mut minimal: Vec<Vec<u8>> = literals
        .iter()
        .filter(|a| {
            !literals
                .iter()
                .any(|b| b != *a && memchr::memmem::find(a, b).is_some())
        })
        .cloned()
        .collect();
    minimal.sort();
    println!(
        "{} literals, {} minimal, bytes {}",
        literals.len(),
        minimal.len(),
        data.len()
    );
    let short: Vec<_> = minimal
        .iter()
        .filter(|l| l.len() <= 4)
        .map(|l| String::from_utf8_lossy(l).to_string())
        .collect();
    println!("short: {short:?}");
    let mb = data.len() as f64 / 1e6;
    // 1: AC DFA case-insensitive on original
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(false)
        .build(&minimal)
        .unwrap();
    let t = Instant::now();
    let n = count_lines(&data, |h| ac.find(h).map(|m| m.start()));
    println!(
        "AC DFA ci nopf: {n} candidate lines, {:.0} MB/s",
        mb / t.elapsed().as_secs_f64()
    );
    let ac2 = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(true)
        .build(&minimal)
        .unwrap();
    let t = Instant::now();
    let n = count_lines(&data, |h| ac2.find(h).map(|m| m.start()));
    println!(
        "AC DFA ci pf: {n} candidate lines, {:.0} MB/s",
        mb / t.elapsed().as_secs_f64()
    );
    // lowercase + teddy
    let t = Instant::now();
    let mut lower = data.clone();
    lower.make_ascii_lowercase();
    println!("lowercase: {:.0} MB/s", mb / t.elapsed().as_secs_f64());
    if minimal.len() <= 128 {
        let mut b = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .heuristic_pattern_limits(false)
            .builder();
        b.extend(&minimal);
        match b.build() {
            Some(teddy) => {
                let t = Instant::now();
                let n = count_lines(&lower, |h| teddy.find(h).map(|m| m.start()));
                println!(
                    "teddy on lower: {n} candidate lines, {:.0} MB/s",
                    mb / t.elapsed().as_secs_f64()
                );
            }
            None => println!("teddy: not built"),
        }
    }
    let ac3 = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(&minimal)
        .unwrap();
    let t = Instant::now();
    let n = count_lines(&lower, |h| ac3.find(h).map(|m| m.start()));
    println!(
        "AC cs pf on lower: {n} candidate lines, {:.0} MB/s",
        mb / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let n = memchr::memchr_iter(b'\n', &data).count();
    println!(
        "newline count {n}: {:.0} MB/s",
        mb / t.elapsed().as_secs_f64()
    );
    // per-literal hit counts on lower
    let mut counts: Vec<(usize, String)> = minimal
        .iter()
        .map(|l| {
            (
                memchr::memmem::find_iter(&lower[..lower.len().min(32 << 20)], l).count(),
                String::from_utf8_lossy(l).to_string(),
            )
        })
        .collect();
    counts.sort();
    counts.reverse();
    println!(
        "top literals in 32 MiB: {:?}",
        &counts[..15.min(counts.len())]
    );
}

fn count_lines(data: &[u8], find: impl Fn(&[u8]) -> Option<usize>) -> usize {
    let mut at = 0;
    let mut n = 0;
    while let Some(pos) = find(&data[at..]) {
        let pos = at + pos;
        n += 1;
        at = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |e| pos + e + 1);
    }
    n
}
