//! The stream layer against a model: application operations (open, write, read, finish,
//! reset, stop) interleaved with the peer's frames (STREAM, RESET_STREAM, STOP_SENDING,
//! MAX_DATA, MAX_STREAM_DATA) and with the fate of what we sent (acknowledged or lost).
//! Every byte read must be the byte the peer sent at that offset, every STREAM frame we
//! emit must carry what the application wrote at that offset within the credit given,
//! and the flow-control books must balance after every step (`Streams::check_invariants`).
//! Receive reassembly alone is `recv_reassembly`, against a model byte buffer.

use std::collections::HashMap;
use std::time::Duration;

use crate::frame::{self, Frame, Frames, ResetStream, StopSending};
use crate::packet::PacketType;
use crate::recovery::{FrameList, SentFrame};
use crate::stream::{RecvBuffer, StreamConfig, StreamError, Streams, MAX_RANGES, RANGE_COST};
use crate::time::Timestamp;
use crate::transport_params::TransportParameters;
use crate::{Dir, Side, StreamId, VarInt};

/// The bytes the peer sends on `id` at `offset`.
fn peer_byte(id: StreamId, offset: u64) -> u8 {
    (id.into_inner().wrapping_mul(131) ^ offset.wrapping_mul(7) ^ (offset >> 9)) as u8
}

/// The bytes the application writes on `id` at `offset`.
fn local_byte(id: StreamId, offset: u64) -> u8 {
    peer_byte(id, offset) ^ 0xa5
}

fn params() -> TransportParameters {
    TransportParameters {
        initial_max_data: VarInt::from_u32(64 << 10),
        initial_max_stream_data_bidi_local: VarInt::from_u32(16 << 10),
        initial_max_stream_data_bidi_remote: VarInt::from_u32(16 << 10),
        initial_max_stream_data_uni: VarInt::from_u32(16 << 10),
        initial_max_streams_bidi: VarInt::from_u32(4),
        initial_max_streams_uni: VarInt::from_u32(4),
        ..TransportParameters::default()
    }
}

/// Fuzzer input: a sequence of 5-byte operations (STREAM frames followed by their length
/// of payload, generated from the model).
pub fn stream_ops(data: &[u8]) {
    let config = StreamConfig {
        max_stream_window: 32 << 10,
        max_connection_window: 128 << 10,
        send_buffer: 32 << 10,
    };
    let mut s = Streams::new(Side::Server, &params(), config);
    s.set_peer_params(&params());
    let now = Timestamp::ZERO;
    let rtt = Duration::from_millis(10);
    let mut read_at: HashMap<StreamId, u64> = HashMap::new();
    let mut written: HashMap<StreamId, u64> = HashMap::new();
    let mut in_flight: Vec<SentFrame> = Vec::new();
    for op in data.chunks(5) {
        let [kind, a, b, c, d] = <[u8; 5]>::try_from(op).unwrap_or([op[0], 0, 0, 0, 0]);
        // A stream of either initiator and direction, among the first four of each.
        let id_of = |x: u8| {
            let side = if x & 1 == 0 {
                Side::Client
            } else {
                Side::Server
            };
            let dir = if x & 2 == 0 { Dir::Bi } else { Dir::Uni };
            StreamId::new(side, dir, u64::from(x >> 2) % 4).expect("small index")
        };
        let id = id_of(a);
        let offset = u64::from(u16::from_be_bytes([b, c])) % (48 << 10);
        let result = match kind % 10 {
            // The peer's STREAM frame.
            0 => {
                // Some frames arrive in shared receive buffers (kept as slices, up to the
                // cap of pinned buffers), with a pin that changes every 8 KiB of offset.
                let len = u64::from(d) * 4 * if kind & 0x40 != 0 { 8 } else { 1 };
                let bytes: bytes::Bytes =
                    (offset..offset + len).map(|o| peer_byte(id, o)).collect();
                let share = crate::stream::Share {
                    owner: &bytes,
                    pin: offset >> 13,
                };
                let f = frame::Stream {
                    id,
                    offset: VarInt::saturating(offset),
                    fin: kind & 0x80 != 0,
                    explicit_len: true,
                    data: &bytes,
                };
                s.on_stream_shared(&f, (kind & 0x20 != 0).then_some(share))
            }
            // The application reads; what it gets is what the peer sent.
            1 => {
                let mut buf = vec![0; usize::from(d) * 16 + 1];
                match s.read(id, &mut buf, now, rtt) {
                    Ok(r) => {
                        let at = read_at.entry(id).or_default();
                        for (i, byte) in buf[..r.len].iter().enumerate() {
                            assert_eq!(*byte, peer_byte(id, *at + i as u64), "stream {id}");
                        }
                        *at += r.len as u64;
                    }
                    Err(StreamError::Reset(..) | StreamError::NotOpen(_)) => {
                        read_at.remove(&id);
                    }
                    Err(_) => {}
                }
                Ok(())
            }
            // The application opens a stream and writes.
            2 => {
                let dir = if a & 2 == 0 { Dir::Bi } else { Dir::Uni };
                let id = s.open(dir).unwrap_or(id);
                let at = written.get(&id).copied().unwrap_or(0);
                let len = u64::from(d) * 64;
                let bytes: Vec<u8> = (at..at + len).map(|o| local_byte(id, o)).collect();
                if let Ok(n) = s.write(id, &bytes, kind & 0x80 != 0) {
                    *written.entry(id).or_default() += n as u64;
                }
                Ok(())
            }
            // We build a packet's worth of STREAM frames: each carries what was written.
            3 => {
                let mut buf = vec![0; 2200];
                let mut out = crate::common::Writer::new(&mut buf);
                let mut sent = FrameList::default();
                let mut tail = None;
                s.write_stream_data(&mut out, 100 + usize::from(d) * 8, &mut sent, &mut tail);
                s.settle_tail(out.written(), &mut tail);
                let out = out.written();
                // An empty packet is not a packet: only walk what was written.
                let frames = if out.is_empty() {
                    Frames::new(&[0x01], PacketType::OneRtt)
                } else {
                    Frames::new(out, PacketType::OneRtt)
                };
                for f in frames {
                    if matches!(f, Ok(Frame::Ping)) {
                        continue;
                    }
                    let Ok(Frame::Stream(f)) = f else {
                        panic!("only STREAM frames are written: {f:?}");
                    };
                    let start = f.offset.into_inner();
                    let end = start + f.data.len() as u64;
                    assert!(
                        end <= written.get(&f.id).copied().unwrap_or(0),
                        "unwritten data sent"
                    );
                    for (i, byte) in f.data.iter().enumerate() {
                        assert_eq!(*byte, local_byte(f.id, start + i as u64));
                    }
                }
                in_flight.extend(sent);
                Ok(())
            }
            // What we sent is acknowledged or lost, oldest first.
            4 => {
                let n = usize::from(d % 8).min(in_flight.len());
                for f in in_flight.drain(..n) {
                    if let SentFrame::Stream {
                        id,
                        offset,
                        len,
                        fin,
                    } = f
                    {
                        if b & 1 == 0 {
                            s.on_stream_acked(id, offset, len, fin);
                        } else {
                            s.on_stream_lost(id, offset, len, fin);
                        }
                    }
                }
                Ok(())
            }
            5 => s.on_reset_stream(&ResetStream {
                id,
                error_code: VarInt::from_u32(u32::from(d)),
                final_size: VarInt::saturating(offset),
            }),
            6 => s.on_stop_sending(&StopSending {
                id,
                error_code: VarInt::from_u32(u32::from(d)),
            }),
            7 => s.on_max_stream_data(id, VarInt::saturating(offset * 2)),
            8 => {
                s.on_max_data(VarInt::saturating(offset * 4));
                Ok(())
            }
            // The application finishes, resets or stops a stream.
            _ => {
                let _ = match d % 3 {
                    0 => s.finish(id),
                    1 => s.reset(id, VarInt::from_u32(7)),
                    _ => s.stop_sending(id, VarInt::from_u32(8)),
                };
                Ok(())
            }
        };
        if result.is_err() {
            // A connection error: the connection closes, nothing more happens (its books
            // may hold the frame that broke them).
            return;
        }
        s.check_invariants();
        while s.poll_event().is_some() {}
    }
}

