//! Reads lines of untrusted input (logs, queue listings) with a length cap, so one huge line cannot grow memory.

use std::io::{self, BufRead};

/// Calls `on_line(number, kept, read)` for every line of `reader`: `kept` is at most `cap` bytes of
/// the line (its ending included when kept), `read` the line's whole length.
///
/// Lines that lie whole in the reader's buffer are passed where they are, without a copy; a line that
/// crosses the end of the buffer (or exceeds it) is assembled, capped, by [`read_line_capped`].
pub fn for_each_line(
    mut reader: impl BufRead,
    cap: usize,
    mut on_line: impl FnMut(u64, &[u8], usize),
) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        let available = fill(&mut reader)?;
        if available.is_empty() {
            return Ok(());
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', available) {
            let line = &available[start..=end];
            number += 1;
            on_line(number, &line[..line.len().min(cap)], line.len());
            start = end + 1;
        }
        if start > 0 {
            reader.consume(start);
            continue;
        }
        buffer.clear();
        let (read, _) = read_line_capped(&mut reader, &mut buffer, cap)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        on_line(number, &buffer, read);
    }
}

/// The reader's buffered bytes (empty at the end), retrying reads interrupted by a signal.
fn fill(reader: &mut impl BufRead) -> io::Result<&[u8]> {
    while let Err(error) = reader.fill_buf() {
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    reader.fill_buf()
}

/// Appends one line (at most `cap` bytes of it) to `buffer`; returns bytes consumed and whether it was cut.
pub fn read_line_capped(
    reader: &mut impl BufRead,
    buffer: &mut Vec<u8>,
    cap: usize,
) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut truncated = false;
    loop {
        let available = fill(reader)?;
        if available.is_empty() {
            return Ok((consumed, truncated));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(index) => (&available[..=index], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(buffer.len());
        if chunk.len() > room {
            truncated = true;
        }
        buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        consumed += used;
        if done {
            return Ok((consumed, truncated));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_numbered_and_capped_in_place_or_assembled() {
        let mut input = b"one\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 40));
        input.extend_from_slice(b"\nlast");
        let reader = io::BufReader::with_capacity(16, input.as_slice());
        let mut seen = Vec::new();
        for_each_line(reader, 10, |number, kept, read| {
            seen.push((number, kept.to_vec(), read));
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (1, b"one\n".to_vec(), 4),
                (2, vec![b'x'; 10], 41),
                (3, b"last".to_vec(), 4)
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_not_buffered() {
        let mut input = vec![b'a'; 200];
        input.extend_from_slice(b"\nshort\n");
        let mut reader = io::BufReader::with_capacity(16, input.as_slice());
        let mut buffer = Vec::new();
        assert_eq!(
            read_line_capped(&mut reader, &mut buffer, 50).unwrap(),
            (201, true)
        );
        assert_eq!(buffer.len(), 50);
        buffer.clear();
        assert_eq!(
            read_line_capped(&mut reader, &mut buffer, 50).unwrap(),
            (6, false)
        );
        assert_eq!(buffer, b"short\n");
    }
}
