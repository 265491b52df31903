//! qlog: a connection's events as structured records (draft-ietf-quic-qlog-main-schema
//! and draft-ietf-quic-qlog-quic-events, qlog 0.3 in its JSON-SEQ serialisation, which
//! qvis reads): one record per line, each opened by the RS byte (0x1e, RFC 7464), a
//! header first.
//!
//! The connection formats; where the records go is the owner's [`QlogSink`] (a file per
//! connection in a directory, for the socket layer). A connection without a sink pays
//! one branch per event site. Events: `transport:parameters_set` (ours, then the peer's),
//! `transport:packet_sent` and `transport:packet_received` (header, size, frames),
//! `recovery:metrics_updated` (after each ACK that changed the estimates or the window),
//! `recovery:packet_lost`, `recovery:congestion_state_updated`, and
//! `connectivity:connection_closed` last, when the sink is flushed.

use serde_json::{json, Value};

use crate::frame::Frame;
use crate::packet::PacketType;
use crate::recovery::SentFrame;
use crate::time::Timestamp;
use crate::transport_params::TransportParameters;
use crate::Side;

/// The record separator that opens every JSON-SEQ record (RFC 7464).
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Where a connection's qlog records go, each a complete JSON-SEQ record (RS, JSON, LF).
pub trait QlogSink: Send {
    /// Takes one record.
    fn record(&mut self, record: &[u8]);

    /// The connection closed: the trace's last record was written (a file sink writes out
    /// what it buffers). Nothing by default.
    fn flush(&mut self) {}
}

/// A connection's qlog trace.
pub(crate) struct Qlog {
    sink: Box<dyn QlogSink>,
    start: Timestamp,
    /// The congestion state last reported.
    pub(crate) cc_state: &'static str,
    /// The metrics last reported (min, smoothed, variance in µs; window; in flight).
    pub(crate) metrics: [u64; 5],
    buf: Vec<u8>,
}

impl std::fmt::Debug for Qlog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qlog").finish_non_exhaustive()
    }
}

impl Qlog {
    /// A trace for a connection on `side` whose client first sent to `odcid`, starting
    /// `now`: writes the header.
    pub(crate) fn new(sink: Box<dyn QlogSink>, side: Side, odcid: &[u8], now: Timestamp) -> Self {
        let mut q = Self {
            sink,
            start: now,
            cc_state: "",
            metrics: [u64::MAX; 5],
            buf: Vec::with_capacity(512),
        };
        let vantage = match side {
            Side::Client => "client",
            Side::Server => "server",
        };
        q.write(&json!({
            "qlog_version": "0.3",
            "qlog_format": "JSON-SEQ",
            "title": "quicsock",
            "trace": {
                "vantage_point": {"name": "quicsock", "type": vantage},
                "common_fields": {
                    "ODCID": hex(odcid),
                    "time_format": "relative",
                    "reference_time": 0,
                },
            },
        }));
        q
    }

    fn write(&mut self, v: &Value) {
        self.buf.clear();
        self.buf.push(RECORD_SEPARATOR);
        // Serialising a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, v);
        self.buf.push(b'\n');
        self.sink.record(&self.buf);
    }

    /// The trace's end: the sink writes out what it holds.
    pub(crate) fn flush(&mut self) {
        self.sink.flush();
    }

    /// One event named `name` (`category:event`) at `now`.
    pub(crate) fn event(&mut self, now: Timestamp, name: &str, data: Value) {
        let ms = now.saturating_duration_since(self.start).as_secs_f64() * 1000.0;
        self.write(&json!({"time": ms, "name": name, "data": data}));
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The qlog name of a packet type.
pub(crate) fn packet_type(ty: PacketType) -> &'static str {
    match ty {
        PacketType::Initial => "initial",
        PacketType::Handshake => "handshake",
        PacketType::ZeroRtt => "0RTT",
        PacketType::OneRtt => "1RTT",
    }
}

/// A packet's header and size as packet events carry them.
pub(crate) fn packet(ty: PacketType, pn: u64, size: usize, frames: Vec<Value>) -> Value {
    json!({
        "header": {"packet_type": packet_type(ty), "packet_number": pn},
        "raw": {"length": size},
        "frames": frames,
    })
}

/// A received frame, as `packet_received` lists it.
pub(crate) fn frame(f: &Frame<'_>) -> Value {
    match f {
        Frame::Stream(s) => json!({
            "frame_type": "stream",
            "stream_id": s.id.into_inner(),
            "offset": s.offset.into_inner(),
            "length": s.data.len(),
            "fin": s.fin,
        }),
        Frame::Crypto(c) => json!({
            "frame_type": "crypto",
            "offset": c.offset.into_inner(),
            "length": c.data.len(),
        }),
        Frame::Ack(a) => json!({
            "frame_type": "ack",
            "acked_ranges": a.ranges().map(|r| [*r.start(), *r.end()]).collect::<Vec<_>>(),
        }),
        f => json!({"frame_type": frame_name(f.ty())}),
    }
}

/// A sent frame, as `packet_sent` lists it.
pub(crate) fn sent_frame(f: &SentFrame) -> Value {
    match *f {
        SentFrame::Stream {
            id,
            offset,
            len,
            fin,
        } => json!({
            "frame_type": "stream",
            "stream_id": id.into_inner(),
            "offset": offset,
            "length": len,
            "fin": fin,
        }),
        SentFrame::Crypto { offset, len } => {
            json!({"frame_type": "crypto", "offset": offset, "length": len})
        }
        ref f => json!({"frame_type": frame_name(f.frame_type())}),
    }
}

/// A frame type's qlog name (`max_stream_data`).
fn frame_name(ty: crate::frame::FrameType) -> String {
    ty.name().to_ascii_lowercase()
}

/// `parameters_set` for one side's transport parameters.
pub(crate) fn parameters(owner: &str, p: &TransportParameters) -> Value {
    json!({
        "owner": owner,
        "max_idle_timeout": p.max_idle_timeout.into_inner(),
        "max_udp_payload_size": p.max_udp_payload_size.into_inner(),
        "initial_max_data": p.initial_max_data.into_inner(),
        "initial_max_stream_data_bidi_local": p.initial_max_stream_data_bidi_local.into_inner(),
        "initial_max_stream_data_bidi_remote": p.initial_max_stream_data_bidi_remote.into_inner(),
        "initial_max_stream_data_uni": p.initial_max_stream_data_uni.into_inner(),
        "initial_max_streams_bidi": p.initial_max_streams_bidi.into_inner(),
        "initial_max_streams_uni": p.initial_max_streams_uni.into_inner(),
        "ack_delay_exponent": p.ack_delay_exponent.into_inner(),
        "max_ack_delay": p.max_ack_delay.into_inner(),
        "active_connection_id_limit": p.active_connection_id_limit.into_inner(),
        "disable_active_migration": p.disable_active_migration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_frames_get_qlog_names() {
        assert_eq!(
            sent_frame(&SentFrame::MaxStreamData(
                crate::StreamId::new(Side::Client, crate::Dir::Bi, 0).unwrap()
            ))["frame_type"],
            "max_stream_data"
        );
        assert_eq!(
            sent_frame(&SentFrame::PmtuProbe(1500))["frame_type"],
            "ping"
        );
        assert_eq!(
            sent_frame(&SentFrame::MaxStreams(crate::Dir::Bi))["frame_type"],
            "max_streams"
        );
        assert_eq!(
            sent_frame(&SentFrame::HandshakeDone)["frame_type"],
            "handshake_done"
        );
    }
}
