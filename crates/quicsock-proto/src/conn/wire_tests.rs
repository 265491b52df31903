//! What the connection puts on the wire for a configuration, checked on the datagrams
//! themselves: disable_1rtt_encryption (0xbaad, reference/linux-quic.md §1.6) leaves 1-RTT
//! packets without AEAD and header protection only when both endpoints send it; jumbo
//! datagrams (Linux QUIC's MTU 9000 row) are as large as our setting, the peer's
//! max_udp_payload_size and nothing else allow; the QUIC bit is greased only toward a peer
//! that advertised grease_quic_bit (RFC 9287), and the spin bit spins (RFC 9000 §17.4).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::conn::{ConnectionConfig, FixedSecretDriver, KeyUpdateError};
use crate::crypto::CipherSuite;
use crate::endpoint::{EndpointConfig, ServerConfig};
use crate::host::Host;
use crate::packet::Version;
use crate::rng::SeededRandom;
use crate::time::Timestamp;
use crate::{Dir, Side};

const MARK: &[u8] = b"plaintext-marker-0123456789";

fn config(off: bool) -> ConnectionConfig {
    let mut c = ConnectionConfig::default();
    c.transport.disable_1rtt_encryption = off;
    c
}

/// What [`exchange`] saw.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Whether each side runs 1-RTT in the clear (client, server).
    plaintext: (bool, bool),
    /// Whether `MARK` was seen on the wire in a short-header packet.
    mark_seen: bool,
    /// The largest datagram the client sent.
    largest: usize,
    /// The first byte of every datagram, client to server and server to client.
    first: (Vec<u8>, Vec<u8>),
    /// Whether each side spins (client, server).
    spinning: (bool, bool),
    /// The datagram size the client's stats report.
    stats_size: usize,
    /// The client's PMTU search state and probes (sent, acknowledged, lost).
    pmtu: (crate::path::PmtuState, [u32; 3]),
    /// The version of every long-header datagram, client to server and server to client.
    long_versions: (Vec<Version>, Vec<Version>),
    /// The versions the connections ended with (client, server), and the client's
    /// original one.
    versions: (Version, Version, Version),
}

fn exchange(client_off: bool, server_off: bool) -> (bool, bool, bool) {
    let o = exchange_with(config(client_off), config(server_off), 0);
    (o.plaintext.0, o.plaintext.1, o.mark_seen)
}

