use std::ops::RangeInclusive;

use proptest::prelude::*;

use super::*;
use crate::common::{ConnectionId, Side};

fn decode_all(bytes: &[u8]) -> Result<Vec<Frame<'_>>, TransportError> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(Frame::decode(&mut r)?);
    }
    Ok(out)
}

fn code_of(bytes: &[u8]) -> TransportErrorCode {
    decode_all(bytes).unwrap_err().code
}

#[test]
fn rfc9001_a2_client_initial_frames() {
    // The CRYPTO frame that opens the RFC 9001 §A.2 payload, followed by PADDING.
    let mut payload =
        hex::decode("060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868").unwrap();
    payload.resize(4 + 0xf1, 0x11);
    payload.extend([0; 917]);
    let frames = decode_all(&payload).unwrap();
    let Frame::Crypto(c) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(c.offset, VarInt::ZERO);
    assert_eq!(c.data.len(), 0xf1);
    assert_eq!(frames[1], Frame::Padding { len: 917 });
    assert_eq!(frames.len(), 2);
}

#[test]
fn unknown_and_reserved_frame_types_are_encoding_errors() {
    let mut unknown: Vec<u64> = (0x1f..=0x2f).chain(0x32..=0x3f).collect();
    // Reserved GREASE-style values 0x21 + 0x1f * N.
    unknown.extend((0..8).map(|n| 0x21 + 0x1f * n));
    unknown.extend([0x4000, 0x3fff_ffff, VarInt::MAX.into_inner()]);
    for ty in unknown {
        if FrameType(ty).is_known() {
            continue;
        }
        let mut bytes = Vec::new();
        VarInt::from_u64(ty).unwrap().encode(&mut bytes);
        bytes.extend([0; 8]);
        let err = decode_all(&bytes).unwrap_err();
        assert_eq!(
            err.code,
            TransportErrorCode::FRAME_ENCODING_ERROR,
            "{ty:#x}"
        );
        assert_eq!(err.frame_type, Some(FrameType(ty)));
    }
}

#[test]
fn every_known_type_truncated_is_an_encoding_error() {
    for ty in (0x02..=0x1d).chain([0x31]) {
        let err = decode_all(&[ty as u8]).unwrap_err();
        assert_eq!(
            err.code,
            TransportErrorCode::FRAME_ENCODING_ERROR,
            "{ty:#x}"
        );
    }
    // A STREAM frame without a length and a DATAGRAM frame without one may be empty.
    assert!(decode_all(&[0x08, 0x00]).is_ok());
    assert!(decode_all(&[0x30]).is_ok());
}

#[test]
fn non_minimal_frame_type_is_a_protocol_violation() {
    assert_eq!(
        code_of(&[0x40, 0x01]),
        TransportErrorCode::PROTOCOL_VIOLATION
    );
}

#[test]
fn ack_below_zero_is_an_encoding_error() {
    // Largest 5, first range 6.
    assert_eq!(
        code_of(&[0x02, 5, 0, 0, 6]),
        TransportErrorCode::FRAME_ENCODING_ERROR
    );
    // Largest 10, first range 2 (8..=10), gap 5 takes the next largest to 8-5-2 = 1, length 2.
    assert_eq!(
        code_of(&[0x02, 10, 0, 1, 2, 5, 2]),
        TransportErrorCode::FRAME_ENCODING_ERROR
    );
    // The same with length 1 is fine: 0..=1.
    let frames = decode_all(&[0x02, 10, 0, 1, 2, 5, 1]).unwrap();
    let Frame::Ack(ack) = &frames[0] else {
        panic!()
    };
    assert_eq!(ack.ranges().collect::<Vec<_>>(), [8..=10, 0..=1]);
}

#[test]
fn ack_claiming_2_pow_62_ranges_fails_cheaply() {
    let mut bytes = vec![0x02, 0x3f, 0x00];
    VarInt::MAX.encode(&mut bytes);
    bytes.push(0x00);
    bytes.extend([0x00, 0x00].repeat(10));
    let err = decode_all(&bytes).unwrap_err();
    assert_eq!(err.code, TransportErrorCode::FRAME_ENCODING_ERROR);
}

