//! A keyed tally whose memory has a ceiling: when more distinct keys arrive than it may hold, the
//! least-counted half is folded into one `(other)` entry. Frequent keys keep exact statistics; a key
//! folded away and seen again starts over, so figures for rare keys are lower bounds.
//!
//! Keys are hashed with FxHash rather than SipHash: a tally is looked up several times per queued
//! message, and it never holds more than `capacity` keys, so crafted collisions cannot cost much.

use rustc_hash::FxHashMap;

/// The key of the entry that collects folded keys.
pub const OTHER_KEY: &str = "(other)";

/// Statistics that can be combined, and say how much they weigh for ranking.
pub trait Mergeable: Default {
    fn merge(&mut self, other: &Self);
    fn weight(&self) -> u64;
}

#[derive(Debug, Clone)]
pub struct BoundedTally<V> {
    entries: FxHashMap<String, V>,
    other: Option<V>,
    capacity: usize,
    folded_keys: u64,
}

impl<V: Mergeable> BoundedTally<V> {
    /// At most `capacity` distinct keys (at least 2) are kept apart.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: FxHashMap::default(),
            other: None,
            capacity: capacity.max(2),
            folded_keys: 0,
        }
    }

    /// The entry for `key`, created (after folding, when full) if it is new.
    pub fn entry(&mut self, key: &str) -> &mut V {
        if !self.entries.contains_key(key) {
            if self.entries.len() >= self.capacity {
                self.fold_least_counted();
            }
            self.entries.insert(key.to_string(), V::default());
        }
        self.entries
            .get_mut(key)
            .expect("the entry was just ensured")
    }

    /// How many distinct keys were folded into `(other)` so far.
    pub fn folded_keys(&self) -> u64 {
        self.folded_keys
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.other.is_none()
    }

    /// The heaviest entries first (ties by key), `(other)` last when anything was folded.
    pub fn ranked(&self) -> Vec<(&str, &V)> {
        let mut ranked: Vec<(&str, &V)> = self
            .entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
            .collect();
        ranked.sort_by(|a, b| b.1.weight().cmp(&a.1.weight()).then_with(|| a.0.cmp(b.0)));
        if let Some(other) = &self.other {
            ranked.push((OTHER_KEY, other));
        }
        ranked
    }

    /// Folds half the entries, the least counted first, into `(other)` (no key is copied).
    fn fold_least_counted(&mut self) {
        let to_fold = self.capacity / 2;
        let mut weights: Vec<u64> = self.entries.values().map(Mergeable::weight).collect();
        if weights.is_empty() {
            return;
        }
        let index = to_fold.min(weights.len() - 1);
        let (_, &mut threshold, _) = weights.select_nth_unstable(index);
        // Everything lighter than the threshold goes; ties at the threshold go until enough have.
        let lighter = weights.iter().filter(|&&w| w < threshold).count();
        let mut ties_to_fold = to_fold.saturating_sub(lighter);
        let other = self.other.get_or_insert_with(V::default);
        let mut folded = 0;
        self.entries.retain(|_, value| {
            let weight = value.weight();
            let fold = weight < threshold || (weight == threshold && ties_to_fold > 0);
            if fold {
                if weight == threshold {
                    ties_to_fold -= 1;
                }
                other.merge(value);
                folded += 1;
            }
            !fold
        });
        self.folded_keys += folded;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct Count(u64);

    impl Mergeable for Count {
        fn merge(&mut self, other: &Self) {
            self.0 += other.0;
        }
        fn weight(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn keeps_heavy_keys_and_folds_the_rest() {
        let mut tally: BoundedTally<Count> = BoundedTally::new(4);
        for _ in 0..10 {
            tally.entry("big").0 += 1;
        }
        for key in ["a", "b", "c", "d", "e", "f"] {
            tally.entry(key).0 += 1;
        }
        assert!(tally.len() <= 4);
        let ranked = tally.ranked();
        assert_eq!(ranked[0], ("big", &Count(10)));
        let total: u64 = ranked.iter().map(|(_, c)| c.0).sum();
        assert_eq!(total, 16, "folding loses no counts");
        assert_eq!(ranked.last().map(|(key, _)| *key), Some(OTHER_KEY));
        assert!(tally.folded_keys() >= 2);
    }
}
