//! The send side's byte store: what the application wrote and the peer has not yet
//! acknowledged, with what is unsent and what must be sent again.
//!
//! Passes over the data: the application's bytes are copied in once ([`SendBuffer::write`]);
//! packet building reads them back by offset ([`SendBuffer::get`]) to seal them into a
//! datagram, again after a loss, and frees them once acknowledged.

use std::collections::VecDeque;
use std::ops::Range;

use crate::common::RangeSet;

/// The size of every chunk but the last: writes fill the last chunk and go on in a new one,
/// so a stream of small writes does not cost one allocation each.
const CHUNK: usize = 64 * 1024;
/// Freed chunks kept for later writes at most (4 MiB, the default send buffer).
const MAX_SPARE: usize = 64;

/// Unacknowledged stream (or CRYPTO) data, addressed by stream offset.
#[derive(Debug, Default)]
pub(crate) struct SendBuffer {
    /// (start offset, bytes), contiguous, from `base` to `end`.
    chunks: VecDeque<(u64, Vec<u8>)>,
    /// Offset of the first byte still held: everything below is acknowledged and freed.
    base: u64,
    /// Offset one past the last byte written.
    end: u64,
    /// Offset of the first byte never sent.
    unsent: u64,
    /// Ranges declared lost and not since acknowledged or resent.
    retransmit: RangeSet,
    /// Ranges acknowledged above `base`.
    acked: RangeSet,
    /// Freed chunks kept for the next writes (at most [`MAX_SPARE`]), so a bulk sender's
    /// steady state allocates none; released with the rest by
    /// [`release_if_drained`](Self::release_if_drained).
    spare: Vec<Vec<u8>>,
}

impl SendBuffer {
    /// Appends `data`; returns the offset it starts at. Every chunk but the last holds
    /// exactly [`CHUNK`] bytes, so an offset's chunk is found by division.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> u64 {
        let start = self.end;
        while !data.is_empty() {
            let last = match self.chunks.back_mut() {
                Some((_, last)) if last.len() < CHUNK => last,
                _ => {
                    let chunk = self
                        .spare
                        .pop()
                        .unwrap_or_else(|| Vec::with_capacity(CHUNK));
                    self.chunks.push_back((self.end, chunk));
                    continue;
                }
            };
            let n = (CHUNK - last.len()).min(data.len());
            last.extend_from_slice(&data[..n]);
            self.end += n as u64;
            data = &data[n..];
        }
        start
    }

    /// Offset one past the last byte written.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Offset of the first byte never sent.
    pub(crate) fn unsent(&self) -> u64 {
        self.unsent
    }

    /// Bytes held: written and not yet acknowledged.
    pub(crate) fn buffered(&self) -> u64 {
        self.end - self.base
    }

    /// Whether anything awaits (re)transmission.
    pub(crate) fn has_pending(&self) -> bool {
        !self.retransmit.is_empty() || self.unsent < self.end
    }

    /// Whether lost data waits to be sent again.
    pub(crate) fn has_retransmit(&self) -> bool {
        !self.retransmit.is_empty()
    }

    /// Whether every written byte was acknowledged.
    pub(crate) fn is_fully_acked(&self) -> bool {
        self.base == self.end
    }

    /// The next range to send, at most `max_len` bytes and within one chunk, lost data
    /// first; `limit` caps new data (flow control). Marks it sent. Returns `None` when
    /// nothing can be sent.
    pub(crate) fn next(&mut self, max_len: usize, limit: u64) -> Option<Range<u64>> {
        if max_len == 0 {
            return None;
        }
        let range = if let Some(lost) = self.retransmit.first() {
            let end = lost.end.min(lost.start + max_len as u64);
            self.retransmit.remove(lost.start..end);
            lost.start..end
        } else {
            let end = self.end.min(limit).min(self.unsent + max_len as u64);
            if end <= self.unsent {
                return None;
            }
            let r = self.unsent..end;
            self.unsent = end;
            r
        };
        // Never cross a chunk boundary, so the data is one slice.
        let (start, chunk) = self.chunk_at(range.start);
        let chunk_end = start + chunk.len() as u64;
        if range.end > chunk_end {
            self.unsend(chunk_end..range.end);
            return Some(range.start..chunk_end);
        }
        Some(range)
    }

    /// Puts back a tail that [`next`](Self::next) handed out but the packet did not take.
    pub(crate) fn unsend(&mut self, range: Range<u64>) {
        if range.end == self.unsent {
            self.unsent = range.start;
        } else {
            self.retransmit.insert(range);
        }
    }

    /// The bytes of `range`, which [`next`](Self::next) returned (so within one chunk).
    pub(crate) fn get(&self, range: Range<u64>) -> &[u8] {
        let (start, chunk) = self.chunk_at(range.start);
        let from = (range.start - start) as usize;
        &chunk[from..from + (range.end - range.start) as usize]
    }

    fn chunk_at(&self, offset: u64) -> (u64, &Vec<u8>) {
        // Every chunk but the last is CHUNK bytes long (`write`).
        let base = self.chunks.front().map_or(0, |(s, _)| *s);
        let i = (offset.saturating_sub(base) / CHUNK as u64) as usize;
        match self.chunks.get(i) {
            Some((s, c)) if *s <= offset && offset < s + c.len() as u64 => (*s, c),
            _ => {
                debug_assert!(false, "offset {offset} outside chunk {i}");
                let i = self.chunks.partition_point(|(s, _)| *s <= offset).max(1) - 1;
                let (s, c) = &self.chunks[i];
                (*s, c)
            }
        }
    }

    /// Records that `range` was acknowledged, freeing what became contiguous.
    pub(crate) fn on_ack(&mut self, range: Range<u64>) {
        let range = range.start.max(self.base)..range.end;
        if range.is_empty() {
            return;
        }
        self.retransmit.remove(range.clone());
        self.acked.insert(range);
        if let Some(first) = self.acked.first() {
            if first.start <= self.base {
                self.acked.pop_min();
                self.base = first.end;
                while let Some((s, c)) = self.chunks.front() {
                    if s + c.len() as u64 > self.base {
                        break;
                    }
                    if let Some((_, mut c)) = self.chunks.pop_front() {
                        if c.capacity() == CHUNK && self.spare.len() < MAX_SPARE {
                            c.clear();
                            self.spare.push(c);
                        }
                    }
                }
            }
        }
    }

    /// Gives back the memory of a buffer whose every byte was acknowledged, so an idle
    /// stream holds none. Called when the connection has been quiet a while, not at each
    /// moment the buffer drains: a transfer limited by the send buffer drains it once per
    /// flight and fills it again at once.
    pub(crate) fn release_if_drained(&mut self) {
        if self.base == self.end {
            self.chunks = VecDeque::new();
            self.spare = Vec::new();
            self.acked = RangeSet::default();
            self.retransmit = RangeSet::default();
        }
    }

    /// Records that `range` was lost: what of it is not acknowledged is sent again.
    pub(crate) fn on_lost(&mut self, range: Range<u64>) {
        let start = range.start.max(self.base);
        if start >= range.end {
            return;
        }
        self.retransmit.insert(start..range.end);
        for acked in self.acked.iter().collect::<Vec<_>>() {
            if acked.start < range.end && acked.end > start {
                self.retransmit.remove(acked);
            }
        }
    }

    /// Drops everything (a reset stream sends no more data).
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.spare = Vec::new();
        self.retransmit = RangeSet::new();
        self.acked = RangeSet::new();
        self.base = self.end;
        self.unsent = self.end;
    }
}

