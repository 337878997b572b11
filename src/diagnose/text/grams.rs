//! A sampled 4-gram filter: finds hundreds of case-folded literals in a buffer at a few bytes per
//! cycle, where a case-folding Aho-Corasick DFA over the same literals (a transition table larger
//! than the CPU's L2 cache) managed a third of a byte.
//!
//! Every second position of the buffer is read as a 4-byte gram, folded (`| 0x20` per byte: a
//! superset of ASCII case folding) and hashed into a bitmap that fits in L2. Each literal registers
//! grams at two consecutive offsets, so whichever parity it starts on, one sampled gram lies on a
//! registered offset. Literals of 3 or 4 bytes have no two grams of their own: the missing one is
//! registered with every possible neighbouring byte. A set bit is only a hint: the literals behind
//! it are compared with the text, ASCII case-insensitively, before anything is reported.

/// Bits of the gram hash: a 256 KiB bitmap, kept in L2 next to the chunk being searched.
const HASH_BITS: u32 = 21;
/// Bytes per gram (one `u32`).
const GRAM: usize = 4;
/// [`GRAM`] as an offset that may be negative.
const SIGNED_GRAM: isize = 4;
/// Positions between two sampled grams.
const STRIDE: usize = 2;
/// The shortest literal served: shorter ones would need two unknown neighbours per gram.
pub const SHORTEST: usize = GRAM - 1;
/// ASCII case folding, widened: it also merges pairs such as `\n` and `*` (a set bit is a hint).
const FOLD: u32 = 0x2020_2020;
/// [`FOLD`] over a whole block.
const FOLD_BLOCK: u128 = 0x2020_2020_2020_2020_2020_2020_2020_2020;
/// Bytes read at once by the scan loop.
const BLOCK: usize = 16;
/// Sampled grams lying whole in one block: positions 0, 2, ..., 12.
const GRAMS_PER_BLOCK: usize = (BLOCK - GRAM) / STRIDE + 1;

/// Where a literal's gram sits: `literal` starts `offset` bytes after the sampled position (the
/// offset is negative when the gram begins one byte before the literal).
#[derive(Debug, Clone, Copy)]
struct Registration {
    /// The gram, folded (its bit is `hash(gram)`).
    gram: u32,
    literal: u32,
    /// The literal's start minus the gram's start.
    start_after_gram: i32,
}

/// Hundreds of literals, searched ASCII case-insensitively (see the module's comment).
pub struct GramFilter {
    literals: Vec<Vec<u8>>,
    bitmap: Vec<u64>,
    /// Per bitmap word, how many bits are set in the words before it: a set bit's rank (its
    /// place among set bits) is this plus the set bits below it in its word.
    ranks: Vec<u32>,
    /// Per set bit (by rank), where its registrations start in `registrations`; one more at the end.
    bucket_starts: Vec<u32>,
    /// Sorted by hash.
    registrations: Vec<Registration>,
    longest: usize,
}

impl GramFilter {
    /// `None` when some literal is shorter than [`SHORTEST`] bytes, or there are none. `sample`
    /// (the first text to be searched) tells which grams are common; each literal registers its
    /// rarest ones there.
    pub fn new(literals: &[Vec<u8>], sample: &[u8]) -> Option<Self> {
        if literals.is_empty() || literals.iter().any(|l| l.len() < SHORTEST) {
            return None;
        }
        let counts = GramCounts::of(sample);
        let mut registrations = Vec::new();
        for (index, literal) in literals.iter().enumerate() {
            let index = u32::try_from(index).ok()?;
            for (gram, start_after_gram) in registered_grams(literal, &counts) {
                registrations.push(Registration {
                    gram: gram | FOLD,
                    literal: index,
                    start_after_gram,
                });
            }
        }
        registrations.sort_by_key(|r| (hash(r.gram), r.gram, r.literal, r.start_after_gram));
        registrations.dedup_by_key(|r| (r.gram, r.literal, r.start_after_gram));
        let mut bitmap = vec![0u64; (1 << HASH_BITS) / 64];
        let mut bucket_starts = Vec::new();
        for (index, registration) in registrations.iter().enumerate() {
            let bit = hash(registration.gram) as usize;
            if bitmap[bit / 64] & (1 << (bit % 64)) == 0 {
                bucket_starts.push(u32::try_from(index).ok()?);
            }
            bitmap[bit / 64] |= 1 << (bit % 64);
        }
        bucket_starts.push(u32::try_from(registrations.len()).ok()?);
        let mut ranks = Vec::with_capacity(bitmap.len());
        let mut set_before = 0;
        for word in &bitmap {
            ranks.push(set_before);
            set_before += word.count_ones();
        }
        Some(Self {
            ranks,
            bucket_starts,
            longest: literals.iter().map(Vec::len).max().unwrap_or(0),
            literals: literals.to_vec(),
            bitmap,
            registrations,
        })
    }

