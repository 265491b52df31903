use proptest::prelude::*;

use super::*;
use crate::packet::PacketNumber;

fn cid(hex: &str) -> ConnectionId {
    ConnectionId::from_slice(&hex::decode(hex).unwrap()).unwrap()
}

#[test]
fn rfc9001_a2_client_initial_header_fields() {
    // The protected header of RFC 9001 §A.2, followed by enough payload for its Length.
    let mut packet = hex::decode("c000000001088394c8f03e5157080000449e7b9aec34").unwrap();
    packet.resize(1200, 0);
    let parsed = ParsedPacket::parse(&packet, 0).unwrap();
    let Header::Initial(h) = &parsed.header else {
        panic!("not an Initial: {parsed:?}")
    };
    assert_eq!(h.version, Version::V1);
    assert_eq!(h.dcid, cid("8394c8f03e515708"));
    assert!(h.scid.is_empty() && h.token.is_empty());
    assert_eq!(parsed.pn_offset, Some(18));
    assert_eq!(parsed.len, 18 + 0x049e);
    assert!(parsed.fixed_bit());
}

#[test]
fn rfc9001_a4_retry_fields() {
    let packet =
        hex::decode("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
            .unwrap();
    let parsed = ParsedPacket::parse(&packet, 0).unwrap();
    let Header::Retry(h) = &parsed.header else {
        panic!("not a Retry")
    };
    assert_eq!(h.version, Version::V1);
    assert!(h.dcid.is_empty());
    assert_eq!(h.scid, cid("f067a5502a4262b5"));
    assert_eq!(h.token, b"token");
    assert_eq!(
        h.integrity_tag.to_vec(),
        hex::decode("04a265ba2eff4d829058fb3f0f2496ba").unwrap()
    );
    let mut out = Vec::new();
    h.encode(&mut out, packet[0] & 0x0f);
    assert_eq!(out, packet);
}

#[test]
fn rfc9369_a4_retry_type_bits() {
    let packet =
        hex::decode("cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6")
            .unwrap();
    let parsed = ParsedPacket::parse(&packet, 0).unwrap();
    assert!(matches!(
        parsed.header,
        Header::Retry(RetryHeader {
            version: Version::V2,
            ..
        })
    ));
}

#[test]
fn version_negotiation_round_trip() {
    let mut out = Vec::new();
    encode_version_negotiation(
        &mut out,
        &[1, 2, 3],
        &[4; 30],
        &[Version::V1, Version(0x1a2a3a4a)],
        0x55,
    );
    let parsed = ParsedPacket::parse(&out, 8).unwrap();
    let Header::VersionNegotiation(vn) = &parsed.header else {
        panic!()
    };
    assert_eq!(vn.dcid, [1, 2, 3]);
    assert_eq!(vn.scid, [4; 30]);
    assert_eq!(
        vn.versions().collect::<Vec<_>>(),
        [Version::V1, Version(0x1a2a3a4a)]
    );
    assert_eq!(parsed.len, out.len());
    // A partial version at the end is malformed.
    out.push(0);
    assert_eq!(
        ParsedPacket::parse(&out, 8),
        Err(PacketError::MalformedVersionList)
    );
}

#[test]
fn unsupported_version_keeps_long_cids() {
    let mut p = vec![0xc0, 0xff, 0, 0, 0x1d, 40];
    p.extend([7; 40]);
    p.push(0);
    p.extend([0; 1200]);
    let parsed = ParsedPacket::parse(&p, 8).unwrap();
    let Header::Unsupported(u) = &parsed.header else {
        panic!()
    };
    assert_eq!(u.version, Version(0xff00_001d));
    assert_eq!(u.dcid.len(), 40);
    assert!(parsed.header.dcid().is_none());
}

#[test]
fn bad_headers_are_errors() {
    // A v1 header with a 21-byte DCID.
    let mut p = vec![0xc0, 0, 0, 0, 1, 21];
    p.extend([0; 21]);
    p.extend([0, 0, 1, 0]);
    assert_eq!(
        ParsedPacket::parse(&p, 0),
        Err(PacketError::ConnectionIdTooLong(21))
    );
    // A Length beyond the datagram.
    let p = hex::decode("c000000001088394c8f03e5157080000449e7b9aec34").unwrap();
    assert_eq!(
        ParsedPacket::parse(&p, 0),
        Err(PacketError::LengthBeyondDatagram)
    );
    // Truncated everywhere.
    let full = hex::decode("e00000000108f067a5502a4262b508f067a5502a4262b50401020304").unwrap();
    assert!(ParsedPacket::parse(&full, 0).is_ok());
    for cut in 0..full.len() - 4 {
        assert_eq!(
            ParsedPacket::parse(&full[..cut], 0),
            Err(PacketError::Truncated),
            "cut {cut}"
        );
    }
    // A Retry without room for its tag, and one with an empty token.
    let p = hex::decode("f0000000010000aabbcc").unwrap();
    assert_eq!(
        ParsedPacket::parse(&p, 0),
        Err(PacketError::MissingRetryTag)
    );
    let mut p = hex::decode("f00000000100").unwrap();
    p.push(0);
    p.extend([0; 16]);
    assert_eq!(
        ParsedPacket::parse(&p, 0),
        Err(PacketError::EmptyRetryToken)
    );
    // A short header shorter than the local connection ID length.
    assert_eq!(
        ParsedPacket::parse(&[0x40, 1, 2], 8),
        Err(PacketError::Truncated)
    );
    assert_eq!(
        PacketError::Truncated.code(),
        TransportErrorCode::PROTOCOL_VIOLATION
    );
}

fn arb_cid() -> impl Strategy<Value = ConnectionId> {
    prop::collection::vec(any::<u8>(), 0..=20).prop_map(|b| ConnectionId::from_slice(&b).unwrap())
}

fn arb_version() -> impl Strategy<Value = Version> {
    prop::sample::select(Version::SUPPORTED.to_vec())
}

proptest! {
    #[test]
    fn long_header_round_trip(
        ty in prop::sample::select(vec![LongType::Initial, LongType::ZeroRtt, LongType::Handshake]),
        version in arb_version(),
        dcid in arb_cid(),
        scid in arb_cid(),
        token in prop::collection::vec(any::<u8>(), 0..100),
        pn in 0u64..(1 << 62),
        pn_len in 1usize..=4,
        payload_len in 0usize..2000,
        fixed_bit: bool,
        trailing in prop::collection::vec(any::<u8>(), 0..10),
    ) {
        let token = if ty == LongType::Initial { &token[..] } else { &[][..] };
        let header = LongHeader { version, dcid, scid, token };
        let tpn = TruncatedPacketNumber::with_len(PacketNumber(pn), pn_len);
        let mut out = Vec::new();
        let pn_offset = encode_long_header(&mut out, ty, &header, tpn, payload_len, fixed_bit);
        prop_assert_eq!(out.len(), pn_offset + pn_len);
        out.resize(out.len() + payload_len, 0xaa);
        let packet_len = out.len();
        out.extend(&trailing);
        let parsed = ParsedPacket::parse(&out, 0).unwrap();
        let expected = match ty {
            LongType::Initial => Header::Initial(header),
            LongType::ZeroRtt => Header::ZeroRtt(header),
            _ => Header::Handshake(header),
        };
        prop_assert_eq!(&parsed.header, &expected);
        prop_assert_eq!(parsed.pn_offset, Some(pn_offset));
        prop_assert_eq!(parsed.len, packet_len);
        prop_assert_eq!(parsed.fixed_bit(), fixed_bit);
        prop_assert_eq!(parsed.first_byte & 3, tpn.len_bits());
    }

    #[test]
    fn short_header_round_trip(
        dcid in arb_cid(),
        pn in 0u64..(1 << 62),
        pn_len in 1usize..=4,
        spin: bool,
        key_phase: bool,
        fixed_bit: bool,
        payload in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let tpn = TruncatedPacketNumber::with_len(PacketNumber(pn), pn_len);
        let mut out = Vec::new();
        let pn_offset = encode_short_header(&mut out, &dcid, tpn, spin, key_phase, fixed_bit);
        out.extend(&payload);
        let parsed = ParsedPacket::parse(&out, dcid.len()).unwrap();
        prop_assert_eq!(&parsed.header, &Header::Short(ShortHeader { dcid, spin }));
        prop_assert_eq!(parsed.pn_offset, Some(pn_offset));
        prop_assert_eq!(parsed.len, out.len());
        prop_assert_eq!(parsed.first_byte & KEY_PHASE_BIT != 0, key_phase);
        prop_assert_eq!(parsed.fixed_bit(), fixed_bit);
        let field = &out[pn_offset..pn_offset + pn_len];
        let mut value = 0u32;
        for b in field {
            value = value << 8 | u32::from(*b);
        }
        prop_assert_eq!(value, tpn.value());
    }

    #[test]
    fn retry_round_trip(
        version in arb_version(),
        dcid in arb_cid(),
        scid in arb_cid(),
        token in prop::collection::vec(any::<u8>(), 1..200),
        tag: [u8; 16],
        unused in 0u8..16,
    ) {
        let retry = RetryHeader { version, dcid, scid, token: &token, integrity_tag: tag };
        let mut out = Vec::new();
        retry.encode(&mut out, unused);
        let parsed = ParsedPacket::parse(&out, 0).unwrap();
        prop_assert_eq!(parsed.header, Header::Retry(retry));
        prop_assert_eq!(parsed.first_byte & 0x0f, unused);
    }

    #[test]
    fn version_negotiation_round_trip_prop(
        dcid in prop::collection::vec(any::<u8>(), 0..=255),
        scid in prop::collection::vec(any::<u8>(), 0..=255),
        versions in prop::collection::vec(any::<u32>().prop_map(Version), 1..20),
    ) {
        let mut out = Vec::new();
        encode_version_negotiation(&mut out, &dcid, &scid, &versions, 0);
        let parsed = ParsedPacket::parse(&out, 0).unwrap();
        let Header::VersionNegotiation(vn) = parsed.header else { panic!() };
        prop_assert_eq!(vn.dcid, &dcid[..]);
        prop_assert_eq!(vn.scid, &scid[..]);
        prop_assert_eq!(vn.versions().collect::<Vec<_>>(), versions);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), cid_len in 0usize..=20) {
        if let Ok(p) = ParsedPacket::parse(&bytes, cid_len) {
            prop_assert!(p.len <= bytes.len());
            prop_assert!(p.pn_offset.is_none_or(|o| o <= p.len));
        }
    }
}
