//! Variable-length integers (RFC 9000 §16).
//!
//! The two most significant bits of the first byte give the length (1, 2, 4 or 8 bytes); the
//! remaining bits hold the value in network byte order, so values run from 0 to 2^62 − 1.

use std::fmt;

use bytes::BufMut;

use super::reader::{Reader, UnexpectedEnd};

/// An integer in the range 0..=2^62 − 1, the range a QUIC varint can carry.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarInt(u64);

/// A value above 2^62 − 1 was given where a [`VarInt`] is needed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("value exceeds the varint maximum 2^62 - 1")]
pub struct VarIntBoundsExceeded;

impl VarInt {
    /// The largest value a varint can carry, 2^62 − 1.
    pub const MAX: Self = Self((1 << 62) - 1);
    /// Zero.
    pub const ZERO: Self = Self(0);
    /// The largest encoded size, in bytes.
    pub const MAX_SIZE: usize = 8;

    /// A varint from a `u32`, which always fits.
    pub const fn from_u32(value: u32) -> Self {
        Self(value as u64)
    }

    /// A varint from a `u64`, or an error above 2^62 − 1.
    pub const fn from_u64(value: u64) -> Result<Self, VarIntBoundsExceeded> {
        if value <= Self::MAX.0 {
            Ok(Self(value))
        } else {
            Err(VarIntBoundsExceeded)
        }
    }

    /// A varint from a `u64`, clamped to 2^62 − 1.
    pub const fn saturating(value: u64) -> Self {
        if value <= Self::MAX.0 {
            Self(value)
        } else {
            Self::MAX
        }
    }

    /// The value.
    pub const fn into_inner(self) -> u64 {
        self.0
    }

    /// The number of bytes the shortest encoding of this value takes.
    pub const fn size(self) -> usize {
        Self::size_of(self.0)
    }

    /// The number of bytes the shortest encoding of `value` takes (values above 2^62 − 1
    /// report 8, the encoder's maximum).
    pub const fn size_of(value: u64) -> usize {
        if value < 1 << 6 {
            1
        } else if value < 1 << 14 {
            2
        } else if value < 1 << 30 {
            4
        } else {
            8
        }
    }

    /// Writes the shortest encoding.
    pub fn encode<B: BufMut>(self, out: &mut B) {
        let v = self.0;
        match self.size() {
            1 => out.put_u8(v as u8),
            2 => out.put_u16(0x4000 | v as u16),
            4 => out.put_u32(0x8000_0000 | v as u32),
            _ => out.put_u64(0xc000_0000_0000_0000 | v),
        }
    }

    /// Writes the value in exactly `size` bytes (1, 2, 4 or 8), as a long header's Length
    /// field does when its value is filled in after the payload is built.
    ///
    /// Returns `None` (and writes nothing) if the value does not fit or `size` is not a
    /// varint size.
    pub fn encode_with_size<B: BufMut>(self, size: usize, out: &mut B) -> Option<()> {
        let v = self.0;
        match size {
            1 if v < 1 << 6 => out.put_u8(v as u8),
            2 if v < 1 << 14 => out.put_u16(0x4000 | v as u16),
            4 if v < 1 << 30 => out.put_u32(0x8000_0000 | v as u32),
            8 => out.put_u64(0xc000_0000_0000_0000 | v),
            _ => return None,
        }
        Some(())
    }

    /// Reads one varint, in any of its four sizes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, UnexpectedEnd> {
        let first = r.u8()?;
        let tail = (1usize << (first >> 6)) - 1;
        let mut v = u64::from(first & 0x3f);
        for &b in r.bytes(tail)? {
            v = (v << 8) | u64::from(b);
        }
        Ok(Self(v))
    }

    /// Reads one varint and reports whether it used its shortest encoding.
    pub fn decode_with_minimality(r: &mut Reader<'_>) -> Result<(Self, bool), UnexpectedEnd> {
        let start = r.remaining();
        let v = Self::decode(r)?;
        let used = start - r.remaining();
        Ok((v, used == v.size()))
    }
}

impl From<u8> for VarInt {
    fn from(v: u8) -> Self {
        Self(v.into())
    }
}