    /// Appends to `found` every occurrence in `data` of every literal (ASCII case-insensitively)
    /// whose grams lie in `data[..until]`, in no particular order; each occurrence once. One pass:
    /// the bitmap is read at every second position, and only a set bit (one position in about
    /// two hundred of the bench's generated log) leaves the loop, to compare the literals
    /// registered there.
    pub fn occurrences(&self, data: &[u8], until: usize, found: &mut Vec<Occurrence>) {
        let until = until.min(data.len());
        let mut position = 0;
        // Seven grams per 16-byte load: positions p, p+2, ..., p+12 (each needs 4 bytes).
        while position + BLOCK <= data.len() && position + GRAMS_PER_BLOCK * STRIDE <= until {
            let block = u128::from_le_bytes(
                data[position..position + BLOCK]
                    .try_into()
                    .expect("a block is 16 bytes"),
            ) | FOLD_BLOCK;
            for step in 0..GRAMS_PER_BLOCK {
                let gram = (block >> (16 * step)) as u32;
                if self.is_set(gram) {
                    self.confirm(data, position + STRIDE * step, gram, found);
                }
            }
            position += GRAMS_PER_BLOCK * STRIDE;
        }
        // The last positions: their grams may run past the buffer, and are read padded with zeros.
        while position < until {
            let mut padded = [0u8; GRAM];
            let available = (data.len() - position).min(GRAM);
            padded[..available].copy_from_slice(&data[position..position + available]);
            let gram = u32::from_le_bytes(padded) | FOLD;
            if self.is_set(gram) {
                self.confirm(data, position, gram, found);
            }
            position += STRIDE;
        }
    }

    /// Fills `found` with the index of every literal starting in `starts` (each once, ascending).
    pub fn literals_in(&self, data: &[u8], starts: std::ops::Range<usize>, found: &mut Vec<u32>) {
        let mut occurrences = Vec::new();
        // A literal's grams lie before its start plus the longest literal.
        self.occurrences(data, starts.end + self.longest + GRAM, &mut occurrences);
        found.clear();
        found.extend(
            occurrences
                .iter()
                .filter(|o| starts.contains(&o.start))
                .map(|o| o.literal),
        );
        found.sort_unstable();
        found.dedup();
    }

    /// Whether the bit of `gram` (already folded) is set.
    fn is_set(&self, gram: u32) -> bool {
        let bit = hash(gram) as usize;
        self.bitmap[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// Appends the literals registered for `gram` (folded, read at `position`) that are there in
    /// full. Out of the scan loop: it runs at one position in hundreds.
    #[inline(never)]
    fn confirm(&self, data: &[u8], position: usize, gram: u32, found: &mut Vec<Occurrence>) {
        let bit = hash(gram) as usize;
        let word = self.bitmap[bit / 64];
        let below = word & ((1u64 << (bit % 64)) - 1);
        let rank = (self.ranks[bit / 64] + below.count_ones()) as usize;
        let bucket = self.bucket_starts[rank] as usize..self.bucket_starts[rank + 1] as usize;
        for registration in &self.registrations[bucket] {
            // Another gram with the same hash.
            if registration.gram != gram {
                continue;
            }
            let Some(start) = position.checked_add_signed(registration.start_after_gram as isize)
            else {
                continue;
            };
            let literal = &self.literals[registration.literal as usize];
            let there = data
                .get(start..start + literal.len())
                .is_some_and(|text| text.eq_ignore_ascii_case(literal));
            if there {
                found.push(Occurrence {
                    start,
                    literal: registration.literal,
                });
            }
        }
    }
}

/// A literal found in a buffer: where it starts, and its index in the filter's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Occurrence {
    pub start: usize,
    pub literal: u32,
}

/// The hash of a folded gram (read little-endian from four bytes).
fn hash(folded: u32) -> u32 {
    folded.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)
}

/// Bits of the hashes that count grams in a sample (collisions only blur the counts; 256 KiB
/// per table keeps the peak memory low).
const COUNT_BITS: u32 = 18;

/// How often each folded gram occurs in a sample of the text to be searched, 4-byte and 3-byte
/// grams apart, by hash. Counts saturate: only rare matters.
struct GramCounts {
    fours: Vec<u8>,
    threes: Vec<u8>,
    /// What one more bit in the bitmap costs: the hits it would draw by chance in the sample's
    /// sampled positions (at least a little, so that without a sample fewer bits still win).
    per_bit: f64,
}

