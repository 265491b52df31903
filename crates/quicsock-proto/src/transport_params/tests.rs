use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use proptest::prelude::*;

use super::*;
use crate::TransportErrorCode;

fn param(id: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_param(&mut out, id, value.len(), |out| out.put_slice(value));
    out
}

fn reject(bytes: &[u8], sender: Side) -> &'static str {
    let err = TransportParameters::decode(bytes, sender).unwrap_err();
    assert_eq!(err.code, TransportErrorCode::TRANSPORT_PARAMETER_ERROR);
    err.reason
}

#[test]
fn rfc9001_a2_client_transport_parameters() {
    // The quic_transport_parameters extension body of the RFC 9001 §A.2 ClientHello.
    let body = hex::decode(
        "0408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff",
    )
    .unwrap();
    let p = TransportParameters::decode(&body, Side::Client).unwrap();
    assert_eq!(p.initial_max_data, VarInt::MAX);
    assert_eq!(p.initial_max_stream_data_bidi_local.into_inner(), 65535);
    assert_eq!(p.initial_max_stream_data_bidi_remote.into_inner(), 65535);
    assert_eq!(p.initial_max_stream_data_uni.into_inner(), 65535);
    assert_eq!(p.initial_max_streams_bidi.into_inner(), 16);
    assert_eq!(p.initial_max_streams_uni.into_inner(), 16);
    assert_eq!(p.max_idle_timeout.into_inner(), 30_000);
    assert_eq!(
        p.initial_source_connection_id.unwrap().as_slice(),
        hex::decode("8394c8f03e515708").unwrap()
    );
    assert_eq!(p.max_udp_payload_size.into_inner(), 65527);
    assert_eq!(p.ack_delay_exponent.into_inner(), 3);
    assert_eq!(p.active_connection_id_limit.into_inner(), 2);
}

#[test]
fn unknown_and_grease_parameters_are_skipped() {
    let mut body = param(0x1234, &[1, 2, 3]);
    TransportParameters::encode_grease(&mut body, 7, b"grease");
    TransportParameters::encode_grease(&mut body, 7, b"twice is fine for unknown IDs");
    body.extend(param(0x04, &[0x10]));
    let p = TransportParameters::decode(&body, Side::Server).unwrap();
    assert_eq!(p.initial_max_data.into_inner(), 16);
}

/// min_ack_delay up to max_ack_delay is taken (draft-ietf-quic-ack-frequency §3).
#[test]
fn min_ack_delay_within_max_ack_delay() {
    let bytes = [param(0x0b, &[2]), param(0xff04_de1b, &[0x47, 0xd0])].concat();
    let p = TransportParameters::decode(&bytes, Side::Client).unwrap();
    assert_eq!(p.min_ack_delay, Some(VarInt::from_u32(2000)));
    assert_eq!(p.max_ack_delay, VarInt::from_u32(2));
}

#[test]
fn bad_parameters_are_rejected() {
    let cases: Vec<(Vec<u8>, Side)> = vec![
        // Duplicate.
        (
            [param(0x04, &[1]), param(0x04, &[2])].concat(),
            Side::Server,
        ),
        // Truncated ID, length and value.
        (vec![0x40], Side::Server),
        (vec![0x04], Side::Server),
        (vec![0x04, 0x02, 0x01], Side::Server),
        // Integer that does not fill its length, and one longer than its length.
        (param(0x04, &[0x01, 0x00]), Side::Server),
        (param(0x04, &[0x40]), Side::Server),
        (param(0x04, &[]), Side::Server),
        // Out of range values.
        (param(0x03, &[0x44, 0xaf]), Side::Server), // 1199
        (param(0x0a, &[21]), Side::Server),
        (param(0x0b, &[0x80, 0x00, 0x40, 0x00]), Side::Server), // 2^14
        (param(0x0e, &[1]), Side::Server),
        (param(0x08, &[0xd0, 0, 0, 0, 0, 0, 0, 1]), Side::Server), // 2^60 + 1
        (param(0x09, &[0xd0, 0, 0, 0, 0, 0, 0, 1]), Side::Server),
        // Wrong lengths.
        (param(0x02, &[0; 15]), Side::Server),
        (param(0x0f, &[0; 21]), Side::Server),
        (param(0x0c, &[0]), Side::Server),
        (param(0x2ab2, &[1]), Side::Server),
        (param(0xbaad, &[1]), Side::Server),
        // min_ack_delay above max_ack_delay (25 ms by default; 25,001 µs).
        (param(0xff04_de1b, &[0x80, 0x00, 0x61, 0xa9]), Side::Server),
        (
            [param(0x0b, &[2]), param(0xff04_de1b, &[0x47, 0xd1])].concat(),
            Side::Client,
        ), // 2 ms, 2,001 µs
        // version_information: empty, partial, version 0.
        (param(0x11, &[]), Side::Server),
        (param(0x11, &[0, 0, 0, 1, 0, 0]), Side::Server),
        (param(0x11, &[0, 0, 0, 0]), Side::Server),
        (param(0x11, &[0, 0, 0, 1, 0, 0, 0, 0]), Side::Server),
        // Server-only parameters from a client.
        (param(0x00, &[1, 2]), Side::Client),
        (param(0x02, &[0; 16]), Side::Client),
        (param(0x10, &[1]), Side::Client),
    ];
    for (i, (bytes, sender)) in cases.iter().enumerate() {
        let result = TransportParameters::decode(bytes, *sender);
        assert_eq!(
            result.map_err(|e| e.code),
            Err(TransportErrorCode::TRANSPORT_PARAMETER_ERROR),
            "case {i}: {bytes:02x?}"
        );
    }
}

