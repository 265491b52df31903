//! A bounds-checked cursor over a buffer being filled with a datagram.
//!
//! The buffer is the caller's and already initialised: the writer never grows it. That lets
//! a packet leave room for bytes a later pass writes (the ciphertext of stream data sealed
//! straight from the send buffer, the AEAD tag) without writing them twice, and lets a
//! thread reuse one buffer for every datagram it builds. Bytes left over from an earlier
//! datagram are never sent: every byte up to [`Writer::len`] is written, reserved for a
//! later pass, or zeroed as padding.

use bytes::BufMut;

/// Appends to the front of a borrowed, initialised byte buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// A writer that fills `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes written (or reserved) so far.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The size of the buffer: the most [`len`](Self::len) can reach.
    pub const fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Room left after what was written.
    pub const fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Forgets what was written after `len` (a packet that was begun and abandoned).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Runs an encoder over [`BufMut`] on the free part of the buffer and advances past
    /// what it wrote. The caller checks the room first: an encoder writing past the end of
    /// the buffer panics, as `BufMut` does on a full slice.
    pub fn put<R>(&mut self, encode: impl FnOnce(&mut &mut [u8]) -> R) -> R {
        let mut rest = &mut self.buf[self.len..];
        let before = rest.len();
        let r = encode(&mut rest);
        let written = before - rest.len();
        self.len += written;
        r
    }

    /// Appends `data`.
    pub fn put_slice(&mut self, data: &[u8]) {
        self.buf[self.len..self.len + data.len()].copy_from_slice(data);
        self.len += data.len();
    }

    /// Appends one byte.
    pub fn put_u8(&mut self, b: u8) {
        self.put_slice(&[b]);
    }

    /// Appends a big-endian `u16`.
    pub fn put_u16(&mut self, v: u16) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `u32`.
    pub fn put_u32(&mut self, v: u32) {
        self.put(|b| b.put_u32(v));
    }

    /// Writes zeros (PADDING frames, RFC 9000 §19.1) up to `len`; nothing when already
    /// there.
    pub fn zero_to(&mut self, len: usize) {
        if len > self.len {
            self.buf[self.len..len].fill(0);
            self.len = len;
        }
    }

    /// Reserves `n` bytes that a later pass writes (a tag, sealed stream data); returns
    /// where they start.
    pub fn reserve(&mut self, n: usize) -> usize {
        let at = self.len;
        assert!(n <= self.remaining(), "reserved beyond the buffer");
        self.len += n;
        at
    }

    /// Everything written so far.
    pub fn written(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VarInt;

    #[test]
    fn writes_reserves_and_pads_within_the_buffer() {
        let mut buf = [0xaa; 16];
        let mut w = Writer::new(&mut buf);
        w.put_u8(1);
        w.put(|b| VarInt::from_u32(300).encode(b));
        assert_eq!(w.len(), 3);
        let at = w.reserve(4);
        assert_eq!((at, w.len(), w.remaining()), (3, 7, 9));
        w.zero_to(10);
        w.truncate(9);
        w.put_u16(0x0102);
        assert_eq!(w.written().len(), 11);
        // What was reserved keeps whatever was there; padding is zero.
        assert_eq!(
            buf[..11],
            [1, 0x41, 0x2c, 0xaa, 0xaa, 0xaa, 0xaa, 0, 0, 1, 2]
        );
    }

    #[test]
    #[should_panic(expected = "reserved beyond the buffer")]
    fn never_reserves_past_the_end() {
        let mut buf = [0; 4];
        Writer::new(&mut buf).reserve(5);
    }
}
