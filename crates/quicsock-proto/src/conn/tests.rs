//! Bad input: each case closes the connection with the RFC error code (checked on the
//! side that detects it and on the peer, which receives the CONNECTION_CLOSE), or is
//! dropped without state.

use std::time::Duration;

use super::*;
use crate::endpoint::ConnectionHandle;
use crate::frame::{Frame, NewConnectionId, ResetStream};
use crate::packet::{PacketType, SpaceId};
use crate::sim::{LinkConfig, Pair, PairConfig};
use crate::{TransportErrorCode as Code, VarInt};

fn established() -> (Pair, ConnectionHandle) {
    let cfg = PairConfig::new(7, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    });
    assert!(ok);
    (pair, h)
}

fn encode(frames: &[Frame<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        f.encode(&mut out);
    }
    out
}

/// Sends `frames` from the client in a packet of `space`; returns the server's close code
/// and checks the client hears the same code in the server's CONNECTION_CLOSE.
fn server_rejects(pair: &mut Pair, h: ConnectionHandle, space: SpaceId, frames: &[u8]) -> Code {
    let mut d = Vec::new();
    pair.client_conn(h).build_raw(space, frames, &mut d);
    let now = pair.now;
    let (addr, c) = (pair.client_addr, pair.server.handles()[0]);
    pair.server.handle(now, addr, None, &mut d);
    let server = pair.server.connection(c).expect("server connection");
    let Some(ConnectionError::Local(close)) = server.error().cloned() else {
        panic!("server did not close: {:?}", server.error());
    };
    let code = close.transport_code().expect("transport error");
    pair.run_until(Duration::from_secs(2), |p| p.client_conn(h).is_closed());
    match pair.client_conn(h).error() {
        Some(ConnectionError::Peer(peer)) => assert_eq!(peer.transport_code(), Some(code)),
        other => panic!("client did not hear the close: {other:?}"),
    }
    code
}

fn stream(id: u64, offset: u64, data: &[u8], fin: bool) -> Frame<'_> {
    Frame::Stream(crate::frame::Stream {
        id: StreamId::from(VarInt::saturating(id)),
        offset: VarInt::saturating(offset),
        fin,
        explicit_len: true,
        data,
    })
}

#[test]
fn frame_in_a_forbidden_packet_type_is_protocol_violation() {
    // A STREAM frame in a Handshake packet, while the handshake runs (RFC 9000 §12.4).
    let cfg = PairConfig::new(3, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).keys.can_send(SpaceId::Handshake) && p.server_conn().is_some()
    }));
    let frames = encode(&[stream(0, 0, b"x", false)]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Handshake, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

#[test]
fn stream_beyond_the_limit_is_stream_limit_error() {
    let (mut pair, h) = established();
    // The server allows 100 client bidirectional streams: index 100 is over.
    let frames = encode(&[stream(100 * 4, 0, b"x", false)]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::STREAM_LIMIT_ERROR
    );
}

#[test]
fn stream_data_on_a_receive_only_stream_is_stream_state_error() {
    let (mut pair, h) = established();
    // Stream 3 is server-initiated unidirectional: the client may not send on it.
    let server = pair.server_conn().unwrap();
    let id = server.open_stream(Dir::Uni).unwrap();
    assert_eq!(id.into_inner(), 3);
    let frames = encode(&[stream(3, 0, b"x", false)]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::STREAM_STATE_ERROR
    );
}

#[test]
fn stream_frame_for_an_unopened_local_stream_is_stream_state_error() {
    let (mut pair, h) = established();
    // Stream 1 is server-initiated bidirectional and the server never opened it.
    let frames = encode(&[stream(1, 0, b"x", false)]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::STREAM_STATE_ERROR
    );
}

#[test]
fn max_stream_data_for_a_receive_only_stream_is_stream_state_error() {
    let (mut pair, h) = established();
    // Stream 2 is client-initiated unidirectional: the server only receives on it, so the
    // client granting it credit is wrong.
    let frames = encode(&[Frame::MaxStreamData {
        id: StreamId::from(VarInt::from_u32(2)),
        max: VarInt::from_u32(10),
    }]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::STREAM_STATE_ERROR
    );
}

#[test]
fn data_beyond_the_stream_window_is_flow_control_error() {
    let (mut pair, h) = established();
    // The server's stream window is 1 MiB.
    let frames = encode(&[stream(0, 1 << 20, b"x", false)]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::FLOW_CONTROL_ERROR
    );
}

#[test]
fn data_beyond_the_connection_window_is_flow_control_error() {
    let (mut pair, h) = established();
    // Five streams at the end of their 1 MiB windows exceed the 4 MiB connection window.
    let mut frames = Vec::new();
    for i in 0..5u64 {
        frames.extend(encode(&[stream(i * 4, (1 << 20) - 1, b"x", false)]));
    }
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::FLOW_CONTROL_ERROR
    );
}

