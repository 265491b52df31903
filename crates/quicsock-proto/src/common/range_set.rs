//! A set of `u64` values kept as disjoint, non-adjacent half-open ranges.
//!
//! Used for received packet numbers (ACK generation), acknowledged stream offsets and
//! offsets awaiting retransmission. Operations are O(log n) in the number of ranges; callers
//! that store peer-driven sets cap the range count with [`RangeSet::pop_min`].

use std::collections::BTreeMap;
use std::ops::Range;

/// Disjoint ranges of `u64`, merged on insert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet {
    // start -> end (exclusive); ranges never overlap or touch.
    map: BTreeMap<u64, u64>,
}

impl RangeSet {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            map: BTreeMap::new(),
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of disjoint ranges.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Adds `range`; returns whether any value in it was new.
    pub fn insert(&mut self, range: Range<u64>) -> bool {
        if range.is_empty() {
            return false;
        }
        let (mut start, mut end) = (range.start, range.end);
        if self.contains_range(start..end) {
            return false;
        }
        // Merge with a predecessor that overlaps or touches.
        if let Some((&s, &e)) = self.map.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
                self.map.remove(&s);
            }
        }
        // Merge with successors that start inside or right after.
        while let Some((&s, &e)) = self.map.range(start..).next() {
            if s > end {
                break;
            }
            end = end.max(e);
            self.map.remove(&s);
        }
        self.map.insert(start, end);
        true
    }

    /// Adds one value; returns whether it was new.
    pub fn insert_one(&mut self, value: u64) -> bool {
        self.insert(value..value.saturating_add(1))
    }

    /// Removes `range` from the set.
    pub fn remove(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        if let Some((&s, &e)) = self.map.range(..range.start).next_back() {
            if e > range.start {
                self.map.insert(s, range.start);
                if e > range.end {
                    self.map.insert(range.end, e);
                    return;
                }
            }
        }
        while let Some((&s, &e)) = self.map.range(range.start..range.end).next() {
            self.map.remove(&s);
            if e > range.end {
                self.map.insert(range.end, e);
                break;
            }
        }
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: u64) -> bool {
        self.map
            .range(..=value)
            .next_back()
            .is_some_and(|(_, &e)| e > value)
    }

    /// Whether every value of `range` is in the set.
    pub fn contains_range(&self, range: Range<u64>) -> bool {
        range.is_empty()
            || self
                .map
                .range(..=range.start)
                .next_back()
                .is_some_and(|(_, &e)| e >= range.end)
    }

    /// How many values of `range` are in the set.
    pub fn overlap(&self, range: Range<u64>) -> u64 {
        if range.is_empty() {
            return 0;
        }
        let first = self
            .map
            .range(..range.start)
            .next_back()
            .map_or(range.start, |(&s, _)| s);
        self.map
            .range(first..range.end)
            .map(|(&s, &e)| e.min(range.end).saturating_sub(s.max(range.start)))
            .sum()
    }

    /// The smallest value, if any.
    pub fn min(&self) -> Option<u64> {
        self.map.keys().next().copied()
    }

    /// The largest value, if any.
    pub fn max(&self) -> Option<u64> {
        self.map.values().next_back().map(|e| e - 1)
    }

    /// Removes and returns the lowest range.
    pub fn pop_min(&mut self) -> Option<Range<u64>> {
        self.map.pop_first().map(|(s, e)| s..e)
    }

    /// The lowest range, if any.
    pub fn first(&self) -> Option<Range<u64>> {
        self.map.iter().next().map(|(&s, &e)| s..e)
    }

    /// The ranges in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Range<u64>> + '_ {
        self.map.iter().map(|(&s, &e)| s..e)
    }

    /// Removes everything below `value`.
    pub fn remove_below(&mut self, value: u64) {
        self.remove(0..value);
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSet;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn merges_and_splits() {
        let mut s = RangeSet::new();
        assert!(s.insert(5..10));
        assert!(s.insert(10..12));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![5..12]);
        assert!(!s.insert(6..8));
        assert!(s.insert(0..2));
        s.remove(7..9);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0..2, 5..7, 9..12]);
        assert_eq!((s.min(), s.max()), (Some(0), Some(11)));
        assert!(s.contains(9) && !s.contains(8) && s.contains_range(5..7));
    }

    proptest! {
        /// The set behaves as the set of its values, and its ranges stay disjoint and
        /// non-adjacent.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec((any::<bool>(), 0u64..64, 0u64..8), 1..64)) {
            let mut s = RangeSet::new();
            let mut model = BTreeSet::new();
            for (add, start, len) in ops {
                if add {
                    let new = (start..start + len).any(|v| !model.contains(&v));
                    prop_assert_eq!(s.insert(start..start + len), new);
                    model.extend(start..start + len);
                } else {
                    s.remove(start..start + len);
                    for v in start..start + len { model.remove(&v); }
                }
            }
            let values: BTreeSet<u64> = s.iter().flatten().collect();
            prop_assert_eq!(&values, &model);
            let ranges: Vec<_> = s.iter().collect();
            for w in ranges.windows(2) {
                prop_assert!(w[0].end < w[1].start);
            }
        }
    }
}
