//! Loss detection (RFC 9002 §6): the packets in flight per packet-number space, what an
//! ACK acknowledges, the packet and time thresholds that declare a packet lost, the probe
//! timeout and persistent congestion.
//!
//! [`SpaceRecovery`] holds one space's packets in flight; the connection owns three and
//! combines their timers into one loss-detection deadline (§6.2.1, Appendix A).

mod rtt;
mod sent;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

pub use rtt::{RttEstimator, GRANULARITY};
pub(crate) use sent::{FrameList, FramePool, SentFrame, SentPacket, SentPackets};

use crate::time::Timestamp;

/// The packet reordering threshold (RFC 9002 §6.1.1, kPacketThreshold) a space starts with.
pub const PACKET_THRESHOLD: u64 = 3;
/// The packet threshold grows with the reordering seen, up to this (RFC 9002 §6.1.1
/// allows larger thresholds; Linux TCP caps its reordering degree the same way).
pub const MAX_PACKET_THRESHOLD: u64 = 256;
/// The time threshold in eighths of the RTT: 9/8 at first (kTimeThreshold), growing with
/// the reordering seen up to twice the RTT.
const TIME_THRESHOLD_EIGHTHS: (u32, u32) = (9, 16);
/// Packets declared lost that are remembered, to notice when one was only late.
const MAX_REMEMBERED_LOSSES: usize = 4096;
/// Persistent congestion: this many PTO periods of loss (RFC 9002 §7.6.1).
pub const PERSISTENT_CONGESTION_THRESHOLD: u32 = 3;

/// The loss-detection state of one packet-number space.
///
/// Reordering adapts the thresholds: when an ACK arrives for a packet already declared
/// lost, the packet threshold rises to the reordering distance seen and the time threshold
/// by a quarter RTT (RFC 9002 §6.1.1 and §6.1.2 allow both), so a path that reorders stops
/// costing retransmissions and congestion-window cuts.
#[derive(Debug)]
pub(crate) struct SpaceRecovery {
    pub(crate) sent: SentPackets,
    /// Frame lists for packets to come.
    pub(crate) frame_pool: FramePool,
    pub(crate) largest_acked: Option<u64>,
    /// When the earliest packet not yet lost by the packet threshold becomes lost by time.
    pub(crate) loss_time: Option<Timestamp>,
    pub(crate) last_ack_eliciting: Option<Timestamp>,
    pub(crate) ack_eliciting_in_flight: usize,
    /// Packets declared lost, with the largest acknowledged packet number at the time: an
    /// ACK for one of them shows a loss that was reordering.
    lost_recently: BTreeMap<u64, u64>,
    /// The packet threshold now (grows on spurious losses).
    packet_threshold: u64,
    /// The time threshold now, in eighths of the RTT (grows on spurious losses).
    time_eighths: u32,
    /// Losses found to be spurious.
    pub(crate) spurious_losses: u64,
    /// Packet numbers found spurious by the last ACK, for the connection to take.
    pub(crate) newly_spurious: Vec<u64>,
}

impl Default for SpaceRecovery {
    fn default() -> Self {
        Self {
            sent: SentPackets::default(),
            frame_pool: FramePool::default(),
            largest_acked: None,
            loss_time: None,
            last_ack_eliciting: None,
            ack_eliciting_in_flight: 0,
            lost_recently: BTreeMap::new(),
            packet_threshold: PACKET_THRESHOLD,
            time_eighths: TIME_THRESHOLD_EIGHTHS.0,
            spurious_losses: 0,
            newly_spurious: Vec::new(),
        }
    }
}

/// An acknowledged ACK range referred to a packet we never sent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct AckOfUnsent;

impl SpaceRecovery {
    /// Records a sent packet.
    pub(crate) fn on_sent(&mut self, pn: u64, packet: SentPacket) {
        if packet.ack_eliciting {
            self.last_ack_eliciting = Some(packet.time);
            self.ack_eliciting_in_flight += 1;
        }
        self.sent.insert(pn, packet);
    }

    /// The packets an ACK or a loss ended are done with: their frame lists serve the
    /// packets sent next, and the pool keeps as many as were in flight before, so the next
    /// flight of that size allocates none.
    pub(crate) fn recycle(&mut self, packets: impl ExactSizeIterator<Item = SentPacket>) {
        let flight = self.ack_eliciting_in_flight + packets.len();
        for p in packets {
            self.frame_pool.put(p.frames.into_rest(), flight);
        }
    }