/// Runs a handshake, sends `MARK` followed by `bulk` bytes from the client and `MARK`
/// back; reports what went over the wire.
fn exchange_with(
    client_cfg: ConnectionConfig,
    server_cfg: ConnectionConfig,
    bulk: usize,
) -> Outcome {
    let suite = CipherSuite::Aes128GcmSha256;
    let server_config = ServerConfig::new(
        server_cfg,
        Arc::new(move || Box::new(FixedSecretDriver::new(Side::Server, suite))),
    );
    let mut client = Host::new(EndpointConfig::default(), Box::new(SeededRandom::new(1)));
    let mut server = Host::new(
        EndpointConfig {
            server: Some(server_config),
            ..EndpointConfig::default()
        },
        Box::new(SeededRandom::new(2)),
    );
    let (caddr, saddr): (SocketAddr, SocketAddr) =
        ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
    let mut now = Timestamp::ZERO;
    let h = client
        .connect(
            now,
            saddr,
            client_cfg,
            Box::new(FixedSecretDriver::new(Side::Client, suite)),
        )
        .unwrap();
    let mut seen = false;
    let mut largest = 0;
    let mut first = (Vec::new(), Vec::new());
    let mut long_versions = (Vec::new(), Vec::new());
    let mut pump = |from: &mut Host, to: &mut Host, addr: SocketAddr, now: Timestamp| {
        let mut buf = Vec::new();
        while let Some((_, t)) = from.poll_transmit(now, &mut buf) {
            let d = &mut buf[..t.size];
            seen |= d[0] & 0x80 == 0 && d.windows(MARK.len()).any(|w| w == MARK);
            let long =
                (d[0] & 0x80 != 0).then(|| Version(u32::from_be_bytes([d[1], d[2], d[3], d[4]])));
            if addr == caddr {
                largest = largest.max(d.len());
                first.0.push(d[0]);
                long_versions.0.extend(long);
            } else {
                first.1.push(d[0]);
                long_versions.1.extend(long);
            }
            to.handle(now, addr, None, d);
            buf.clear();
        }
    };
    let body: Vec<u8> = MARK
        .iter()
        .copied()
        .chain(std::iter::repeat_n(7, bulk))
        .collect();
    let mut written = 0;
    let mut sh = None;
    let mut sent = false;
    let mut got = (Vec::new(), Vec::new());
    for _ in 0..2_000 {
        pump(&mut client, &mut server, caddr, now);
        pump(&mut server, &mut client, saddr, now);
        if sh.is_none() {
            sh = server.accept();
        }
        let c = client.connection(h).unwrap();
        if c.is_handshake_confirmed() && !sent {
            c.open_stream(Dir::Bi).unwrap();
            sent = true;
        }
        if sent {
            let id = crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap();
            crate::sim::write_pending(c, id, &body, &mut written);
        }
        if let Some(s) = sh.and_then(|sh| server.connection(sh)) {
            let mut out = [0u8; 64];
            while let Ok(r) = s.read(
                now,
                crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap(),
                &mut out,
            ) {
                if r.len == 0 {
                    break;
                }
                got.0.extend_from_slice(&out[..r.len]);
            }
            if got.0.len() == body.len() && got.1.is_empty() {
                let id = crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap();
                s.write(id, MARK, true).unwrap();
                got.1.push(0);
            }
        }
        let c = client.connection(h).unwrap();
        let mut out = [0u8; 64];
        let id = crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap();
        while let Ok(r) = c.read(now, id, &mut out) {
            if r.len == 0 {
                break;
            }
            got.1.extend_from_slice(&out[..r.len]);
        }
        now += std::time::Duration::from_millis(1);
        client.handle_timeout(now);
        server.handle_timeout(now);
    }
    let mut back = vec![0];
    back.extend_from_slice(MARK);
    assert!(
        got.0 == body,
        "client to server: {} of {} bytes",
        got.0.len(),
        body.len()
    );
    assert_eq!(got.1, back, "server to client");
    let c = client.connection(h).unwrap();
    let s = server.connection(sh.unwrap()).unwrap();
    Outcome {
        plaintext: (c.is_1rtt_plaintext(), s.is_1rtt_plaintext()),
        spinning: (c.is_spinning(), s.is_spinning()),
        stats_size: c.stats().max_datagram_size,
        pmtu: (c.stats().pmtu, c.stats().pmtu_probes),
        long_versions,
        versions: (c.version(), s.version(), c.original_version()),
        mark_seen: seen,
        largest,
        first,
    }
}

#[test]
fn both_sides_disable_1rtt_encryption_and_data_flows_in_the_clear() {
    assert_eq!(exchange(true, true), (true, true, true));
}

#[test]
fn one_side_alone_keeps_1rtt_encrypted() {
    assert_eq!(exchange(true, false), (false, false, false));
    assert_eq!(exchange(false, true), (false, false, false));
    assert_eq!(exchange(false, false), (false, false, false));
}

#[test]
fn a_plaintext_connection_has_no_key_to_update() {
    let mut cfg = crate::sim::PairConfig::new(3, crate::sim::LinkConfig::default());
    cfg.client = config(true);
    cfg.server = config(true);
    let mut pair = crate::sim::Pair::new(&cfg);
    let h = pair.connect(&cfg);
    assert!(pair.run_until(std::time::Duration::from_secs(5), |p| p
        .client_conn(h)
        .is_handshake_confirmed()));
    let now = pair.now;
    assert!(pair.client_conn(h).is_1rtt_plaintext());
    assert_eq!(
        pair.client_conn(h).initiate_key_update(now),
        Err(KeyUpdateError::Plaintext)
    );
}

