//! Packet-number spaces (RFC 9000 §12.3): what we received in each space and when to
//! acknowledge it (RFC 9000 §13.2), with a bounded record of received ranges.
//!
//! Received packet numbers are kept as ranges, at most [`MAX_ACK_RANGES`] of them: when a
//! peer's packets arrive so scattered that more would be needed, the oldest range is
//! forgotten and packets below it are treated as duplicates (their frames, if the peer
//! still needs them, come again in new packets). Ranges the peer has seen acknowledged
//! (an ACK of our ACK) are dropped the same way, so ACK frames stay small.

use std::time::Duration;

use crate::common::RangeSet;
use crate::common::VarInt;
use crate::frame::{ack_ranges_encoded_len, encode_ack_ranges, EcnCounts};
use crate::recovery::SpaceRecovery;
use crate::stream::{RecvBuffer, SendBuffer};
use crate::time::Timestamp;

/// The most ACK ranges remembered and sent per space.
pub const MAX_ACK_RANGES: usize = 64;

/// How a space acknowledges: RFC 9000 §13.2's rules, or what the peer asked for with
/// ACK_FREQUENCY (draft-ietf-quic-ack-frequency §6), for the application data space.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct AckPolicy {
    /// Ack-eliciting packets that may arrive without an ACK; one more makes it due at once
    /// (RFC 9000 §13.2.2: 1, an ACK for every second packet).
    pub(crate) threshold: u64,
    /// How long an ACK may wait (our max_ack_delay, or the peer's request).
    pub(crate) max_delay: Duration,
    /// Packets received above a missing one before the gap is acknowledged at once; 0:
    /// never for reordering alone (RFC 9000 §13.2.1 acknowledges every new gap: 1).
    pub(crate) reordering: u64,
}

impl AckPolicy {
    /// RFC 9000's rules with `max_delay`.
    pub(crate) const fn rfc9000(max_delay: Duration) -> Self {
        Self {
            threshold: 1,
            max_delay,
            reordering: 1,
        }
    }
}

/// One packet-number space: its receive record, ACK state, loss-detection state and
/// CRYPTO streams.
#[derive(Debug, Default)]
pub(crate) struct PacketSpace {
    /// The next packet number we send.
    pub(crate) next_pn: u64,
    pub(crate) recovery: SpaceRecovery,
    received: RangeSet,
    /// Packets below this are treated as already received.
    floor: u64,
    largest_received: Option<(u64, Timestamp)>,
    ack_eliciting_since_ack: u32,
    /// An ACK must go out with the next packet.
    ack_now: bool,
    /// An ACK must go out by this time.
    ack_deadline: Option<Timestamp>,
    /// Something new was received since the last ACK sent.
    ack_needed: bool,
    pub(crate) ecn: EcnCounts,
    /// Handshake bytes to send at this level.
    pub(crate) crypto_send: SendBuffer,
    /// Handshake bytes received at this level.
    pub(crate) crypto_recv: RecvBuffer,
    /// Probe packets to send on PTO (RFC 9002 §6.2.4).
    pub(crate) probes: u8,
}

impl PacketSpace {
    /// Whether `pn` was already received (or is too old to tell).
    pub(crate) fn is_duplicate(&self, pn: u64) -> bool {
        pn < self.floor || self.received.contains(pn)
    }

    /// Records a received packet, to be acknowledged as `policy` says.
    pub(crate) fn on_received(
        &mut self,
        now: Timestamp,
        pn: u64,
        ack_eliciting: bool,
        policy: &AckPolicy,
        immediate: bool,
    ) {
        let largest = self.largest_received.map(|(l, _)| l);
        self.received.insert_one(pn);
        // Reordering is acknowledged at once (RFC 9000 §13.2.1): a packet older than the
        // largest (it may fill a gap the peer counts as loss), and, once `reordering`
        // packets arrived above a missing one, that gap (draft-ietf-quic-ack-frequency
        // §6.2; with the RFC's threshold of 1, every new gap).
        let out_of_order = policy.reordering > 0
            && largest.is_some_and(|l| {
                pn < l
                    || pn > l && {
                        let top = self.received.iter().next_back().map_or(pn, |r| r.start);
                        top > self.floor.max(self.received.min().unwrap_or(0))
                            && pn - top + 1 == policy.reordering
                    }
            });
        while self.received.len() > MAX_ACK_RANGES {
            if let Some(r) = self.received.pop_min() {
                self.floor = r.end;
            }
        }
        if largest.is_none_or(|l| pn > l) {
            self.largest_received = Some((pn, now));
        }
        self.ack_needed = true;
        if !ack_eliciting {
            return;
        }
        self.ack_eliciting_since_ack = self.ack_eliciting_since_ack.saturating_add(1);
        if immediate || out_of_order || u64::from(self.ack_eliciting_since_ack) > policy.threshold {
            self.ack_now = true;
        } else if self.ack_deadline.is_none() {
            self.ack_deadline = Some(now + policy.max_delay);
        }
    }

    /// Whether an ACK must be sent now.
    pub(crate) fn wants_ack(&self, now: Timestamp) -> bool {
        self.ack_needed && (self.ack_now || self.ack_deadline.is_some_and(|d| d <= now))
    }

    /// Whether an ACK could ride along in a packet being sent anyway.
    pub(crate) fn can_ack(&self) -> bool {
        self.ack_needed && !self.received.is_empty()
    }

    /// When the delayed ACK is due.
    pub(crate) fn ack_deadline(&self) -> Option<Timestamp> {
        if self.ack_needed && !self.ack_now {
            self.ack_deadline
        } else {
            None
        }
    }

