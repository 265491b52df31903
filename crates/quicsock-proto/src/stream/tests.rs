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
