//! The receive buffers of one engine: one per datagram (or GRO batch) of a `recvmmsg`,
//! whose memory connections may keep slices of (DESIGN.md, "Data path and copy budget").
//!
//! A read appends to each buffer's spare capacity without initialising it
//! ([`UdpSocket::recv_into`](quicsock_udp::UdpSocket::recv_into)). The datagrams are then
//! split off one by one and handed to their connections as
//! [`Datagram::Shared`](quicsock_proto::conn::Datagram::Shared): a connection opens them in
//! place and its streams keep in-order data as slices, so the application's read is the
//! only copy of those bytes. What nobody kept is dropped, and the next read reuses the
//! memory; a buffer whose memory some stream still holds gets a fresh allocation and a
//! fresh pin. The pin names an allocation for the streams' count of pinned buffers
//! ([`MAX_PINNED_BUFFERS`](quicsock_proto::stream::MAX_PINNED_BUFFERS) per connection, each
//! [`GRO_BUFFER_SIZE`] bytes).

use bytes::{Buf, BytesMut};
use quicsock_udp::{BATCH_SIZE, GRO_BUFFER_SIZE};

/// [`BATCH_SIZE`] receive buffers and the pins of their memory.
pub(crate) struct RxBuffers {
    /// The bytes of the last read (less what was handed on) and spare capacity.
    bufs: Vec<BytesMut>,
    /// The pin of each buffer's memory.
    pins: Vec<u64>,
    /// How far into each buffer's last read the datagrams were handed on.
    taken: Vec<usize>,
    /// The next pin to give.
    next_pin: u64,
}

impl Default for RxBuffers {
    fn default() -> Self {
        Self {
            bufs: (0..BATCH_SIZE)
                .map(|_| BytesMut::with_capacity(GRO_BUFFER_SIZE))
                .collect(),
            pins: (0..BATCH_SIZE as u64).collect(),
            taken: vec![0; BATCH_SIZE],
            next_pin: BATCH_SIZE as u64,
        }
    }
}

impl RxBuffers {
    /// Empties every buffer for the next read and makes room for a GRO batch in each:
    /// memory nobody holds any more is reused, else a buffer gets a new allocation (and
    /// pin).
    pub(crate) fn refill(&mut self) {
        for (i, b) in self.bufs.iter_mut().enumerate() {
            b.clear();
            self.taken[i] = 0;
            if b.capacity() < GRO_BUFFER_SIZE {
                b.reserve(GRO_BUFFER_SIZE);
                // Reclaimed memory has no slices left, but a new pin costs nothing.
                self.pins[i] = self.next_pin;
                self.next_pin += 1;
            }
        }
    }

    /// The `len` bytes at `off` of buffer `i`'s last read (not yet handed on).
    pub(crate) fn at(&self, i: usize, off: usize, len: usize) -> &[u8] {
        let at = off - self.taken[i];
        &self.bufs[i][at..at + len]
    }

    /// The buffers, for a read to append to.
    pub(crate) fn bufs(&mut self) -> &mut [BytesMut] {
        &mut self.bufs
    }

    /// Appends `data` to buffer `i` (a datagram handed over by another shard).
    pub(crate) fn put(&mut self, i: usize, data: &[u8]) {
        self.bufs[i].extend_from_slice(data);
    }

    /// Splits the `len` bytes at `off` of buffer `i`'s last read off, with the pin of
    /// their memory. Datagrams of one buffer are taken in order.
    pub(crate) fn take(&mut self, i: usize, off: usize, len: usize) -> (BytesMut, u64) {
        let b = &mut self.bufs[i];
        b.advance(off - self.taken[i]);
        self.taken[i] = off + len;
        (b.split_to(len), self.pins[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory nobody holds is reused by the next read under a new pin; memory a slice
    /// still holds is left to it, and the buffer gets a new allocation.
    #[test]
    fn refill_reuses_free_memory_and_leaves_held_memory_alone() {
        let mut rx = RxBuffers::default();
        rx.refill();
        let start = rx.bufs()[0].as_ptr();
        rx.put(0, &[1; 3000]);
        rx.put(1, &[2; 10]);
        assert_eq!(rx.at(0, 1000, 5), &[1; 5]);
        let (a, pin_a) = rx.take(0, 0, 1000);
        let (b, pin_b) = rx.take(0, 1500, 1500);
        assert_eq!((a.len(), b.len()), (1000, 1500));
        assert_eq!(pin_a, pin_b);
        assert_eq!(b.as_ptr(), start.wrapping_add(1500));
        drop(a);
        drop(b);
        rx.refill();
        assert_eq!(rx.bufs()[0].as_ptr(), start, "free memory is reused");
        assert_eq!(rx.bufs()[1].len(), 0);
        rx.put(0, &[3; 2000]);
        let (held, pin_held) = rx.take(0, 0, 2000);
        assert_ne!(pin_held, pin_a);
        rx.refill();
        let (next, pin_next) = {
            rx.put(0, &[4; 10]);
            rx.take(0, 0, 10)
        };
        assert_ne!(next.as_ptr(), held.as_ptr(), "held memory is not written");
        assert_ne!(pin_next, pin_held);
        assert_eq!(&held[..], &[3; 2000][..]);
        assert!(rx.bufs()[0].capacity() >= GRO_BUFFER_SIZE - 10);
    }
}