impl From<u16> for VarInt {
    fn from(v: u16) -> Self {
        Self(v.into())
    }
}

impl From<u32> for VarInt {
    fn from(v: u32) -> Self {
        Self(v.into())
    }
}

impl TryFrom<u64> for VarInt {
    type Error = VarIntBoundsExceeded;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::from_u64(v)
    }
}

impl TryFrom<usize> for VarInt {
    type Error = VarIntBoundsExceeded;
    fn try_from(v: usize) -> Result<Self, Self::Error> {
        Self::from_u64(v as u64)
    }
}

impl From<VarInt> for u64 {
    fn from(v: VarInt) -> Self {
        v.0
    }
}

impl fmt::Debug for VarInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for VarInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode_hex(s: &str) -> Result<(VarInt, usize), UnexpectedEnd> {
        let bytes = hex::decode(s).unwrap();
        let mut r = Reader::new(&bytes);
        let v = VarInt::decode(&mut r)?;
        Ok((v, bytes.len() - r.remaining()))
    }

    // RFC 9000 §A.1: the sample encodings.
    #[test]
    fn rfc9000_a1_sample_varints() {
        assert_eq!(
            decode_hex("c2197c5eff14e88c").unwrap(),
            (VarInt(151_288_809_941_952_652), 8)
        );
        assert_eq!(decode_hex("9d7f3e7d").unwrap(), (VarInt(494_878_333), 4));
        assert_eq!(decode_hex("7bbd").unwrap(), (VarInt(15_293), 2));
        assert_eq!(decode_hex("25").unwrap(), (VarInt(37), 1));
        // The two-byte encoding of 37 is valid but not minimal.
        assert_eq!(decode_hex("4025").unwrap(), (VarInt(37), 2));
        let mut r = Reader::new(&[0x40, 0x25]);
        assert_eq!(
            VarInt::decode_with_minimality(&mut r).unwrap(),
            (VarInt(37), false)
        );
    }

    #[test]
    fn truncated_varints_fail() {
        for s in ["", "40", "80ffff", "c0ffffffffffff"] {
            assert_eq!(decode_hex(s), Err(UnexpectedEnd), "{s}");
        }
    }

    #[test]
    fn bounds() {
        assert_eq!(VarInt::from_u64(1 << 62), Err(VarIntBoundsExceeded));
        assert_eq!(VarInt::saturating(u64::MAX), VarInt::MAX);
        let mut out = Vec::new();
        VarInt::MAX.encode(&mut out);
        assert_eq!(out, [0xff; 8]);
        assert!(VarInt(64).encode_with_size(1, &mut out).is_none());
        assert!(VarInt(64).encode_with_size(3, &mut out).is_none());
    }

    proptest! {
        #[test]
        fn varint_round_trip(v in 0u64..=VarInt::MAX.0) {
            let v = VarInt(v);
            let mut out = Vec::new();
            v.encode(&mut out);
            prop_assert_eq!(out.len(), v.size());
            let mut r = Reader::new(&out);
            prop_assert_eq!(VarInt::decode_with_minimality(&mut r).unwrap(), (v, true));
            prop_assert!(r.is_empty());
        }

        #[test]
        fn varint_round_trip_fixed_size(v in 0u64..=VarInt::MAX.0, size in prop::sample::select(vec![1usize, 2, 4, 8])) {
            let v = VarInt(v);
            let mut out = Vec::new();
            match v.encode_with_size(size, &mut out) {
                Some(()) => {
                    prop_assert_eq!(out.len(), size);
                    let mut r = Reader::new(&out);
                    prop_assert_eq!(VarInt::decode(&mut r).unwrap(), v);
                }
                None => prop_assert!(size < v.size() && out.is_empty()),
            }
        }

        #[test]
        fn varint_decode_never_overreads(bytes in prop::collection::vec(any::<u8>(), 0..10)) {
            let mut r = Reader::new(&bytes);
            if let Ok(v) = VarInt::decode(&mut r) {
                prop_assert!(v <= VarInt::MAX);
                prop_assert!(bytes.len() - r.remaining() <= 8);
            }
        }
    }
}
