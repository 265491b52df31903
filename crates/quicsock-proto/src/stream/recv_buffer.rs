//! The receive side's reassembly buffer (RFC 9000 §2.2, §19.6, §19.8): stream or CRYPTO data
//! in any order, kept until the application reads it in order.
//!
//! In-order data that arrives while nothing else waits in order (the common case of a
//! bulk transfer) is not copied: the buffer keeps a slice of the opened packet it came in
//! (`shared`, a [`Bytes`] of the receive buffer the datagram was read into) and the
//! application's read is the only copy of those bytes. Everything else lives in one ring
//! (`ring`) that spans from the end of the shared slices to the highest offset received.
//! Data that continues the in-order prefix is appended; data beyond a gap is written in
//! place at its offset, the gap held as zeros, and an assembler (`ranges`, disjoint
//! received ranges above the in-order end) records what is real. When a gap fills, the
//! in-order end jumps past every range it now touches: nothing moves. A byte in the ring
//! costs one copy in and one copy out, with no allocation per fragment.
//!
//! A slice pins the whole receive buffer its datagram was read into, so the buffer counts
//! the runs of slices from one buffer (`runs`) and the stream layer shares only while the
//! connection pins fewer than its cap; short data ([`SHARE_MIN`]) is always copied.
//!
//! Memory: the ring spans at most the flow-control window (RFC 9000 §4.1; a frame beyond
//! the window never reaches this buffer), so its capacity is below twice the window, plus
//! [`RANGE_COST`] bytes for each of at most [`MAX_RANGES`] ranges whatever the
//! fragmentation (RFC 9000 §21.7). A peer that would need more ranges gets
//! [`TooFragmented`] and the caller closes the connection.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};

use crate::common::RangeSet;

/// In-order data shorter than this is copied into the ring rather than kept as a slice of
/// its packet, unless the slice before it is from the same receive buffer: a slice pins a
/// whole buffer, and a short one is cheap to copy.
pub const SHARE_MIN: usize = 512;

/// Received data the buffer may keep by reference instead of copying: `owner` is the
/// opened packet that holds it, `pin` names the receive buffer that packet was read into
/// (equal pins, one buffer).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Share<'a> {
    pub(crate) owner: &'a Bytes,
    pub(crate) pin: u64,
}

/// A ring that empties keeps at most this much capacity, so idle streams stay small while a
/// busy one, which empties at every read, does not give its memory back and fault it in
/// again each time.
const KEEP_CAPACITY: usize = 4 << 20;

/// Disjoint out-of-order ranges one buffer tracks at most (quinn and ngtcp2 cap theirs at
/// 1,024 and 4,000). A sender that loses packets leaves one gap per lost packet, so this
/// covers loss of 1,024 packets inside one stream's window.
pub const MAX_RANGES: usize = 1024;

/// Disjoint out-of-order ranges of one level's CRYPTO data at most. A ClientHello split
/// into a handful of shuffled CRYPTO frames (Chrome's "chaos protection" does so) needs a
/// few; a half-open connection is worth no more.
pub const CRYPTO_MAX_RANGES: usize = 64;

/// The bytes one tracked range costs at most (its share of the range set's buffer).
pub const RANGE_COST: usize = RangeSet::MEMORY_PER_RANGE;

/// The data is split into more disjoint ranges than [`MAX_RANGES`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TooFragmented;

/// Stream (or CRYPTO) data, addressed by offset.
#[derive(Debug, Default)]
pub(crate) struct RecvBuffer {
    /// In-order data from `read`, kept as slices of the packets it came in, each with the
    /// pin of its receive buffer.
    shared: VecDeque<(Bytes, u64)>,
    /// Bytes in `shared`.
    shared_len: usize,
    /// Runs of consecutive slices from one receive buffer in `shared` (the buffers they pin).
    runs: usize,
    /// The bytes from `read + shared_len` to the highest offset received: in order up to
    /// `end`, then written in place where `ranges` says data arrived, zeros in the gaps.
    ring: VecDeque<u8>,
    /// Received ranges above `end`; none touches `end`.
    ranges: RangeSet,
    /// Offset of the next byte the application will read.
    read: u64,
    /// One past the in-order bytes.
    end: u64,
    /// Bytes held in `ranges`.
    parked: u64,
}

impl RecvBuffer {
    /// Stores `data` received at `offset`, skipping what was read or is already held.
    /// Returns how many new bytes were stored, or [`TooFragmented`] (storing nothing) if
    /// the data would open a gap beyond [`MAX_RANGES`].
    #[cfg(test)]
    pub(crate) fn insert(&mut self, offset: u64, data: &[u8]) -> Result<usize, TooFragmented> {
        self.insert_within(offset, data, MAX_RANGES, None)
    }

