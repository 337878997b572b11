//! Opens one log input (a file or stdin): decompresses it, samples its first lines to recognise
//! the dialect, and hands back a reader of the whole text with what is known about it.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use super::compression::{Compression, decompressed};
use super::dialect::{Detection, detect};
use super::read_ahead::ReadAhead;
use super::timestamp::{LineDating, TimeContext};

/// Decompressed bytes sampled for dialect detection.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// Called with the number of raw (still compressed) bytes read, for a progress display.
pub type OnRead = Arc<dyn Fn(u64) + Send + Sync>;

/// An input ready to be read.
pub struct OpenedInput {
    pub compression: Compression,
    pub detection: Detection,
    pub dating: LineDating,
    /// The whole decompressed text, the sample included.
    pub reader: Box<dyn Read + Send>,
}

/// Opens `path` (`-` is stdin); year-less times are dated no later than its modification time.
pub fn open(path: &Path, on_read: Option<OnRead>) -> io::Result<OpenedInput> {
    if path.as_os_str() == "-" {
        return open_reader(io::stdin(), Timestamp::now(), on_read);
    }
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory, not a log file",
        ));
    }
    let written_by = metadata
        .modified()
        .ok()
        .and_then(|modified| Timestamp::try_from(modified).ok())
        .unwrap_or_else(Timestamp::now);
    open_reader(file, written_by, on_read)
}

/// Opens any byte stream; `written_by` bounds the year of year-less times.
pub fn open_reader(
    raw: impl Read + Send + 'static,
    written_by: Timestamp,
    on_read: Option<OnRead>,
) -> io::Result<OpenedInput> {
    let raw: Box<dyn Read + Send> = match on_read {
        Some(on_read) => Box::new(Counting {
            inner: raw,
            on_read,
        }),
        None => Box::new(raw),
    };
    let (compression, text) = decompressed(raw)?;
    let mut text: Box<dyn Read + Send> = match compression {
        Compression::Plain => text,
        _ => Box::new(ReadAhead::new(text)),
    };
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    (&mut text)
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)?;
    let detection = detect(&sample);
    let dating = LineDating {
        context: TimeContext::local(written_by),
        source: detection.time,
    };
    Ok(OpenedInput {
        compression,
        detection,
        dating,
        reader: Box::new(io::Cursor::new(sample).chain(text)),
    })
}

/// Reports every read's size.
struct Counting<R> {
    inner: R,
    on_read: OnRead,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        (self.on_read)(read as u64);
        Ok(read)
    }
}
