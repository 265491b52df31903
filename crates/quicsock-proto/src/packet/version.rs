//! QUIC versions and the version-specific long-header type bits (RFC 9000 §17.2,
//! RFC 9369 §3.2).

use std::fmt;

/// A QUIC version number.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(pub u32);

impl Version {
    /// The version field of a Version Negotiation packet.
    pub const NEGOTIATION: Self = Self(0);
    /// QUIC version 1 (RFC 9000).
    pub const V1: Self = Self(1);
    /// QUIC version 2 (RFC 9369).
    pub const V2: Self = Self(0x6b33_43cf);
    /// The versions this crate speaks, most preferred first.
    pub const SUPPORTED: [Self; 2] = [Self::V1, Self::V2];

    /// Whether this crate can parse and protect packets of this version.
    pub fn is_supported(self) -> bool {
        Self::SUPPORTED.contains(&self)
    }

    /// Whether a first flight of this version can be turned into one of `other`, so that
    /// a server may switch to `other` without a round trip (compatible version
    /// negotiation, RFC 9368 §2.3): versions 1 and 2 are compatible both ways (RFC 9369
    /// §4).
    pub fn is_compatible_with(self, other: Self) -> bool {
        self.is_supported() && other.is_supported()
    }

    /// Whether this is a reserved version of the form 0x?a?a?a?a, used to exercise version
    /// negotiation (RFC 9000 §15).
    pub const fn is_reserved(self) -> bool {
        self.0 & 0x0f0f_0f0f == 0x0a0a_0a0a
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::V1 => f.write_str("v1"),
            Self::V2 => f.write_str("v2"),
            Self::NEGOTIATION => f.write_str("negotiation"),
            Self(v) => write!(f, "{v:#010x}"),
        }
    }
}

/// The four long-header packet types of versions 1 and 2.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LongType {
    /// Initial.
    Initial,
    /// 0-RTT.
    ZeroRtt,
    /// Handshake.
    Handshake,
    /// Retry.
    Retry,
}

impl LongType {
    /// The type from the two type bits (0x30 of the first byte, shifted down) of a packet of
    /// `version`. Version 2 permutes the values (RFC 9369 §3.2).
    pub fn from_bits(version: Version, bits: u8) -> Self {
        let bits = bits & 3;
        let bits = if version == Version::V2 {
            (bits + 3) & 3
        } else {
            bits
        };
        match bits {
            0 => Self::Initial,
            1 => Self::ZeroRtt,
            2 => Self::Handshake,
            _ => Self::Retry,
        }
    }

    /// The two type bits of this type in `version`.
    pub fn to_bits(self, version: Version) -> u8 {
        let v1 = match self {
            Self::Initial => 0,
            Self::ZeroRtt => 1,
            Self::Handshake => 2,
            Self::Retry => 3,
        };
        if version == Version::V2 {
            (v1 + 1) & 3
        } else {
            v1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9369_3_2_long_header_types() {
        // Version 2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
        let v2 = [
            (LongType::Initial, 1),
            (LongType::ZeroRtt, 2),
            (LongType::Handshake, 3),
            (LongType::Retry, 0),
        ];
        for (ty, bits) in v2 {
            assert_eq!(ty.to_bits(Version::V2), bits);
            assert_eq!(LongType::from_bits(Version::V2, bits), ty);
        }
        let v1 = [
            (LongType::Initial, 0),
            (LongType::ZeroRtt, 1),
            (LongType::Handshake, 2),
            (LongType::Retry, 3),
        ];
        for (ty, bits) in v1 {
            assert_eq!(ty.to_bits(Version::V1), bits);
            assert_eq!(LongType::from_bits(Version::V1, bits), ty);
        }
    }

    #[test]
    fn reserved_versions() {
        assert!(Version(0x1a2a3a4a).is_reserved());
        assert!(!Version::V1.is_reserved());
        assert!(Version::V2.is_supported());
        assert!(!Version(0xff00_001d).is_supported());
    }
}
