//! Where messages come from: one `.eml` file, an mbox file, a maildir (or any folder of message
//! files), or stdin; each message read with a size cap so a huge attachment is skipped, not held.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::lines::for_each_line;

/// The most of one message that is kept. Bounce reasons and DSN parts come first; what lies beyond
/// (a returned original's attachments) is read past and dropped.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
/// Longest mbox line kept whole while splitting; longer ones (base64 without line breaks) are cut.
const MAX_MBOX_LINE_BYTES: usize = 64 * 1024;

/// One message's bytes as read, and where it came from.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// `path`, `path:N` (Nth message of an mbox) or `stdin`.
    pub label: String,
    pub bytes: Vec<u8>,
    /// The message was longer than [`MAX_MESSAGE_BYTES`]; only its beginning was kept.
    pub truncated: bool,
}

/// Why messages could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InputError + '_ {
    move |source| InputError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Whether `bytes` starts like an mbox file (a `From ` separator line).
pub fn is_mbox(bytes: &[u8]) -> bool {
    bytes.starts_with(b"From ")
}

/// Whether `path` is a folder of messages (a maildir with cur/ and new/, or any directory).
pub fn is_message_folder(path: &Path) -> bool {
    path.is_dir()
}

/// Reads every message under `path` in a stable order and hands each to `on_message`.
pub fn for_each_message(
    path: &Path,
    on_message: &mut dyn FnMut(RawMessage),
) -> Result<(), InputError> {
    if path.is_dir() {
        let (files, maildir) = message_files(path)?;
        for file in files {
            let raw = read_capped_file(&file)?;
            // A plain folder may hold other files (notes, indexes): only messages are read.
            if maildir || super::looks_like_message(&raw.bytes) {
                on_message(raw);
            }
        }
        return Ok(());
    }
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let starts_as_mbox = is_mbox(reader.fill_buf().map_err(io_error(path))?);
    if starts_as_mbox {
        split_mbox(reader, &path.display().to_string(), on_message).map_err(io_error(path))
    } else {
        let (bytes, truncated) = read_capped(reader).map_err(io_error(path))?;
        on_message(RawMessage {
            label: path.display().to_string(),
            bytes,
            truncated,
        });
        Ok(())
    }
}

/// The message files of a folder: a maildir's `cur/` and `new/` (never `tmp/`, which holds
/// messages still being written), or the regular files of a plain folder; sorted by name. The
/// flag tells a maildir.
fn message_files(folder: &Path) -> Result<(Vec<PathBuf>, bool), InputError> {
    let maildir = folder.join("cur").is_dir() || folder.join("new").is_dir();
    let folders: Vec<PathBuf> = if maildir {
        ["cur", "new"]
            .iter()
            .map(|sub| folder.join(sub))
            .filter(|p| p.is_dir())
            .collect()
    } else {
        vec![folder.to_path_buf()]
    };
    let mut files = Vec::new();
    for dir in folders {
        for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok((files, maildir))
}

fn read_capped_file(path: &Path) -> Result<RawMessage, InputError> {
    let file = File::open(path).map_err(io_error(path))?;
    let (bytes, truncated) = read_capped(BufReader::new(file)).map_err(io_error(path))?;
    Ok(RawMessage {
        label: path.display().to_string(),
        bytes,
        truncated,
    })
}

/// Reads up to [`MAX_MESSAGE_BYTES`]; the rest is not read at all (so an endless input such as a
/// device cannot hang the run).
pub fn read_capped(reader: impl Read) -> io::Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    let truncated = bytes.len() > MAX_MESSAGE_BYTES;
    bytes.truncate(MAX_MESSAGE_BYTES);
    Ok((bytes, truncated))
}

/// Splits an mbox (mboxo/mboxrd: a line starting with `From ` begins a message) into messages,
/// each capped; `>From ` quoting is undone.
pub fn split_mbox(
    reader: impl BufRead,
    name: &str,
    on_message: &mut dyn FnMut(RawMessage),
) -> io::Result<()> {
    let mut current: Option<RawMessage> = None;
    let mut count = 0usize;
    // Line ends are made LF while reading, so a CR-only mbox (classic Mac OS mail clients)
    // splits at its `From ` lines as an LF or CRLF one does.
    let reader = BufReader::with_capacity(64 * 1024, LfLineEnds::new(reader));
    for_each_line(reader, MAX_MBOX_LINE_BYTES, |_, kept, _| {
        if kept.starts_with(b"From ") {
            if let Some(done) = current.take() {
                on_message(done);
            }
            count += 1;
            current = Some(RawMessage {
                label: format!("{name}:{count}"),
                bytes: Vec::new(),
                truncated: false,
            });
            return;
        }
        let Some(message) = current.as_mut() else {
            return;
        };
        let line = unquote_from(kept);
        if message.bytes.len() + line.len() > MAX_MESSAGE_BYTES {
            message.truncated = true;
        } else {
            message.bytes.extend_from_slice(line);
        }
    })?;
    if let Some(done) = current.take() {
        on_message(done);
    }
    Ok(())
}

