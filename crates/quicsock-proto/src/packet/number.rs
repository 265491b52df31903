//! Packet numbers: truncation on send and recovery on receive (RFC 9000 §17.1, Appendix A.2
//! and A.3).

use std::fmt;

/// A full packet number, 0..=2^62 − 1.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketNumber(pub u64);

/// The largest packet number (RFC 9000 §12.3).
const MAX_PN: u64 = (1 << 62) - 1;

/// A packet number as it appears on the wire: its low `len` bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TruncatedPacketNumber {
    value: u32,
    len: u8,
}

impl PacketNumber {
    /// The truncated encoding of this packet number given the largest packet number the peer
    /// has acknowledged in this space (RFC 9000 §A.2): enough bytes to represent more than
    /// twice the range of unacknowledged packets. `None` if that takes more than 4 bytes.
    pub fn truncate(self, largest_acked: Option<Self>) -> Option<TruncatedPacketNumber> {
        let unacked = match largest_acked {
            Some(acked) => self.0.saturating_sub(acked.0),
            None => self.0.saturating_add(1),
        }
        .max(1);
        // min_bits = log2(unacked) + 1, plus one bit so the range is more than doubled.
        let min_bits = 64 - unacked.leading_zeros() + 1;
        let len = min_bits.div_ceil(8);
        if len > 4 {
            return None;
        }
        Some(TruncatedPacketNumber::with_len(self, len as usize))
    }

    /// Recovers a full packet number from its `len`-byte truncation (RFC 9000 §A.3), given
    /// the largest packet number successfully processed in this space so far.
    pub fn expand(truncated: u32, len: usize, largest_received: Option<Self>) -> Self {
        let expected = largest_received.map_or(0, |pn| pn.0 + 1);
        let bits = 8 * len.clamp(1, 4) as u32;
        let win = 1u64 << bits;
        let hwin = win / 2;
        let mask = win - 1;
        let truncated = u64::from(truncated) & mask;
        let candidate = (expected & !mask) | truncated;
        if expected
            .checked_sub(hwin)
            .is_some_and(|low| candidate <= low)
            && candidate < (1 << 62) - win
        {
            Self(candidate + win)
        } else if candidate > expected + hwin && candidate >= win {
            Self(candidate - win)
        } else {
            Self(candidate.min(MAX_PN))
        }
    }
}

impl TruncatedPacketNumber {
    /// The low `len` bytes (1 to 4, clamped) of `pn`; Linux QUIC always sends 4.
    pub fn with_len(pn: PacketNumber, len: usize) -> Self {
        let len = len.clamp(1, 4);
        let mask = if len == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * len)) - 1
        };
        Self {
            value: (pn.0 as u32) & mask,
            len: len as u8,
        }
    }

    /// A truncated packet number read off the wire.
    pub fn from_wire(value: u32, len: usize) -> Self {
        Self::with_len(PacketNumber(value.into()), len)
    }

    /// The encoded length, 1 to 4 bytes.
    #[allow(clippy::len_without_is_empty)] // never empty: a packet number takes 1 to 4 bytes
    pub const fn len(self) -> usize {
        self.len as usize
    }

    /// The truncated value.
    pub const fn value(self) -> u32 {
        self.value
    }

    /// The two-bit Packet Number Length field of the first byte.
    pub const fn len_bits(self) -> u8 {
        self.len - 1
    }

    /// Writes the `len` bytes, big-endian.
    pub fn encode<B: bytes::BufMut>(self, out: &mut B) {
        out.put_slice(&self.value.to_be_bytes()[4 - self.len()..]);
    }
}

impl fmt::Debug for PacketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for PacketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rfc9000_a2_truncation_examples() {
        let acked = Some(PacketNumber(0xabe8b3));
        let t = PacketNumber(0xac5c02).truncate(acked).unwrap();
        assert_eq!((t.len(), t.value()), (2, 0x5c02));
        let t = PacketNumber(0xace8fe).truncate(acked).unwrap();
        assert_eq!((t.len(), t.value()), (3, 0xace8fe));
        assert_eq!(PacketNumber(0).truncate(None).unwrap().len(), 1);
        assert!(PacketNumber(1 << 40).truncate(None).is_none());
    }

    #[test]
    fn rfc9000_a3_recovery_example() {
        let pn = PacketNumber::expand(0x9b32, 2, Some(PacketNumber(0xa82f30ea)));
        assert_eq!(pn, PacketNumber(0xa82f9b32));
    }

    #[test]
    fn recovery_near_edges() {
        assert_eq!(PacketNumber::expand(0, 1, None), PacketNumber(0));
        assert_eq!(PacketNumber::expand(0xff, 1, None), PacketNumber(0xff));
        assert_eq!(
            PacketNumber::expand(0, 1, Some(PacketNumber(0xff))),
            PacketNumber(0x100)
        );
        let near_max = PacketNumber(MAX_PN - 1);
        assert!(PacketNumber::expand(0xffff_ffff, 4, Some(near_max)).0 <= MAX_PN);
    }

    proptest! {
        // A packet number truncated relative to what the peer acknowledged is recovered by a
        // receiver whose largest received packet lies anywhere in the window the truncation
        // was sized for.
        #[test]
        fn truncation_round_trip(largest_acked in 0u64..(1 << 40), ahead in 1u64..(1 << 20), received_back in 0u64..(1 << 20)) {
            let pn = PacketNumber(largest_acked + ahead);
            let t = pn.truncate(Some(PacketNumber(largest_acked))).unwrap();
            // The receiver has processed at least up to largest_acked and less than pn.
            let largest_received = largest_acked + received_back.min(ahead - 1);
            let got = PacketNumber::expand(t.value(), t.len(), Some(PacketNumber(largest_received)));
            prop_assert_eq!(got, pn);
        }

        #[test]
        fn expand_never_panics(truncated: u32, len in 0usize..8, largest in proptest::option::of(0u64..=MAX_PN)) {
            let pn = PacketNumber::expand(truncated, len, largest.map(PacketNumber));
            prop_assert!(pn.0 <= MAX_PN);
        }
    }
}
