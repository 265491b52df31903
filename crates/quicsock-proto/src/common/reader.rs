//! A bounds-checked cursor over received bytes.
//!
//! Every read either consumes exactly the bytes it returns or fails with [`UnexpectedEnd`]
//! and consumes nothing, so a parse loop over a [`Reader`] always advances or stops.

use super::varint::VarInt;

/// The input ended before a field did.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected end of input")]
pub struct UnexpectedEnd;

/// A cursor over a borrowed byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Bytes left to read.
    pub const fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether every byte has been read.
    pub const fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub const fn peek_rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Consumes and returns every unread byte.
    pub fn take_rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// Consumes `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], UnexpectedEnd> {
        if n > self.buf.len() {
            return Err(UnexpectedEnd);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Consumes `N` bytes into an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], UnexpectedEnd> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Consumes one byte.
    pub fn u8(&mut self) -> Result<u8, UnexpectedEnd> {
        let (&first, rest) = self.buf.split_first().ok_or(UnexpectedEnd)?;
        self.buf = rest;
        Ok(first)
    }

    /// Consumes a big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, UnexpectedEnd> {
        self.array().map(u16::from_be_bytes)
    }

    /// Consumes a big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, UnexpectedEnd> {
        self.array().map(u32::from_be_bytes)
    }

    /// Consumes a variable-length integer (RFC 9000 §16).
    pub fn varint(&mut self) -> Result<VarInt, UnexpectedEnd> {
        VarInt::decode(self)
    }

    /// Consumes a varint length and then that many bytes.
    pub fn varint_prefixed(&mut self) -> Result<&'a [u8], UnexpectedEnd> {
        let mut probe = self.clone();
        let len = probe.varint()?.into_inner();
        let len = usize::try_from(len).map_err(|_| UnexpectedEnd)?;
        let out = probe.bytes(len)?;
        *self = probe;
        Ok(out)
    }

    /// Consumes a one-byte length and then that many bytes.
    pub fn u8_prefixed(&mut self) -> Result<&'a [u8], UnexpectedEnd> {
        let mut probe = self.clone();
        let len = probe.u8()?;
        let out = probe.bytes(len.into())?;
        *self = probe;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reads_consume_nothing() {
        let mut r = Reader::new(&[0x05, 1, 2]);
        assert_eq!(r.varint_prefixed(), Err(UnexpectedEnd));
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.u32(), Err(UnexpectedEnd));
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.u8_prefixed(), Err(UnexpectedEnd));
        assert_eq!(r.u8(), Ok(5));
        assert_eq!(r.u16(), Ok(0x0102));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(UnexpectedEnd));
    }

    #[test]
    fn huge_length_prefix_fails_without_allocating() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
        assert_eq!(r.varint_prefixed(), Err(UnexpectedEnd));
    }
}