/// A client set to 8952-byte datagrams (Linux QUIC's MTU 9000 row) sends them as large as
/// that, and no larger than a server's max_udp_payload_size allows.
#[test]
fn jumbo_datagrams_within_our_setting_and_the_peers_limit() {
    // A STREAM frame's header is sized for the largest length it could carry, so a full
    // packet may fall a few bytes short of the limit; never beyond it.
    let near = |largest: usize, limit: usize| largest <= limit && largest + 8 >= limit;
    let jumbo = ConnectionConfig {
        max_datagram_size: 8952,
        ..ConnectionConfig::default()
    };
    let o = exchange_with(jumbo.clone(), ConnectionConfig::default(), 200_000);
    assert!(near(o.largest, 8952), "{}", o.largest);
    assert_eq!(o.stats_size, 8952, "the stats report the size in use");
    let mut small_peer = ConnectionConfig::default();
    small_peer.transport.max_udp_payload_size = crate::VarInt::from_u32(4000);
    let o = exchange_with(jumbo, small_peer, 200_000);
    assert!(near(o.largest, 4000), "{}", o.largest);
    assert_eq!(o.stats_size, 4000);
    // Without PMTU discovery the base size holds throughout.
    let fixed = ConnectionConfig {
        pmtud: None,
        ..ConnectionConfig::default()
    };
    let o = exchange_with(fixed.clone(), fixed, 200_000);
    assert!(near(o.largest, 1200), "without DPLPMTUD: {}", o.largest);
    assert_eq!(o.stats_size, 1200);
}

/// With the default settings DPLPMTUD takes a path that carries any size (this one has
/// no MTU) from the base of 1200 bytes to the search's bound, 8952, in one round trip,
/// and the transfer uses that size. The initial window (10 × 1200 bytes) has room for
/// one probe of that size; its acknowledgement ends the search.
#[test]
fn dplpmtud_raises_the_datagram_size_to_the_bound() {
    let default = ConnectionConfig::default();
    let o = exchange_with(default.clone(), default, 400_000);
    assert_eq!(o.stats_size, 8952);
    assert_eq!(o.pmtu, (crate::path::PmtuState::Complete, [1, 1, 0]));
    assert!(o.largest >= 8900, "{}", o.largest);
}

/// Whether the QUIC bit (0x40) is clear in any of `first`, and in how many short-header
/// datagrams the spin bit (0x20) changed from the one before.
fn grease_and_flips(first: &[u8]) -> (usize, usize) {
    let cleared = first.iter().filter(|b| *b & 0x40 == 0).count();
    let short: Vec<bool> = first
        .iter()
        .filter(|b| *b & 0x80 == 0)
        .map(|b| b & 0x20 != 0)
        .collect();
    let flips = short.windows(2).filter(|w| w[0] != w[1]).count();
    (cleared, flips)
}

/// By default both ends advertise grease_quic_bit, so both grease: some packets each way
/// leave with the QUIC bit clear, and they are accepted (the exchange completes).
#[test]
fn both_ends_grease_the_quic_bit_and_accept_it_greased() {
    let o = exchange_with(
        ConnectionConfig::default(),
        ConnectionConfig::default(),
        200_000,
    );
    let (c, _) = grease_and_flips(&o.first.0);
    let (s, _) = grease_and_flips(&o.first.1);
    assert!(
        c > 10 && s > 2,
        "cleared: client {c} of {}, server {s} of {}",
        o.first.0.len(),
        o.first.1.len()
    );
}

/// A peer that did not advertise grease_quic_bit never sees the bit clear; it still greases
/// toward one that did.
#[test]
fn the_quic_bit_stays_set_toward_a_peer_without_grease_quic_bit() {
    let mut plain = ConnectionConfig::default();
    plain.transport.grease_quic_bit = false;
    for client_plain in [true, false] {
        let (c, s) = if client_plain {
            (plain.clone(), ConnectionConfig::default())
        } else {
            (ConnectionConfig::default(), plain.clone())
        };
        let o = exchange_with(c, s, 100_000);
        // (to the plain side, to the other side)
        let (to_plain, to_other) = if client_plain {
            (&o.first.1, &o.first.0)
        } else {
            (&o.first.0, &o.first.1)
        };
        assert_eq!(
            grease_and_flips(to_plain).0,
            0,
            "client plain: {client_plain}"
        );
        assert!(
            grease_and_flips(to_other).0 > 0,
            "client plain: {client_plain}"
        );
    }
}