#[cfg(test)]
mod tests {
    use super::SendBuffer;

    #[test]
    fn sends_retransmits_and_frees() {
        let mut b = SendBuffer::default();
        b.write(b"hello ");
        b.write(b"world");
        assert_eq!(b.next(4, u64::MAX), Some(0..4));
        assert_eq!(b.get(0..4), b"hell");
        assert_eq!(b.next(100, 8), Some(4..8));
        assert_eq!(b.next(100, 8), None, "flow control limit");
        b.on_lost(0..4);
        assert_eq!(b.next(100, 8), Some(0..4), "lost data goes first");
        b.on_ack(4..8);
        b.on_lost(4..8);
        assert!(!b.has_pending() || b.next(100, 8).is_none());
        b.on_ack(0..4);
        assert_eq!(b.buffered(), 3);
        assert_eq!(b.next(100, u64::MAX), Some(8..11));
        assert_eq!(b.get(8..11), b"rld");
        b.on_ack(8..11);
        assert!(b.is_fully_acked());
    }

    /// Writes of any size fill each chunk to CHUNK bytes before the next begins.
    #[test]
    fn writes_fill_whole_chunks() {
        let mut b = SendBuffer::default();
        let mut off = 0u64;
        for n in [1000usize, 70_000, 3, super::CHUNK, 17] {
            let data: Vec<u8> = (0..n).map(|i| (off + i as u64) as u8).collect();
            assert_eq!(b.write(&data), off);
            off += n as u64;
        }
        assert!(b
            .chunks
            .iter()
            .rev()
            .skip(1)
            .all(|(_, c)| c.len() == super::CHUNK));
        for at in [0, 999, 1000, 65_535, 65_536, 71_002, off - 1] {
            assert_eq!(b.get(at..at + 1), [at as u8], "offset {at}");
        }
    }

    #[test]
    fn a_range_never_crosses_a_chunk() {
        let mut b = SendBuffer::default();
        b.write(&vec![1; super::CHUNK]);
        b.write(&[2; 10]);
        let r = b.next(super::CHUNK + 100, u64::MAX).unwrap();
        assert_eq!(r, 0..super::CHUNK as u64);
        let r2 = b.next(100, u64::MAX).unwrap();
        assert_eq!(b.get(r2), &[2; 10]);
    }
}