    /// Gives back the frame lists and a large sent ring when nothing ack-eliciting is in
    /// flight: a quiet connection holds none.
    pub(crate) fn release_if_quiet(&mut self) {
        if self.ack_eliciting_in_flight == 0 {
            self.frame_pool = FramePool::default();
            self.sent.release_if_empty();
        }
    }

    /// Removes and returns the packets an ACK's ranges acknowledge (descending ranges).
    /// `next_pn` is the next packet number we would send: a range at or above it
    /// acknowledges a packet never sent (RFC 9000 §13.1, PROTOCOL_VIOLATION).
    pub(crate) fn on_ack(
        &mut self,
        ranges: impl Iterator<Item = RangeInclusive<u64>>,
        next_pn: u64,
        acked: &mut Vec<(u64, SentPacket)>,
    ) -> Result<(), AckOfUnsent> {
        for range in ranges {
            if *range.end() >= next_pn {
                return Err(AckOfUnsent);
            }
            while let Some((&pn, &largest_then)) = self.lost_recently.range(range.clone()).next() {
                // Declared lost, yet here: it was only reordered by this much.
                self.lost_recently.remove(&pn);
                self.spurious_losses += 1;
                self.newly_spurious.push(pn);
                let distance = (largest_then - pn + 1).min(MAX_PACKET_THRESHOLD);
                self.packet_threshold = self.packet_threshold.max(distance);
                self.time_eighths = (self.time_eighths + 2).min(TIME_THRESHOLD_EIGHTHS.1);
            }
            let in_flight = &mut self.ack_eliciting_in_flight;
            self.sent.take_range(range, |pn, p| {
                if p.ack_eliciting {
                    *in_flight -= 1;
                }
                acked.push((pn, p));
            });
        }
        Ok(())
    }

    /// Declares lost what the packet or time threshold says is lost (RFC 9002 §6.1), and
    /// sets the loss time for the rest.
    pub(crate) fn detect_lost(
        &mut self,
        now: Timestamp,
        loss_delay: Duration,
        lost: &mut Vec<(u64, SentPacket)>,
    ) {
        self.loss_time = None;
        let Some(largest) = self.largest_acked else {
            return;
        };
        // `loss_delay` is 9/8 of the RTT; scale it to the threshold this path needs.
        let loss_delay = loss_delay * self.time_eighths / TIME_THRESHOLD_EIGHTHS.0;
        let lost_send_time = Timestamp::from_duration(now.as_duration().saturating_sub(loss_delay));
        let threshold = self.packet_threshold;
        let mut loss_time = None;
        let (in_flight, recent) = (&mut self.ack_eliciting_in_flight, &mut self.lost_recently);
        self.sent.take_below(
            largest,
            |pn, p| {
                let gone = p.time <= lost_send_time || largest >= pn + threshold;
                if !gone {
                    let t = p.time + loss_delay;
                    loss_time = Some(loss_time.map_or(t, |l: Timestamp| l.min(t)));
                }
                gone
            },
            |pn, p| {
                if recent.len() >= MAX_REMEMBERED_LOSSES {
                    recent.pop_first();
                }
                recent.insert(pn, largest);
                if p.ack_eliciting {
                    *in_flight -= 1;
                }
                lost.push((pn, p));
            },
        );
        self.loss_time = loss_time;
    }

    /// Forgets every packet (keys discarded, RFC 9002 §6.4); returns them so their bytes
    /// leave the congestion window's accounting.
    pub(crate) fn discard(&mut self) -> Vec<SentPacket> {
        self.loss_time = None;
        self.lost_recently.clear();
        self.last_ack_eliciting = None;
        self.ack_eliciting_in_flight = 0;
        self.sent.take_all()
    }
}