#[test]
fn a_changed_final_size_is_final_size_error() {
    let (mut pair, h) = established();
    let frames = encode(&[
        stream(0, 0, b"0123456789", true),
        stream(0, 10, b"more", true),
    ]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::FINAL_SIZE_ERROR
    );
}

#[test]
fn data_beyond_the_final_size_is_final_size_error() {
    let (mut pair, h) = established();
    let frames = encode(&[
        stream(0, 0, b"0123456789", true),
        stream(0, 8, b"xyz", false),
    ]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::FINAL_SIZE_ERROR
    );
}

#[test]
fn a_reset_changing_the_final_size_is_final_size_error() {
    let (mut pair, h) = established();
    let reset = Frame::ResetStream(ResetStream {
        id: StreamId::from(VarInt::ZERO),
        error_code: VarInt::from_u32(1),
        final_size: VarInt::from_u32(5),
    });
    let frames = encode(&[stream(0, 0, b"0123456789", false), reset]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::FINAL_SIZE_ERROR
    );
}

#[test]
fn an_ack_of_a_packet_never_sent_is_protocol_violation() {
    let (mut pair, h) = established();
    let mut frames = Vec::new();
    crate::frame::encode_ack(&mut frames, &[1_000_000..=1_000_000], VarInt::ZERO, None).unwrap();
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

#[test]
fn crypto_data_beyond_the_buffer_is_crypto_buffer_exceeded() {
    let (mut pair, h) = established();
    // 4096 bytes out of order are accepted...
    let ok = encode(&[Frame::Crypto(crate::frame::Crypto {
        offset: VarInt::from_u32(4000),
        data: &[0; 96],
    })]);
    let mut d = Vec::new();
    pair.client_conn(h).build_raw(SpaceId::Data, &ok, &mut d);
    let (now, addr) = (pair.now, pair.client_addr);
    pair.server.handle(now, addr, None, &mut d);
    assert!(!pair.server_conn().unwrap().is_closed());
    // ...but not data past the buffering limit.
    let far = encode(&[Frame::Crypto(crate::frame::Crypto {
        offset: VarInt::from_u32(CRYPTO_BUFFER_LIMIT as u32),
        data: &[0; 16],
    })]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &far),
        Code::CRYPTO_BUFFER_EXCEEDED
    );
}

#[test]
fn a_new_connection_id_flood_is_connection_id_limit_error() {
    let (mut pair, h) = established();
    // The limit is 4 active IDs; the client already issued three (sequences 1 to 3), so
    // five more overflow it whatever is retired.
    let frames: Vec<Frame<'_>> = (10..=14u8)
        .map(|i| {
            Frame::NewConnectionId(NewConnectionId {
                sequence: VarInt::from_u32(u32::from(i)),
                retire_prior_to: VarInt::ZERO,
                id: ConnectionId::from_slice(&[i; 8]).unwrap(),
                reset_token: [i; 16],
            })
        })
        .collect();
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &encode(&frames)),
        Code::CONNECTION_ID_LIMIT_ERROR
    );
}

