//! A set of `u64` values kept as disjoint, non-adjacent half-open ranges.
//!
//! Used for received packet numbers (ACK generation), acknowledged stream offsets and
//! offsets awaiting retransmission. The ranges sit sorted in one ring buffer: lookups are
//! a binary search, and the common cases (extending the highest range, consuming the
//! lowest) touch one end in O(1) with no allocation once the buffer has grown. Inserting
//! or removing a range in the middle moves the shorter side, O(n) in the number of
//! ranges; callers that store peer-driven sets cap the range count with
//! [`RangeSet::pop_min`], which bounds that cost. The buffer shrinks when it is mostly
//! empty, so a set holds at most [`RangeSet::MEMORY_PER_RANGE`] bytes per range beyond
//! [`RangeSet::MEMORY_BASE`].

use std::collections::VecDeque;
use std::ops::Range;

/// Bytes of one stored range.
const ENTRY: usize = std::mem::size_of::<(u64, u64)>();
/// A buffer of at most this many entries is never shrunk.
const KEEP: usize = 16;

/// Disjoint ranges of `u64`, merged on insert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet {
    // (start, end exclusive), ascending; ranges never overlap or touch.
    ranges: VecDeque<(u64, u64)>,
}

impl RangeSet {
    /// Heap bytes a set may hold whatever its size (a small buffer is kept when it empties).
    pub const MEMORY_BASE: usize = KEEP * ENTRY;
    /// Heap bytes a set holds at most per range beyond [`Self::MEMORY_BASE`].
    pub const MEMORY_PER_RANGE: usize = 4 * ENTRY;

    /// An empty set.
    pub const fn new() -> Self {
        Self {
            ranges: VecDeque::new(),
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The number of disjoint ranges.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// The index of the last range starting at or below `value`, if any.
    fn last_at_or_below(&self, value: u64) -> Option<usize> {
        // Fast path: at or above the highest range's start (in-order arrival).
        match self.ranges.back() {
            None => return None,
            Some(&(s, _)) if s <= value => return Some(self.ranges.len() - 1),
            _ => {}
        }
        self.ranges
            .partition_point(|&(s, _)| s <= value)
            .checked_sub(1)
    }

    /// Adds `range`; returns whether any value in it was new.
    pub fn insert(&mut self, range: Range<u64>) -> bool {
        if range.is_empty() {
            return false;
        }
        let (mut start, mut end) = (range.start, range.end);
        // The first range that could merge: the last one starting at or below `start`
        // if it reaches `start`, else the one after it.
        let mut i = match self.last_at_or_below(start) {
            Some(i) if self.ranges[i].1 >= start => {
                let (s, e) = self.ranges[i];
                if e >= end {
                    return false;
                }
                start = s;
                i
            }
            Some(i) => i + 1,
            None => 0,
        };
        // Absorb every range from `i` that starts inside or right after.
        let first = i;
        while let Some(&(s, e)) = self.ranges.get(i) {
            if s > end {
                break;
            }
            end = end.max(e);
            i += 1;
        }
        match i - first {
            0 => self.ranges.insert(first, (start, end)),
            n => {
                self.ranges[first] = (start, end);
                self.ranges.drain(first + 1..first + n);
                self.settle();
            }
        }
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
        let mut i = match self.last_at_or_below(range.start) {
            Some(i) => {
                let (s, e) = self.ranges[i];
                if s < range.start && e > range.start {
                    // Cut the range that straddles the start; split it if it also
                    // straddles the end.
                    self.ranges[i].1 = range.start;
                    if e > range.end {
                        self.ranges.insert(i + 1, (range.end, e));
                        return;
                    }
                    i + 1
                } else if s < range.start {
                    i + 1
                } else {
                    i
                }
            }
            None => 0,
        };
        let first = i;
        while let Some(&(s, e)) = self.ranges.get(i) {
            if s >= range.end {
                break;
            }
            if e > range.end {
                self.ranges[i].0 = range.end;
                break;
            }
            i += 1;
        }
        self.ranges.drain(first..i);
        self.settle();
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: u64) -> bool {
        self.last_at_or_below(value)
            .is_some_and(|i| self.ranges[i].1 > value)
    }

    /// Whether every value of `range` is in the set.
    pub fn contains_range(&self, range: Range<u64>) -> bool {
        range.is_empty()
            || self
                .last_at_or_below(range.start)
                .is_some_and(|i| self.ranges[i].1 >= range.end)
    }

    /// How many values of `range` are in the set.
    pub fn overlap(&self, range: Range<u64>) -> u64 {
        if range.is_empty() {
            return 0;
        }
        let first = self.last_at_or_below(range.start).unwrap_or(0);
        self.ranges
            .range(first..)
            .take_while(|&&(s, _)| s < range.end)
            .map(|&(s, e)| e.min(range.end).saturating_sub(s.max(range.start)))
            .sum()
    }

    /// The smallest value, if any.
    pub fn min(&self) -> Option<u64> {
        self.ranges.front().map(|&(s, _)| s)
    }

    /// The largest value, if any.
    pub fn max(&self) -> Option<u64> {
        self.ranges.back().map(|&(_, e)| e - 1)
    }

    /// Removes and returns the lowest range.
    pub fn pop_min(&mut self) -> Option<Range<u64>> {
        let r = self.ranges.pop_front().map(|(s, e)| s..e);
        self.settle();
        r
    }

    /// Gives back most of a buffer that is three-quarters empty: its capacity stays within
    /// four entries per range, or [`KEEP`].
    fn settle(&mut self) {
        let (len, cap) = (self.ranges.len(), self.ranges.capacity());
        if cap > KEEP && len * 4 < cap {
            self.ranges.shrink_to((len * 2).max(KEEP));
        }
    }

    /// The lowest range, if any.
    pub fn first(&self) -> Option<Range<u64>> {
        self.ranges.front().map(|&(s, e)| s..e)
    }

    /// The ranges in ascending order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = Range<u64>> + ExactSizeIterator + Clone + '_ {
        self.ranges.iter().map(|&(s, e)| s..e)
    }

    /// Removes everything below `value`.
    pub fn remove_below(&mut self, value: u64) {
        self.remove(0..value);
    }

    /// Bytes of heap this set holds.
    pub fn memory(&self) -> usize {
        self.ranges.capacity() * std::mem::size_of::<(u64, u64)>()
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
            prop_assert_eq!(s.min(), model.first().copied());
            prop_assert_eq!(s.max(), model.last().copied());
            for v in 0..80 {
                prop_assert_eq!(s.contains(v), model.contains(&v));
                for len in [1u64, 3, 9] {
                    let held = (v..v + len).filter(|x| model.contains(x)).count() as u64;
                    prop_assert_eq!(s.overlap(v..v + len), held);
                    prop_assert_eq!(s.contains_range(v..v + len), held == len);
                }
            }
        }
    }
}
