//! Scenario tests of the streams manager: frames in, frames out.

use std::time::Duration;

use super::*;
use crate::frame::Frames;
use crate::packet::PacketType;

fn params(window: u32, streams: u32) -> TransportParameters {
    TransportParameters {
        initial_max_data: VarInt::from_u32(window * 4),
        initial_max_stream_data_bidi_local: VarInt::from_u32(window),
        initial_max_stream_data_bidi_remote: VarInt::from_u32(window),
        initial_max_stream_data_uni: VarInt::from_u32(window),
        initial_max_streams_bidi: VarInt::from_u32(streams),
        initial_max_streams_uni: VarInt::from_u32(streams),
        ..TransportParameters::default()
    }
}

fn pair(window: u32, streams: u32) -> (Streams, Streams) {
    let p = params(window, streams);
    let mut c = Streams::new(Side::Client, &p, StreamConfig::default());
    let mut s = Streams::new(Side::Server, &p, StreamConfig::default());
    c.set_peer_params(&p);
    s.set_peer_params(&p);
    (c, s)
}

/// Moves every pending frame from `from` to `to`; returns an error `to` raised.
fn exchange(from: &mut Streams, to: &mut Streams) -> Result<usize, TransportError> {
    let mut buf = vec![0; 101_200];
    let mut out = crate::common::Writer::new(&mut buf);
    let mut sent = crate::recovery::FrameList::default();
    let mut tail = None;
    from.write_control(&mut out, 1200, &mut sent);
    from.write_stream_data(&mut out, 100_000, &mut sent, &mut tail);
    // In the clear, as in a packet that is not encrypted.
    from.settle_tail(out.written(), &mut tail);
    let n = sent.len();
    for f in Frames::new(out.written(), PacketType::OneRtt) {
        match f.expect("valid frames") {
            Frame::Stream(s) => to.on_stream(&s)?,
            Frame::MaxStreamData { id, max } => to.on_max_stream_data(id, max)?,
            Frame::MaxData(m) => to.on_max_data(m),
            Frame::MaxStreams { dir, count } => to.on_max_streams(dir, count),
            Frame::ResetStream(r) => to.on_reset_stream(&r)?,
            Frame::StopSending(s) => to.on_stop_sending(&s)?,
            _ => {}
        }
    }
    Ok(n)
}

#[test]
fn reading_returns_credit_and_sending_resumes() {
    let (mut c, mut s) = pair(16384, 10);
    let id = c.open(Dir::Bi).unwrap();
    let data = vec![7u8; 65536];
    assert_eq!(c.write(id, &data, true).unwrap(), 65536);
    exchange(&mut c, &mut s).unwrap();
    assert_eq!(s.readable(id), Some((16384, false)));
    let mut buf = vec![0; 8192];
    let now = Timestamp::ZERO;
    s.read(id, &mut buf, now, Duration::from_millis(10))
        .unwrap();
    assert!(s.has_pending(), "a MAX_STREAM_DATA is due");
    exchange(&mut s, &mut c).unwrap();
    exchange(&mut c, &mut s).unwrap();
    assert_eq!(s.readable(id), Some((16384, false)));
}

/// STREAM frames of `len` bytes at `offset` on `id`, in a packet of their own in receive
/// buffer `pin`.
fn shared_frame(s: &mut Streams, id: StreamId, offset: u64, len: usize, pin: u64) {
    let packet = bytes::Bytes::from(vec![pin as u8; len]);
    let f = frame::Stream {
        id,
        offset: VarInt::from_u64(offset).unwrap(),
        data: &packet,
        fin: false,
        explicit_len: true,
    };
    let share = Share {
        owner: &packet,
        pin,
    };
    s.on_stream_shared(&f, Some(share)).unwrap();
}

