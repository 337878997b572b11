//! `triage`'s engine: reads inputs in chunks and scans them on every core, merging per-chunk tallies
//! in input order, so counts, first/last times and samples are exactly those of one sequential pass
//! (`stream::triage_reader`, the reference the tests compare with).
//!
//! Workers take turns at reading the next chunk, which ends at a line boundary, into their own
//! buffer, then scan it while it is in their core's cache: they search the whole chunk for the
//! playbooks' necessary literals at once (`candidates.rs`) and run the matchers only on the lines
//! holding one, or holding non-ASCII bytes (which the literal analysis does not cover). Nothing
//! is allocated per line that does not match; a worker's memory is its two chunk buffers.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::candidates::LineFinder;
use super::matcher::TextMatcher;
use super::stream::{LineContext, LineToMatch, MAX_LINE_BYTES, StreamStats, triage_line};
use super::tally::Tally;
use crate::input::timestamp::LineDating;
use crate::input::window::TimeWindow;

/// Chunk size and worker count.
#[derive(Debug, Clone, Copy)]
pub struct ScanConfig {
    pub chunk_bytes: usize,
    pub workers: usize,
    /// Lines are matched on their first `line_cap` bytes (see `stream::MAX_LINE_BYTES`).
    pub line_cap: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            // Each worker holds a chunk and its lowercase copy, which together stay in a core's L2
            // cache. 512 KiB chunks scanned no faster, 128 KiB ones a little slower (1 GiB log).
            chunk_bytes: 256 << 10,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            line_cap: MAX_LINE_BYTES,
        }
    }
}

/// One input of a scan: its name in evidence (`name:LINE`), its text, how its lines are dated.
pub struct ScanInput {
    pub name: Arc<str>,
    pub reader: Box<dyn Read + Send>,
    pub dating: LineDating,
}

/// A read error, with the input it happened in.
#[derive(Debug, thiserror::Error)]
#[error("{input}: {source}")]
pub struct ScanError {
    pub input: String,
    #[source]
    pub source: io::Error,
}

/// What a scan found: the merged tally, totals, and totals per input (in input order).
#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub tally: Tally,
    pub stats: StreamStats,
    pub per_input: Vec<StreamStats>,
}

/// What workers need to know about the input a chunk comes from.
struct InputContext {
    name: Arc<str>,
    dating: LineDating,
}

/// A piece of one input, ending at a line boundary (or at the input's end).
struct Chunk {
    sequence: u64,
    input: usize,
    context: Arc<InputContext>,
    data: Vec<u8>,
    /// Bytes of the input this chunk stands for (more than `data` when a long line was cut).
    bytes: u64,
    /// `data` is the first bytes of one line longer than a chunk; the rest was skipped.
    cut_line: bool,
}

/// A scanned chunk, waiting for its turn to be merged.
struct ChunkResult {
    input: usize,
    tally: Tally,
    stats: StreamStats,
}

/// Merges results in sequence order, whatever order the workers finish in.
struct Merger {
    next: u64,
    waiting: BTreeMap<u64, ChunkResult>,
    outcome: ScanOutcome,
    /// Lines of the current input merged so far (line numbers restart with every input).
    current_input: Option<usize>,
    lines_in_input: u64,
}

impl Merger {
    fn accept(&mut self, sequence: u64, result: ChunkResult) {
        self.waiting.insert(sequence, result);
        while let Some(result) = self.waiting.remove(&self.next) {
            self.next += 1;
            if self.current_input != Some(result.input) {
                self.current_input = Some(result.input);
                self.lines_in_input = 0;
            }
            self.outcome.tally.merge(result.tally, self.lines_in_input);
            self.lines_in_input += result.stats.lines;
            self.outcome.stats.add(&result.stats);
            if self.outcome.per_input.len() <= result.input {
                self.outcome
                    .per_input
                    .resize(result.input + 1, StreamStats::default());
            }
            self.outcome.per_input[result.input].add(&result.stats);
        }
    }
}

/// Scans `inputs` in order, opening each when its turn comes (so one decoder at a time holds
/// memory); the first error ends the scan.
pub fn scan(
    matcher: &TextMatcher<'_>,
    inputs: impl IntoIterator<Item = Result<ScanInput, ScanError>, IntoIter: Send>,
    window: TimeWindow,
    config: ScanConfig,
) -> Result<ScanOutcome, ScanError> {
    // Built on the first chunk scanned, which tells the gram search which substrings are common.
    let finder = OnceLock::new();
    scan_with(matcher, &finder, inputs, window, config)
}

