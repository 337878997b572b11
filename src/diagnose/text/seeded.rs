//! A seeded xorshift generator for the text tests that build many inputs: the same sequence on
//! every run, so a failing input can be found again.

/// Xorshift64 from `seed` (not zero: the generator would stay at zero).
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