/// A reader that turns CRLF and lone CR line ends into LF as the bytes stream through (what
/// [`normalise_line_ends`] does to a whole buffer), with no look-ahead across reads needed: a CR
/// is written as LF at once and an LF right after it is dropped.
struct LfLineEnds<R> {
    inner: R,
    after_cr: bool,
}

impl<R: Read> LfLineEnds<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            after_cr: false,
        }
    }
}

impl<R: Read> Read for LfLineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let read = self.inner.read(buf)?;
            if read == 0 {
                return Ok(0);
            }
            let mut written = 0;
            for index in 0..read {
                let byte = buf[index];
                let skip = byte == b'\n' && self.after_cr;
                self.after_cr = byte == b'\r';
                if !skip {
                    buf[written] = if byte == b'\r' { b'\n' } else { byte };
                    written += 1;
                }
            }
            // A read that held only the LF of a CRLF yields nothing: read on rather than
            // reporting an end of input.
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// mboxrd quotes body lines `>From `, `>>From `...: one `>` is removed.
fn unquote_from(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|b| **b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// Normalises line ends: CRLF and lone CR become LF, so every copy of a message reads the same.
pub fn normalise_line_ends(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().copied().peekable();
    while let Some(byte) = iter.next() {
        if byte == b'\r' {
            if iter.peek() == Some(&b'\n') {
                iter.next();
            }
            out.push(b'\n');
        } else {
            out.push(byte);
        }
    }
    out
}

/// Same as [`normalise_line_ends`] for decoded text.
pub fn normalise_text(text: &str) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_lf_and_cr_only_become_the_same_bytes() {
        let lf = b"A: 1\nB: 2\n\nbody\n".to_vec();
        assert_eq!(normalise_line_ends(b"A: 1\r\nB: 2\r\n\r\nbody\r\n"), lf);
        assert_eq!(normalise_line_ends(b"A: 1\rB: 2\r\rbody\r"), lf);
        assert_eq!(normalise_line_ends(&lf), lf);
    }

    #[test]
    fn mbox_splits_and_unquotes() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nx\n";
        let mut messages = Vec::new();
        split_mbox(&mbox[..], "box", &mut |m| messages.push(m)).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].label, "box:1");
        assert_eq!(messages[0].bytes, b"Subject: one\n\nFrom here\n\n");
        assert_eq!(messages[1].bytes, b"Subject: two\n\nx\n");
    }

    #[test]
    fn a_cr_only_or_crlf_mbox_splits_like_an_lf_one() {
        let lf = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nx\n";
        let split = |bytes: &[u8]| {
            let mut messages = Vec::new();
            split_mbox(bytes, "box", &mut |m| messages.push(m.bytes)).unwrap();
            messages
        };
        let expected = split(lf);
        assert_eq!(expected.len(), 2);
        let cr: Vec<u8> = lf
            .iter()
            .map(|b| if *b == b'\n' { b'\r' } else { *b })
            .collect();
        let crlf: Vec<u8> = lf
            .iter()
            .flat_map(|b| {
                if *b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![*b]
                }
            })
            .collect();
        assert_eq!(split(&cr), expected);
        assert_eq!(split(&crlf), expected);
        // A CRLF whose LF arrives in the next read is still one line end.
        let mut reader = LfLineEnds::new(io::Read::chain(&b"a\r"[..], &b"\nb\r"[..]));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"a\nb\n");
    }

    #[test]
    fn a_huge_message_is_cut_not_kept() {
        let big = vec![b'x'; MAX_MESSAGE_BYTES + 10];
        let (bytes, truncated) = read_capped(&big[..]).unwrap();
        assert_eq!(bytes.len(), MAX_MESSAGE_BYTES);
        assert!(truncated);
    }
}