/// [`scan`] with the candidate finder given by the caller when already built (tests scan many
/// times), else built on the first chunk scanned.
fn scan_with(
    matcher: &TextMatcher<'_>,
    finder: &OnceLock<LineFinder>,
    inputs: impl IntoIterator<Item = Result<ScanInput, ScanError>, IntoIter: Send>,
    window: TimeWindow,
    config: ScanConfig,
) -> Result<ScanOutcome, ScanError> {
    let workers = config.workers.max(1);
    let chunk_bytes = config.chunk_bytes.max(config.line_cap + 1).max(2);
    let template = Tally::for_playbooks(matcher.playbooks());
    let merger = Mutex::new(Merger {
        next: 0,
        waiting: BTreeMap::new(),
        outcome: ScanOutcome {
            tally: template.clone(),
            ..ScanOutcome::default()
        },
        current_input: None,
        lines_in_input: 0,
    });
    let source = Mutex::new(ChunkSource {
        inputs: inputs.into_iter(),
        current: None,
        carry: Vec::new(),
        sequence: 0,
        opened: 0,
        chunk_bytes,
        line_cap: config.line_cap,
        failed: None,
    });
    let worker = Worker {
        matcher,
        template: &template,
        finder,
        finder_begun: AtomicBool::new(false),
        window,
        line_cap: config.line_cap,
        chunk_bytes,
    };
    std::thread::scope(|scope| {
        let (source, merger, worker) = (&source, &merger, &worker);
        for _ in 1..workers {
            scope.spawn(move || worker.run(source, merger));
        }
        // This thread is a worker too.
        worker.run(source, merger);
    });
    let source = source.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(error) = source.failed {
        return Err(error);
    }
    let merger = merger.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok(merger.outcome)
}

/// The input being read: its number, what workers need to know about it, its text.
type OpenInput = (usize, Arc<InputContext>, Box<dyn Read + Send>);

/// Cuts inputs into chunks that end at line boundaries. Workers take turns at it, each reading
/// the chunk it will scan next into its own buffer: the chunk is then still in that core's cache
/// when scanned, and no thread waits for another to hand it work.
struct ChunkSource<I> {
    inputs: I,
    current: Option<OpenInput>,
    /// The start of a line the last chunk cut, for the next chunk of the same input.
    carry: Vec<u8>,
    sequence: u64,
    /// Inputs taken from `inputs` so far.
    opened: usize,
    chunk_bytes: usize,
    line_cap: usize,
    /// The first error; every later call finds nothing.
    failed: Option<ScanError>,
}

impl<I: Iterator<Item = Result<ScanInput, ScanError>>> ChunkSource<I> {
    /// The next chunk in `buffer` (its old contents dropped), or `None` once every input is read
    /// or one failed.
    fn next_chunk(&mut self, mut buffer: Vec<u8>) -> Option<Chunk> {
        while self.failed.is_none() {
            let Some((index, context, reader)) = &mut self.current else {
                self.open_next()?;
                continue;
            };
            buffer.clear();
            let read = read_chunk(
                reader,
                &mut buffer,
                &mut self.carry,
                self.chunk_bytes,
                self.line_cap,
            );
            match read {
                Ok(Some(read)) => {
                    let chunk = Chunk {
                        sequence: self.sequence,
                        input: *index,
                        context: Arc::clone(context),
                        data: buffer,
                        bytes: read.bytes,
                        cut_line: read.cut_line,
                    };
                    self.sequence += 1;
                    if read.last {
                        // Not read again: a terminal on stdin would wait for a second end of input.
                        self.current = None;
                    }
                    return Some(chunk);
                }
                Ok(None) => self.current = None,
                Err(source) => {
                    self.failed = Some(ScanError {
                        input: context.name.to_string(),
                        source,
                    });
                }
            }
        }
        None
    }

    /// Opens the next input; `None` when there is none or it failed to open.
    fn open_next(&mut self) -> Option<()> {
        let index = self.opened;
        self.opened += 1;
        match self.inputs.next()? {
            Ok(input) => {
                let context = Arc::new(InputContext {
                    name: input.name,
                    dating: input.dating,
                });
                self.carry.clear();
                self.current = Some((index, context, input.reader));
                Some(())
            }
            Err(error) => {
                self.failed = Some(error);
                None
            }
        }
    }
}

