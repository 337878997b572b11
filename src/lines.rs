//! Reads lines of untrusted input (logs, queue listings) with a length cap, so one huge line cannot grow memory.

use std::io::{self, BufRead};

/// Appends one line (at most `cap` bytes of it) to `buffer`; returns bytes consumed and whether it was cut.
pub fn read_line_capped(
    reader: &mut impl BufRead,
    buffer: &mut Vec<u8>,
    cap: usize,
) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut truncated = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
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