#[test]
fn retiring_an_unissued_connection_id_is_protocol_violation() {
    let (mut pair, h) = established();
    let frames = encode(&[Frame::RetireConnectionId {
        sequence: VarInt::from_u32(100),
    }]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

#[test]
fn retiring_the_connection_id_the_packet_was_sent_to_is_protocol_violation() {
    // The client's packets go to the server's first ID (sequence 0); retiring it in one of
    // them is refused (RFC 9000 §19.16). Retiring it from a packet sent to another of the
    // server's IDs is legal; the quinn interop tests exercise that.
    let (mut pair, h) = established();
    let frames = encode(&[Frame::RetireConnectionId {
        sequence: VarInt::ZERO,
    }]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

#[test]
fn handshake_done_from_a_client_is_protocol_violation() {
    let (mut pair, h) = established();
    let frames = encode(&[Frame::HandshakeDone]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

#[test]
fn new_token_from_a_client_is_protocol_violation() {
    let (mut pair, h) = established();
    let frames = encode(&[Frame::NewToken { token: b"token" }]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

#[test]
fn a_datagram_frame_not_negotiated_is_protocol_violation() {
    let (mut pair, h) = established();
    let frames = encode(&[Frame::Datagram {
        explicit_len: true,
        data: b"hi",
    }]);
    assert_eq!(
        server_rejects(&mut pair, h, SpaceId::Data, &frames),
        Code::PROTOCOL_VIOLATION
    );
}

/// HANDSHAKE_DONE comes in 1-RTT packets, so a client that reads it has finished TLS; an
/// application driving the handshake itself may not have called `handshake_complete`
/// yet. The frame is remembered and the handshake confirmed once it completes, rather
/// than the connection closed (which a fast server made happen in the wild).
#[test]
fn handshake_done_before_the_application_completes_confirms_at_completion() {
    let cfg = PairConfig::new(5, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let c = pair.client_conn(h);
    assert!(!c.is_handshake_complete());
    let ack_eliciting = c
        .process_frames(Timestamp::ZERO, PacketType::OneRtt, &[0x1e], None)
        .unwrap();
    assert!(ack_eliciting);
    assert!(
        !c.is_handshake_confirmed(),
        "not before the handshake completes"
    );
    assert!(!c.is_closed());
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
    });
    assert!(ok);
    assert!(!pair.client_conn(h).is_closed());
}

#[test]
fn malformed_datagrams_before_the_handshake_leave_no_state() {
    let cfg = PairConfig::new(9, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let from = pair.client_addr;
    let mut garbage: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0xff],
        vec![0xc0, 0, 0, 0, 1],
        // A short header for an unknown connection ID.
        [&[0x40u8][..], &[7; 40]].concat(),
        // An Initial header with random bytes after it, padded to 1200.
        {
            let mut d = vec![
                0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xb0,
            ];
            d.resize(1200, 0xaa);
            d
        },
        // A valid-looking Initial under 1200 bytes.
        {
            let mut d = vec![
                0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x40, 0x30,
            ];
            d.resize(60, 0);
            d
        },
        // An Initial whose destination ID is shorter than 8 bytes.
        {
            let mut d = vec![0xc3, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 0, 0x44, 0xb0];
            d.resize(1200, 0);
            d
        },
    ];
    let mut rng = crate::rng::SeededRandom::new(1);
    for _ in 0..200 {
        let mut d = vec![0; rng.below(1500) as usize];
        crate::rng::Random::fill(&mut rng, &mut d);
        garbage.push(d);
    }
    for mut d in garbage {
        let now = pair.now;
        assert_eq!(pair.server.handle(now, from, None, &mut d), None);
    }
    assert_eq!(pair.server.connection_count(), 0);
    let mut buf = Vec::new();
    // Random bytes may look like a long header of an unknown version: those (at least
    // 1200 bytes) get a Version Negotiation, which keeps no state either.
    while let Some((h, _)) = pair.server.poll_transmit(pair.now, &mut buf) {
        assert_eq!(h, None, "only stateless responses");
        buf.clear();
    }
}

#[test]
fn an_unknown_version_gets_version_negotiation_only_when_padded() {
    let cfg = PairConfig::new(9, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let mut d = vec![
        0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 4, 9, 9, 9, 9,
    ];
    d.resize(1200, 0);
    let now = pair.now;
    let from = pair.client_addr;
    pair.server.handle(now, from, None, &mut d.clone());
    let mut buf = Vec::new();
    let (h, t) = pair
        .server
        .poll_transmit(now, &mut buf)
        .expect("a Version Negotiation");
    assert_eq!(h, None);
    let parsed = crate::packet::ParsedPacket::parse(&buf[..t.size], 8).unwrap();
    let crate::packet::Header::VersionNegotiation(vn) = parsed.header else {
        panic!("not a Version Negotiation packet");
    };
    assert!(vn.versions().any(|v| v == crate::packet::Version::V1));
    // Echoes the client's IDs swapped (RFC 9000 §17.2.1).
    assert_eq!(vn.dcid, &[9, 9, 9, 9]);
    d.truncate(1199);
    pair.server.handle(now, from, None, &mut d);
    buf.clear();
    assert!(pair.server.poll_transmit(now, &mut buf).is_none());
    assert_eq!(pair.server.connection_count(), 0);
}

#[test]
fn a_client_gives_up_on_version_negotiation_without_its_version() {
    let cfg = PairConfig::new(4, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let scid = pair.client_conn(h).local_cid();
    let mut vn = Vec::new();
    crate::packet::encode_version_negotiation(
        &mut vn,
        &scid,
        &[1, 2, 3, 4, 5, 6, 7, 8],
        &[crate::packet::Version(0x1a2a_3a4a)],
        0,
    );
    let (now, addr) = (pair.now, pair.server_addr);
    pair.client.handle(now, addr, None, &mut vn);
    assert_eq!(
        pair.client_conn(h).error(),
        Some(&ConnectionError::VersionMismatch(vec![
            crate::packet::Version(0x1a2a_3a4a)
        ]))
    );
}

#[test]
fn retiring_one_of_our_ids_is_reported_and_replaced() {
    let (mut pair, h) = established();
    // Let the server's NEW_CONNECTION_IDs reach the client first.
    pair.run_until(Duration::from_millis(100), |_| false);
    let frames = encode(&[Frame::RetireConnectionId {
        sequence: VarInt::from_u32(1),
    }]);
    let mut d = Vec::new();
    pair.client_conn(h)
        .build_raw(SpaceId::Data, &frames, &mut d);
    let now = pair.now;
    let (addr, c) = (pair.client_addr, pair.server.handles()[0]);
    pair.server.handle(now, addr, None, &mut d);
    let server = pair.server.connection(c).unwrap();
    assert!(!server.is_closed());
    let mut seen = false;
    while let Some(e) = server.poll_event() {
        if e == (Event::ConnectionIdRetired {
            dest: false,
            active: 0,
            prior_to: 0,
        }) {
            seen = true;
        }
    }
    assert!(seen, "the retirement is reported");
    // A replacement goes out: the client keeps as many IDs as its limit allows.
    assert!(
        server.local_cids.pending.iter().any(|s| *s >= 4),
        "{:?}",
        server.local_cids.pending
    );
}

/// Keys live in one allocation per level, so the discarded Initial and Handshake keys cost
/// an idle connection nothing (a header-protection key alone is half a kilobyte).
#[test]
fn key_set_holds_levels_out_of_line() {
    let size = std::mem::size_of::<super::keys::KeySet>();
    assert!(size <= 256, "KeySet is {size} bytes");
}

/// A client asked to start in a version nobody speaks (Linux QUIC's CONFIG version 123)
/// probes first, takes v1 from the server's Version Negotiation and connects: one probe,
/// no handshake bytes before the answer, and both ends in v1 with the probed version
/// remembered for the downgrade check (RFC 9368 §2.1, §4).
#[test]
fn a_client_in_an_unknown_version_connects_in_one_the_server_offers() {
    let mut cfg = PairConfig::new(5, LinkConfig::default());
    cfg.client.version = crate::packet::Version(123);
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    assert!(pair.client_conn(h).is_probing_version());
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    });
    assert!(ok, "the handshake after the Version Negotiation");
    let c = pair.client_conn(h);
    assert!(!c.is_probing_version());
    assert_eq!(c.version(), crate::packet::Version::V1);
    assert_eq!(c.probed_version(), Some(crate::packet::Version(123)));
    assert_eq!(
        pair.server_conn().unwrap().version(),
        crate::packet::Version::V1
    );
    // The probe, then the real first flight: only one connection was ever made.
    assert_eq!(pair.server.connection_count(), 1);
}

/// A probe nobody answers is sent `VERSION_PROBES` times, a PTO apart, and the client
/// then ends with VersionMismatch.
#[test]
fn a_client_probing_a_silent_server_gives_up_after_its_probes() {
    let mut cfg = PairConfig::new(6, LinkConfig::default());
    cfg.client.version = crate::packet::Version(123);
    cfg.c2s.loss = 1.0;
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    pair.run_until(Duration::from_secs(30), |p| p.client_conn(h).is_closed());
    assert_eq!(
        pair.client_conn(h).error(),
        Some(&ConnectionError::VersionMismatch(Vec::new()))
    );
    assert_eq!(
        pair.c2s_stats().sent,
        u64::from(super::VERSION_PROBES),
        "probes"
    );
}

/// The downgrade check after a probe (RFC 9368 §4): an on-path attacker answers the
/// probe of version 123 with a Version Negotiation of "v1 only" although the server
/// speaks 123 too; the server's version_information then lists 123, and the client
/// closes with VERSION_NEGOTIATION_ERROR instead of using the downgraded connection.
#[test]
fn a_probing_client_refuses_a_server_that_lists_the_probed_version() {
    use crate::endpoint::EndpointConfig;
    use crate::host::Host;
    use crate::packet::{encode_version_negotiation, Header, ParsedPacket, Version};
    let mut cfg = PairConfig::new(8, LinkConfig::default());
    cfg.client.version = Version(123);
    let mut pair = Pair::new(&cfg);
    pair.server = Host::new(
        EndpointConfig {
            server: Some(cfg.server_config()),
            versions: vec![Version::V1, Version(123)],
            ..EndpointConfig::default()
        },
        Box::new(crate::rng::SeededRandom::new(9)),
    );
    let h = pair.connect(&cfg);
    // The probe never reaches the server: the attacker answers it.
    let mut probe = Vec::new();
    let (_, t) = pair.client.poll_transmit(pair.now, &mut probe).unwrap();
    let parsed = ParsedPacket::parse(&probe[..t.size], 8).unwrap();
    let Header::Unsupported(u) = parsed.header else {
        panic!("not a probe: {:?}", parsed.header);
    };
    assert_eq!(u.version, Version(123));
    let mut vn = Vec::new();
    encode_version_negotiation(&mut vn, u.scid, u.dcid, &[Version::V1], 0);
    let (now, addr) = (pair.now, pair.server_addr);
    pair.client.handle(now, addr, None, &mut vn);
    assert!(!pair.client_conn(h).is_probing_version());
    pair.run_until(Duration::from_secs(5), |p| p.client_conn(h).is_closed());
    let Some(ConnectionError::Local(close)) = pair.client_conn(h).error().cloned() else {
        panic!(
            "the client did not close: {:?}",
            pair.client_conn(h).error()
        );
    };
    assert_eq!(
        close.transport_code(),
        Some(Code::VERSION_NEGOTIATION_ERROR)
    );
}

/// After the Version Negotiation that answered its probe, a client discards any other
/// (RFC 9000 §6.2): a second one, listing none of our versions, does not end it.
#[test]
fn a_second_version_negotiation_after_a_probe_is_discarded() {
    use crate::packet::{encode_version_negotiation, Header, ParsedPacket, Version};
    let mut cfg = PairConfig::new(9, LinkConfig::default());
    cfg.client.version = Version(123);
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let mut probe = Vec::new();
    let (_, t) = pair.client.poll_transmit(pair.now, &mut probe).unwrap();
    let parsed = ParsedPacket::parse(&probe[..t.size], 8).unwrap();
    let Header::Unsupported(u) = parsed.header else {
        panic!("not a probe");
    };
    let (now, addr) = (pair.now, pair.server_addr);
    for offered in [Version::V1, Version(0x1a2a_3a4a)] {
        let mut vn = Vec::new();
        encode_version_negotiation(&mut vn, u.scid, u.dcid, &[offered], 0);
        pair.client.handle(now, addr, None, &mut vn);
    }
    assert!(pair.client_conn(h).error().is_none());
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
    });
    assert!(ok, "the handshake in v1");
}

/// A server's half-open connection lasts while its client is heard: with every answer
/// lost, the client's retransmitted Initials keep it past the handshake timeout, and it
/// goes once the client has been silent that long.
#[test]
fn the_handshake_timeout_counts_from_the_clients_last_packet() {
    let timeout = Duration::from_secs(2);
    let mut cfg = PairConfig::new(10, LinkConfig::default());
    cfg.server.handshake_timeout = Some(timeout);
    cfg.s2c.loss = 1.0;
    let mut pair = Pair::new(&cfg);
    pair.connect(&cfg);
    let open = |p: &mut Pair| p.server_conn().is_some_and(|c| !c.is_closed());
    // The client retransmits after about 1 s and 3 s (PTO backoff), then after 7 s.
    pair.run_until(Duration::from_millis(3500), |_| false);
    assert!(
        open(&mut pair),
        "kept past the timeout while the client retransmits"
    );
    pair.run_until(Duration::from_millis(2000), |_| false);
    assert!(
        !open(&mut pair),
        "dropped 2 s after the client was last heard"
    );
}

/// However often its client is heard, a half-open connection goes three handshake
/// timeouts after its first Initial.
#[test]
fn a_half_open_connection_goes_three_handshake_timeouts_after_it_began() {
    let timeout = Duration::from_secs(2);
    let mut cfg = PairConfig::new(11, LinkConfig::default());
    cfg.server.handshake_timeout = Some(timeout);
    cfg.s2c.loss = 1.0;
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let start = pair.now;
    let ping = encode(&[Frame::Ping]);
    let mut lived = None;
    for _ in 0..16 {
        pair.run_until(Duration::from_millis(500), |_| false);
        if pair.server_conn().is_some_and(|c| c.is_closed()) {
            lived = Some(pair.now.saturating_duration_since(start));
            break;
        }
        // A new Initial from the client every half second.
        let mut d = Vec::new();
        pair.client_conn(h)
            .build_raw(SpaceId::Initial, &ping, &mut d);
        let (now, addr) = (pair.now, pair.client_addr);
        pair.server.handle(now, addr, None, &mut d);
    }
    let lived = lived.expect("the half-open connection was dropped");
    assert!(
        lived > timeout * 3 && lived <= timeout * 3 + Duration::from_millis(500),
        "dropped after {lived:?}"
    );
}
