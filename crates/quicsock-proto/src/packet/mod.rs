//! Packets on the wire (RFC 9000 §17, RFC 9369 §3): packet numbers, versions, every header
//! form, and the splitting of a datagram into its coalesced packets (RFC 9000 §12.2).
//!
//! Parsing here stops where header protection starts: a parsed packet says where its Packet
//! Number field begins, and [`crate::crypto`] removes the protection from there.

mod coalesce;
mod header;
mod number;
mod version;

pub use coalesce::CoalescedPackets;
pub use header::{
    encode_long_header, encode_short_header, encode_version_negotiation, Header, LongHeader,
    PacketError, ParsedPacket, RetryHeader, ShortHeader, UnsupportedVersion, VersionNegotiation,
    LONG_RESERVED_BITS, SHORT_RESERVED_BITS,
};
pub use number::{PacketNumber, TruncatedPacketNumber};
pub use version::{LongType, Version};

/// The packet-number space a packet belongs to (RFC 9000 §12.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpaceId {
    /// Initial packets.
    Initial,
    /// Handshake packets.
    Handshake,
    /// 0-RTT and 1-RTT packets.
    Data,
}

/// The kinds of packet that carry frames, as the frame-permission table of RFC 9000 §12.4
/// distinguishes them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Initial (long header).
    Initial,
    /// 0-RTT (long header).
    ZeroRtt,
    /// Handshake (long header).
    Handshake,
    /// 1-RTT (short header).
    OneRtt,
}

impl PacketType {
    /// The packet-number space of this packet type.
    pub const fn space(self) -> SpaceId {
        match self {
            Self::Initial => SpaceId::Initial,
            Self::Handshake => SpaceId::Handshake,
            Self::ZeroRtt | Self::OneRtt => SpaceId::Data,
        }
    }
}

/// The smallest datagram that may carry a client's Initial packet (RFC 9000 §14.1).
pub const MIN_INITIAL_DATAGRAM_SIZE: usize = 1200;