/// Whether the lost packets establish persistent congestion (RFC 9002 §7.6.2): two
/// ack-eliciting packets, sent after the first RTT sample, lost with every packet between
/// them, spanning more than `duration`. `lost` is in packet-number order per space.
pub(crate) fn is_persistent_congestion(
    lost: &[(u64, SentPacket)],
    first_sample: Option<Timestamp>,
    duration: Duration,
) -> bool {
    let Some(first_sample) = first_sample else {
        return false;
    };
    let mut run: Option<(u64, Timestamp)> = None; // (last pn, start time)
    for (pn, p) in lost {
        if !p.ack_eliciting || p.time <= first_sample {
            run = None;
            continue;
        }
        match run {
            Some((last, start)) if *pn == last + 1 => {
                if p.time.saturating_duration_since(start) > duration {
                    return true;
                }
                run = Some((*pn, start));
            }
            _ => run = Some((*pn, p.time)),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(ms: u64) -> SentPacket {
        SentPacket {
            ect: false,
            time: Timestamp::ZERO + Duration::from_millis(ms),
            size: 1200,
            ack_eliciting: true,
            in_flight: true,
            ack: None,
            frames: FrameList::default(),
        }
    }

    #[test]
    fn packet_and_time_thresholds() {
        let mut s = SpaceRecovery::default();
        for pn in 0..6 {
            s.on_sent(pn, pkt(pn * 10));
        }
        let mut acked = Vec::new();
        s.on_ack([5..=5].into_iter(), 6, &mut acked).unwrap();
        s.largest_acked = Some(5);
        let mut lost = Vec::new();
        let now = Timestamp::ZERO + Duration::from_millis(60);
        s.detect_lost(now, Duration::from_millis(25), &mut lost);
        // 0, 1, 2 by packet threshold (5 >= pn + 3); 3 sent at 30 ms <= 60 - 25.
        assert_eq!(
            lost.iter().map(|(pn, _)| *pn).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        // 4 (sent at 40 ms) will be lost at 65 ms.
        assert_eq!(
            s.loss_time,
            Some(Timestamp::ZERO + Duration::from_millis(65))
        );
    }

    #[test]
    fn late_packets_raise_the_thresholds() {
        let mut s = SpaceRecovery::default();
        for pn in 0..20 {
            s.on_sent(pn, pkt(pn));
        }
        let mut acked = Vec::new();
        // 10 is acknowledged first: 0..=7 fall to the packet threshold.
        s.on_ack([10..=10].into_iter(), 20, &mut acked).unwrap();
        s.largest_acked = Some(10);
        let mut lost = Vec::new();
        s.detect_lost(
            Timestamp::ZERO + Duration::from_millis(10),
            Duration::from_secs(1),
            &mut lost,
        );
        assert_eq!(lost.len(), 8);
        // Then 0 arrives after all: it was reordered by 11 packets, not lost.
        s.on_ack([0..=0].into_iter(), 20, &mut acked).unwrap();
        assert_eq!(
            (s.spurious_losses, s.packet_threshold, s.time_eighths),
            (1, 11, 11)
        );
        // Now 12 packets of reordering are tolerated before a loss is declared.
        s.on_ack([19..=19].into_iter(), 20, &mut acked).unwrap();
        s.largest_acked = Some(19);
        let mut lost = Vec::new();
        s.detect_lost(
            Timestamp::ZERO + Duration::from_millis(20),
            Duration::from_secs(1),
            &mut lost,
        );
        assert_eq!(lost.iter().map(|(pn, _)| *pn).collect::<Vec<_>>(), vec![8]);
    }

    #[test]
    fn ack_of_unsent_packet_is_refused() {
        let mut s = SpaceRecovery::default();
        s.on_sent(0, pkt(0));
        assert_eq!(
            s.on_ack([0..=1].into_iter(), 1, &mut Vec::new()),
            Err(AckOfUnsent)
        );
    }

    #[test]
    fn persistent_congestion_needs_a_contiguous_span() {
        let lost: Vec<_> = (1..=4).map(|pn| (pn, pkt(pn * 100))).collect();
        let first = Some(Timestamp::ZERO);
        assert!(is_persistent_congestion(
            &lost,
            first,
            Duration::from_millis(250)
        ));
        assert!(!is_persistent_congestion(
            &lost,
            first,
            Duration::from_millis(300)
        ));
        let gap = vec![(1, pkt(100)), (3, pkt(400))];
        assert!(!is_persistent_congestion(
            &gap,
            first,
            Duration::from_millis(250)
        ));
        assert!(!is_persistent_congestion(
            &lost,
            None,
            Duration::from_millis(1)
        ));
    }
}