#[test]
fn preferred_address_rules() {
    let pa = PreferredAddress {
        ipv4: Some(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 443)),
        ipv6: None,
        connection_id: ConnectionId::from_slice(&[1, 2, 3, 4]).unwrap(),
        stateless_reset_token: [9; 16],
    };
    let mut value = Vec::new();
    pa.encode(&mut value);
    assert_eq!(value.len(), pa.encoded_len());
    let p = TransportParameters::decode(&param(0x0d, &value), Side::Server).unwrap();
    assert_eq!(p.preferred_address, Some(pa));
    assert!(reject(&param(0x0d, &value), Side::Client).contains("server-only"));
    // Zero-length connection ID.
    let mut empty_cid = value[..24].to_vec();
    empty_cid.push(0);
    empty_cid.extend([9; 16]);
    assert!(reject(&param(0x0d, &empty_cid), Side::Server).contains("empty connection ID"));
    // Trailing and missing bytes.
    let mut long = value.clone();
    long.push(0);
    reject(&param(0x0d, &long), Side::Server);
    reject(&param(0x0d, &value[..value.len() - 1]), Side::Server);
}

fn arb_cid() -> impl Strategy<Value = ConnectionId> {
    prop::collection::vec(any::<u8>(), 0..=20).prop_map(|b| ConnectionId::from_slice(&b).unwrap())
}

fn arb_varint(max: u64) -> impl Strategy<Value = VarInt> {
    (0..=max).prop_map(|v| VarInt::from_u64(v).unwrap())
}

fn arb_preferred_address() -> impl Strategy<Value = PreferredAddress> {
    (
        any::<[u8; 4]>(),
        1u16..,
        any::<[u8; 16]>(),
        1u16..,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 1..=20),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(ip4, port4, ip6, port6, which, cid, token)| PreferredAddress {
                ipv4: which.then(|| SocketAddrV4::new(Ipv4Addr::from(ip4), port4)),
                ipv6: (!which).then(|| SocketAddrV6::new(Ipv6Addr::from(ip6), port6, 0, 0)),
                connection_id: ConnectionId::from_slice(&cid).unwrap(),
                stateless_reset_token: token,
            },
        )
}

fn arb_params() -> impl Strategy<Value = TransportParameters> {
    let max = VarInt::MAX.into_inner();
    let ints = (
        arb_varint(max),
        arb_varint(max).prop_filter("at least 1200", |v| v.into_inner() >= 1200),
        arb_varint(max),
        arb_varint(max),
        arb_varint(max),
        arb_varint(max),
        arb_varint(1 << 60),
        arb_varint(1 << 60),
        arb_varint(20),
        arb_varint((1 << 14) - 1),
        (2..=max).prop_map(|v| VarInt::from_u64(v).unwrap()),
    );
    let others = (
        proptest::option::of(arb_cid()),
        proptest::option::of(any::<[u8; 16]>()),
        any::<bool>(),
        proptest::option::of(arb_preferred_address()),
        proptest::option::of(arb_cid()),
        proptest::option::of(arb_cid()),
        proptest::option::of((1u32.., prop::collection::vec(1u32.., 0..8))),
        proptest::option::of(arb_varint(max)),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0u64..100_000),
    );
    (ints, others).prop_map(|(i, o)| TransportParameters {
        max_idle_timeout: i.0,
        max_udp_payload_size: i.1,
        initial_max_data: i.2,
        initial_max_stream_data_bidi_local: i.3,
        initial_max_stream_data_bidi_remote: i.4,
        initial_max_stream_data_uni: i.5,
        initial_max_streams_bidi: i.6,
        initial_max_streams_uni: i.7,
        ack_delay_exponent: i.8,
        max_ack_delay: i.9,
        active_connection_id_limit: i.10,
        original_destination_connection_id: o.0,
        stateless_reset_token: o.1,
        disable_active_migration: o.2,
        preferred_address: o.3,
        initial_source_connection_id: o.4,
        retry_source_connection_id: o.5,
        version_information: o.6.map(|(chosen, available)| VersionInformation {
            chosen: Version(chosen),
            available: available.into_iter().map(Version).collect(),
        }),
        max_datagram_frame_size: o.7,
        grease_quic_bit: o.8,
        disable_1rtt_encryption: o.9,
        // At most max_ack_delay (ms) in µs, or the decoder rejects it.
        min_ack_delay: o
            .10
            .map(|m| VarInt::from_u64(m.min(i.9.into_inner() * 1000)).unwrap()),
    })
}

proptest! {
    #[test]
    fn transport_parameters_round_trip(params in arb_params()) {
        let mut out = Vec::new();
        params.encode(&mut out);
        prop_assert_eq!(TransportParameters::decode(&out, Side::Server).unwrap(), params);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), client: bool) {
        let sender = if client { Side::Client } else { Side::Server };
        let _ = TransportParameters::decode(&bytes, sender);
    }
}
