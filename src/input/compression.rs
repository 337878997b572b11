//! Compressed inputs (gzip, zstd, bzip2, xz) recognised by their magic bytes and decoded as a stream.
//!
//! The name of a file says nothing reliable (`mail.log.1` may be gzip, `x.gz` may be plain), so
//! the first bytes decide. Concatenated members/frames/streams are all read, as `zcat` does.

use std::io::{self, Read};

/// How an input is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Plain,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// Longest magic number recognised (xz: `FD 37 7A 58 5A 00`).
const MAGIC_BYTES: usize = 6;

impl Compression {
    /// The format whose magic number `prefix` starts with; `Plain` when none does.
    pub fn detect(prefix: &[u8]) -> Self {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else if prefix.starts_with(b"BZh")
            && prefix.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Self::Bzip2
        } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Self::Xz
        } else {
            Self::Plain
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Bzip2 => "bzip2",
            Self::Xz => "xz",
        }
    }
}

/// Reads the first bytes of `reader`, recognises its compression and returns a reader of the
/// decompressed text (the magic bytes included: nothing is lost).
pub fn decompressed(
    mut reader: impl Read + Send + 'static,
) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let mut prefix = [0u8; MAGIC_BYTES];
    let mut filled = 0;
    while filled < MAGIC_BYTES {
        match reader.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let compression = Compression::detect(&prefix[..filled]);
    let whole = io::Cursor::new(prefix[..filled].to_vec()).chain(reader);
    let decoded: Box<dyn Read + Send> = match compression {
        Compression::Plain => Box::new(whole),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(whole)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(whole)),
    };
    Ok((compression, decoded))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const TEXT: &[u8] = b"Nov 28 06:30:02 gw postfix/smtpd[4501]: NOQUEUE: reject\nsecond line\n";

    fn roundtrip(compressed: Vec<u8>, expected: Compression) {
        let (found, mut reader) = decompressed(io::Cursor::new(compressed)).unwrap();
        assert_eq!(found, expected);
        let mut text = Vec::new();
        reader.read_to_end(&mut text).unwrap();
        assert_eq!(text, TEXT);
    }

    #[test]
    fn every_format_decodes_to_the_same_text() {
        roundtrip(TEXT.to_vec(), Compression::Plain);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(TEXT).unwrap();
        roundtrip(gzip.finish().unwrap(), Compression::Gzip);
        roundtrip(zstd::encode_all(TEXT, 1).unwrap(), Compression::Zstd);
        let mut bzip2 = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bzip2.write_all(TEXT).unwrap();
        roundtrip(bzip2.finish().unwrap(), Compression::Bzip2);
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(TEXT).unwrap();
        roundtrip(xz.finish().unwrap(), Compression::Xz);
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let mut joined = Vec::new();
        for half in [&TEXT[..20], &TEXT[20..]] {
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gzip.write_all(half).unwrap();
            joined.extend(gzip.finish().unwrap());
        }
        roundtrip(joined, Compression::Gzip);
    }

    #[test]
    fn short_and_empty_inputs_are_plain() {
        roundtrip(TEXT.to_vec(), Compression::Plain);
        let (found, mut reader) = decompressed(io::Cursor::new(b"BZ".to_vec())).unwrap();
        assert_eq!(found, Compression::Plain);
        let mut text = Vec::new();
        reader.read_to_end(&mut text).unwrap();
        assert_eq!(text, b"BZ");
        assert_eq!(Compression::detect(b""), Compression::Plain);
    }

    #[test]
    fn a_corrupt_stream_is_an_error_not_a_panic() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(TEXT).unwrap();
        let mut bytes = gzip.finish().unwrap();
        bytes.truncate(bytes.len() / 2);
        let (_, mut reader) = decompressed(io::Cursor::new(bytes)).unwrap();
        assert!(reader.read_to_end(&mut Vec::new()).is_err());
    }
}
