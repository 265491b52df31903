//! Packet headers (RFC 9000 §17): parsing of every form up to the protected Packet Number
//! field, and encoding.
//!
//! A long header (§17.2) is Initial, 0-RTT, Handshake or Retry for versions 1 and 2, or a
//! Version Negotiation packet (§17.2.1); any other version is reported as
//! [`Header::Unsupported`] with the connection IDs a server needs to answer it (up to 255
//! bytes each, RFC 8999 §5.1). A short header (§17.3) carries only a destination connection
//! ID whose length the receiver knows.
//!
//! The first byte's low bits (reserved bits and packet-number length) and the packet number
//! are header-protected; they are read after [`crate::crypto`] removes the protection.

use bytes::BufMut;

use super::number::TruncatedPacketNumber;
use super::version::{LongType, Version};
use crate::common::{ConnectionId, Reader, UnexpectedEnd, VarInt};
use crate::TransportErrorCode;

const FORM_BIT: u8 = 0x80;
const FIXED_BIT: u8 = 0x40;
const SPIN_BIT: u8 = 0x20;
const KEY_PHASE_BIT: u8 = 0x04;
/// The reserved bits of a long header's first byte, zero once protection is removed.
pub const LONG_RESERVED_BITS: u8 = 0x0c;
/// The reserved bits of a short header's first byte, zero once protection is removed.
pub const SHORT_RESERVED_BITS: u8 = 0x18;
/// Length of the Retry Integrity Tag (RFC 9001 §5.8).
const RETRY_TAG_LEN: usize = 16;

/// Why a packet could not be parsed. Such a packet is dropped (RFC 9000 §12.2, §17); the
/// code says what a connection would report if it chose to close instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The packet ended inside its header.
    #[error("packet header truncated")]
    Truncated,
    /// A version 1 or 2 long header had a connection ID over 20 bytes.
    #[error("connection ID of {0} bytes exceeds 20")]
    ConnectionIdTooLong(usize),
    /// The Length field points past the end of the datagram.
    #[error("length field exceeds the datagram")]
    LengthBeyondDatagram,
    /// A Retry packet too short for its integrity tag.
    #[error("retry packet shorter than its integrity tag")]
    MissingRetryTag,
    /// A Retry packet with an empty token (RFC 9000 §17.2.5.2).
    #[error("retry packet with an empty token")]
    EmptyRetryToken,
    /// A Version Negotiation packet whose version list is empty or not whole versions.
    #[error("malformed version list")]
    MalformedVersionList,
    /// A packet after the first in a datagram with another destination connection ID
    /// (RFC 9000 §12.2).
    #[error("coalesced packet with a different destination connection ID")]
    DcidMismatch,
}

impl PacketError {
    /// The transport error code a connection would close with for this packet.
    pub const fn code(&self) -> TransportErrorCode {
        TransportErrorCode::PROTOCOL_VIOLATION
    }
}

impl From<UnexpectedEnd> for PacketError {
    fn from(_: UnexpectedEnd) -> Self {
        Self::Truncated
    }
}

/// The fields common to Initial, 0-RTT and Handshake headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// The version.
    pub version: Version,
    /// Destination connection ID.
    pub dcid: ConnectionId,
    /// Source connection ID.
    pub scid: ConnectionId,
    /// The token of an Initial packet (RFC 9000 §17.2.2); empty for other types.
    pub token: &'a [u8],
}

/// A Retry packet (RFC 9000 §17.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryHeader<'a> {
    /// The version.
    pub version: Version,
    /// Destination connection ID (the client's source connection ID).
    pub dcid: ConnectionId,
    /// Source connection ID chosen by the server.
    pub scid: ConnectionId,
    /// The Retry token.
    pub token: &'a [u8],
    /// The Retry Integrity Tag (RFC 9001 §5.8).
    pub integrity_tag: [u8; RETRY_TAG_LEN],
}

