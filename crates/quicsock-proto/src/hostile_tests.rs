//! Attacks on the protocol core, each asserting the number that proves it is contained
//! (bytes held, connections kept, datagrams sent, virtual time). Run them as one group
//! with `cargo test hostile_`.

use std::time::Duration;

use crate::conn::ConnectionError;
use crate::endpoint::ConnectionHandle;
use crate::frame::Frame;
use crate::packet::SpaceId;
use crate::sim::{LinkConfig, Pair, PairConfig};
use crate::stream::{CRYPTO_MAX_RANGES, MAX_RANGES, RANGE_COST};
use crate::{StreamId, TransportErrorCode as Code, VarInt};

fn established(seed: u64) -> (Pair, ConnectionHandle) {
    established_over(seed, LinkConfig::default())
}

fn established_over(seed: u64, link: LinkConfig) -> (Pair, ConnectionHandle) {
    let cfg = PairConfig::new(seed, link);
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    }));
    (pair, h)
}

fn stream_frame(id: u64, offset: u64, data: &[u8]) -> Frame<'_> {
    Frame::Stream(crate::frame::Stream {
        id: StreamId::from(VarInt::saturating(id)),
        offset: VarInt::saturating(offset),
        fin: false,
        explicit_len: true,
        data,
    })
}

