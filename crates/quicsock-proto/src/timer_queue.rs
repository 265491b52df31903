//! The deadlines of many connections: an indexed binary min-heap with one entry per key.
//!
//! An endpoint's owner keeps each connection's next deadline here, so that its next
//! wake-up is found in O(1) ([`TimerQueue::next`]) and only connections whose deadlines
//! passed are visited ([`TimerQueue::pop_due`], O(log n) each). Setting or cancelling a
//! key's deadline is O(log n) and never leaves a stale entry behind: the heap holds exactly
//! one entry per armed key, so its memory is bounded by the number of connections however
//! often their deadlines move (an idle timer is pushed back on every packet).
//!
//! A heap rather than a hashed timer wheel: deadlines stay exact (pacing asks for
//! sub-millisecond ones, a wheel rounds them to its tick), nothing cascades, there is no
//! horizon past which far deadlines need special handling, and 10,000 connections are
//! 14 levels deep.

use crate::time::Timestamp;

/// Not in the heap.
const ABSENT: usize = usize::MAX;

/// Deadlines keyed by small integers (connection handles).
#[derive(Debug, Default, Clone)]
pub struct TimerQueue {
    /// (deadline, key), a min-heap on the deadline, ties broken by key.
    heap: Vec<(Timestamp, usize)>,
    /// The position of each key in `heap`, or [`ABSENT`].
    pos: Vec<usize>,
}