/// A Version Negotiation packet (RFC 9000 §17.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionNegotiation<'a> {
    /// Destination connection ID, up to 255 bytes.
    pub dcid: &'a [u8],
    /// Source connection ID, up to 255 bytes.
    pub scid: &'a [u8],
    versions: &'a [u8],
}

impl<'a> VersionNegotiation<'a> {
    /// The versions the server offers.
    pub fn versions(&self) -> impl Iterator<Item = Version> + 'a {
        self.versions
            .chunks_exact(4)
            .map(|v| Version(u32::from_be_bytes([v[0], v[1], v[2], v[3]])))
    }
}

/// A long header of a version this crate does not speak (RFC 8999 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedVersion<'a> {
    /// The version.
    pub version: Version,
    /// Destination connection ID, up to 255 bytes.
    pub dcid: &'a [u8],
    /// Source connection ID, up to 255 bytes.
    pub scid: &'a [u8],
}

/// A short (1-RTT) header (RFC 9000 §17.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortHeader {
    /// Destination connection ID.
    pub dcid: ConnectionId,
    /// The latency spin bit (not protected).
    pub spin: bool,
}

/// A parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Header<'a> {
    /// An Initial packet.
    Initial(LongHeader<'a>),
    /// A 0-RTT packet.
    ZeroRtt(LongHeader<'a>),
    /// A Handshake packet.
    Handshake(LongHeader<'a>),
    /// A Retry packet.
    Retry(RetryHeader<'a>),
    /// A Version Negotiation packet.
    VersionNegotiation(VersionNegotiation<'a>),
    /// A 1-RTT packet.
    Short(ShortHeader),
    /// A long header of an unsupported version.
    Unsupported(UnsupportedVersion<'a>),
}

impl Header<'_> {
    /// The destination connection ID, when it is one this crate can route on (0 to 20
    /// bytes); `None` for Version Negotiation and unsupported versions.
    pub fn dcid(&self) -> Option<&ConnectionId> {
        match self {
            Self::Initial(h) | Self::ZeroRtt(h) | Self::Handshake(h) => Some(&h.dcid),
            Self::Retry(h) => Some(&h.dcid),
            Self::Short(h) => Some(&h.dcid),
            Self::VersionNegotiation(_) | Self::Unsupported(_) => None,
        }
    }

    /// The packet type for packets that carry protected frames.
    pub fn packet_type(&self) -> Option<super::PacketType> {
        use super::PacketType;
        match self {
            Self::Initial(_) => Some(PacketType::Initial),
            Self::ZeroRtt(_) => Some(PacketType::ZeroRtt),
            Self::Handshake(_) => Some(PacketType::Handshake),
            Self::Short(_) => Some(PacketType::OneRtt),
            _ => None,
        }
    }

    /// The version of a long header; `None` for a short header.
    pub fn version(&self) -> Option<Version> {
        match self {
            Self::Initial(h) | Self::ZeroRtt(h) | Self::Handshake(h) => Some(h.version),
            Self::Retry(h) => Some(h.version),
            Self::VersionNegotiation(_) => Some(Version::NEGOTIATION),
            Self::Unsupported(h) => Some(h.version),
            Self::Short(_) => None,
        }
    }
}

/// One packet located in a datagram, its protection still on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPacket<'a> {
    /// The header fields that are not protected.
    pub header: Header<'a>,
    /// The first byte as received (its low bits still protected for protected packets).
    pub first_byte: u8,
    /// Where the Packet Number field starts, for Initial, 0-RTT, Handshake and 1-RTT
    /// packets; `None` for packets without one.
    pub pn_offset: Option<usize>,
    /// The packet's length in the datagram: the header, packet number and payload.
    pub len: usize,
}

impl<'a> ParsedPacket<'a> {
    /// Parses the packet at the start of `datagram`. `short_dcid_len` is the length of the
    /// connection IDs this endpoint issued, needed to parse a short header.
    pub fn parse(datagram: &'a [u8], short_dcid_len: usize) -> Result<Self, PacketError> {
        let mut r = Reader::new(datagram);
        let first = r.u8()?;
        if first & FORM_BIT == 0 {
            let dcid = ConnectionId::from_slice(r.bytes(short_dcid_len)?)
                .map_err(|e| PacketError::ConnectionIdTooLong(e.0))?;
            return Ok(Self {
                header: Header::Short(ShortHeader {
                    dcid,
                    spin: first & SPIN_BIT != 0,
                }),
                first_byte: first,
                pn_offset: Some(1 + short_dcid_len),
                len: datagram.len(),
            });
        }
        let version = Version(r.u32()?);
        let dcid = r.u8_prefixed()?;
        let scid = r.u8_prefixed()?;
        if version == Version::NEGOTIATION {
            let versions = r.take_rest();
            if versions.is_empty() || versions.len() % 4 != 0 {
                return Err(PacketError::MalformedVersionList);
            }
            return Ok(Self {
                header: Header::VersionNegotiation(VersionNegotiation {
                    dcid,
                    scid,
                    versions,
                }),
                first_byte: first,
                pn_offset: None,
                len: datagram.len(),
            });
        }
        if !version.is_supported() {
            return Ok(Self {
                header: Header::Unsupported(UnsupportedVersion {
                    version,
                    dcid,
                    scid,
                }),
                first_byte: first,
                pn_offset: None,
                len: datagram.len(),
            });
        }
        let cid = |bytes: &[u8]| {
            ConnectionId::from_slice(bytes).map_err(|e| PacketError::ConnectionIdTooLong(e.0))
        };
        let (dcid, scid) = (cid(dcid)?, cid(scid)?);
        let ty = LongType::from_bits(version, (first >> 4) & 3);
        if ty == LongType::Retry {
            let rest = r.take_rest();
            let split = rest
                .len()
                .checked_sub(RETRY_TAG_LEN)
                .ok_or(PacketError::MissingRetryTag)?;
            let (token, tag) = rest.split_at(split);
            if token.is_empty() {
                return Err(PacketError::EmptyRetryToken);
            }
            let mut integrity_tag = [0; RETRY_TAG_LEN];
            integrity_tag.copy_from_slice(tag);
            return Ok(Self {
                header: Header::Retry(RetryHeader {
                    version,
                    dcid,
                    scid,
                    token,
                    integrity_tag,
                }),
                first_byte: first,
                pn_offset: None,
                len: datagram.len(),
            });
        }
        let token = if ty == LongType::Initial {
            r.varint_prefixed()?
        } else {
            &[]
        };
        let length = r.varint()?.into_inner();
        let pn_offset = datagram.len() - r.remaining();
        let len = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(pn_offset))
            .filter(|&end| end <= datagram.len())
            .ok_or(PacketError::LengthBeyondDatagram)?;
        let long = LongHeader {
            version,
            dcid,
            scid,
            token,
        };
        let header = match ty {
            LongType::Initial => Header::Initial(long),
            LongType::ZeroRtt => Header::ZeroRtt(long),
            _ => Header::Handshake(long),
        };
        Ok(Self {
            header,
            first_byte: first,
            pn_offset: Some(pn_offset),
            len,
        })
    }

    /// Whether the QUIC bit (RFC 9000 §17.2, RFC 9287) is set. A packet with it clear is
    /// valid only when this endpoint advertised grease_quic_bit.
    pub const fn fixed_bit(&self) -> bool {
        self.first_byte & FIXED_BIT != 0
    }
}

/// Writes an Initial, 0-RTT or Handshake header up to and including the packet number.
/// `payload_len` is the length of everything after the packet number, AEAD tag included.
/// With `fixed_bit` false the QUIC bit is greased (RFC 9287). Returns the offset of the
/// packet number from the start of the header.
///
/// # Panics
///
/// If `ty` is [`LongType::Retry`], which has no packet number; encode a Retry with
/// [`RetryHeader::encode`].
pub fn encode_long_header<B: BufMut>(
    out: &mut B,
    ty: LongType,
    header: &LongHeader<'_>,
    pn: TruncatedPacketNumber,
    payload_len: usize,
    fixed_bit: bool,
) -> usize {
    assert!(ty != LongType::Retry, "a Retry header has no packet number");
    let first = FORM_BIT
        | if fixed_bit { FIXED_BIT } else { 0 }
        | ty.to_bits(header.version) << 4
        | pn.len_bits();
    out.put_u8(first);
    out.put_u32(header.version.0);
    put_u8_prefixed(out, &header.dcid);
    put_u8_prefixed(out, &header.scid);
    let mut pn_offset = 1 + 4 + 1 + header.dcid.len() + 1 + header.scid.len();
    if ty == LongType::Initial {
        let token_len = VarInt::saturating(header.token.len() as u64);
        token_len.encode(out);
        out.put_slice(header.token);
        pn_offset += token_len.size() + header.token.len();
    }
    let length = VarInt::saturating((pn.len() + payload_len) as u64);
    length.encode(out);
    pn.encode(out);
    pn_offset + length.size()
}

/// Writes a short header up to and including the packet number. Returns the offset of the
/// packet number.
pub fn encode_short_header<B: BufMut>(
    out: &mut B,
    dcid: &ConnectionId,
    pn: TruncatedPacketNumber,
    spin: bool,
    key_phase: bool,
    fixed_bit: bool,
) -> usize {
    let first = if fixed_bit { FIXED_BIT } else { 0 }
        | if spin { SPIN_BIT } else { 0 }
        | if key_phase { KEY_PHASE_BIT } else { 0 }
        | pn.len_bits();
    out.put_u8(first);
    out.put_slice(dcid);
    pn.encode(out);
    1 + dcid.len()
}

impl RetryHeader<'_> {
    /// Writes the whole Retry packet, its integrity tag included. `unused` fills the four
    /// unused low bits of the first byte.
    pub fn encode<B: BufMut>(&self, out: &mut B, unused: u8) {
        self.encode_without_tag(out, unused);
        out.put_slice(&self.integrity_tag);
    }

    /// Writes the Retry packet without its integrity tag: the part the tag covers.
    pub fn encode_without_tag<B: BufMut>(&self, out: &mut B, unused: u8) {
        out.put_u8(
            FORM_BIT | FIXED_BIT | LongType::Retry.to_bits(self.version) << 4 | unused & 0x0f,
        );
        out.put_u32(self.version.0);
        put_u8_prefixed(out, &self.dcid);
        put_u8_prefixed(out, &self.scid);
        out.put_slice(self.token);
    }
}

/// Writes a Version Negotiation packet (RFC 9000 §17.2.1) echoing the client's connection
/// IDs: `dcid` is the client's source connection ID and `scid` its destination. `unused`
/// fills the seven unused bits of the first byte (a server should randomise them).
pub fn encode_version_negotiation<B: BufMut>(
    out: &mut B,
    dcid: &[u8],
    scid: &[u8],
    versions: &[Version],
    unused: u8,
) {
    out.put_u8(FORM_BIT | unused & 0x7f);
    out.put_u32(Version::NEGOTIATION.0);
    put_u8_prefixed(out, &dcid[..dcid.len().min(255)]);
    put_u8_prefixed(out, &scid[..scid.len().min(255)]);
    for v in versions {
        out.put_u32(v.0);
    }
}

fn put_u8_prefixed<B: BufMut>(out: &mut B, bytes: &[u8]) {
    out.put_u8(bytes.len() as u8);
    out.put_slice(bytes);
}

#[cfg(test)]
#[path = "header_tests.rs"]
mod tests;