/// Sends `frames` from the client straight to the server in packets of `space`, as many
/// frames to a packet as fit in about 1,000 bytes (Initial packets padded to 1,200).
fn inject(pair: &mut Pair, h: ConnectionHandle, space: SpaceId, frames: &[Frame<'_>]) {
    let mut payload = Vec::new();
    let flush = |pair: &mut Pair, payload: &mut Vec<u8>| {
        if payload.is_empty() {
            return;
        }
        if space == SpaceId::Initial {
            payload.resize(1200, 0);
        }
        let mut d = Vec::new();
        pair.client_conn(h).build_raw(space, payload, &mut d);
        let (now, addr) = (pair.now, pair.client_addr);
        pair.server.handle(now, addr, None, &mut d);
        payload.clear();
    };
    for f in frames {
        f.encode(&mut payload);
        if payload.len() > 1000 {
            flush(pair, &mut payload);
        }
    }
    flush(pair, &mut payload);
}

fn server_close_code(pair: &mut Pair) -> Option<Code> {
    match pair.server_conn()?.error()? {
        ConnectionError::Local(c) => c.transport_code(),
        _ => None,
    }
}

/// 1-byte STREAM frames spread over the whole window of four streams hold memory within
/// twice the connection window plus the range tables; 1-byte frames at every other offset
/// close the connection once one stream holds `MAX_RANGES` gaps, at most 2 KiB of data in.
#[test]
fn hostile_stream_fragments_memory_bounded() {
    let (mut pair, h) = established(11);
    let window = 1u64 << 20; // the server's stream window
    let spacing = window / MAX_RANGES as u64;
    let streams = [0u64, 4, 8, 12];
    let frames: Vec<_> = streams
        .iter()
        .flat_map(|&id| (1..MAX_RANGES as u64).map(move |i| stream_frame(id, i * spacing, b"x")))
        .collect();
    inject(&mut pair, h, SpaceId::Data, &frames);
    assert_eq!(
        server_close_code(&mut pair),
        None,
        "spread fragments are legal"
    );
    let held = pair.server_conn().unwrap().reassembly_memory();
    let bound = 2 * streams.len() * window as usize + streams.len() * MAX_RANGES * RANGE_COST;
    assert!(held <= bound, "{held} bytes held, bound {bound}");
    assert!(
        held >= streams.len() * (window - spacing) as usize,
        "{held}"
    );

    let (mut pair, h) = established(12);
    let frames: Vec<_> = (0..MAX_RANGES as u64)
        .map(|i| stream_frame(0, 2 * i + 1, b"x"))
        .collect();
    inject(&mut pair, h, SpaceId::Data, &frames);
    assert_eq!(server_close_code(&mut pair), None);
    let held = pair.server_conn().unwrap().reassembly_memory();
    assert!(
        held <= 2 * 2 * MAX_RANGES + MAX_RANGES * RANGE_COST,
        "{held}"
    );
    let past = 2 * MAX_RANGES as u64 + 1;
    inject(&mut pair, h, SpaceId::Data, &[stream_frame(0, past, b"x")]);
    assert_eq!(server_close_code(&mut pair), Some(Code::PROTOCOL_VIOLATION));
}

/// CRYPTO fragments in a half-open connection's Initial space stay within the 64 KiB
/// CRYPTO window (ring below twice that, plus the range table); the fragment past
/// `CRYPTO_MAX_RANGES` gaps closes it with CRYPTO_BUFFER_EXCEEDED.
#[test]
fn hostile_crypto_fragments_memory_bounded() {
    let cfg = PairConfig::new(13, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    // Deliver the client's first flight only: the server holds a half-open connection.
    let mut buf = Vec::new();
    let (_, t) = pair.client.poll_transmit(pair.now, &mut buf).unwrap();
    let (now, addr) = (pair.now, pair.client_addr);
    pair.server.handle(now, addr, None, &mut buf[..t.size]);
    assert!(pair.server_conn().is_some());
    let limit = crate::conn::CRYPTO_BUFFER_LIMIT;
    let spacing = 900u64;
    let frames: Vec<_> = (0..CRYPTO_MAX_RANGES as u64)
        .map(|i| {
            Frame::Crypto(crate::frame::Crypto {
                offset: VarInt::saturating(2000 + i * spacing),
                data: b"x",
            })
        })
        .collect();
    assert!(2000 + CRYPTO_MAX_RANGES as u64 * spacing < limit);
    inject(&mut pair, h, SpaceId::Initial, &frames);
    assert_eq!(server_close_code(&mut pair), None);
    let held = pair.server_conn().unwrap().crypto_reassembly_memory();
    let bound = 2 * limit as usize + CRYPTO_MAX_RANGES * RANGE_COST;
    assert!(held <= bound, "{held} bytes held, bound {bound}");
    let past = Frame::Crypto(crate::frame::Crypto {
        offset: VarInt::saturating(limit - 10),
        data: b"x",
    });
    inject(&mut pair, h, SpaceId::Initial, &[past]);
    assert_eq!(
        server_close_code(&mut pair),
        Some(Code::CRYPTO_BUFFER_EXCEEDED)
    );
}

// ----- randomness (RFC 9000 §9.5, §10.3) -----

/// The multiplicative inverse of odd `a` modulo 2^64 (Newton's iteration).
fn inverse(a: u64) -> u64 {
    let mut x = a;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

fn unxorshift(y: u64, k: u32) -> u64 {
    let mut x = y;
    for _ in 0..64 / k + 1 {
        x = y ^ (x >> k);
    }
    x
}

/// The seed of a `SeededRandom` whose first output was `first`: xoshiro256**'s output
/// depends on one state word, which splitmix64 derived from the seed, and both steps are
/// invertible.
fn seed_from_first_output(first: u64) -> u64 {
    let s1 = (first.wrapping_mul(inverse(9)))
        .rotate_right(7)
        .wrapping_mul(inverse(5));
    let mut z = unxorshift(s1, 31);
    z = z.wrapping_mul(inverse(0x94d0_49bb_1331_11eb));
    z = unxorshift(z, 27);
    z = z.wrapping_mul(inverse(0xbf58_476d_1ce4_e5b9));
    z = unxorshift(z, 30);
    z.wrapping_sub(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(2))
}

/// The Initial destination ID and source ID of `n` client connections of `endpoint`.
fn client_ids(endpoint: &mut crate::host::Host, n: usize) -> Vec<(u64, u64)> {
    let remote = "192.0.2.1:443".parse().unwrap();
    (0..n)
        .map(|_| {
            let driver = Box::new(crate::conn::FixedSecretDriver::new(
                crate::Side::Client,
                crate::crypto::CipherSuite::Aes128GcmSha256,
            ));
            let h = endpoint
                .connect(crate::Timestamp::ZERO, remote, Default::default(), driver)
                .unwrap();
            let c = endpoint.connection(h).unwrap();
            let word = |cid: crate::ConnectionId| {
                u64::from_le_bytes(cid.as_slice()[..8].try_into().unwrap())
            };
            (word(c.original_dcid()), word(c.local_cid()))
        })
        .collect()
}

/// An observer of one Initial predicts nothing. Against a connection drawing from the
/// simulator's generator the attack below works: from the Initial's destination ID (its
/// generator's first output, in clear) it recovers the seed and predicts the source ID.
/// Against a production endpoint it predicts none of 256 connections' next IDs, from that
/// seed or from any value taken straight from the IDs seen, and two endpoints share no ID.
#[test]
fn hostile_connection_ids_are_unpredictable() {
    use crate::endpoint::EndpointConfig;
    use crate::host::Host;
    use crate::rng::{SeededRandom, SystemRandom};

    let predict = |seed: u64| {
        let mut g = SeededRandom::new(seed);
        g.next_u64();
        g.next_u64()
    };
    // The attack is real: with seeded connection generators it predicts every ID.
    let mut seeded = Host::new(EndpointConfig::default(), Box::new(SeededRandom::new(5)));
    let ids = client_ids(&mut seeded, 64);
    let hits = ids
        .iter()
        .filter(|(dcid, scid)| predict(seed_from_first_output(*dcid)) == *scid)
        .count();
    assert_eq!(hits, 64, "the attack recovers seeded generators");

    let mut system = Host::new(EndpointConfig::default(), Box::new(SystemRandom));
    let ids = client_ids(&mut system, 256);
    let mut predicted = 0;
    for (i, &(dcid, scid)) in ids.iter().enumerate() {
        let next = ids.get(i + 1).map(|n| n.0);
        let guesses = [
            seed_from_first_output(dcid),
            dcid,
            scid,
            dcid ^ scid,
            dcid.swap_bytes(),
        ];
        for g in guesses {
            let mut gen = SeededRandom::new(g);
            let outputs = [gen.next_u64(), gen.next_u64(), gen.next_u64()];
            predicted += usize::from(outputs.contains(&scid) && g != scid);
            predicted += usize::from(next.is_some_and(|n| outputs.contains(&n)));
        }
    }
    assert_eq!(predicted, 0, "an ID was predicted from earlier ones");

    let mut other = Host::new(EndpointConfig::default(), Box::new(SystemRandom));
    let theirs = client_ids(&mut other, 256);
    let mine: std::collections::HashSet<u64> = ids.iter().flat_map(|&(a, b)| [a, b]).collect();
    assert_eq!(mine.len(), 512, "one endpoint repeated an ID");
    let shared = theirs
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .filter(|x| mine.contains(x))
        .count();
    assert_eq!(shared, 0);
}

// ----- state that outlives its reason -----

fn retire(seq: u64) -> Frame<'static> {
    Frame::RetireConnectionId {
        sequence: VarInt::saturating(seq),
    }
}

/// 100,000 RETIRE_CONNECTION_ID frames: the server replaces retired IDs only up to
/// `MAX_REPLACEMENTS`, and its routes and tracked IDs never exceed the active IDs plus the
/// client's original destination ID.
#[test]
fn hostile_retire_connection_id_churn_bounded() {
    use crate::connid::{MAX_ISSUED, MAX_REPLACEMENTS};
    let (mut pair, h) = established(21);
    let routes_before = pair.server.route_count();
    let cap = MAX_ISSUED as usize + 1;
    let (mut sent, mut next) = (0u64, 1u64);
    let mut max_routes = 0;
    while sent < 100_000 {
        let issued = pair.server_conn().unwrap().local_cids.next_seq;
        let frames: Vec<_> = (0..50)
            .map(|_| {
                let seq = next.min(issued - 1);
                next = (next + 1).min(issued);
                retire(seq)
            })
            .collect();
        sent += frames.len() as u64;
        inject(&mut pair, h, SpaceId::Data, &frames);
        max_routes = max_routes
            .max(pair.server.route_count())
            .max(pair.server.tracked_cids());
    }
    assert_eq!(server_close_code(&mut pair), None);
    let issued = pair.server_conn().unwrap().local_cids.next_seq;
    let limit = pair
        .client_conn(h)
        .local_params()
        .active_connection_id_limit
        .into_inner()
        .min(MAX_ISSUED);
    assert_eq!(issued, limit + MAX_REPLACEMENTS);
    assert!(max_routes <= cap, "{max_routes} routes");
    assert!(routes_before <= cap);
    assert!(
        pair.server.route_count() <= 2,
        "{}",
        pair.server.route_count()
    );
}

/// A server that lost its state (a restart keeping its reset key) answers the client's
/// next packet with a stateless reset, and that one datagram ends the client's connection
/// with `ConnectionError::Reset`. A server with another key is not believed.
#[test]
fn hostile_stateless_reset_after_server_restart() {
    for same_key in [true, false] {
        let mut cfg = PairConfig::new(31, LinkConfig::default());
        cfg.server_reset_key = Some(crate::reset::ResetKey::new(&[7; 32]));
        let mut pair = Pair::new(&cfg);
        let h = pair.connect(&cfg);
        assert!(pair.run_until(Duration::from_secs(5), |p| {
            p.client_conn(h).is_handshake_confirmed()
        }));
        if !same_key {
            cfg.server_reset_key = Some(crate::reset::ResetKey::new(&[8; 32]));
        }
        pair.server = cfg.server_endpoint(99);
        let tx_before = pair.server_tx;
        pair.client_conn(h).ping();
        pair.run_until(Duration::from_millis(300), |p| p.client_conn(h).is_closed());
        let replies = pair.server_tx - tx_before;
        let c = pair.client_conn(h);
        if same_key {
            assert_eq!(c.error(), Some(&ConnectionError::Reset));
            assert!(c.is_drained());
            let mut events = Vec::new();
            while let Some(e) = c.poll_event() {
                events.push(e);
            }
            assert!(events.contains(&crate::conn::Event::Closed(ConnectionError::Reset)));
            assert!(
                replies <= crate::reset::MAX_RESET_LEN as u64,
                "{replies} bytes"
            );
        } else {
            assert!(!c.is_closed(), "a reset under another key was believed");
            assert!(replies > 0, "the restarted server answered nothing");
        }
    }
}

/// Two endpoints that each answer the other's packets for unknown IDs with stateless
/// resets stop: every reset is shorter than what caused it, so a 1,200-byte packet draws
/// at most `MAX_RESET_LEN - MIN_RESET_LEN + 1` resets in all.
#[test]
fn hostile_stateless_reset_loop_ends() {
    use crate::reset::{MAX_RESET_LEN, MIN_RESET_LEN};
    let cfg = PairConfig::new(32, LinkConfig::default());
    let mut a = cfg.server_endpoint(1);
    let mut b = cfg.server_endpoint(2);
    let (addr_a, addr_b) = (
        "192.0.2.1:443".parse().unwrap(),
        "192.0.2.2:443".parse().unwrap(),
    );
    let mut d = vec![0x41; 1200];
    let mut replies = 0;
    let mut last = d.len();
    loop {
        let (to, from) = if replies % 2 == 0 {
            (&mut a, addr_b)
        } else {
            (&mut b, addr_a)
        };
        to.handle(crate::Timestamp::ZERO, from, None, &mut d);
        let mut out = Vec::new();
        let Some(_) = to.poll_transmit(crate::Timestamp::ZERO, &mut out) else {
            break;
        };
        assert!(out.len() < last, "a reset as long as its cause");
        last = out.len();
        d = out;
        replies += 1;
    }
    assert!(
        replies <= MAX_RESET_LEN - MIN_RESET_LEN + 1,
        "{replies} resets"
    );
    assert!(replies > 1);
}

/// 10,000 datagrams to a connection in the closing state draw at most 15 CONNECTION_CLOSE
/// replies (the first close, then one at each power of two).
#[test]
fn hostile_close_storm_rate_limited() {
    let (mut pair, h) = established(41);
    let now = pair.now;
    pair.server_conn()
        .unwrap()
        .close(now, VarInt::from_u32(7), b"bye");
    let mut replies = 0;
    let mut out = Vec::new();
    let mut d = Vec::new();
    for _ in 0..10_000 {
        d.clear();
        pair.client_conn(h)
            .build_raw(SpaceId::Data, &[0x01], &mut d);
        let (now, addr) = (pair.now, pair.client_addr);
        pair.server.handle(now, addr, None, &mut d);
        while pair.server.poll_transmit(now, &mut out).is_some() {
            out.clear();
            replies += 1;
        }
    }
    assert!(replies <= 15, "{replies} replies");
    assert!(
        replies >= 10,
        "{replies} replies: the closing state stopped answering"
    );
}

/// PATH_CHALLENGE floods: at most `MAX_PATH_RESPONSES` responses wait, and they go out on
/// the path the challenges came from (RFC 9000 §8.2.2): on the current path with the
/// connection's packets, and from another address in datagrams of their own, expanded to
/// 1,200 bytes, while the connection stays on its path.
#[test]
fn hostile_path_challenge_flood() {
    let (mut pair, h) = established(51);
    let challenges: Vec<_> = (0..1000u64)
        .map(|i| Frame::PathChallenge(i.to_be_bytes()))
        .collect();
    inject(&mut pair, h, SpaceId::Data, &challenges);
    let s = pair.server_conn().unwrap();
    assert_eq!(s.path_responses.len(), crate::conn::MAX_PATH_RESPONSES);
    let now = pair.now;
    let mut out = Vec::new();
    let mut sent = 0;
    while let Some((_, t)) = pair.server.poll_transmit(now, &mut out) {
        assert_eq!(t.destination, pair.client_addr);
        out.clear();
        sent += 1;
    }
    assert!(sent >= 1);
    assert!(pair.server_conn().unwrap().path_responses.is_empty());

    // Challenges from another address, in a 1,200-byte probing datagram.
    let other: SocketAddr = "10.0.0.1:5555".parse().unwrap();
    let mut frames = Vec::new();
    for i in 0..20u64 {
        Frame::PathChallenge((1000 + i).to_be_bytes()).encode(&mut frames);
    }
    frames.resize(1100, 0);
    let mut d = Vec::new();
    pair.client_conn(h)
        .build_raw(SpaceId::Data, &frames, &mut d);
    pair.server.handle(now, other, None, &mut d);
    let s = pair.server_conn().unwrap();
    assert_eq!(s.path_responses.len(), crate::conn::MAX_PATH_RESPONSES);
    assert_eq!(
        s.remote_address(),
        pair.client_addr,
        "a probe does not migrate"
    );
    let mut to_other = 0;
    while let Some((_, t)) = pair.server.poll_transmit(now, &mut out) {
        if t.destination == other {
            assert!(t.size >= 1200, "{} bytes", t.size);
            to_other += 1;
        }
        out.clear();
    }
    assert_eq!(to_other, crate::conn::MAX_PATH_RESPONSES);
}

// ----- AEAD limits (RFC 9001 §6.6) and key-update misuse (§6) -----

/// With the confidentiality limit lowered to 4,000 packets, an 8 MiB upload over a
/// 20 Mbit/s link starts a key update each time 2,000 packets are sealed under one key,
/// never seals the limit under one key, and completes.
#[test]
fn hostile_confidentiality_limit_triggers_key_update() {
    let link = LinkConfig {
        bandwidth: Some(2_500_000),
        queue: 32 << 10,
        ..LinkConfig::default()
    };
    let (mut pair, h) = established_over(61, link);
    let limit = 4000;
    pair.client_conn(h).aead_limits_override = Some((limit, u64::MAX));
    let id = pair.client_conn(h).open_stream(crate::Dir::Uni).unwrap();
    let data = vec![0x5a; 8 << 20];
    let mut written = 0;
    let mut most = 0;
    let mut buf = vec![0; 64 * 1024];
    let mut received = 0;
    let done = pair.run_until(Duration::from_secs(60), |p| {
        let now = p.now;
        if let Some(s) = p.server_conn() {
            while let Ok(r) = s.read(now, id, &mut buf) {
                received += r.len;
                if r.len == 0 {
                    break;
                }
            }
        }
        let c = p.client_conn(h);
        crate::sim::write_pending(c, id, &data, &mut written);
        most = most.max(c.keys.one_rtt.as_ref().map_or(0, |k| k.sealed));
        c.is_closed() || received == data.len()
    });
    let c = pair.client_conn(h);
    let ce = c.error().cloned();
    let se = pair.server_conn().and_then(|s| s.error().cloned());
    let c = pair.client_conn(h);
    assert!(
        done && !c.is_closed(),
        "client {ce:?} server {se:?} updates {}",
        c.limit_key_updates
    );
    assert!(most < limit, "{most} packets under one key");
    println!(
        "hostile_confidentiality_limit: {} key updates, at most {most} packets under one key",
        c.limit_key_updates
    );
    // 8 MiB is about 7,000 packets: at least 3 updates at 2,000 each.
    assert!(c.limit_key_updates >= 3, "{} updates", c.limit_key_updates);
}

/// With the integrity limit lowered to 50, 50 forged 1-RTT packets are dropped and the
/// 51st closes the connection with AEAD_LIMIT_REACHED.
#[test]
fn hostile_integrity_limit_closes() {
    let (mut pair, h) = established(62);
    pair.server_conn().unwrap().aead_limits_override = Some((u64::MAX, 50));
    for i in 0..51 {
        let mut d = Vec::new();
        pair.client_conn(h)
            .build_raw(SpaceId::Data, &[0x01; 40], &mut d);
        let n = d.len();
        d[n - 1] ^= 0x80; // break the tag
        let (now, addr) = (pair.now, pair.client_addr);
        pair.server.handle(now, addr, None, &mut d);
        let closed = server_close_code(&mut pair);
        if i < 50 {
            assert_eq!(closed, None, "closed after {} forgeries", i + 1);
        } else {
            assert_eq!(closed, Some(Code::AEAD_LIMIT_REACHED));
        }
    }
}

/// KEY_UPDATE_ERROR (RFC 9001 §6.2, §6.4): a second update before the first could have
/// been acknowledged, and a packet under the old keys numbered above the new phase.
#[test]
fn hostile_key_update_misuse() {
    let raw = |pair: &mut Pair, h: ConnectionHandle| {
        let mut d = Vec::new();
        pair.client_conn(h)
            .build_raw(SpaceId::Data, &[0x01], &mut d);
        d
    };
    let deliver = |pair: &mut Pair, mut d: Vec<u8>| {
        let (now, addr) = (pair.now, pair.client_addr);
        pair.server.handle(now, addr, None, &mut d);
    };
    let update = |pair: &mut Pair, h: ConnectionHandle| {
        let c = pair.client_conn(h);
        let version = c.version;
        let until = pair.now + Duration::from_secs(1);
        let c = pair.client_conn(h);
        c.keys
            .one_rtt
            .as_mut()
            .unwrap()
            .update(version, until)
            .unwrap();
    };

    // Two updates in a row: the server updates on the first and has sent nothing under the
    // new keys when the second arrives.
    let (mut pair, h) = established(71);
    update(&mut pair, h);
    let d = raw(&mut pair, h);
    deliver(&mut pair, d);
    assert_eq!(server_close_code(&mut pair), None, "one update is fine");
    update(&mut pair, h);
    let d = raw(&mut pair, h);
    deliver(&mut pair, d);
    assert_eq!(server_close_code(&mut pair), Some(Code::KEY_UPDATE_ERROR));

    // Old keys above the new phase: a packet sealed under the old keys with a packet
    // number above the first one under the new keys.
    let (mut pair, h) = established(72);
    let pn = pair.client_conn(h).spaces[2].next_pn;
    pair.client_conn(h).spaces[2].next_pn = pn + 10;
    let old = raw(&mut pair, h);
    pair.client_conn(h).spaces[2].next_pn = pn;
    update(&mut pair, h);
    let new = raw(&mut pair, h);
    deliver(&mut pair, new);
    assert_eq!(server_close_code(&mut pair), None);
    deliver(&mut pair, old);
    assert_eq!(server_close_code(&mut pair), Some(Code::KEY_UPDATE_ERROR));
}

// ----- admission: Retry, refusals, Initial floods (RFC 9000 §8.1) -----

use crate::endpoint::ServerConfig;
use crate::host::Host;
use std::net::SocketAddr;

fn retrying_pair(seed: u64) -> (Pair, PairConfig) {
    let cfg = PairConfig::new(seed, LinkConfig::default());
    let server = ServerConfig {
        validate_address: true,
        ..cfg.server_config()
    };
    (Pair::with_server(&cfg, server), cfg)
}

/// With Retry forced, the handshake completes after exactly one Retry: the server's
/// transport parameters carry the original and Retry IDs (RFC 9000 §7.3), which the client
/// checks, and the server counts the address as validated from the start. A Retry whose
/// source ID equals the client's original destination ID is dropped.
#[test]
fn hostile_retry_round_trip() {
    let (mut pair, cfg) = retrying_pair(81);
    let h = pair.connect(&cfg);
    let odcid = pair.client_conn(h).original_dcid();
    // A forged Retry reusing the original ID as its source: ignored.
    let forged = crate::stateless::encode_retry(
        crate::packet::Version::V1,
        &pair.client_conn(h).local_cid(),
        &odcid,
        &odcid,
        b"forged",
        0,
    )
    .unwrap();
    let (now, server_addr) = (pair.now, pair.server_addr);
    pair.client
        .handle(now, server_addr, None, &mut forged.clone());
    assert_eq!(pair.client_conn(h).retry_scid, None);
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.client_conn(h).is_handshake_confirmed()
    }));
    let retry_scid = pair
        .client_conn(h)
        .retry_scid
        .expect("the client followed a Retry");
    let s = pair.server_conn().unwrap();
    assert!(s.is_validated());
    assert_eq!(s.original_dcid(), odcid);
    assert_eq!(
        s.local_params().original_destination_connection_id,
        Some(odcid)
    );
    assert_eq!(
        s.local_params().retry_source_connection_id,
        Some(retry_scid)
    );
    assert_eq!(pair.server.connection_count(), 1);
    assert_eq!(pair.amplification_violation, None);
}

