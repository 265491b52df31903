//! The receive side's reassembly buffer: data that arrived out of order, kept until the
//! application reads it in order.
//!
//! Data that continues the in-order prefix (the common case) is appended to one ring buffer
//! (`ready`): one copy in, one copy out, no allocation per packet once the ring has grown.
//! Data beyond a gap waits in `chunks`, keyed by offset, and moves into the ring when the
//! gap fills. Overlapping and duplicate data is stored once: only the parts not already
//! held are kept. Memory is therefore bounded by the span between the read offset and the
//! highest offset received, which flow control bounds by the advertised window (RFC 9000
//! §4.1); a frame beyond the window never reaches this buffer.

use std::collections::{BTreeMap, VecDeque};

/// A ring that empties keeps at most this much capacity, so idle streams stay small while a
/// busy one, which empties at every read, does not give its memory back and fault it in
/// again each time.
const KEEP_CAPACITY: usize = 4 << 20;

/// Out-of-order stream (or CRYPTO) data, addressed by offset.
#[derive(Debug, Default)]
pub(crate) struct RecvBuffer {
    /// In-order bytes from `read` to `end`, not yet read.
    ready: VecDeque<u8>,
    /// start offset -> bytes, beyond a gap: non-overlapping, all above `end`.
    chunks: BTreeMap<u64, Vec<u8>>,
    /// Offset of the next byte the application will read.
    read: u64,
    /// One past the in-order bytes held: `read + ready.len()`.
    end: u64,
    /// Bytes held in `chunks`.
    parked: usize,
}

impl RecvBuffer {
    /// Stores `data` received at `offset`, skipping what was read or is already held.
    /// Returns how many new bytes were stored.
    pub(crate) fn insert(&mut self, mut offset: u64, mut data: &[u8]) -> usize {
        let mut stored = 0;
        while !data.is_empty() {
            // What is below `end` was read or is in the ring already.
            if offset < self.end {
                let skip = (self.end - offset).min(data.len() as u64) as usize;
                data = &data[skip..];
                offset += skip as u64;
                continue;
            }
            if offset == self.end {
                // In order: append up to the next parked chunk, then pull in every chunk
                // that now continues the ring.
                let next = self.chunks.keys().next().copied().unwrap_or(u64::MAX);
                let take = (next - offset).min(data.len() as u64) as usize;
                self.ready.extend(&data[..take]);
                self.end += take as u64;
                stored += take;
                data = &data[take..];
                offset += take as u64;
                while let Some(entry) = self.chunks.first_entry() {
                    if *entry.key() != self.end {
                        break;
                    }
                    let chunk = entry.remove();
                    self.parked -= chunk.len();
                    self.end += chunk.len() as u64;
                    self.ready.extend(&chunk);
                }
                continue;
            }
            // Beyond a gap: a parked chunk covering `offset` trims the front.
            if let Some((&s, c)) = self.chunks.range(..=offset).next_back() {
                let end = s + c.len() as u64;
                if end > offset {
                    let skip = (end - offset).min(data.len() as u64) as usize;
                    data = &data[skip..];
                    offset += skip as u64;
                    continue;
                }
            }
            // Otherwise park up to the next chunk.
            let next = self
                .chunks
                .range(offset..)
                .next()
                .map_or(u64::MAX, |(&s, _)| s);
            let take = (next - offset).min(data.len() as u64) as usize;
            self.chunks.insert(offset, data[..take].to_vec());
            self.parked += take;
            stored += take;
            data = &data[take..];
            offset += take as u64;
        }
        stored
    }

    /// Offset of the next byte to read.
    pub(crate) fn read_offset(&self) -> u64 {
        self.read
    }

    /// Bytes held.
    pub(crate) fn buffered(&self) -> usize {
        self.ready.len() + self.parked
    }

    /// How many bytes are readable in order right now.
    pub(crate) fn readable(&self) -> u64 {
        self.end - self.read
    }

    /// Copies in-order data into `buf`; returns the count.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.ready.len());
        let (a, b) = self.ready.as_slices();
        let from_a = n.min(a.len());
        buf[..from_a].copy_from_slice(&a[..from_a]);
        buf[from_a..n].copy_from_slice(&b[..n - from_a]);
        self.ready.drain(..n);
        self.read += n as u64;
        self.shrink_if_empty();
        n
    }

    /// Takes every in-order byte, if any.
    pub(crate) fn read_chunk(&mut self) -> Option<Vec<u8>> {
        if self.ready.is_empty() {
            return None;
        }
        let chunk: Vec<u8> = self.ready.drain(..).collect();
        self.read += chunk.len() as u64;
        self.shrink_if_empty();
        Some(chunk)
    }

    fn shrink_if_empty(&mut self) {
        if self.ready.is_empty() && self.ready.capacity() > KEEP_CAPACITY {
            self.ready.shrink_to(KEEP_CAPACITY);
        }
    }

    /// Drops everything held (after a reset).
    pub(crate) fn clear(&mut self) {
        self.ready = VecDeque::new();
        self.chunks.clear();
        self.parked = 0;
        self.end = self.read;
    }
}

#[cfg(test)]
mod tests {
    use super::RecvBuffer;
    use proptest::prelude::*;

    #[test]
    fn reassembles_out_of_order_and_overlapping() {
        let mut b = RecvBuffer::default();
        assert_eq!(b.insert(6, b"world"), 5);
        assert_eq!(b.readable(), 0);
        assert_eq!(b.insert(0, b"hello wo"), 6);
        assert_eq!(b.buffered(), 11);
        let mut out = [0; 32];
        assert_eq!(b.read(&mut out), 11);
        assert_eq!(&out[..11], b"hello world");
        assert_eq!(b.insert(3, b"lo world"), 0, "everything already read");
    }

    proptest! {
        /// Any split, order and duplication of a byte string reassembles to that string,
        /// and the buffer never holds a byte twice.
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
                b.insert(s as u64, &data[s..e]);
                prop_assert!(b.buffered() <= data.len());
                let mut buf = [0; 7];
                let before = b.readable();
                let n = b.read(&mut buf);
                prop_assert_eq!(n as u64, before.min(7));
                out.extend_from_slice(&buf[..n]);
            }
            b.insert(0, &data);
            while let Some(c) = b.read_chunk() { out.extend_from_slice(&c); }
            prop_assert_eq!(out, data);
        }
    }
}