#[test]
fn field_constraints() {
    // MAX_STREAMS above 2^60.
    let mut b = vec![0x12];
    VarInt::from_u64((1 << 60) + 1).unwrap().encode(&mut b);
    assert_eq!(code_of(&b), TransportErrorCode::FRAME_ENCODING_ERROR);
    b[0] = 0x17;
    assert_eq!(code_of(&b), TransportErrorCode::FRAME_ENCODING_ERROR);
    // Empty NEW_TOKEN.
    assert_eq!(
        code_of(&[0x07, 0x00]),
        TransportErrorCode::FRAME_ENCODING_ERROR
    );
    // NEW_CONNECTION_ID with retire_prior_to > sequence, with length 0 and with length 21.
    let ncid = |seq: u8, rpt: u8, len: u8| {
        let mut b = vec![0x18, seq, rpt, len];
        b.extend(vec![1; len as usize + 16]);
        b
    };
    assert!(decode_all(&ncid(1, 1, 8)).is_ok());
    assert_eq!(
        code_of(&ncid(1, 2, 8)),
        TransportErrorCode::FRAME_ENCODING_ERROR
    );
    assert_eq!(
        code_of(&ncid(1, 0, 0)),
        TransportErrorCode::FRAME_ENCODING_ERROR
    );
    assert_eq!(
        code_of(&ncid(1, 0, 21)),
        TransportErrorCode::FRAME_ENCODING_ERROR
    );
    // STREAM data ending beyond 2^62 - 1.
    let mut b = vec![0x0e, 0x00];
    VarInt::MAX.encode(&mut b);
    b.extend([0x01, 0xaa]);
    assert_eq!(code_of(&b), TransportErrorCode::FRAME_ENCODING_ERROR);
    // CRYPTO likewise.
    let mut b = vec![0x06];
    VarInt::MAX.encode(&mut b);
    b.extend([0x01, 0xaa]);
    assert_eq!(code_of(&b), TransportErrorCode::FRAME_ENCODING_ERROR);
}

#[test]
fn frames_checks_packet_types() {
    // HANDSHAKE_DONE in a Handshake packet.
    let err = Frames::new(&[0x1e], PacketType::Handshake)
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code, TransportErrorCode::PROTOCOL_VIOLATION);
    assert_eq!(err.frame_type, Some(FrameType::HANDSHAKE_DONE));
    // STREAM in an Initial packet, after a valid PING.
    let mut frames = Frames::new(&[0x01, 0x08, 0x00], PacketType::Initial);
    assert_eq!(frames.next(), Some(Ok(Frame::Ping)));
    assert_eq!(
        frames.next().unwrap().unwrap_err().code,
        TransportErrorCode::PROTOCOL_VIOLATION
    );
    assert_eq!(frames.next(), None);
    // ACK in 0-RTT.
    let err = Frames::new(&[0x02, 0, 0, 0, 0], PacketType::ZeroRtt)
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code, TransportErrorCode::PROTOCOL_VIOLATION);
    // An empty payload.
    let err = Frames::new(&[], PacketType::OneRtt)
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code, TransportErrorCode::PROTOCOL_VIOLATION);
    // Everything allowed in 1-RTT.
    let frames: Result<Vec<_>, _> =
        Frames::new(&[0x01, 0x1e, 0x00, 0x00], PacketType::OneRtt).collect();
    assert_eq!(
        frames.unwrap(),
        [Frame::Ping, Frame::HandshakeDone, Frame::Padding { len: 2 }]
    );
}