/// Delivers the client's next datagram to the server from `from` at `now`; returns the
/// server's replies.
fn client_to_server(
    pair: &mut Pair,
    from: SocketAddr,
    now: crate::Timestamp,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> Vec<Vec<u8>> {
    let mut d = Vec::new();
    let (_, t) = pair
        .client
        .poll_transmit(now, &mut d)
        .expect("a client datagram");
    d.truncate(t.size);
    tamper(&mut d);
    pair.server.handle(now, from, None, &mut d);
    let mut replies = Vec::new();
    let mut out = Vec::new();
    while let Some((_, t)) = pair.server.poll_transmit(now, &mut out) {
        out.truncate(t.size);
        replies.push(std::mem::take(&mut out));
    }
    replies
}

/// Retry tokens that are modified, expired or presented from another address are refused
/// with an Initial CONNECTION_CLOSE carrying INVALID_TOKEN (RFC 9000 §8.1.3), which the
/// client reports; the server keeps no state for them. The untouched token is accepted.
#[test]
fn hostile_retry_token_forgery() {
    let tampered = |d: &mut Vec<u8>| {
        // The token follows the first byte, version, two IDs and the token length.
        let dcid_len = usize::from(d[5]);
        let scid_len = usize::from(d[6 + dcid_len]);
        let token_at = 7 + dcid_len + scid_len + 1;
        d[token_at + 12] ^= 1;
    };
    for case in ["valid", "modified", "expired", "other address"] {
        let (mut pair, cfg) = retrying_pair(91);
        let h = pair.connect(&cfg);
        let (now, client_addr) = (pair.now, pair.client_addr);
        let retry = client_to_server(&mut pair, client_addr, now, |_| {});
        assert_eq!(retry.len(), 1, "one Retry");
        assert_eq!(pair.server.connection_count(), 0, "a Retry keeps no state");
        let server_addr = pair.server_addr;
        pair.client
            .handle(now, server_addr, None, &mut retry[0].clone());
        assert!(pair.client_conn(h).retry_scid.is_some());
        let (from, at) = match case {
            "other address" => ("10.9.9.9:4433".parse().unwrap(), now),
            "expired" => (
                client_addr,
                now + crate::token::RETRY_TOKEN_LIFETIME + Duration::from_secs(1),
            ),
            _ => (client_addr, now),
        };
        let replies = client_to_server(&mut pair, from, at, |d| {
            if case == "modified" {
                tampered(d)
            }
        });
        if case == "valid" {
            assert_eq!(pair.server.connection_count(), 1);
            continue;
        }
        assert_eq!(pair.server.connection_count(), 0, "{case}: state kept");
        assert_eq!(replies.len(), 1, "{case}: one refusal");
        assert!(replies[0].len() < 100, "{case}: {} bytes", replies[0].len());
        pair.client
            .handle(at, server_addr, None, &mut replies[0].clone());
        match pair.client_conn(h).error() {
            Some(ConnectionError::Peer(c)) => {
                assert_eq!(c.transport_code(), Some(Code::INVALID_TOKEN), "{case}")
            }
            other => panic!("{case}: client saw {other:?}"),
        }
    }
}

/// A client Initial from `from` that the server has not seen: a fresh connection's first
/// datagram, or (when `ping_only`) an Initial carrying only PING and padding.
fn spoofed_initial(attacker: &mut Host, server: SocketAddr, ping_only: bool) -> Vec<u8> {
    let driver = Box::new(crate::conn::FixedSecretDriver::new(
        crate::Side::Client,
        crate::crypto::CipherSuite::Aes128GcmSha256,
    ));
    let now = crate::Timestamp::ZERO;
    let h = attacker
        .connect(now, server, Default::default(), driver)
        .unwrap();
    let mut d = Vec::new();
    if ping_only {
        let mut frames = vec![0x01];
        frames.resize(1200, 0);
        attacker
            .connection(h)
            .unwrap()
            .build_raw(SpaceId::Initial, &frames, &mut d);
    } else {
        let (_, t) = attacker.poll_transmit(now, &mut d).unwrap();
        d.truncate(t.size);
    }
    attacker.remove(h);
    d
}

/// 10,000 spoofed Initials from 10,000 source addresses in the first 100 ms, half of them
/// PING-only and half with real ClientHellos, while a real client connects and downloads
/// 1 MB: the PING-only ones leave no state, the ClientHellos hold at most
/// `DEFAULT_RETRY_THRESHOLD` handshakes (the rest are sent Retries), the real client
/// completes within 2 s of virtual time after one Retry, and the half-open connections are
/// dropped by the handshake timeout.
#[test]
fn hostile_initial_flood_real_client_connects() {
    use crate::endpoint::DEFAULT_RETRY_THRESHOLD;
    use crate::rng::SeededRandom;
    let cfg = PairConfig::new(101, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let mut attacker = Host::new(Default::default(), Box::new(SeededRandom::new(7)));
    let server_addr = pair.server_addr;
    let flood: Vec<(SocketAddr, Vec<u8>)> = (0..10_000u32)
        .map(|i| {
            let ip = std::net::Ipv4Addr::from(0x0b00_0000 + i);
            let from = SocketAddr::new(ip.into(), 1024 + (i % 60_000) as u16);
            (
                from,
                spoofed_initial(&mut attacker, server_addr, i % 2 == 0),
            )
        })
        .collect();
    let start = pair.now;
    let mut flood = flood.into_iter();
    let mut most = 0;
    // The flood arrives over the first 100 ms, 1,000 Initials each 10 ms.
    for _ in 0..10 {
        for (from, mut d) in flood.by_ref().take(1000) {
            let now = pair.now;
            pair.server.handle(now, from, None, &mut d);
        }
        most = most.max(pair.server.connection_count());
        let until = pair.now + Duration::from_millis(10);
        pair.run_until(until - pair.now, |_| false);
    }
    let h = pair.connect(&cfg);
    let mut received = 0;
    let mut buf = vec![0; 64 * 1024];
    let data = vec![7u8; 1 << 20];
    let mut written = 0;
    let mut server_side = None;
    let done = pair.run_until(Duration::from_secs(2), |p| {
        most = most.max(p.server.connection_count());
        let now = p.now;
        let client_addr = p.client_addr;
        if server_side.is_none() && p.client_conn(h).is_handshake_complete() {
            server_side = p.server.handles().into_iter().find(|&s| {
                p.server
                    .connection(s)
                    .is_some_and(|c| c.remote_address() == client_addr && c.is_handshake_complete())
            });
        }
        if let Some(s) = server_side {
            let conn = p.server.connection(s).unwrap();
            let id = StreamId::new(crate::Side::Server, crate::Dir::Uni, 0).unwrap();
            if written == 0 && conn.open_stream(crate::Dir::Uni).is_err() {
                return false;
            }
            crate::sim::write_pending(conn, id, &data, &mut written);
            let c = p.client_conn(h);
            while let Ok(r) = c.read(now, id, &mut buf) {
                received += r.len;
                if r.len == 0 {
                    break;
                }
            }
        }
        received == data.len()
    });
    let elapsed = pair.now - start;
    assert!(done, "{received} bytes in {elapsed:?}");
    println!(
        "hostile_initial_flood: {most} connections held at most, the real client done {:?} \
         after the flood began, {} bytes sent to spoofed sources",
        elapsed, pair.server_tx_elsewhere
    );
    assert!(
        pair.client_conn(h).retry_scid.is_some(),
        "the real client got a Retry"
    );
    assert!(
        most <= DEFAULT_RETRY_THRESHOLD + 1,
        "{most} connections held during the flood"
    );
    assert!(pair.server.half_open() <= DEFAULT_RETRY_THRESHOLD);
    // The half-open handshakes go at the handshake timeout (drained, for the owner to
    // collect).
    let live = |p: &mut Pair| {
        let handles = p.server.handles();
        handles
            .into_iter()
            .filter(|&s| p.server.connection(s).is_some_and(|c| !c.is_drained()))
            .count()
    };
    pair.run_until(Duration::from_secs(11), |p| live(p) <= 1);
    assert_eq!(live(&mut pair), 1);
    assert_eq!(pair.server.half_open(), 0);
}