/// Fragments in any order and overlap against a model byte buffer: reads return the
/// source bytes in order, nothing is held twice, memory stays within twice the span plus
/// the range table, and past `MAX_RANGES` gaps an insert is refused only if it would open
/// a new gap.
pub fn recv_reassembly(data: &[u8]) {
    const WINDOW: u64 = 64 << 10;
    let byte = |o: u64| (o.wrapping_mul(2_654_435_761) >> 13) as u8;
    let mut b = RecvBuffer::default();
    let mut read = 0u64;
    for op in data.chunks(4) {
        let [kind, x, y, z] = <[u8; 4]>::try_from(op).unwrap_or([op[0], 0, 0, 0]);
        if kind & 1 == 0 {
            let offset = read + u64::from(u16::from_be_bytes([x, y])) % WINDOW;
            // Long fragments (which may be kept as slices) for kind & 2, shared for kind & 4
            // with a pin that changes every 4 KiB of offset.
            let scale = if kind & 2 != 0 { 16 } else { 1 };
            let len = ((u64::from(z) + 1) * scale).min(read + WINDOW - offset);
            let bytes = bytes::Bytes::from((offset..offset + len).map(byte).collect::<Vec<u8>>());
            let share = crate::stream::Share {
                owner: &bytes,
                pin: offset >> 12,
            };
            let gaps = b.gaps();
            let before = b.buffered();
            let shared = b.shared_len();
            match b.insert_shared(offset, &bytes, (kind & 4 != 0).then_some(share)) {
                Ok(n) => {
                    assert_eq!(b.buffered(), before + n);
                    assert!(kind & 4 != 0 || b.shared_len() == shared, "kept unshared");
                }
                Err(_) => {
                    assert_eq!(gaps, MAX_RANGES);
                    assert_eq!(b.buffered(), before, "a refused insert stored nothing");
                }
            }
        } else {
            let mut buf = vec![0; usize::from(x) * 64];
            let n = b.read(&mut buf);
            for (i, v) in buf[..n].iter().enumerate() {
                assert_eq!(*v, byte(read + i as u64), "byte {}", read + i as u64);
            }
            read += n as u64;
            assert_eq!(b.read_offset(), read);
        }
        assert!(b.buffered() as u64 <= WINDOW);
        assert!(b.shared_len() <= b.buffered());
        assert!(b.pins() <= 1 + b.shared_len() / crate::stream::SHARE_MIN);
        assert_eq!(b.pins() == 0, b.shared_len() == 0);
        assert!(
            b.memory()
                <= 2 * WINDOW as usize
                    + b.gaps() * RANGE_COST
                    + crate::common::RangeSet::MEMORY_BASE
                    + 64
        );
    }
}
