//! The receive side's reassembly buffer: data that arrived out of order, kept until the
//! application reads it in order.
//!
//! Overlapping and duplicate data is stored once: only the parts not already held are
//! inserted. Memory is therefore bounded by the span between the read offset and the
//! highest offset received, which flow control bounds by the advertised window (RFC 9000
//! §4.1); a frame beyond the window never reaches this buffer.

use std::collections::BTreeMap;

/// Out-of-order stream (or CRYPTO) data, addressed by offset.
#[derive(Debug, Default)]
pub(crate) struct RecvBuffer {
    /// start offset -> bytes; non-overlapping, all at or above `read`.
    chunks: BTreeMap<u64, Vec<u8>>,
    /// Offset of the next byte the application will read.
    read: u64,
    /// Bytes held.
    buffered: usize,
    /// The end of the data held in order from `read`: `readable()` is `end - read`.
    /// Chunks link up only at exactly this offset (they never overlap), so keeping it
    /// costs O(1) per chunk instead of a walk over every chunk per call.
    end: u64,
}

impl RecvBuffer {
    /// Stores `data` received at `offset`, skipping what was read or is already held.
    /// Returns how many new bytes were stored.
    pub(crate) fn insert(&mut self, mut offset: u64, mut data: &[u8]) -> usize {
        if offset < self.read {
            let skip = (self.read - offset).min(data.len() as u64) as usize;
            data = &data[skip..];
            offset = self.read;
        }
        let mut stored = 0;
        while !data.is_empty() {
            // A held chunk covering `offset` trims the front.
            if let Some((&s, c)) = self.chunks.range(..=offset).next_back() {
                let end = s + c.len() as u64;
                if end > offset {
                    let skip = (end - offset).min(data.len() as u64) as usize;
                    data = &data[skip..];
                    offset += skip as u64;
                    continue;
                }
            }
            // Otherwise insert up to the next held chunk.
            let next = self
                .chunks
                .range(offset..)
                .next()
                .map_or(u64::MAX, |(&s, _)| s);
            let take = (next - offset).min(data.len() as u64) as usize;
            self.chunks.insert(offset, data[..take].to_vec());
            stored += take;
            data = &data[take..];
            offset += take as u64;
        }
        self.buffered += stored;
        while let Some(c) = self.chunks.get(&self.end) {
            self.end += c.len() as u64;
        }
        stored
    }

    /// Offset of the next byte to read.
    pub(crate) fn read_offset(&self) -> u64 {
        self.read
    }

    /// Bytes held.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// How many bytes are readable in order right now.
    pub(crate) fn readable(&self) -> u64 {
        self.end - self.read
    }

    /// Copies in-order data into `buf`; returns the count.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            let Some(mut entry) = self.chunks.first_entry() else {
                break;
            };
            if *entry.key() != self.read {
                break;
            }
            let chunk = entry.get_mut();
            let take = chunk.len().min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&chunk[..take]);
            n += take;
            self.read += take as u64;
            if take == chunk.len() {
                entry.remove();
            } else {
                let rest = chunk.split_off(take);
                entry.remove();
                self.chunks.insert(self.read, rest);
            }
        }
        self.buffered -= n;
        n
    }

    /// Takes the next in-order chunk whole, if any.
    pub(crate) fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let entry = self.chunks.first_entry()?;
        if *entry.key() != self.read {
            return None;
        }
        let chunk = entry.remove();
        self.read += chunk.len() as u64;
        self.buffered -= chunk.len();
        Some(chunk)
    }

    /// Drops everything held (after a reset).
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.buffered = 0;
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
