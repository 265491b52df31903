//! ACK_FREQUENCY and IMMEDIATE_ACK as a receiver sees them (draft-ietf-quic-ack-frequency):
//! the rules a request must follow, the order of requests, and the caps on what a peer
//! may ask.

use std::time::Duration;

use super::*;
use crate::endpoint::ConnectionHandle;
use crate::frame::{AckFrequency, Frame};
use crate::packet::SpaceId;
use crate::sim::{LinkConfig, Pair, PairConfig};
use crate::{TransportErrorCode as Code, VarInt};

fn established(cfg: &PairConfig) -> (Pair, ConnectionHandle) {
    let mut pair = Pair::new(cfg);
    let h = pair.connect(cfg);
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    });
    assert!(ok);
    (pair, h)
}

fn request(sequence: u64, threshold: u64, delay_us: u64) -> Vec<u8> {
    let mut out = Vec::new();
    Frame::AckFrequency(AckFrequency {
        sequence: VarInt::from_u64(sequence).unwrap(),
        ack_eliciting_threshold: VarInt::from_u64(threshold).unwrap(),
        request_max_ack_delay: VarInt::from_u64(delay_us).unwrap(),
        reordering_threshold: VarInt::from_u32(3),
    })
    .encode(&mut out);
    out
}

/// Sends `frames` from the client in a 1-RTT packet; returns the server's stats, or its
/// close code if it closed.
fn deliver(pair: &mut Pair, h: ConnectionHandle, frames: &[u8]) -> Result<ConnectionStats, Code> {
    let mut d = Vec::new();
    pair.client_conn(h).build_raw(SpaceId::Data, frames, &mut d);
    let now = pair.now;
    let (addr, c) = (pair.client_addr, pair.server.handles()[0]);
    pair.server.handle(now, addr, None, &mut d);
    let server = pair.server.connection(c).expect("server connection");
    match server.error() {
        Some(ConnectionError::Local(close)) => Err(close.transport_code().expect("transport")),
        _ => Ok(server.stats()),
    }
}

#[test]
fn a_request_below_min_ack_delay_is_protocol_violation() {
    let (mut pair, h) = established(&PairConfig::new(3, LinkConfig::default()));
    let min = u64::from(super::ack_frequency::MIN_ACK_DELAY_US);
    assert_eq!(
        deliver(&mut pair, h, &request(0, 9, min - 1)),
        Err(Code::PROTOCOL_VIOLATION)
    );
}

#[test]
fn a_request_to_an_endpoint_without_min_ack_delay_is_protocol_violation() {
    let mut cfg = PairConfig::new(4, LinkConfig::default());
    cfg.server.transport.min_ack_delay = None;
    let (mut pair, h) = established(&cfg);
    assert_eq!(
        deliver(&mut pair, h, &request(0, 9, 5_000)),
        Err(Code::PROTOCOL_VIOLATION)
    );
}

/// The newest request holds; an older one arriving late changes nothing.
#[test]
fn only_a_newer_request_replaces_the_policy() {
    let (mut pair, h) = established(&PairConfig::new(5, LinkConfig::default()));
    let s = deliver(&mut pair, h, &request(5, 3, 4_000)).unwrap();
    assert_eq!(s.ack_threshold, 3);
    assert_eq!(s.ack_delay_limit, Duration::from_millis(4));
    let s = deliver(&mut pair, h, &request(4, 7, 9_000)).unwrap();
    assert_eq!(
        (s.ack_threshold, s.ack_delay_limit),
        (3, Duration::from_millis(4))
    );
    let s = deliver(&mut pair, h, &request(6, 7, 9_000)).unwrap();
    assert_eq!(
        (s.ack_threshold, s.ack_delay_limit),
        (7, Duration::from_millis(9))
    );
}

/// A peer asking for the largest values it can encode gets a delay of at most 16,383 ms
/// (max_ack_delay's own bound) and nothing overflows; the connection goes on.
#[test]
fn hostile_ack_frequency_requests_are_capped() {
    let (mut pair, h) = established(&PairConfig::new(6, LinkConfig::default()));
    let max = VarInt::MAX.into_inner();
    let s = deliver(&mut pair, h, &request(max, max, max)).unwrap();
    assert_eq!(s.ack_threshold, max);
    assert_eq!(s.ack_delay_limit, Duration::from_millis(16_383));
    let mut ping = Vec::new();
    Frame::Ping.encode(&mut ping);
    for _ in 0..3 {
        deliver(&mut pair, h, &ping).unwrap();
    }
    let id = pair.client_conn(h).open_stream(crate::Dir::Bi).unwrap();
    pair.client_conn(h).write(id, b"still here", true).unwrap();
    let ok = pair.run_until(Duration::from_secs(30), |p| {
        p.server_conn()
            .is_some_and(|c| c.streams().readable(id).is_some_and(|(n, _)| n == 10))
    });
    assert!(ok, "the connection goes on");
}

/// IMMEDIATE_ACK makes its packet's ACK due at once, even under a request that lets 100
/// packets go unacknowledged for 16 s.
#[test]
fn immediate_ack_is_acknowledged_at_once() {
    let (mut pair, h) = established(&PairConfig::new(8, LinkConfig::default()));
    deliver(&mut pair, h, &request(0, 100, 16_000_000)).unwrap();
    let id = pair.client_conn(h).open_stream(crate::Dir::Bi).unwrap();
    let mut stream = Vec::new();
    Frame::Stream(crate::frame::Stream {
        id,
        offset: VarInt::ZERO,
        fin: false,
        explicit_len: true,
        data: b"x",
    })
    .encode(&mut stream);
    deliver(&mut pair, h, &stream).unwrap();
    let (now, c) = (pair.now, pair.server.handles()[0]);
    let mut out = vec![0; 1500];
    let conn = pair.server.connection(c).unwrap();
    assert!(
        conn.poll_transmit(now, &mut out).is_none(),
        "waits under the request"
    );
    let mut immediate = Vec::new();
    Frame::ImmediateAck.encode(&mut immediate);
    deliver(&mut pair, h, &immediate).unwrap();
    let conn = pair.server.connection(c).unwrap();
    assert!(
        conn.poll_transmit(now, &mut out).is_some(),
        "an ACK at once"
    );
}