#[test]
fn stream_header_matches_frame_encoding() {
    let id = StreamId::new(Side::Client, Dir::Bi, 3).unwrap();
    let data = [7u8; 300];
    let frame = Stream {
        id,
        offset: VarInt::from_u32(70_000),
        fin: true,
        explicit_len: true,
        data: &data,
    };
    let mut whole = Vec::new();
    Frame::Stream(frame.clone()).encode(&mut whole);
    let mut split = Vec::new();
    Stream::encode_header(&mut split, id, frame.offset, data.len(), true, true);
    assert_eq!(
        split.len(),
        Stream::header_len(id, frame.offset, data.len(), true)
    );
    split.extend(data);
    assert_eq!(whole, split);
}

#[test]
fn invalid_ack_ranges_are_rejected_before_writing() {
    let mut out = Vec::new();
    assert_eq!(
        encode_ack(&mut out, &[], VarInt::ZERO, None),
        Err(InvalidAckRanges)
    );
    // Adjacent ranges must be merged by the caller.
    assert_eq!(
        encode_ack(&mut out, &[5..=6, 3..=4], VarInt::ZERO, None),
        Err(InvalidAckRanges)
    );
    // Ascending.
    assert_eq!(
        encode_ack(&mut out, &[1..=1, 5..=6], VarInt::ZERO, None),
        Err(InvalidAckRanges)
    );
    #[allow(clippy::reversed_empty_ranges)]
    let inverted = [5..=4];
    assert_eq!(
        encode_ack(&mut out, &inverted, VarInt::ZERO, None),
        Err(InvalidAckRanges)
    );
    assert!(out.is_empty());
}

/// A description of a frame from which a test builds the borrowed [`Frame`].
#[derive(Clone, Debug)]
struct Spec {
    kind: u8,
    a: u64,
    b: u64,
    c: u64,
    flag1: bool,
    flag2: bool,
    data: Vec<u8>,
    cid: Vec<u8>,
    token: [u8; 16],
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        0u8..23,
        0..=VarInt::MAX.into_inner(),
        0..=VarInt::MAX.into_inner(),
        0..=VarInt::MAX.into_inner(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(any::<u8>(), 1..=20),
        any::<[u8; 16]>(),
    )
        .prop_map(|(kind, a, b, c, flag1, flag2, data, cid, token)| Spec {
            kind,
            a,
            b,
            c,
            flag1,
            flag2,
            data,
            cid,
            token,
        })
}

fn build(s: &Spec) -> Frame<'_> {
    let v = |x: u64| VarInt::from_u64(x).unwrap();
    let id = StreamId::from(v(s.a));
    let dir = if s.flag1 { Dir::Uni } else { Dir::Bi };
    let count = v(s.b % (MAX_STREAM_COUNT + 1));
    // Offsets that keep offset + len within 2^62 - 1.
    let offset = v(s.b.min(VarInt::MAX.into_inner() - s.data.len() as u64));
    match s.kind {
        0 => Frame::Padding {
            len: 1 + s.data.len(),
        },
        1 => Frame::Ping,
        2 => Frame::ResetStream(ResetStream {
            id,
            error_code: v(s.b),
            final_size: v(s.c),
        }),
        3 => Frame::StopSending(StopSending {
            id,
            error_code: v(s.b),
        }),
        4 => Frame::Crypto(Crypto {
            offset,
            data: &s.data,
        }),
        5 => Frame::NewToken { token: &s.cid },
        6 => Frame::Stream(Stream {
            id,
            offset,
            fin: s.flag1,
            explicit_len: s.flag2,
            data: &s.data,
        }),
        7 => Frame::MaxData(v(s.a)),
        8 => Frame::MaxStreamData { id, max: v(s.b) },
        9 => Frame::MaxStreams { dir, count },
        10 => Frame::DataBlocked(v(s.a)),
        11 => Frame::StreamDataBlocked { id, limit: v(s.b) },
        12 => Frame::StreamsBlocked { dir, limit: count },
        13 => Frame::NewConnectionId(NewConnectionId {
            sequence: v(s.a.max(s.b)),
            retire_prior_to: v(s.a.min(s.b)),
            id: ConnectionId::from_slice(&s.cid).unwrap(),
            reset_token: s.token,
        }),
        14 => Frame::RetireConnectionId { sequence: v(s.c) },
        15 => Frame::PathChallenge(s.token[..8].try_into().unwrap()),
        16 => Frame::PathResponse(s.token[8..].try_into().unwrap()),
        17 => Frame::ConnectionClose(ConnectionClose {
            reason: if s.flag1 {
                CloseReason::Application { code: v(s.a) }
            } else {
                CloseReason::Transport {
                    code: TransportErrorCode(s.a),
                    frame_type: v(s.b),
                }
            },
            phrase: &s.data,
        }),
        18 => Frame::HandshakeDone,
        19 => Frame::ImmediateAck,
        20 => Frame::AckFrequency(AckFrequency {
            sequence: v(s.a),
            ack_eliciting_threshold: v(s.b),
            request_max_ack_delay: v(s.c),
            reordering_threshold: v(s.a ^ s.b),
        }),
        _ => Frame::Datagram {
            explicit_len: s.flag2,
            data: &s.data,
        },
    }
}

