//! The ACK frequency extension (draft-ietf-quic-ack-frequency, with the code points of its
//! draft 07 that deployed stacks use: min_ack_delay 0xff04de1b, ACK_FREQUENCY 0xaf,
//! IMMEDIATE_ACK 0x1f), both ways.
//!
//! * As a receiver we advertise min_ack_delay (the granularity our ACK timer keeps) and
//!   follow the latest ACK_FREQUENCY the peer sent: its ack-eliciting threshold, its
//!   max_ack_delay and its reordering threshold replace RFC 9000 §13.2's rules for the
//!   application data space ([`AckPolicy`]); IMMEDIATE_ACK makes its packet's ACK due at
//!   once.
//! * As a sender, when the peer advertised min_ack_delay and a quarter of the smoothed RTT
//!   is at least that, we ask for an ACK every `cwnd / 4` packets (2 to
//!   [`MAX_ACK_EVERY`]; nothing is sent while that is RFC 9000's every second packet)
//!   within a quarter of the smoothed RTT (no more than its max_ack_delay, so our PTO
//!   stays right). Where the RTT is shorter (loopback, a LAN: tens of microseconds
//!   against a 1 ms timer) the packets after the last full count would wait for the
//!   peer's timer far longer than the path takes, and a buffer-limited sender would slow
//!   to that timer: measured on loopback, 6.7 Gbit/s fell to 5.5 with an RTT of 3 ms.
//!   and for immediate ACKs of reordering only past our packet threshold: a bulk transfer
//!   then costs a fraction of the ACKs, and the receiver sends fewer datagrams. A new
//!   request goes out whenever the count it asks for changes; a lost one is sent again if
//!   nothing newer went since.

use std::time::Duration;

use super::Connection;
use crate::frame::{AckFrequency, FrameType};
use crate::pnspace::AckPolicy;
use crate::{TransportError, TransportErrorCode, VarInt};

/// The most ack-eliciting packets per ACK we ask a peer for.
pub(crate) const MAX_ACK_EVERY: u64 = 10;

/// The granularity of our ACK timer, advertised as min_ack_delay (µs).
pub(crate) const MIN_ACK_DELAY_US: u32 = 1000;

/// The largest max_ack_delay a peer may ask of us (RFC 9000 §18.2's bound on the
/// transport parameter, 2^14 ms); longer requests are held to it.
const MAX_REQUESTED_DELAY: Duration = Duration::from_millis((1 << 14) - 1);

/// What we asked of the peer.
#[derive(Debug, Default)]
pub(crate) struct AckRequest {
    /// The peer accepts ACK_FREQUENCY (it sent min_ack_delay): its minimum delay.
    pub(crate) peer_min: Option<Duration>,
    /// The sequence number of the next ACK_FREQUENCY.
    next_sequence: u64,
    /// The frame last sent (or to be sent), if any.
    pub(crate) latest: Option<AckFrequency>,
    /// `latest` is to be sent (new, or its packet was lost).
    pub(crate) pending: bool,
}

impl Connection {
    /// How we acknowledge the peer's 1-RTT packets now.
    pub(crate) fn ack_policy(&self) -> AckPolicy {
        self.ack_policy
            .unwrap_or_else(|| AckPolicy::rfc9000(self.local_max_ack_delay()))
    }

    /// ACK_FREQUENCY from the peer (draft-ietf-quic-ack-frequency §4): valid only if we
    /// advertised min_ack_delay and it asks for no less; a newer one replaces the policy.
    pub(crate) fn on_ack_frequency(&mut self, f: &AckFrequency) -> Result<(), TransportError> {
        let violation = |reason| {
            TransportError::in_frame(
                TransportErrorCode::PROTOCOL_VIOLATION,
                FrameType::ACK_FREQUENCY,
                reason,
            )
        };
        let Some(min) = self.local_params.min_ack_delay else {
            return Err(violation("ACK_FREQUENCY without min_ack_delay"));
        };
        if f.request_max_ack_delay < min {
            return Err(violation("ACK_FREQUENCY asks for less than min_ack_delay"));
        }
        let seq = f.sequence.into_inner();
        if self.ack_frequency_seen.is_some_and(|s| seq <= s) {
            // An older or repeated request (reordered): ignored (§4).
            return Ok(());
        }
        self.ack_frequency_seen = Some(seq);
        self.ack_policy = Some(AckPolicy {
            threshold: f.ack_eliciting_threshold.into_inner(),
            max_delay: Duration::from_micros(f.request_max_ack_delay.into_inner())
                .min(MAX_REQUESTED_DELAY),
            reordering: f.reordering_threshold.into_inner(),
        });
        Ok(())
    }

    /// Refreshes what we ask of the peer from the congestion window and the RTT (after each
    /// ACK frame, where both move; not per packet); a change of the ACK count queues a new
    /// ACK_FREQUENCY.
    pub(crate) fn update_ack_request(&mut self) {
        let (Some(peer_min), true, true) = (
            self.ack_request.peer_min,
            self.config.ack_frequency,
            self.handshake_confirmed,
        ) else {
            return;
        };
        let mss = u64::from(self.path.mtu.current());
        // The peer's ACK timer cannot wait less than its min_ack_delay: where that is more
        // than a quarter of the RTT, the packets after the last full count would wait
        // longer than the path takes, and the flow would follow the timer. Ask for fewer
        // ACKs only where the RTT dwarfs the timer.
        let every = if self.rtt.smoothed() / 4 < peer_min {
            2
        } else {
            (self.cc.window() / mss / 4).clamp(2, MAX_ACK_EVERY)
        };
        let threshold = every - 1;
        // Unchanged, or RFC 9000's own rule while nothing else was asked: nothing to say.
        let asked = self
            .ack_request
            .latest
            .map_or(1, |l| l.ack_eliciting_threshold.into_inner());
        if threshold == asked {
            return;
        }
        let peer_max = self
            .peer_params
            .as_ref()
            .map_or(Duration::from_millis(25), |p| {
                Duration::from_millis(p.max_ack_delay.into_inner())
            });
        let delay = (self.rtt.smoothed() / 4).clamp(peer_min, peer_max.max(peer_min));
        let r = &mut self.ack_request;
        let f = AckFrequency {
            sequence: VarInt::saturating(r.next_sequence),
            ack_eliciting_threshold: VarInt::saturating(threshold),
            request_max_ack_delay: VarInt::saturating(delay.as_micros() as u64),
            reordering_threshold: VarInt::from_u32(crate::recovery::PACKET_THRESHOLD as u32),
        };
        r.next_sequence += 1;
        r.latest = Some(f);
        r.pending = true;
    }

    /// The ACK_FREQUENCY with sequence `seq` was lost: sent again if still the latest.
    pub(crate) fn on_ack_frequency_lost(&mut self, seq: u64) {
        let r = &mut self.ack_request;
        if r.latest.is_some_and(|l| l.sequence.into_inner() == seq) {
            r.pending = true;
        }
    }
}
