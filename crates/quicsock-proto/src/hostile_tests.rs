//! Attacks on the protocol core, each asserting the number that proves it is contained
//! (bytes held, connections kept, datagrams sent, virtual time). Run them as one group
//! with `cargo test hostile_`.

use std::time::Duration;

use crate::conn::ConnectionError;
use crate::endpoint::ConnectionHandle;
use crate::frame::Frame;
use crate::packet::SpaceId;
use crate::sim::{LinkConfig, Pair, PairConfig};
use crate::stream::{MAX_RANGES, RANGE_COST};
use crate::{StreamId, TransportErrorCode as Code, VarInt};

fn established(seed: u64) -> (Pair, ConnectionHandle) {
    let cfg = PairConfig::new(seed, LinkConfig::default());
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
/// `MAX_RANGES` gaps closes it with CRYPTO_BUFFER_EXCEEDED.
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
    let spacing = 60u64;
    let frames: Vec<_> = (0..MAX_RANGES as u64)
        .map(|i| {
            Frame::Crypto(crate::frame::Crypto {
                offset: VarInt::saturating(2000 + i * spacing),
                data: b"x",
            })
        })
        .collect();
    assert!(2000 + MAX_RANGES as u64 * spacing < limit);
    inject(&mut pair, h, SpaceId::Initial, &frames);
    assert_eq!(server_close_code(&mut pair), None);
    let held = pair.server_conn().unwrap().crypto_reassembly_memory();
    let bound = 2 * limit as usize + MAX_RANGES * RANGE_COST;
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