impl GramCounts {
    fn of(sample: &[u8]) -> Self {
        let mut fours = vec![0u8; 1 << COUNT_BITS];
        let mut threes = vec![0u8; 1 << COUNT_BITS];
        for window in sample.windows(GRAM) {
            let gram = [window[0], window[1], window[2], window[3]];
            let four = &mut fours[Self::four_slot(u32::from_le_bytes(gram))];
            *four = four.saturating_add(1);
            let three = &mut threes[Self::three_slot([gram[0], gram[1], gram[2]])];
            *three = three.saturating_add(1);
        }
        let sampled_positions = (sample.len() / STRIDE) as f64;
        Self {
            fours,
            threes,
            per_bit: (sampled_positions / f64::from(1u32 << HASH_BITS)).max(0.01),
        }
    }

    fn four_slot(gram: u32) -> usize {
        ((gram | FOLD).wrapping_mul(0x85EB_CA6B) >> (32 - COUNT_BITS)) as usize
    }

    fn three_slot(bytes: [u8; 3]) -> usize {
        Self::four_slot(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0]) ^ 0x5F00_0000)
    }

    /// What registering `gram` costs: its count in the sample (among grams the sample never
    /// shows, the rarer by [`commonness`] costs less) and its bit.
    fn gram_cost(&self, gram: [u8; 4]) -> f64 {
        f64::from(self.fours[Self::four_slot(u32::from_le_bytes(gram))])
            + commonness(&gram)
            + self.per_bit
    }

    /// What registering `bytes` with every neighbouring byte costs: the three bytes' count, and
    /// one bit per neighbour.
    fn three_cost(&self, bytes: [u8; 3]) -> f64 {
        f64::from(self.threes[Self::three_slot(bytes)])
            + commonness(&bytes)
            + self.per_bit * NEIGHBOUR_COUNT as f64
    }
}

/// How many folded values a neighbouring byte can take.
const NEIGHBOUR_COUNT: usize = 128;

/// Every folded value a neighbouring byte can take (`| 0x20` leaves [`NEIGHBOUR_COUNT`]).
fn neighbours() -> impl Iterator<Item = u8> {
    (0u8..=255).filter(|byte| byte & 0x20 != 0)
}

/// The grams `literal` registers, each with the literal's start relative to the gram's: the grams
/// at two consecutive offsets, the pair rarest in the sample. The gram one byte before the literal,
/// or the one on its last three bytes, is also a choice: it is registered once per possible
/// neighbouring byte (the only choice for a 3-byte literal), which costs bitmap bits.
fn registered_grams(literal: &[u8], counts: &GramCounts) -> Vec<(u32, i32)> {
    let n = isize::try_from(literal.len()).unwrap_or(isize::MAX);
    let byte = |i: isize| literal[i as usize];
    // Where the gram at `offset` from the literal's start runs past it, its fixed three bytes.
    let fixed_three = |offset: isize| {
        if offset < 0 {
            Some([byte(0), byte(1), byte(2)])
        } else if offset + SIGNED_GRAM > n {
            Some([byte(offset), byte(offset + 1), byte(offset + 2)])
        } else {
            None
        }
    };
    let whole = |offset: isize| {
        [
            byte(offset),
            byte(offset + 1),
            byte(offset + 2),
            byte(offset + 3),
        ]
    };
    let cost = |offset: isize| match fixed_three(offset) {
        Some(three) => counts.three_cost(three),
        None => counts.gram_cost(whole(offset)),
    };
    let grams_at = |offset: isize| -> Vec<(u32, i32)> {
        let start_after_gram = -offset as i32;
        match fixed_three(offset) {
            Some([a, b, c]) if offset < 0 => neighbours()
                .map(|x| (u32::from_le_bytes([x, a, b, c]), start_after_gram))
                .collect(),
            Some([a, b, c]) => neighbours()
                .map(|x| (u32::from_le_bytes([a, b, c, x]), start_after_gram))
                .collect(),
            None => vec![(u32::from_le_bytes(whole(offset)), start_after_gram)],
        }
    };
    // Pairs from one byte before the literal to its last three bytes.
    let offset = (-1..=n - SIGNED_GRAM)
        .min_by(|&a, &b| (cost(a) + cost(a + 1)).total_cmp(&(cost(b) + cost(b + 1))))
        .unwrap_or(0);
    let mut grams = grams_at(offset);
    grams.extend(grams_at(offset + 1));
    grams
}

