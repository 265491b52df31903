//! Whole endpoints fed fuzzer-chosen datagrams: a server (`endpoint_server`) or a client
//! (`endpoint_client`) of a simulated pair with the fixed-secret handshake, before the
//! handshake or after it. Frames the fuzzer picks are sealed by the peer's connection with
//! the real keys, so they reach frame handling of an established connection; raw bytes,
//! mutated real datagrams, other source addresses and the passing of time mix in. After
//! every step each connection's books must balance (`Connection::check_invariants`).

use std::net::SocketAddr;
use std::time::Duration;

use crate::endpoint::ConnectionHandle;
use crate::packet::SpaceId;
use crate::sim::{LinkConfig, Pair, PairConfig};

/// Datagrams (and steps) one input drives at most.
const MAX_STEPS: usize = 64;

/// Fuzzer input against the server endpoint.
pub fn endpoint_server(data: &[u8]) {
    run(data, true);
}

/// Fuzzer input against the client endpoint.
pub fn endpoint_client(data: &[u8]) {
    run(data, false);
}

fn run(data: &[u8], to_server: bool) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = PairConfig::new(u64::from(mode >> 1), LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    if mode & 1 == 1 {
        let established = pair.run_until(Duration::from_secs(5), |p| {
            p.client_conn(h).is_handshake_confirmed()
                && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
        });
        assert!(
            established,
            "the fixed-secret handshake completes on a clean link"
        );
    } else if to_server {
        // Let the client's first flight reach the server: there is a connection to fuzz.
        pair.run_until(Duration::from_millis(15), |p| p.server_conn().is_some());
    }
    let mut steps = 0;
    while let Some((&op, tail)) = rest.split_first() {
        if steps == MAX_STEPS {
            break;
        }
        steps += 1;
        let len = tail.first().map_or(0, |&l| usize::from(l) * 8);
        let body = tail.get(1..).unwrap_or_default();
        let body = &body[..len.min(body.len())];
        rest = &tail[(1 + body.len()).min(tail.len())..];
        step(&mut pair, h, to_server, op, body);
        check(&mut pair, h);
    }
}

fn step(pair: &mut Pair, h: ConnectionHandle, to_server: bool, op: u8, body: &[u8]) {
    let now = pair.now;
    let from = if to_server {
        pair.client_addr
    } else {
        pair.server_addr
    };
    match op % 8 {
        // Raw bytes as a datagram.
        0 => deliver(pair, to_server, from, &mut body.to_vec()),
        // Frames sealed by the peer in a 1-RTT, Handshake or Initial packet.
        1..=3 => {
            let space =
                [SpaceId::Data, SpaceId::Handshake, SpaceId::Initial][usize::from(op % 8 - 1)];
            let mut frames = body.to_vec();
            if space == SpaceId::Initial && to_server {
                frames.resize(frames.len().max(1200), 0);
            }
            let mut d = Vec::new();
            let Some(peer) = peer(pair, h, to_server) else {
                return;
            };
            if !peer.keys.can_send(space) || frames.is_empty() {
                return;
            }
            peer.build_raw(space, &frames, &mut d);
            deliver(pair, to_server, from, &mut d);
        }
        // Time passes with the pair exchanging what it has.
        4 => {
            let ms = u64::from(body.first().copied().unwrap_or(1)) * 20;
            pair.run_until(Duration::from_millis(ms), |_| false);
        }
        // The application writes on a stream of the target connection, or reads it all.
        5 => {
            let Some(conn) = target(pair, h, to_server) else {
                return;
            };
            let dir = if body.first().is_some_and(|b| b & 1 == 1) {
                crate::Dir::Uni
            } else {
                crate::Dir::Bi
            };
            if let Ok(id) = conn.open_stream(dir) {
                let _ = conn.write(id, body, body.len() % 3 == 0);
            }
            let ids: Vec<_> = conn.streams().readable_streams().collect();
            let mut buf = [0; 4096];
            for id in ids {
                while conn.read(now, id, &mut buf).is_ok_and(|r| r.len > 0) {}
            }
        }
        // A datagram from another address (a migration, or a spoofed one).
        6 => {
            let other: SocketAddr = "10.7.7.7:7777".parse().expect("literal");
            let mut d = Vec::new();
            if let Some(peer) = peer(pair, h, to_server).filter(|p| p.keys.can_send(SpaceId::Data))
            {
                peer.build_raw(SpaceId::Data, &[0x01], &mut d);
            }
            d.extend_from_slice(body);
            deliver(pair, to_server, other, &mut d);
        }
        // A real datagram of the peer's, with bytes flipped where the fuzzer says.
        _ => {
            let mut d = Vec::new();
            let sender = if to_server {
                &mut pair.client
            } else {
                &mut pair.server
            };
            let Some((_, t)) = sender.poll_transmit(now, &mut d) else {
                return;
            };
            d.truncate(t.size);
            for pair_of in body.chunks(2) {
                if let [at, x] = *pair_of {
                    let i = usize::from(at) % d.len().max(1);
                    if let Some(b) = d.get_mut(i) {
                        *b ^= x;
                    }
                }
            }
            deliver(pair, to_server, from, &mut d);
        }
    }
}

fn deliver(pair: &mut Pair, to_server: bool, from: SocketAddr, d: &mut [u8]) {
    let now = pair.now;
    let ep = if to_server {
        &mut pair.server
    } else {
        &mut pair.client
    };
    ep.handle(now, from, None, d);
    // Whatever it answers goes out (and nowhere).
    let mut out = Vec::new();
    let mut n = 0;
    while n < 64 && ep.poll_transmit(now, &mut out).is_some() {
        out.clear();
        n += 1;
    }
}

fn peer(
    pair: &mut Pair,
    h: ConnectionHandle,
    to_server: bool,
) -> Option<&mut crate::conn::Connection> {
    if to_server {
        pair.client.connection(h)
    } else {
        pair.server_conn()
    }
}

fn target(
    pair: &mut Pair,
    h: ConnectionHandle,
    to_server: bool,
) -> Option<&mut crate::conn::Connection> {
    peer(pair, h, !to_server)
}

fn check(pair: &mut Pair, _h: ConnectionHandle) {
    for ep in [&mut pair.client, &mut pair.server] {
        for c in ep.handles() {
            if let Some(conn) = ep.connection(c) {
                conn.check_invariants();
            }
        }
        assert!(
            ep.route_count()
                <= ep.connection_count() * (crate::connid::MAX_ISSUED as usize + 2) + 1
        );
    }
}