/// What [`read_chunk`] put in the buffer.
struct ChunkRead {
    /// Bytes of the input the chunk stands for.
    bytes: u64,
    /// The chunk is the first `line_cap` bytes of one line longer than a chunk, the rest skipped.
    cut_line: bool,
    /// The input ended with this chunk.
    last: bool,
}

/// Reads the next chunk of `reader` into `buffer`, beginning with `carry` (the cut line the last
/// chunk left) and leaving in `carry` the start of the line this one cuts; `None` when the input
/// has nothing more.
fn read_chunk(
    reader: &mut impl Read,
    buffer: &mut Vec<u8>,
    carry: &mut Vec<u8>,
    chunk_bytes: usize,
    line_cap: usize,
) -> io::Result<Option<ChunkRead>> {
    buffer.extend_from_slice(carry);
    carry.clear();
    let at_end = fill(reader, buffer, chunk_bytes)?;
    if at_end {
        return Ok((!buffer.is_empty()).then_some(ChunkRead {
            bytes: buffer.len() as u64,
            cut_line: false,
            last: true,
        }));
    }
    if let Some(last) = memchr::memrchr(b'\n', buffer) {
        carry.extend_from_slice(&buffer[last + 1..]);
        buffer.truncate(last + 1);
        return Ok(Some(ChunkRead {
            bytes: buffer.len() as u64,
            cut_line: false,
            last: false,
        }));
    }
    // One line longer than a chunk: keep its first bytes, skip the rest of it.
    let mut bytes = buffer.len() as u64;
    buffer.truncate(line_cap);
    let mut scratch = vec![0u8; 64 * 1024];
    let last = loop {
        let read = read_some(reader, &mut scratch)?;
        if read == 0 {
            break true;
        }
        if let Some(end) = memchr::memchr(b'\n', &scratch[..read]) {
            bytes += end as u64 + 1;
            carry.extend_from_slice(&scratch[end + 1..read]);
            break false;
        }
        bytes += read as u64;
    };
    Ok(Some(ChunkRead {
        bytes,
        cut_line: true,
        last,
    }))
}

/// Reads until `buffer` holds `size` bytes or the input ends; true at the end. A buffer that
/// already holds more (the rest of a read that skipped a long line) is kept whole. Reads into the
/// buffer's spare capacity (`read_to_end` does not zero it first, as a `resize` would: a whole
/// input's worth of memset).
fn fill(reader: &mut impl Read, buffer: &mut Vec<u8>, size: usize) -> io::Result<bool> {
    let start = buffer.len();
    if start >= size {
        return Ok(false);
    }
    buffer.reserve_exact(size - start);
    let wanted = (size - start) as u64;
    let read = reader.take(wanted).read_to_end(buffer)?;
    Ok((read as u64) < wanted)
}