    /// Writes an ACK frame if it fits in `max` bytes; returns the largest packet number it
    /// acknowledges, for the packet's record.
    pub(crate) fn write_ack(
        &mut self,
        now: Timestamp,
        ack_delay_exponent: u8,
        out: &mut crate::common::Writer<'_>,
        max: usize,
    ) -> Option<u64> {
        let (largest, at) = self.largest_received?;
        let ranges = self.received.iter().rev().map(|r| r.start..=r.end - 1);
        let micros = now.saturating_duration_since(at).as_micros() as u64;
        let delay = VarInt::saturating(micros >> ack_delay_exponent);
        let ecn = (self.ecn != EcnCounts::default()).then_some(&self.ecn);
        let len = ack_ranges_encoded_len(ranges.clone(), delay, ecn).ok()?;
        if len > max {
            return None;
        }
        out.put(|b| encode_ack_ranges(b, ranges, delay, ecn)).ok()?;
        self.ack_needed = false;
        self.ack_now = false;
        self.ack_deadline = None;
        self.ack_eliciting_since_ack = 0;
        Some(largest)
    }

    /// The peer received an ACK of ours covering up to `largest`: stop reporting older
    /// ranges (RFC 9000 §13.2.4).
    pub(crate) fn on_ack_acked(&mut self, largest: u64) {
        if self.received.max().is_some_and(|m| m > largest) {
            self.received.remove_below(largest + 1);
            self.floor = self.floor.max(largest + 1);
        }
    }

    /// Forgets the receive record (keys for this space were discarded).
    pub(crate) fn discard(&mut self) {
        self.ack_needed = false;
        self.ack_now = false;
        self.ack_deadline = None;
        self.probes = 0;
        // Nothing is sent or received in this space again: its buffers go.
        self.crypto_send = SendBuffer::default();
        self.crypto_recv = RecvBuffer::default();
        self.received = RangeSet::default();
    }

    /// The largest packet number received, for packet-number recovery.
    pub(crate) fn largest_received(&self) -> Option<u64> {
        self.largest_received.map(|(l, _)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_every_second_packet_or_after_the_delay() {
        let mut s = PacketSpace::default();
        let t = Timestamp::ZERO;
        let d = Duration::from_millis(25);
        let p = AckPolicy::rfc9000(d);
        s.on_received(t, 0, true, &p, false);
        assert!(!s.wants_ack(t));
        assert_eq!(s.ack_deadline(), Some(t + d));
        assert!(s.wants_ack(t + d));
        s.on_received(t, 1, true, &p, false);
        assert!(s.wants_ack(t));
        let mut buf = [0; 100];
        let mut out = crate::common::Writer::new(&mut buf);
        assert!(s.write_ack(t, 3, &mut out, 100).is_some());
        assert!(!s.wants_ack(t + d));
        // A gap is acknowledged at once.
        s.on_received(t, 5, true, &p, false);
        assert!(s.wants_ack(t));
        assert!(s.is_duplicate(1) && !s.is_duplicate(3));
    }

    /// With the peer's ACK_FREQUENCY: an ACK after `threshold + 1` ack-eliciting packets or
    /// the requested delay, and a gap acknowledged at once only after `reordering`
    /// packets above it (never, with 0); an older packet still at once.
    #[test]
    fn follows_the_requested_frequency() {
        let t = Timestamp::ZERO;
        let d = Duration::from_millis(2);
        let p = AckPolicy {
            threshold: 9,
            max_delay: d,
            reordering: 3,
        };
        let mut s = PacketSpace::default();
        let mut buf = [0; 300];
        let mut out = crate::common::Writer::new(&mut buf);
        for pn in 0..9 {
            s.on_received(t, pn, true, &p, false);
            assert!(!s.wants_ack(t), "packet {pn}");
        }
        assert_eq!(s.ack_deadline(), Some(t + d));
        s.on_received(t, 9, true, &p, false);
        assert!(s.wants_ack(t), "the tenth");
        s.write_ack(t, 3, &mut out, 100).unwrap();
        // 10 is missing: 11 and 12 wait, 13 (the third above the gap) is acknowledged.
        for pn in [11, 12] {
            s.on_received(t, pn, true, &p, false);
            assert!(!s.wants_ack(t), "packet {pn}");
        }
        s.on_received(t, 13, true, &p, false);
        assert!(s.wants_ack(t), "three above the gap");
        s.write_ack(t, 3, &mut out, 100).unwrap();
        s.on_received(t, 10, true, &p, false);
        assert!(s.wants_ack(t), "an older packet");
        s.write_ack(t, 3, &mut out, 100).unwrap();
        // Reordering threshold 0: a gap waits for the count or the timer.
        let p0 = AckPolicy { reordering: 0, ..p };
        s.on_received(t, 20, true, &p0, false);
        assert!(!s.wants_ack(t));
        // IMMEDIATE_ACK (or a PING-only packet) is acknowledged at once.
        s.on_received(t, 21, true, &p0, true);
        assert!(s.wants_ack(t));
    }

    #[test]
    fn ranges_are_capped() {
        let mut s = PacketSpace::default();
        for i in 0..(MAX_ACK_RANGES as u64 + 10) {
            let p = AckPolicy::rfc9000(Duration::ZERO);
            s.on_received(Timestamp::ZERO, i * 2, false, &p, false);
        }
        assert_eq!(s.received.len(), MAX_ACK_RANGES);
        assert!(s.is_duplicate(1), "below the floor counts as received");
        let mut buf = [0; 1200];
        let mut out = crate::common::Writer::new(&mut buf);
        s.write_ack(Timestamp::ZERO, 3, &mut out, 1200).unwrap();
        assert!(out.len() < 300);
    }
}