/// How often `bytes` can be expected in a mail log, roughly: the product of each byte's share of
/// English and log text (letters by their English frequency, digits and the space common,
/// punctuation rare). Only compares the places a literal could be sampled at.
fn commonness(bytes: &[u8]) -> f64 {
    bytes
        .iter()
        .map(|b| match b.to_ascii_lowercase() {
            b' ' => 0.15,
            b'e' => 0.09,
            b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 0.06,
            b'0'..=b'9' => 0.04,
            b'h' | b'l' | b'd' | b'c' | b'u' | b'm' => 0.03,
            b'.' | b'p' | b'f' | b'g' | b'w' | b'y' | b'b' | b':' | b'=' => 0.02,
            b'v' | b'k' | b'<' | b'>' | b'[' | b']' | b'/' | b'-' | b'@' | b',' => 0.01,
            _ => 0.003,
        })
        .product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::text::seeded::xorshift;

    /// The plain answer: every start of every literal in the lowercased text, in order.
    fn naive(literals: &[Vec<u8>], data: &[u8]) -> Vec<Occurrence> {
        let text = data.to_ascii_lowercase();
        let mut found: Vec<Occurrence> = (0..)
            .zip(literals)
            .flat_map(|(literal, string)| {
                let string = string.to_ascii_lowercase();
                let text = &text;
                (0..text.len())
                    .filter(move |&start| text[start..].starts_with(&string))
                    .map(move |start| Occurrence { start, literal })
            })
            .collect();
        found.sort_unstable();
        found
    }

    fn strings(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn every_occurrence_is_found_once_like_a_plain_search() {
        let literals = strings(&[
            "530",
            "for ",
            "spam\n",
            "\ngtube",
            "relay access denied",
            "5.7.1",
            "quota",
            "(s3",
        ]);
        let filter = GramFilter::new(&literals, b"").unwrap();
        let pieces = [
            "x",
            "530",
            "FOR ",
            "Spam\n",
            "\nGTUBE",
            "Relay Access Denied",
            "5.7.1",
            "quota",
            "(S3",
            "ab",
            " ",
            "\n",
            "relay access",
            "5.7.",
            "spa",
        ];
        // Pseudo-random texts built from the pieces: every literal at both parities, at the ends,
        // overlapping, cut short, inside and across the 16-byte blocks and in the padded tail;
        // compared with the plain search, whole and from every starting point.
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let mut seen = 0;
        for _ in 0..400 {
            let mut text = String::new();
            for _ in 0..(next() % 13) {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let data = text.as_bytes();
            let expected = naive(&literals, data);
            let mut found = Vec::new();
            filter.occurrences(data, data.len(), &mut found);
            found.sort_unstable();
            // Each occurrence is reported once: no duplicate to remove.
            assert_eq!(found, expected, "{text:?}");
            seen += expected.len();
            let mut literals_found = Vec::new();
            for from in 0..=data.len() {
                for starts in [from..data.len(), from..(from + 3).min(data.len())] {
                    filter.literals_in(data, starts.clone(), &mut literals_found);
                    let mut wanted: Vec<u32> = expected
                        .iter()
                        .filter(|o| starts.contains(&o.start))
                        .map(|o| o.literal)
                        .collect();
                    wanted.sort_unstable();
                    wanted.dedup();
                    assert_eq!(literals_found, wanted, "{text:?} in {starts:?}");
                }
            }
        }
        assert!(seen > 1000, "the texts hold literals: {seen}");
    }

    #[test]
    fn literals_too_short_for_a_gram_are_refused() {
        assert!(GramFilter::new(&strings(&["ok", "quota"]), b"").is_none());
        assert!(GramFilter::new(&[], b"").is_none());
        assert!(GramFilter::new(&strings(&["530"]), b"").is_some());
    }

    #[test]
    fn long_literals_register_their_rarest_pair_of_grams() {
        let offsets = |literal: &[u8], sample: &[u8]| -> Vec<i32> {
            let grams = registered_grams(literal, &GramCounts::of(sample));
            assert_eq!(grams.len(), 2);
            grams.iter().map(|g| -g.1).collect()
        };
        // With nothing sampled, "xq:z" is rarer than anything in "the the".
        let unsampled = offsets(b"the the xq:z", b"");
        assert!(unsampled.iter().all(|&o| o >= 4), "{unsampled:?}");
        assert_eq!(unsampled[1], unsampled[0] + 1);
        // A sample where those grams are everywhere moves the pair off them.
        assert_eq!(offsets(b"xq:zabcdefgh", b""), [0, 1]);
        let sample = "id=xq:za x\n".repeat(50);
        let sampled = offsets(b"xq:zabcdefgh", sample.as_bytes());
        assert!(sampled.iter().all(|&o| o >= 2), "{sampled:?}");
    }
}