impl TimerQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys armed.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// No key armed.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The deadline of `key`, if armed.
    pub fn get(&self, key: usize) -> Option<Timestamp> {
        let p = *self.pos.get(key)?;
        (p != ABSENT).then(|| self.heap[p].0)
    }

    /// Arms `key` for `deadline`, or cancels it with `None`; replaces its earlier deadline.
    pub fn set(&mut self, key: usize, deadline: Option<Timestamp>) {
        if self.pos.len() <= key {
            self.pos.resize(key + 1, ABSENT);
        }
        let p = self.pos[key];
        match (p == ABSENT, deadline) {
            (true, None) => {}
            (true, Some(t)) => {
                self.heap.push((t, key));
                let last = self.heap.len() - 1;
                self.pos[key] = last;
                self.sift_up(last);
            }
            (false, Some(t)) => {
                let old = self.heap[p].0;
                self.heap[p].0 = t;
                if (t, key) < (old, key) {
                    self.sift_up(p);
                } else {
                    self.sift_down(p);
                }
            }
            (false, None) => self.remove_at(p),
        }
    }

    /// The earliest deadline and its key.
    pub fn next(&self) -> Option<(Timestamp, usize)> {
        self.heap.first().copied()
    }

    /// Removes and returns a key whose deadline is at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<usize> {
        let &(t, key) = self.heap.first()?;
        if t > now {
            return None;
        }
        self.remove_at(0);
        Some(key)
    }

    fn remove_at(&mut self, p: usize) {
        self.pos[self.heap[p].1] = ABSENT;
        self.heap.swap_remove(p);
        if p < self.heap.len() {
            // The entry moved into the hole may belong above or below it.
            self.pos[self.heap[p].1] = p;
            if p > 0 && self.heap[p] < self.heap[(p - 1) / 2] {
                self.sift_up(p);
            } else {
                self.sift_down(p);
            }
        }
    }

    fn sift_up(&mut self, mut p: usize) {
        while p > 0 {
            let parent = (p - 1) / 2;
            if self.heap[p] >= self.heap[parent] {
                break;
            }
            self.swap(p, parent);
            p = parent;
        }
    }

    fn sift_down(&mut self, mut p: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * p + 1, 2 * p + 2);
            let mut least = p;
            if l < n && self.heap[l] < self.heap[least] {
                least = l;
            }
            if r < n && self.heap[r] < self.heap[least] {
                least = r;
            }
            if least == p {
                return;
            }
            self.swap(p, least);
            p = least;
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a].1] = a;
        self.pos[self.heap[b].1] = b;
    }

    /// Checks the heap property and the position index (tests).
    #[cfg(test)]
    fn check(&self) {
        for (i, &(_, k)) in self.heap.iter().enumerate() {
            assert_eq!(self.pos[k], i);
            if i > 0 {
                assert!(self.heap[(i - 1) / 2] <= self.heap[i]);
            }
        }
        let armed = self.pos.iter().filter(|p| **p != ABSENT).count();
        assert_eq!(armed, self.heap.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRandom;
    use std::time::Duration;

    fn at(ms: u64) -> Timestamp {
        Timestamp::ZERO + Duration::from_millis(ms)
    }

    fn drain(q: &mut TimerQueue, now: Timestamp) -> Vec<usize> {
        std::iter::from_fn(|| q.pop_due(now)).collect()
    }

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let mut q = TimerQueue::new();
        for (k, ms) in [(0, 30), (1, 10), (2, 20), (3, 10)] {
            q.set(k, Some(at(ms)));
        }
        assert_eq!(q.next(), Some((at(10), 1)));
        assert_eq!(q.pop_due(at(9)), None);
        // Ties leave in key order.
        assert_eq!(drain(&mut q, at(20)), vec![1, 3, 2]);
        assert_eq!(q.len(), 1);
        assert_eq!(drain(&mut q, at(1000)), vec![0]);
        assert!(q.is_empty());
    }

    #[test]
    fn cancelling_and_moving_a_deadline_leave_one_entry() {
        let mut q = TimerQueue::new();
        q.set(5, Some(at(50)));
        q.set(6, Some(at(60)));
        q.set(7, Some(at(70)));
        q.set(6, None);
        q.set(6, None);
        assert_eq!(q.get(6), None);
        assert_eq!(q.len(), 2);
        // Pushed back a thousand times (an idle timer on every packet): still one entry.
        for i in 0..1000 {
            q.set(5, Some(at(100 + i)));
        }
        assert_eq!(q.len(), 2);
        assert_eq!(q.get(5), Some(at(1099)));
        q.set(5, Some(at(1)));
        assert_eq!(drain(&mut q, at(1000)), vec![5, 7]);
        q.check();
    }

    #[test]
    fn far_deadlines_sort_after_near_ones() {
        let mut q = TimerQueue::new();
        let far = Timestamp::ZERO + Duration::from_secs(365 * 24 * 3600 * 500);
        q.set(0, Some(far));
        q.set(1, Some(at(u64::MAX / 2_000_000)));
        q.set(2, Some(at(1)));
        assert_eq!(drain(&mut q, at(2)), vec![2]);
        assert_eq!(q.next().map(|(_, k)| k), Some(1));
        assert_eq!(drain(&mut q, far), vec![1, 0]);
    }

    #[test]
    fn keys_are_reused_after_they_fire() {
        let mut q = TimerQueue::new();
        q.set(3, Some(at(5)));
        assert_eq!(q.pop_due(at(5)), Some(3));
        assert_eq!(q.get(3), None);
        q.set(3, Some(at(7)));
        assert_eq!(q.pop_due(at(7)), Some(3));
    }

    /// Random sets, cancels and pops against a sorted model.
    #[test]
    fn matches_a_model_under_random_operations() {
        let mut rng = SeededRandom::new(7);
        let mut q = TimerQueue::new();
        let mut model: Vec<Option<Timestamp>> = vec![None; 64];
        let mut now = Timestamp::ZERO;
        for _ in 0..20_000 {
            let k = (rng.next_u64() % 64) as usize;
            match rng.next_u64() % 4 {
                0 => {
                    q.set(k, None);
                    model[k] = None;
                }
                1 => {
                    now += Duration::from_micros(rng.next_u64() % 500);
                    let mut due: Vec<(Timestamp, usize)> = model
                        .iter()
                        .enumerate()
                        .filter_map(|(k, t)| t.filter(|t| *t <= now).map(|t| (t, k)))
                        .collect();
                    due.sort();
                    let got = drain(&mut q, now);
                    assert_eq!(got, due.iter().map(|(_, k)| *k).collect::<Vec<_>>());
                    for (_, k) in due {
                        model[k] = None;
                    }
                }
                _ => {
                    let t = now + Duration::from_micros(rng.next_u64() % 10_000);
                    q.set(k, Some(t));
                    model[k] = Some(t);
                }
            }
            q.check();
            assert_eq!(q.len(), model.iter().flatten().count());
        }
    }
}