/// In-order data is kept as slices of its packets while the connection pins fewer than
/// MAX_PINNED_BUFFERS receive buffers, on any number of streams; beyond that it is copied,
/// and reading gives the buffers back.
#[test]
fn hostile_shared_slices_pin_at_most_the_cap_of_buffers() {
    let (mut c, mut s) = pair(1 << 20, 10);
    let ids: Vec<StreamId> = (0..4).map(|_| c.open(Dir::Bi).unwrap()).collect();
    // Each stream gets one frame: a stream must exist at the peer before data arrives.
    for id in &ids {
        c.write(*id, b"x", false).unwrap();
    }
    exchange(&mut c, &mut s).unwrap();
    let mut buf = vec![0; 1 << 20];
    let now = Timestamp::ZERO;
    for id in &ids {
        s.read(*id, &mut buf, now, Duration::from_millis(10))
            .unwrap();
    }
    let before = s.copies();
    let (len, frames) = (1000, 3 * MAX_PINNED_BUFFERS);
    for k in 0..frames {
        let id = ids[k % ids.len()];
        let offset = 1 + (k / ids.len() * len) as u64;
        // A new buffer for every frame: the worst case.
        shared_frame(&mut s, id, offset, len, 1000 + k as u64);
    }
    assert_eq!(s.pinned_buffers(), MAX_PINNED_BUFFERS);
    let copies = s.copies();
    let kept = copies.shared_from_packets - before.shared_from_packets;
    let copied = copies.into_receive_buffer - before.into_receive_buffer;
    assert_eq!(kept, (MAX_PINNED_BUFFERS * len) as u64);
    assert_eq!(copied, ((frames - MAX_PINNED_BUFFERS) * len) as u64);
    // Short data from a new buffer is copied even under the cap; from a pinned one it is
    // kept (it pins nothing more).
    for id in &ids {
        let n = s
            .read(*id, &mut buf, now, Duration::from_millis(10))
            .unwrap();
        assert_eq!(n.len, frames / ids.len() * len);
    }
    assert_eq!(s.pinned_buffers(), 0);
    let next = 1 + (frames / ids.len() * len) as u64;
    let id = ids[0];
    shared_frame(&mut s, id, next, SHARE_MIN - 1, 7);
    assert_eq!(
        s.pinned_buffers(),
        0,
        "short data from a new buffer is copied"
    );
    s.read(id, &mut buf, now, Duration::from_millis(10))
        .unwrap();
    let next = next + SHARE_MIN as u64 - 1;
    shared_frame(&mut s, id, next, SHARE_MIN, 8);
    shared_frame(&mut s, id, next + SHARE_MIN as u64, 10, 8);
    assert_eq!(s.pinned_buffers(), 1);
    assert_eq!(s.readable(id), Some((SHARE_MIN as u64 + 10, false)));
    let shared = s.copies().shared_from_packets - copies.shared_from_packets;
    assert_eq!(shared, SHARE_MIN as u64 + 10);
}

/// A reset stream gives back the buffers its slices pinned.
#[test]
fn a_reset_gives_back_the_pinned_buffers() {
    let (mut c, mut s) = pair(1 << 20, 10);
    let id = c.open(Dir::Bi).unwrap();
    for k in 0..10u64 {
        shared_frame(&mut s, id, k * 1000, 1000, k);
    }
    assert_eq!(s.pinned_buffers(), 10);
    assert_eq!(s.readable(id), Some((10_000, false)));
    let reset = ResetStream {
        id,
        error_code: VarInt::from_u32(3),
        final_size: VarInt::from_u32(10_000),
    };
    s.on_reset_stream(&reset).unwrap();
    assert_eq!(s.pinned_buffers(), 0);
}

/// Kept data that covers bytes held out of order already counts only its new bytes: each
/// byte is counted once, copied or kept.
#[test]
fn kept_data_over_held_ranges_counts_new_bytes_once() {
    let (mut c, mut s) = pair(1 << 20, 10);
    let id = c.open(Dir::Bi).unwrap();
    shared_frame(&mut s, id, 1000, 500, 1);
    assert_eq!(s.pinned_buffers(), 0, "out of order: copied");
    shared_frame(&mut s, id, 0, 2000, 2);
    assert_eq!(s.pinned_buffers(), 1);
    let copies = s.copies();
    assert_eq!(
        (copies.into_receive_buffer, copies.shared_from_packets),
        (500, 1500)
    );
    let mut buf = vec![0; 4000];
    let r = s
        .read(id, &mut buf, Timestamp::ZERO, Duration::from_millis(10))
        .unwrap();
    assert_eq!(r.len, 2000);
    assert!(buf[..2000].iter().all(|b| *b == 2), "the newer copy wins");
    assert_eq!(s.pinned_buffers(), 0);
}

