//! Protecting and unprotecting whole packets in place (RFC 9001 §5.3, §5.4).
//!
//! A packet is laid out as header (up to and including the packet number), payload, and
//! AEAD tag. Sealing runs first and header protection samples the ciphertext; on receipt
//! header protection comes off first to reveal the packet number, then the payload opens.

use super::{CryptoError, HeaderProtect, PacketOpen, PacketSeal, SAMPLE_LEN};
use crate::packet::{PacketNumber, TruncatedPacketNumber};

/// The first-byte bits header protection covers: the low 4 bits of a long header (reserved
/// bits and packet-number length), the low 5 of a short header (adding the key phase).
const fn first_byte_mask(first: u8) -> u8 {
    if first & 0x80 != 0 {
        0x0f
    } else {
        0x1f
    }
}

/// The header-protection sample: 16 bytes starting 4 bytes after the start of the packet
/// number field, as if it were 4 bytes long (RFC 9001 §5.4.2).
fn sample(packet: &[u8], pn_offset: usize) -> Result<&[u8], CryptoError> {
    let start = pn_offset + 4;
    packet
        .get(start..start + SAMPLE_LEN)
        .ok_or(CryptoError::PacketTooShort)
}

/// Seals the payload of `packet` and then applies header protection.
///
/// `packet` holds the header with an unprotected first byte and packet number (starting at
/// `pn_offset`, its length taken from the first byte), the plaintext payload, and
/// `seal.tag_len()` bytes of room at the end.
pub fn protect<S, H>(
    packet: &mut [u8],
    pn_offset: usize,
    pn: PacketNumber,
    seal: &S,
    hp: &H,
) -> Result<(), CryptoError>
where
    S: PacketSeal + ?Sized,
    H: HeaderProtect + ?Sized,
{
    let first = *packet.first().ok_or(CryptoError::PacketTooShort)?;
    let header_len = pn_offset + usize::from(first & 3) + 1;
    if packet.len() < header_len + seal.tag_len() {
        return Err(CryptoError::PacketTooShort);
    }
    let (header, payload) = packet.split_at_mut(header_len);
    seal.seal(pn.0, header, payload)?;
    apply_header_protection(packet, pn_offset, hp)
}

/// Applies header protection to a packet whose payload is already sealed.
pub fn apply_header_protection<H>(
    packet: &mut [u8],
    pn_offset: usize,
    hp: &H,
) -> Result<(), CryptoError>
where
    H: HeaderProtect + ?Sized,
{
    let mask = hp.mask(sample(packet, pn_offset)?)?;
    let first = packet[0];
    let pn_len = usize::from(first & 3) + 1;
    packet[0] ^= mask[0] & first_byte_mask(first);
    for (byte, m) in packet[pn_offset..pn_offset + pn_len]
        .iter_mut()
        .zip(&mask[1..])
    {
        *byte ^= m;
    }
    Ok(())
}

/// The truncated packet number of a packet sent without header protection (1-RTT with
/// disable_1rtt_encryption): its length is in the first byte, in the clear.
pub fn read_packet_number(
    packet: &[u8],
    pn_offset: usize,
) -> Result<TruncatedPacketNumber, CryptoError> {
    let pn_len = usize::from(packet.first().ok_or(CryptoError::PacketTooShort)? & 3) + 1;
    let bytes = packet
        .get(pn_offset..pn_offset + pn_len)
        .ok_or(CryptoError::PacketTooShort)?;
    let value = bytes.iter().fold(0u32, |v, b| v << 8 | u32::from(*b));
    Ok(TruncatedPacketNumber::from_wire(value, pn_len))
}

/// Removes header protection, returning the truncated packet number. On return the first
/// byte and the packet number of `packet` are in the clear.
pub fn remove_header_protection<H>(
    packet: &mut [u8],
    pn_offset: usize,
    hp: &H,
) -> Result<TruncatedPacketNumber, CryptoError>
where
    H: HeaderProtect + ?Sized,
{
    let mask = hp.mask(sample(packet, pn_offset)?)?;
    packet[0] ^= mask[0] & first_byte_mask(packet[0]);
    let pn_len = usize::from(packet[0] & 3) + 1;
    let mut value = 0u32;
    for (byte, m) in packet[pn_offset..pn_offset + pn_len]
        .iter_mut()
        .zip(&mask[1..])
    {
        *byte ^= m;
        value = value << 8 | u32::from(*byte);
    }
    Ok(TruncatedPacketNumber::from_wire(value, pn_len))
}

/// Opens the payload of a packet whose header protection is already removed, returning the
/// plaintext (a sub-slice of `packet`).
pub fn open<'a, O>(
    packet: &'a mut [u8],
    header_len: usize,
    pn: PacketNumber,
    key: &O,
) -> Result<&'a mut [u8], CryptoError>
where
    O: PacketOpen + ?Sized,
{
    if header_len > packet.len() {
        return Err(CryptoError::PacketTooShort);
    }
    let (header, payload) = packet.split_at_mut(header_len);
    key.open(pn.0, header, payload)
}

/// An unprotected packet.
#[derive(Debug)]
pub struct Unprotected<'a> {
    /// The full packet number.
    pub pn: PacketNumber,
    /// The length of the header, packet number included.
    pub header_len: usize,
    /// The plaintext payload.
    pub payload: &'a mut [u8],
}

/// Removes header protection and opens the payload of one packet (`packet` spans exactly
/// the packet, as [`crate::packet::ParsedPacket::len`] delimits it), recovering the full
/// packet number against the largest one received so far in its space.
pub fn unprotect<'a, H, O>(
    packet: &'a mut [u8],
    pn_offset: usize,
    largest_received: Option<PacketNumber>,
    hp: &H,
    key: &O,
) -> Result<Unprotected<'a>, CryptoError>
where
    H: HeaderProtect + ?Sized,
    O: PacketOpen + ?Sized,
{
    let truncated = remove_header_protection(packet, pn_offset, hp)?;
    let pn = PacketNumber::expand(truncated.value(), truncated.len(), largest_received);
    let header_len = pn_offset + truncated.len();
    let payload = open(packet, header_len, pn, key)?;
    Ok(Unprotected {
        pn,
        header_len,
        payload,
    })
}