    /// As [`insert`](Self::insert); in-order data that arrives while the ring holds
    /// nothing in order is kept as a slice of `share`'s packet (which `data` must lie in)
    /// instead of being copied, if it is [`SHARE_MIN`] bytes or more or its receive buffer
    /// is pinned already.
    pub(crate) fn insert_shared(
        &mut self,
        offset: u64,
        data: &[u8],
        share: Option<Share<'_>>,
    ) -> Result<usize, TooFragmented> {
        self.insert_within(offset, data, MAX_RANGES, share)
    }

    /// As [`insert`](Self::insert), with at most `max_ranges` gaps.
    pub(crate) fn insert_within(
        &mut self,
        offset: u64,
        data: &[u8],
        max_ranges: usize,
        share: Option<Share<'_>>,
    ) -> Result<usize, TooFragmented> {
        // What is below `end` was read or is in order already.
        let skip = self.end.saturating_sub(offset).min(data.len() as u64) as usize;
        let (offset, data) = (offset + skip as u64, &data[skip..]);
        if data.is_empty() {
            return Ok(0);
        }
        let stop = offset + data.len() as u64;
        let new = if offset == self.end {
            let held = self.ranges.overlap(offset..stop);
            // Short data is shared only from a buffer already pinned.
            let worth = |s: &Share<'_>| {
                data.len() >= SHARE_MIN || self.shared.back().is_some_and(|b| b.1 == s.pin)
            };
            match share.filter(|s| self.end == self.ring_base() && worth(s)) {
                Some(share) => {
                    self.keep(data, share);
                    // The ring starts after the slice: what it held there (out-of-order
                    // copies of these bytes, or the zeros of a gap) goes.
                    let n = data.len().min(self.ring.len());
                    self.ring.drain(..n);
                    self.absorb(stop);
                    return Ok((stop - offset - held) as usize);
                }
                None => self.absorb(stop),
            }
            stop - offset - held
        } else {
            let held = self.ranges.overlap(offset..stop);
            let touches = held > 0
                || self.ranges.contains(offset.saturating_sub(1))
                || self.ranges.contains(stop);
            if !touches && self.ranges.len() >= max_ranges {
                return Err(TooFragmented);
            }
            self.ranges.insert(offset..stop);
            let new = stop - offset - held;
            self.parked += new;
            new
        };
        self.write_at(offset, data);
        Ok(new as usize)
    }

    /// Moves the in-order end to `stop` and past every range it now reaches.
    fn absorb(&mut self, stop: u64) {
        self.end = stop;
        while let Some(r) = self.ranges.first().filter(|r| r.start <= self.end) {
            self.ranges.pop_min();
            self.parked -= r.end - r.start;
            self.end = self.end.max(r.end);
        }
    }

    /// Keeps `data` (in order, at the ring's base) as a slice of `share`'s packet.
    fn keep(&mut self, data: &[u8], share: Share<'_>) {
        if self.shared.back().map(|s| s.1) != Some(share.pin) {
            self.runs += 1;
        }
        self.shared
            .push_back((share.owner.slice_ref(data), share.pin));
        self.shared_len += data.len();
    }

    /// The offset of the ring's first byte (the shared slices come before it).
    fn ring_base(&self) -> u64 {
        self.read + self.shared_len as u64
    }

    /// Writes `data` at absolute `offset`, growing the ring to reach its end.
    fn write_at(&mut self, offset: u64, data: &[u8]) {
        let pos = (offset - self.ring_base()) as usize;
        let len = self.ring.len();
        if pos == len {
            self.ring.extend(data);
            return;
        }
        if pos > len {
            self.ring.resize(pos, 0);
            self.ring.extend(data);
            return;
        }
        let inside = (len - pos).min(data.len());
        let (a, b) = self.ring.as_mut_slices();
        let (mut src, mut p) = (&data[..inside], pos);
        if p < a.len() {
            let n = (a.len() - p).min(src.len());
            a[p..p + n].copy_from_slice(&src[..n]);
            src = &src[n..];
            p = a.len();
        }
        let p = p - a.len();
        b[p..p + src.len()].copy_from_slice(src);
        self.ring.extend(&data[inside..]);
    }

    /// Offset of the next byte to read.
    pub(crate) fn read_offset(&self) -> u64 {
        self.read
    }

    /// Bytes of data held (in order and beyond gaps).
    pub(crate) fn buffered(&self) -> usize {
        (self.end - self.read + self.parked) as usize
    }

    /// The bytes of memory this buffer holds: the ring's capacity and the range table.
    /// (Shared slices are counted as the receive buffers they pin: [`pins`](Self::pins).)
    pub(crate) fn memory(&self) -> usize {
        self.ring.capacity() + self.ranges.memory()
    }

    /// How many receive buffers the shared slices pin (runs of slices from one buffer).
    pub(crate) fn pins(&self) -> usize {
        self.runs
    }

    /// Bytes held as slices of received packets.
    pub(crate) fn shared_len(&self) -> usize {
        self.shared_len
    }

    /// The number of disjoint ranges waiting beyond a gap.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn gaps(&self) -> usize {
        self.ranges.len()
    }

    /// How many bytes are readable in order right now.
    pub(crate) fn readable(&self) -> u64 {
        self.end - self.read
    }

    /// Copies in-order data into `buf`; returns the count.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = self.peek(buf);
        self.discard(n);
        n
    }

    /// Copies in-order data into `buf` without consuming it (MSG_PEEK); returns the count.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.readable() as usize);
        let mut done = 0;
        for (slice, _) in &self.shared {
            if done == n {
                break;
            }
            let k = slice.len().min(n - done);
            buf[done..done + k].copy_from_slice(&slice[..k]);
            done += k;
        }
        let (a, b) = self.ring.as_slices();
        let rest = &mut buf[done..n];
        let from_a = rest.len().min(a.len());
        rest[..from_a].copy_from_slice(&a[..from_a]);
        let from_b = rest.len() - from_a;
        rest[from_a..].copy_from_slice(&b[..from_b]);
        n
    }

    /// Drops the first `n` in-order bytes (copied out already): shared slices first, then
    /// the ring. A read drops its slices after all its copying: dropping one is an atomic
    /// operation, which waits for the stores before it, and one wait for the whole read is
    /// cheaper than one per slice.
    fn discard(&mut self, n: usize) {
        let from_shared = n.min(self.shared_len);
        let (mut left, mut whole) = (from_shared, 0);
        while let Some((slice, _)) = self.shared.get(whole).filter(|(s, _)| s.len() <= left) {
            left -= slice.len();
            whole += 1;
        }
        if whole > 0 {
            let last = self.shared[whole - 1].1;
            let mut pin = None;
            for (_, p) in self.shared.drain(..whole) {
                if pin != Some(p) {
                    self.runs -= 1;
                    pin = Some(p);
                }
            }
            // The last run read goes on if the next slice is from its buffer.
            if self.shared.front().is_some_and(|s| s.1 == last) {
                self.runs += 1;
            }
        }
        if left > 0 {
            self.shared[0].0.advance(left);
        }
        self.shared_len -= from_shared;
        self.read += from_shared as u64;
        self.consume(n - from_shared);
    }

    /// Takes every in-order byte, if any.
    pub(crate) fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let n = self.readable() as usize;
        if n == 0 {
            return None;
        }
        let mut chunk = vec![0; n];
        self.read(&mut chunk);
        Some(chunk)
    }

    /// Drops `n` bytes from the front of the ring (the shared slices are gone).
    fn consume(&mut self, n: usize) {
        debug_assert!(self.shared.is_empty() || n == 0);
        self.ring.drain(..n);
        self.read += n as u64;
        if self.ring.is_empty() && self.ring.capacity() > KEEP_CAPACITY {
            self.ring.shrink_to(KEEP_CAPACITY);
        }
    }

    /// Gives back the buffer of a stream with nothing held (a quiet one; an active one
    /// keeps up to `KEEP_CAPACITY` between reads).
    pub(crate) fn release_if_empty(&mut self) {
        if self.ring.is_empty() {
            self.ring = VecDeque::new();
        }
        if self.shared.is_empty() {
            self.shared = VecDeque::new();
        }
    }

    /// Drops everything held (after a reset).
    pub(crate) fn clear(&mut self) {
        self.shared = VecDeque::new();
        self.shared_len = 0;
        self.runs = 0;
        self.ring = VecDeque::new();
        self.ranges = RangeSet::new();
        self.parked = 0;
        self.end = self.read;
    }
}

