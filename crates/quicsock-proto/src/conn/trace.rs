//! What a connection tells the outside about itself as it goes: qlog records (`qlog`),
//! for the owner's sink, and `tracing` events at the points a user debugging a connection
//! needs (state changes, errors, losses), which cost nothing without a subscriber.

use serde_json::json;

use super::Connection;
use crate::packet::{PacketType, SpaceId};
use crate::qlog::{self, Qlog, QlogSink};
use crate::recovery::SentPacket;
use crate::time::Timestamp;

impl Connection {
    /// Starts a qlog trace of this connection into `sink` (its header and our transport
    /// parameters first; the peer's follow when they arrive).
    pub fn set_qlog(&mut self, sink: Box<dyn QlogSink>, now: Timestamp) {
        let mut q = Qlog::new(sink, self.side, &self.original_dcid, now);
        q.event(
            now,
            "transport:parameters_set",
            qlog::parameters("local", &self.local_params),
        );
        if let Some(p) = self.peer_params.as_deref() {
            q.event(
                now,
                "transport:parameters_set",
                qlog::parameters("remote", p),
            );
        }
        self.qlog = Some(Box::new(q));
    }

    /// Whether a qlog trace is being written.
    pub(crate) fn qlogging(&self) -> bool {
        self.qlog.is_some()
    }

    pub(crate) fn qlog_packet_sent(
        &mut self,
        now: Timestamp,
        ty: PacketType,
        pn: u64,
        size: usize,
        acks: bool,
        packet: &crate::recovery::FrameList,
    ) {
        let Some(q) = self.qlog.as_mut() else {
            return;
        };
        let mut frames: Vec<_> = acks
            .then(|| json!({"frame_type": "ack"}))
            .into_iter()
            .collect();
        frames.extend(packet.iter().map(qlog::sent_frame));
        q.event(
            now,
            "transport:packet_sent",
            qlog::packet(ty, pn, size, frames),
        );
    }

    pub(crate) fn qlog_packet_received(
        &mut self,
        now: Timestamp,
        ty: PacketType,
        pn: u64,
        size: usize,
        payload: &[u8],
    ) {
        let Some(q) = self.qlog.as_mut() else {
            return;
        };
        let frames = crate::frame::Frames::new(payload, ty)
            .map_while(Result::ok)
            .filter(|f| !matches!(f, crate::frame::Frame::Padding { .. }))
            .map(|f| qlog::frame(&f))
            .collect();
        q.event(
            now,
            "transport:packet_received",
            qlog::packet(ty, pn, size, frames),
        );
    }

    /// After an ACK: the estimates and the window when they changed, and the congestion
    /// state when it did.
    pub(crate) fn qlog_metrics(&mut self, now: Timestamp) {
        let Some(q) = self.qlog.as_mut() else {
            return;
        };
        let us = |d: std::time::Duration| d.as_micros() as u64;
        let m = [
            us(self.rtt.min()),
            us(self.rtt.smoothed()),
            us(self.rtt.var()),
            self.cc.window(),
            self.bytes_in_flight,
        ];
        if m != q.metrics {
            q.metrics = m;
            let ms = |v: u64| v as f64 / 1000.0;
            q.event(
                now,
                "recovery:metrics_updated",
                json!({
                    "min_rtt": ms(m[0]),
                    "smoothed_rtt": ms(m[1]),
                    "rtt_variance": ms(m[2]),
                    "congestion_window": m[3],
                    "bytes_in_flight": m[4],
                }),
            );
        }
        let state = if self.cc.in_slow_start() {
            "slow_start"
        } else {
            "congestion_avoidance"
        };
        self.qlog_congestion_state(now, state);
    }

    pub(crate) fn qlog_congestion_state(&mut self, now: Timestamp, state: &'static str) {
        let Some(q) = self.qlog.as_mut() else {
            return;
        };
        if q.cc_state != state {
            let old = std::mem::replace(&mut q.cc_state, state);
            q.event(
                now,
                "recovery:congestion_state_updated",
                json!({"old": old, "new": state}),
            );
        }
    }

    pub(crate) fn qlog_lost(&mut self, now: Timestamp, space: SpaceId, lost: &[(u64, SentPacket)]) {
        tracing::debug!(side = ?self.side, ?space, count = lost.len(), "packets lost");
        let Some(q) = self.qlog.as_mut() else {
            return;
        };
        let ty = match space {
            SpaceId::Initial => PacketType::Initial,
            SpaceId::Handshake => PacketType::Handshake,
            SpaceId::Data => PacketType::OneRtt,
        };
        for (pn, _) in lost {
            q.event(
                now,
                "recovery:packet_lost",
                json!({"header": {"packet_type": qlog::packet_type(ty), "packet_number": pn}}),
            );
        }
    }

    /// The connection closed: its last record, and the sink writes out what it holds.
    pub(crate) fn qlog_closed(&mut self, error: &super::ConnectionError) {
        let now = self.last_now;
        let Some(q) = self.qlog.as_mut() else {
            return;
        };
        let owner = match error {
            super::ConnectionError::Peer(_) => "remote",
            _ => "local",
        };
        q.event(
            now,
            "connectivity:connection_closed",
            json!({"owner": owner, "reason": error.to_string()}),
        );
        q.flush();
    }

    pub(crate) fn qlog_peer_params(&mut self, now: Timestamp) {
        let (Some(q), Some(p)) = (self.qlog.as_mut(), self.peer_params.as_deref()) else {
            return;
        };
        q.event(
            now,
            "transport:parameters_set",
            qlog::parameters("remote", p),
        );
    }
}
