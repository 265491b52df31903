//! Splitting a datagram into its coalesced packets (RFC 9000 §12.2).
//!
//! Long-header packets with a Length field may be followed by more packets; a short-header
//! packet, a Retry, a Version Negotiation packet or a packet of an unknown version runs to
//! the end of the datagram. Packets after the first whose destination connection ID differs
//! from the first are reported as [`PacketError::DcidMismatch`] and skipped.

use super::header::{PacketError, ParsedPacket};
use crate::common::ConnectionId;

/// An iterator over the packets of one datagram, yielding each packet's offset in the
/// datagram and its parse. It stops after the first packet that cannot be delimited.
#[derive(Clone, Debug)]
pub struct CoalescedPackets<'a> {
    datagram: &'a [u8],
    offset: usize,
    short_dcid_len: usize,
    first_dcid: Option<ConnectionId>,
}

impl<'a> CoalescedPackets<'a> {
    /// The packets of `datagram`; `short_dcid_len` is the length of this endpoint's
    /// connection IDs.
    pub const fn new(datagram: &'a [u8], short_dcid_len: usize) -> Self {
        Self {
            datagram,
            offset: 0,
            short_dcid_len,
            first_dcid: None,
        }
    }
}

impl<'a> Iterator for CoalescedPackets<'a> {
    type Item = (usize, Result<ParsedPacket<'a>, PacketError>);

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.offset;
        let rest = self.datagram.get(offset..).filter(|r| !r.is_empty())?;
        match ParsedPacket::parse(rest, self.short_dcid_len) {
            Err(e) => {
                self.offset = self.datagram.len();
                Some((offset, Err(e)))
            }
            Ok(packet) => {
                // Every parse consumes at least the first byte, so the loop advances.
                self.offset += packet.len.max(1);
                let dcid = packet.header.dcid().copied();
                match (self.first_dcid, dcid) {
                    (None, _) => self.first_dcid = dcid,
                    (Some(first), Some(this)) if first != this => {
                        return Some((offset, Err(PacketError::DcidMismatch)));
                    }
                    _ => {}
                }
                Some((offset, Ok(packet)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::packet::{
        encode_long_header, encode_short_header, Header, LongHeader, LongType, PacketNumber,
        TruncatedPacketNumber, Version,
    };

    fn long(out: &mut Vec<u8>, ty: LongType, dcid: &ConnectionId, payload_len: usize) {
        let h = LongHeader {
            version: Version::V1,
            dcid: *dcid,
            scid: ConnectionId::EMPTY,
            token: &[],
        };
        let pn = TruncatedPacketNumber::with_len(PacketNumber(7), 2);
        encode_long_header(out, ty, &h, pn, payload_len, true);
        out.resize(out.len() + payload_len, 0x11);
    }

    #[test]
    fn splits_initial_handshake_short() {
        let dcid = ConnectionId::from_slice(&[9; 8]).unwrap();
        let mut d = Vec::new();
        long(&mut d, LongType::Initial, &dcid, 100);
        let second = d.len();
        long(&mut d, LongType::Handshake, &dcid, 50);
        let third = d.len();
        encode_short_header(
            &mut d,
            &dcid,
            TruncatedPacketNumber::with_len(PacketNumber(1), 1),
            false,
            false,
            true,
        );
        d.extend([0; 30]);
        let packets: Vec<_> = CoalescedPackets::new(&d, 8).collect();
        assert_eq!(packets.len(), 3);
        assert_eq!(packets[1].0, second);
        assert_eq!(packets[2].0, third);
        assert!(matches!(
            packets[0].1.as_ref().unwrap().header,
            Header::Initial(_)
        ));
        assert!(matches!(
            packets[1].1.as_ref().unwrap().header,
            Header::Handshake(_)
        ));
        assert!(matches!(
            packets[2].1.as_ref().unwrap().header,
            Header::Short(_)
        ));
    }

    #[test]
    fn skips_packets_for_another_connection() {
        let a = ConnectionId::from_slice(&[1; 8]).unwrap();
        let b = ConnectionId::from_slice(&[2; 8]).unwrap();
        let mut d = Vec::new();
        long(&mut d, LongType::Initial, &a, 10);
        long(&mut d, LongType::Handshake, &b, 10);
        long(&mut d, LongType::Handshake, &a, 10);
        let results: Vec<_> = CoalescedPackets::new(&d, 8)
            .map(|(_, r)| r.is_ok())
            .collect();
        assert_eq!(results, [true, false, true]);
        let second = CoalescedPackets::new(&d, 8).nth(1).unwrap().1;
        assert_eq!(second, Err(PacketError::DcidMismatch));
    }

    proptest! {
        #[test]
        fn always_terminates(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            let count = CoalescedPackets::new(&bytes, 8).take(bytes.len() + 1).count();
            prop_assert!(count <= bytes.len());
        }
    }
}