/// Linux QUIC's SIOCOUTQ, SIOCOUTQNSD and SIOCINQ: bytes written and unacknowledged,
/// written and never sent, received and unread.
#[test]
fn queue_bytes_follow_writes_sends_and_reads() {
    let (mut c, mut s) = pair(1 << 20, 10);
    let id = c.open(Dir::Bi).unwrap();
    c.write(id, &[1; 5000], false).unwrap();
    let q = c.queue_bytes();
    assert_eq!((q.send, q.unsent, q.receive), (5000, 5000, 0));
    exchange(&mut c, &mut s).unwrap();
    let q = c.queue_bytes();
    assert_eq!((q.send, q.unsent), (5000, 0), "sent, not yet acknowledged");
    assert_eq!(s.queue_bytes().receive, 5000);
    let mut buf = vec![0; 3000];
    s.read(id, &mut buf, Timestamp::ZERO, Duration::from_millis(10))
        .unwrap();
    assert_eq!(s.queue_bytes().receive, 2000);
}

/// Linux QUIC: STOP_SENDING gives EAGAIN while one is in flight, and may be asked again
/// once it was acknowledged.
#[test]
fn stop_sending_waits_for_the_one_in_flight() {
    let (mut c, mut s) = pair(1 << 20, 10);
    let id = c.open(Dir::Bi).unwrap();
    c.write(id, b"x", false).unwrap();
    exchange(&mut c, &mut s).unwrap();
    s.stop_sending(id, VarInt::from_u32(7)).unwrap();
    assert_eq!(
        s.stop_sending(id, VarInt::from_u32(7)),
        Err(StreamError::StopInFlight(id))
    );
    exchange(&mut s, &mut c).unwrap();
    assert_eq!(
        s.stop_sending(id, VarInt::from_u32(7)),
        Err(StreamError::StopInFlight(id)),
        "sent, not yet acknowledged"
    );
    s.on_control_acked(&SentFrame::StopSending(id));
    assert_eq!(s.stop_sending(id, VarInt::from_u32(8)), Ok(()));
}

/// The receive side's state changes reach the application with the final size (Linux
/// QUIC's STREAM_UPDATE, RFC 9000 §3.2): a FIN ahead of a gap is Size Known, the gap
/// filled is Data Recvd; a reset carries its final size.
#[test]
fn receive_states_are_reported_with_the_final_size() {
    let (mut c, mut s) = pair(1 << 20, 10);
    let id = c.open(Dir::Bi).unwrap();
    let frame = |offset: u64, data: &'static [u8], fin: bool| frame::Stream {
        id,
        offset: VarInt::from_u64(offset).unwrap(),
        data,
        fin,
        explicit_len: true,
    };
    s.on_stream(&frame(10, b"world", true)).unwrap();
    s.on_stream(&frame(0, b"hello, my ", false)).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    let sized = events
        .iter()
        .position(|e| *e == StreamEvent::SizeKnown(id, 15));
    let all = events
        .iter()
        .position(|e| *e == StreamEvent::AllReceived(id, 15));
    assert!(sized.is_some() && sized < all, "{events:?}");
    let id2 = c.open(Dir::Bi).unwrap();
    s.on_stream(&frame::Stream {
        id: id2,
        offset: VarInt::ZERO,
        data: b"abc",
        fin: false,
        explicit_len: true,
    })
    .unwrap();
    s.on_reset_stream(&ResetStream {
        id: id2,
        error_code: VarInt::from_u32(9),
        final_size: VarInt::from_u32(7),
    })
    .unwrap();
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        events.contains(&StreamEvent::Reset(id2, 9, 7)),
        "{events:?}"
    );
}