#[cfg(test)]
mod tests {
    use super::{Bytes, RangeSet, RecvBuffer, Share, MAX_RANGES, RANGE_COST};
    use proptest::prelude::*;

    #[test]
    fn reassembles_out_of_order_and_overlapping() {
        let mut b = RecvBuffer::default();
        assert_eq!(b.insert(6, b"world"), Ok(5));
        assert_eq!(b.readable(), 0);
        assert_eq!(b.insert(0, b"hello wo"), Ok(6));
        assert_eq!(b.buffered(), 11);
        let mut out = [0; 32];
        assert_eq!(b.read(&mut out), 11);
        assert_eq!(&out[..11], b"hello world");
        assert_eq!(b.insert(3, b"lo world"), Ok(0), "everything already read");
    }

    #[test]
    fn gaps_past_the_cap_are_refused_but_filling_them_is_not() {
        let mut b = RecvBuffer::default();
        for i in 0..MAX_RANGES as u64 {
            assert_eq!(b.insert(2 * i + 1, b"x"), Ok(1));
        }
        assert_eq!(b.gaps(), MAX_RANGES);
        let far = 2 * MAX_RANGES as u64 + 1;
        assert_eq!(b.insert(far, b"y"), Err(super::TooFragmented));
        // Data touching a held range, or filling a gap, still goes in.
        assert_eq!(b.insert(far - 1, b"z"), Ok(1));
        assert_eq!(b.insert(0, b"a"), Ok(1));
        assert_eq!(b.gaps(), MAX_RANGES - 1);
        assert!(b.memory() <= 2 * (far as usize) + MAX_RANGES * RANGE_COST + 64);
    }