fn arb_ack_ranges() -> impl Strategy<Value = Vec<RangeInclusive<u64>>> {
    (
        0u64..(1 << 40),
        prop::collection::vec((0u64..1000, 0u64..1000), 1..40),
    )
        .prop_map(|(top, steps)| {
            let mut ranges = Vec::new();
            let mut hi = top + 10 * 2000;
            for (gap, len) in steps {
                let lo = hi.saturating_sub(len);
                ranges.push(lo..=hi);
                match lo.checked_sub(gap + 2) {
                    Some(next) => hi = next,
                    None => break,
                }
            }
            ranges
        })
}

proptest! {
    #[test]
    fn every_frame_round_trips(spec in arb_spec()) {
        let frame = build(&spec);
        let mut out = Vec::new();
        frame.encode(&mut out);
        prop_assert_eq!(out.len(), frame.encoded_len());
        let mut r = Reader::new(&out);
        let decoded = Frame::decode(&mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(decoded.ty(), frame.ty());
        prop_assert_eq!(decoded, frame);
    }

    #[test]
    fn ack_round_trips(ranges in arb_ack_ranges(), delay in 0u64..(1 << 30), ecn in proptest::option::of(any::<(u32, u32, u32)>())) {
        let ecn = ecn.map(|(a, b, c)| EcnCounts { ect0: a.into(), ect1: b.into(), ce: c.into() });
        let delay = VarInt::from_u64(delay).unwrap();
        let mut out = Vec::new();
        encode_ack(&mut out, &ranges, delay, ecn.as_ref()).unwrap();
        prop_assert_eq!(out.len(), ack_encoded_len(&ranges, delay, ecn.as_ref()).unwrap());
        let mut r = Reader::new(&out);
        let Frame::Ack(ack) = Frame::decode(&mut r).unwrap() else { panic!("not an ACK") };
        prop_assert!(r.is_empty());
        prop_assert_eq!(ack.ranges().collect::<Vec<_>>(), ranges.clone());
        prop_assert_eq!(ack.range_count(), ranges.len() as u64);
        prop_assert_eq!(ack.largest.into_inner(), *ranges[0].end());
        prop_assert_eq!(ack.delay, delay);
        prop_assert_eq!(ack.ecn, ecn);
        let mut again = Vec::new();
        Frame::Ack(ack.clone()).encode(&mut again);
        prop_assert_eq!(again.len(), Frame::Ack(ack).encoded_len());
        prop_assert_eq!(again, out);
    }

    #[test]
    fn decode_never_panics_and_always_advances(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut r = Reader::new(&bytes);
        while !r.is_empty() {
            let before = r.remaining();
            match Frame::decode(&mut r) {
                Ok(frame) => {
                    prop_assert!(r.remaining() < before);
                    if let Frame::Ack(ack) = &frame {
                        // Iterating validated ranges never underflows.
                        prop_assert!(ack.ranges().take(1000).all(|range| range.start() <= range.end()));
                    }
                }
                Err(_) => break,
            }
        }
    }
}
