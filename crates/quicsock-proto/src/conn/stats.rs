//! What a connection counts about itself for monitoring and measurement (quicperf's JSON,
//! `QuicSocket::stats`): packets and bytes each way, losses (RFC 9002 §6) and the losses
//! that proved spurious, stream data sent again, and the path estimates (RTT, RFC 9002
//! §5; congestion window and bytes in flight, §7), and ECN (RFC 9000 §13.4).

use std::time::Duration;

use super::Connection;

/// A snapshot of a connection's counters and estimates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Packets sent (every space).
    pub packets_sent: u64,
    /// Their bytes, headers and AEAD tags included.
    pub bytes_sent: u64,
    /// Packets received and authenticated.
    pub packets_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Packets declared lost.
    pub packets_lost: u64,
    /// Their bytes.
    pub bytes_lost: u64,
    /// Packets declared lost and acknowledged after all.
    pub spurious_losses: u64,
    /// Stream bytes sent more than once (after a loss or a probe).
    pub stream_bytes_retransmitted: u64,
    /// The smoothed RTT.
    pub smoothed_rtt: Duration,
    /// The RTT variation.
    pub rtt_var: Duration,
    /// The smallest RTT seen.
    pub min_rtt: Duration,
    /// The congestion window, bytes.
    pub congestion_window: u64,
    /// Bytes in flight now.
    pub bytes_in_flight: u64,
    /// What each copy site of the stream data path moved.
    pub copies: crate::stream::StreamCopies,
    /// Ack-eliciting 1-RTT packets we let arrive before an ACK is due at once: 1 by RFC
    /// 9000 §13.2.2, or what the peer's ACK_FREQUENCY asked for.
    pub ack_threshold: u64,
    /// How long our ACKs of 1-RTT packets may wait: our max_ack_delay, or the peer's
    /// request.
    pub ack_delay_limit: Duration,
    /// The ack-eliciting threshold our latest ACK_FREQUENCY asked of the peer, if we sent
    /// one (draft-ietf-quic-ack-frequency).
    pub ack_threshold_requested: Option<u64>,
    /// Where ECN stands on the path (RFC 9000 §13.4).
    pub ecn: super::EcnState,
    /// Congestion events the peer's CE counts signalled (RFC 9002 §7.1).
    pub ecn_ce_events: u64,
    /// Packets received marked ECT(0), ECT(1) and CE, every space together.
    pub ecn_received: [u64; 3],
    /// The largest UDP payload the connection sends now: the path MTU DPLPMTUD found
    /// (RFC 8899), within our setting, the peer's max_udp_payload_size and the local
    /// interface.
    pub max_datagram_size: usize,
    /// Where the PMTU search stands.
    pub pmtu: super::PmtuState,
    /// PMTU probes sent, acknowledged and lost.
    pub pmtu_probes: [u32; 3],
    /// Black holes detected: the datagram size fell back to the base.
    pub pmtu_black_holes: u32,
}

/// The counters a connection keeps as it sends and receives.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    pub(crate) packets_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) packets_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) packets_lost: u64,
    pub(crate) bytes_lost: u64,
}

impl Connection {
    /// Its counters and estimates now.
    pub fn stats(&self) -> ConnectionStats {
        let c = self.counters;
        let rtt = self.rtt();
        ConnectionStats {
            packets_sent: c.packets_sent,
            bytes_sent: c.bytes_sent,
            packets_received: c.packets_received,
            bytes_received: c.bytes_received,
            packets_lost: c.packets_lost,
            bytes_lost: c.bytes_lost,
            spurious_losses: self.spurious_losses().0,
            stream_bytes_retransmitted: self.streams.retransmitted(),
            smoothed_rtt: rtt.smoothed(),
            rtt_var: rtt.var(),
            min_rtt: rtt.min(),
            congestion_window: self.congestion_window(),
            bytes_in_flight: self.bytes_in_flight,
            copies: self.streams.copies(),
            ack_threshold: self.ack_policy().threshold,
            ack_delay_limit: self.ack_policy().max_delay,
            ack_threshold_requested: self
                .ack_request
                .latest
                .map(|f| f.ack_eliciting_threshold.into_inner()),
            ecn: self.path.ecn.state(),
            max_datagram_size: usize::from(self.path.mtu.current()),
            pmtu: self.path.mtu.state(),
            pmtu_probes: [
                self.path.mtu.probes_sent,
                self.path.mtu.probes_acked,
                self.path.mtu.probes_lost,
            ],
            pmtu_black_holes: self.path.mtu.black_holes,
            ecn_ce_events: u64::from(self.path.ecn.ce_events),
            ecn_received: self.spaces.iter().fold([0; 3], |[a, b, c], s| {
                [
                    a + s.ecn.ect0.into_inner(),
                    b + s.ecn.ect1.into_inner(),
                    c + s.ecn.ce.into_inner(),
                ]
            }),
        }
    }
}