    proptest! {
        /// Any split, order and duplication of a byte string reassembles to that string,
        /// the buffer never holds a byte twice, and its memory stays within twice the span
        /// plus the range table.
        #[test]
        fn reassembly_matches_the_source(
            data in proptest::collection::vec(any::<u8>(), 1..256),
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), 1usize..40), 1..40),
        ) {
            let mut b = RecvBuffer::default();
            let mut out = Vec::new();
            for (start, len) in &cuts {
                let s = start.index(data.len());
                let e = (s + len).min(data.len());
                b.insert(s as u64, &data[s..e]).unwrap();
                prop_assert!(b.buffered() <= data.len());
                prop_assert!(b.memory() <= 2 * data.len() + 64 + RangeSet::MEMORY_BASE + b.gaps() * RANGE_COST);
                let mut buf = [0; 7];
                let before = b.readable();
                let n = b.read(&mut buf);
                prop_assert_eq!(n as u64, before.min(7));
                out.extend_from_slice(&buf[..n]);
            }
            b.insert(0, &data).unwrap();
            while let Some(c) = b.read_chunk() { out.extend_from_slice(&c); }
            prop_assert_eq!(out, data);
        }

        /// The same with long fragments, some kept as slices of their packets (with pins
        /// that change as the offset grows): the bytes come back in order, nothing is held
        /// twice, and the pins count the runs of slices.
        #[test]
        fn shared_reassembly_matches_the_source(
            data in proptest::collection::vec(any::<u8>(), 1..20_000),
            cuts in proptest::collection::vec(
                (any::<prop::sample::Index>(), 1usize..3000, any::<bool>(), 0usize..5000),
                1..60,
            ),
        ) {
            let mut b = RecvBuffer::default();
            let mut out = Vec::new();
            for (start, len, share, read) in &cuts {
                let s = start.index(data.len());
                let e = (s + len).min(data.len());
                let packet = Bytes::copy_from_slice(&data[s..e]);
                let share = share.then_some(Share { owner: &packet, pin: s as u64 >> 12 });
                let before = b.buffered();
                let n = b.insert_shared(s as u64, &packet, share).unwrap();
                prop_assert_eq!(b.buffered(), before + n);
                prop_assert!(b.buffered() <= data.len());
                prop_assert!(b.shared_len() <= b.readable() as usize);
                prop_assert_eq!(b.pins() == 0, b.shared_len() == 0);
                let mut buf = vec![0; *read];
                let mut peeked = vec![0; *read];
                let before = b.readable();
                let p = b.peek(&mut peeked);
                prop_assert_eq!(b.readable(), before, "a peek consumes nothing");
                let n = b.read(&mut buf);
                prop_assert_eq!(&peeked[..p], &buf[..n]);
                prop_assert_eq!(n as u64, before.min(*read as u64));
                out.extend_from_slice(&buf[..n]);
            }
            b.insert(0, &data).unwrap();
            while let Some(c) = b.read_chunk() { out.extend_from_slice(&c); }
            prop_assert_eq!(out, data);
            prop_assert_eq!((b.pins(), b.shared_len()), (0, 0));
        }
    }
}