fn read_some(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// What every worker shares.
struct Worker<'s, 'm> {
    matcher: &'s TextMatcher<'m>,
    /// An empty tally of the scan; each chunk is tallied in a piece of it.
    template: &'s Tally,
    finder: &'s OnceLock<LineFinder>,
    /// A worker has begun building `finder`: another may build regexes meanwhile.
    finder_begun: AtomicBool,
    window: TimeWindow,
    line_cap: usize,
    chunk_bytes: usize,
}

impl Worker<'_, '_> {
    fn run<I: Iterator<Item = Result<ScanInput, ScanError>>>(
        &self,
        source: &Mutex<ChunkSource<I>>,
        merger: &Mutex<Merger>,
    ) {
        // The chunk and the chunk in lowercase (for the literal search), reused so a chunk does
        // not allocate.
        let mut buffer: Vec<u8> = Vec::with_capacity(self.chunk_bytes);
        let mut lowercase: Vec<u8> = Vec::new();
        loop {
            let chunk = source
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .next_chunk(buffer);
            let Some(chunk) = chunk else {
                return;
            };
            let result = self.scan_chunk(&chunk, &mut lowercase);
            buffer = chunk.data;
            merger
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .accept(chunk.sequence, result);
        }
    }

    fn scan_chunk(&self, chunk: &Chunk, lowercase: &mut Vec<u8>) -> ChunkResult {
        let mut tally = self.template.piece();
        let mut stats = StreamStats::default();
        let context = LineContext {
            input: &chunk.context.name,
            dating: &chunk.context.dating,
            window: self.window,
        };
        let data = &chunk.data;
        if chunk.cut_line {
            let kept = &data[..data.len().min(self.line_cap)];
            let line = LineToMatch {
                kept,
                literals: None,
            };
            triage_line(self.matcher, context, 1, line, &mut tally, &mut stats);
            stats.lines = 1;
            stats.truncated_lines = 1;
        } else {
            stats.truncated_lines = long_lines(data, self.line_cap);
            if self.finder_begun.load(Ordering::Acquire) && self.finder.get().is_none() {
                // Another worker is building the literal search on the first chunk: build the
                // regexes the matching will need instead of waiting for it.
                self.matcher.build_ahead(|| self.finder.get().is_some());
            }
            let finder = self.finder.get_or_init(|| {
                self.finder_begun.store(true, Ordering::Release);
                LineFinder::with_sample(self.matcher.line_literals(), data)
            });
            // A cut line's `$` falls where the buffer has no line ending for a literal to hold.
            let finder = if stats.truncated_lines > 0 && finder.reads_line_endings() {
                &LineFinder::EveryLine
            } else {
                finder
            };
            stats.lines = finder.for_each_candidate(data, lowercase, |number, line, literals| {
                let kept = &line[..line.len().min(self.line_cap)];
                let line = LineToMatch { kept, literals };
                triage_line(self.matcher, context, number, line, &mut tally, &mut stats);
            });
        }
        stats.bytes = chunk.bytes;
        ChunkResult {
            input: chunk.input,
            tally,
            stats,
        }
    }
}

/// Lines of `data` longer than `cap` bytes (their ending included), found by jumping: from a line
/// start, the last newline within `cap` bytes ends every line that starts before it.
fn long_lines(data: &[u8], cap: usize) -> u64 {
    let mut count = 0;
    let mut start = 0;
    while data.len() - start > cap {
        if let Some(end) = memchr::memrchr(b'\n', &data[start..start + cap]) {
            start += end + 1;
            continue;
        }
        count += 1;
        let Some(end) = memchr::memchr(b'\n', &data[start + cap..]) else {
            return count;
        };
        start += cap + end + 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::io::Cursor;

    use super::*;
    use crate::diagnose::text::seeded::xorshift;
    use crate::diagnose::text::stream::{LineContext, triage_reader, triage_reader_capped};
    use crate::input::dialect::TimeSource;
    use crate::input::timestamp::TimeContext;
    use crate::playbook::Library;

    fn dating() -> LineDating {
        LineDating {
            context: TimeContext::new(
                jiff::tz::TimeZone::UTC,
                "2026-12-01T00:00:00Z".parse().unwrap(),
            ),
            source: TimeSource::Leading,
        }
    }

    /// A log with every playbook example, dated out of order, plus the awkward cases: lines longer
    /// than the cap and than a chunk, CRLF endings, non-ASCII, empty lines, no final newline.
    fn awkward_log(library: &Library) -> Vec<u8> {
        let mut log = String::new();
        let mut n = 0u32;
        for round in 0..3 {
            for playbook in &library.playbooks {
                for example in &playbook.examples.matches {
                    n += 1;
                    let day = 1 + (n * 7 + round) % 28;
                    let _ = write!(
                        log,
                        "Nov {day:>2} 06:{:02}:{:02} gw ",
                        n % 60,
                        (n * 13) % 60
                    );
                    log.push_str(&example.replace(['\n', '\r'], " "));
                    log.push_str(if n % 5 == 0 { "\r\n" } else { "\n" });
                    let _ = writeln!(
                        log,
                        "Nov 28 07:00:00 gw postfix/smtpd[{n}]: connect from x[192.0.2.1]"
                    );
                    if n % 17 == 0 {
                        let _ = writeln!(
                            log,
                            "Nov 28 07:00:01 fm subject=\"Grüße {n}\" relay access denied"
                        );
                        log.push('\n');
                    }
                    if n % 41 == 0 {
                        let width = if n % 2 == 0 { 70_000 } else { 300_000 };
                        log.push_str("Nov 27 01:00:00 gw ");
                        log.push_str(&"x".repeat(width));
                        log.push_str(" Relay access denied\n");
                    }
                }
            }
        }
        log.push_str(
            "Nov 28 06:31:10 fm1 sendmail[1]: Milter (fas_milter): timeout before data read",
        );
        log.into_bytes()
    }

    /// Lines to build small logs from: matches of several playbooks (some naming hosts, dated out
    /// of order), CRLF, empty, non-ASCII, and lines longer than the small cap below.
    const POOL: [&str; 10] = [
        "Nov 28 06:30:02 gw postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.9]: 554 5.7.1 <v@e.test>: Relay access denied\n",
        "Nov 27 06:30:02 gw postfix/smtp[2]: connect to mx.partner.test[198.51.100.7]:25: Connection timed out\n",
        "Nov 29 01:00:00 gw postfix/smtpd[3]: connect from x[192.0.2.1]\r\n",
        "Nov 26 06:31:10 fm1 sendmail[4]: Milter (fas_milter): timeout before data read\r\n",
        "\n",
        "Nov 28 07:00:01 fm subject=\"Grüße\" relay access denied\n",
        "Nov 25 05:00:00 gw postfix/smtp[5]: 4A1: to=<a@b.test>, relay=none, delay=1, status=deferred (connect to mx.partner.test[198.51.100.7]:25: Connection refused)\n",
        "Nov 30 00:00:00 gw xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx Relay access denied\n",
        "Nov 24 00:00:00 gw postfix/postscreen[6]: PASS OLD [192.0.2.3]:4000\n",
        "Nov 23 00:00:00 gw postfix/smtpd[7]: warning: greylisted, try again later\n",
    ];

    /// Random small logs from [`POOL`], with and without a final newline, scanned with a 96-byte
    /// line cap at every chunk size from the smallest up: a boundary falls in every line, lines
    /// straddle chunks, and the merged result must be exactly the sequential one.
    #[test]
    fn every_chunk_boundary_gives_the_sequential_result() {
        const CAP: usize = 96;
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        let name: Arc<str> = Arc::from("log");
        let dating = dating();
        let finder = OnceLock::from(LineFinder::new(matcher.line_literals()));
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..12 {
            let mut log = String::new();
            for _ in 0..(8 + next() % 24) {
                log.push_str(POOL[(next() % POOL.len() as u64) as usize]);
            }
            if round % 2 == 1 {
                log.pop();
            }
            let log = log.into_bytes();
            let context = LineContext {
                input: &name,
                dating: &dating,
                window: TimeWindow::default(),
            };
            let mut expected = Tally::for_playbooks(&library.playbooks);
            let mut expected_stats = StreamStats::default();
            triage_reader_capped(
                &matcher,
                context,
                Cursor::new(&log),
                CAP,
                &mut expected,
                &mut expected_stats,
            )
            .unwrap();
            // About 40 chunk sizes per log, each round offset differently.
            for chunk_bytes in (CAP + 1 + round..log.len() + 2).step_by(log.len() / 40 + 1) {
                let config = ScanConfig {
                    chunk_bytes,
                    workers: 2,
                    line_cap: CAP,
                };
                let input = ScanInput {
                    name: Arc::clone(&name),
                    reader: Box::new(Cursor::new(log.clone())),
                    dating: dating.clone(),
                };
                let outcome = scan_with(
                    &matcher,
                    &finder,
                    [Ok(input)],
                    TimeWindow::default(),
                    config,
                )
                .unwrap();
                let log_text = String::from_utf8_lossy(&log);
                assert_eq!(
                    outcome.stats, expected_stats,
                    "chunk {chunk_bytes}: {log_text}"
                );
                assert_eq!(outcome.tally, expected, "chunk {chunk_bytes}: {log_text}");
            }
        }
    }

    #[test]
    fn parallel_chunks_give_exactly_the_sequential_result() {
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        let log = awkward_log(&library);
        let name: Arc<str> = Arc::from("log");
        let dating = dating();
        for window in [
            TimeWindow::default(),
            TimeWindow {
                since: Some("2026-11-10T00:00:00Z".parse().unwrap()),
                until: Some("2026-11-20T00:00:00Z".parse().unwrap()),
            },
        ] {
            let mut expected = Tally::for_playbooks(&library.playbooks);
            let mut expected_stats = StreamStats::default();
            let context = LineContext {
                input: &name,
                dating: &dating,
                window,
            };
            triage_reader(
                &matcher,
                context,
                Cursor::new(&log),
                &mut expected,
                &mut expected_stats,
            )
            .unwrap();
            assert!(expected_stats.truncated_lines > 0 && expected_stats.matched_lines > 50);
            for (chunk_bytes, workers) in [
                (MAX_LINE_BYTES + 1, 3),
                (100_000, 2),
                (1 << 20, 1),
                (4 << 20, 2),
            ] {
                let config = ScanConfig {
                    chunk_bytes,
                    workers,
                    line_cap: MAX_LINE_BYTES,
                };
                let input = ScanInput {
                    name: Arc::clone(&name),
                    reader: Box::new(Cursor::new(log.clone())),
                    dating: dating.clone(),
                };
                let outcome = scan(&matcher, [Ok(input)], window, config).unwrap();
                assert_eq!(
                    outcome.stats, expected_stats,
                    "chunk {chunk_bytes}, {workers} workers"
                );
                assert_eq!(
                    outcome.tally, expected,
                    "chunk {chunk_bytes}, {workers} workers"
                );
            }
        }
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn several_inputs_number_their_lines_apart_and_errors_name_the_input() {
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        let line = "Nov 28 06:30:02 gw postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.9]: 554 5.7.1 <v@e.test>: Relay access denied\n";
        let inputs = ["a", "b"].map(|name| {
            Ok(ScanInput {
                name: Arc::from(name),
                reader: Box::new(Cursor::new(format!("first\n{line}").into_bytes())),
                dating: dating(),
            })
        });
        let outcome = scan(
            &matcher,
            inputs,
            TimeWindow::default(),
            ScanConfig::default(),
        )
        .unwrap();
        let findings = outcome
            .tally
            .into_findings(&library.playbooks, crate::vocabulary::Platform::Generic);
        let subjects: Vec<&str> = findings[0]
            .evidence
            .iter()
            .map(|e| e.subject.as_str())
            .collect();
        assert_eq!(subjects, ["a:2", "b:2"]);
        assert_eq!(outcome.per_input.len(), 2);
        assert_eq!(outcome.stats.lines, 4);

        let inputs = [Ok(ScanInput {
            name: Arc::from("broken"),
            reader: Box::new(Failing),
            dating: dating(),
        })];
        let error = scan(
            &matcher,
            inputs,
            TimeWindow::default(),
            ScanConfig::default(),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "broken: disk on fire");
    }

    /// Gives its text and one end of input, then fails: a terminal on stdin would wait for a second
    /// end of input.
    struct EndsOnce {
        text: Cursor<Vec<u8>>,
        ended: bool,
    }

    impl Read for EndsOnce {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.ended {
                return Err(io::Error::other("read after the end"));
            }
            let read = self.text.read(buffer)?;
            self.ended = read == 0;
            Ok(read)
        }
    }

    #[test]
    fn an_input_is_not_read_after_its_end() {
        let library = Library::load(&[]).unwrap();
        let matcher = TextMatcher::new(&library.playbooks);
        let long = "x".repeat(100);
        // (text, lines): chunks of 16 bytes, lines cut at 8.
        let cases = [
            ("one\ntwo\n".to_string(), 2),
            ("one\ntwo".to_string(), 2),
            (format!("one\n{long}"), 2),
            (format!("{long}\nend\n"), 2),
            ("0123456789abcde\n".to_string(), 1),
            (String::new(), 0),
        ];
        for (text, lines) in cases {
            let inputs = ["a", "b"].map(|name| {
                Ok(ScanInput {
                    name: Arc::from(name),
                    reader: Box::new(EndsOnce {
                        text: Cursor::new(text.clone().into_bytes()),
                        ended: false,
                    }),
                    dating: dating(),
                })
            });
            let config = ScanConfig {
                chunk_bytes: 16,
                workers: 2,
                line_cap: 8,
            };
            let outcome = scan(&matcher, inputs, TimeWindow::default(), config);
            let outcome = outcome.unwrap_or_else(|error| panic!("{text:?}: {error}"));
            assert_eq!(outcome.stats.lines, 2 * lines, "{text:?}");
            assert_eq!(outcome.stats.bytes, 2 * text.len() as u64, "{text:?}");
        }
    }

    #[test]
    fn long_lines_are_counted_by_jumps() {
        let mut data = b"short\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 20));
        data.extend_from_slice(b"\nmid\n");
        data.extend(std::iter::repeat_n(b'y', 9));
        data.push(b'\n');
        // lines: 6, 21, 4, 10 bytes (ending included)
        assert_eq!(long_lines(&data, 10), 1);
        assert_eq!(long_lines(&data, 9), 2);
        assert_eq!(long_lines(&data, 21), 0);
        assert_eq!(long_lines(&data, 20), 1);
        assert_eq!(long_lines(b"no newline at all here", 5), 1);
    }
}