/// Both ends spin: the value the client sends flips about once per round trip (here a
/// round trip is one step of the exchange's clock).
#[test]
fn the_spin_bit_flips_once_per_round_trip() {
    let o = exchange_with(
        ConnectionConfig::default(),
        ConnectionConfig::default(),
        300_000,
    );
    assert_eq!(o.spinning, (true, true));
    let (_, flips) = grease_and_flips(&o.first.0);
    assert!(flips >= 5, "{flips} flips");
    // With the spin bit off, neither side spins.
    let off = ConnectionConfig {
        spin_bit: false,
        ..ConnectionConfig::default()
    };
    let o = exchange_with(off.clone(), off, 0);
    assert_eq!(o.spinning, (false, false));
}

/// RFC 9000 §17.2: toward an endpoint that did not advertise grease_quic_bit, a packet
/// with the QUIC bit clear is discarded; the same packet with the bit set is processed.
#[test]
fn a_cleared_quic_bit_is_discarded_without_grease_quic_bit() {
    let mut cfg = crate::sim::PairConfig::new(5, crate::sim::LinkConfig::default());
    cfg.server.transport.grease_quic_bit = false;
    let mut pair = crate::sim::Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let ok = pair.run_until(std::time::Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    });
    assert!(ok);
    let now = pair.now;
    let c = pair.client_conn(h);
    let id = c.open_stream(Dir::Bi).unwrap();
    c.write(id, b"hello", false).unwrap();
    let mut buf = Vec::new();
    let (_, t) = pair.client.poll_transmit(now, &mut buf).unwrap();
    let mut original = buf[..t.size].to_vec();
    assert_eq!(
        original[0] & 0xc0,
        0x40,
        "a short header with the QUIC bit set"
    );
    let mut cleared = original.clone();
    cleared[0] &= !0x40;
    let received = |p: &mut crate::sim::Pair| p.server_conn().unwrap().stats().packets_received;
    let before = received(&mut pair);
    let from = pair.client_addr;
    pair.server.handle(now, from, None, &mut cleared);
    assert_eq!(received(&mut pair), before, "discarded");
    pair.server.handle(now, from, None, &mut original);
    assert_eq!(received(&mut pair), before + 1);
}

/// Compatible version negotiation (RFC 9368 §2.3, RFC 9369): a client that starts in v1
/// and lists v2 first is switched to v2 by a server that speaks both. The server sends
/// nothing in v1; the client's first flight is v1 and everything after it v2; both
/// transport parameters check out, and data flows.
#[test]
fn a_v1_client_preferring_v2_is_switched_to_v2() {
    let mut client = ConnectionConfig::default();
    client.prefer_versions(&[Version::V2, Version::V1]);
    let o = exchange_with(client, ConnectionConfig::default(), 10_000);
    assert_eq!(o.versions, (Version::V2, Version::V2, Version::V1));
    assert!(
        o.long_versions.1.iter().all(|v| *v == Version::V2),
        "{:?}",
        o.long_versions
    );
    let (c2s, _) = &o.long_versions;
    assert_eq!(c2s[0], Version::V1, "the client's first flight");
    let switched = c2s
        .iter()
        .position(|v| *v == Version::V2)
        .expect("v2 from the client");
    assert!(c2s[switched..].iter().all(|v| *v == Version::V2), "{c2s:?}");
}

/// Without v2 first in the client's list nothing changes; a client that starts in v2
/// stays there.
#[test]
fn versions_stay_as_the_client_started_unless_it_prefers_another() {
    let o = exchange_with(ConnectionConfig::default(), ConnectionConfig::default(), 0);
    assert_eq!(o.versions, (Version::V1, Version::V1, Version::V1));
    assert!(o
        .long_versions
        .0
        .iter()
        .chain(&o.long_versions.1)
        .all(|v| *v == Version::V1));
    let v2 = ConnectionConfig {
        version: Version::V2,
        ..ConnectionConfig::default()
    };
    let o = exchange_with(v2, ConnectionConfig::default(), 0);
    assert_eq!(o.versions, (Version::V2, Version::V2, Version::V2));
    assert!(o
        .long_versions
        .0
        .iter()
        .chain(&o.long_versions.1)
        .all(|v| *v == Version::V2));
}
