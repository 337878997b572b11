//! A qshape-style age histogram: how many messages fall in each doubling age bucket, in minutes.

use serde::{Deserialize, Serialize};

/// Upper bounds (exclusive) of the buckets, in minutes; a last bucket holds everything older.
pub const BUCKET_LIMITS_MINUTES: [u64; 9] = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

/// Column labels, as qshape prints them (the total `T` is printed separately).
pub const BUCKET_LABELS: [&str; 10] = [
    "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+",
];

/// Message counts per age bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeHistogram {
    pub buckets: [u64; 10],
}

impl AgeHistogram {
    pub fn record(&mut self, age_secs: u64) {
        let minutes = age_secs / 60;
        let bucket = BUCKET_LIMITS_MINUTES
            .iter()
            .position(|&limit| minutes < limit)
            .unwrap_or(BUCKET_LIMITS_MINUTES.len());
        self.buckets[bucket] += 1;
    }

    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
    }

    pub fn total(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::AgeHistogram;

    #[test]
    fn ages_land_in_doubling_buckets() {
        let mut histogram = AgeHistogram::default();
        for age_secs in [0, 299, 300, 599, 600, 76_799, 76_800, 10_000_000] {
            histogram.record(age_secs);
        }
        assert_eq!(histogram.buckets, [2, 2, 1, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(histogram.total(), 8);
        let copy = histogram;
        histogram.merge(&copy);
        assert_eq!(histogram.buckets[0], 4);
    }
}
