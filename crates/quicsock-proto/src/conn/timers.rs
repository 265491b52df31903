//! Deadlines: loss detection and the probe timeout (RFC 9002 §6.2, Appendix A.8), delayed
//! ACKs (RFC 9000 §13.2.1), idle timeout and keep-alive (§10.1), the closing and draining
//! periods (§10.2), pacing (RFC 9002 §7.7), the end of the previous key phase (RFC 9001
//! §6.5), DPLPMTUD's raise timer (RFC 8899 §5.1.1), and a server's handshake timeout: what
//! each does when it fires. Where they are kept is `timer`.

use super::timer::Timer;
use super::{space_index, Connection, ConnectionError, EndpointEvent, Phase, SPACES};
use crate::packet::SpaceId;
use crate::time::Timestamp;
use crate::Side;

impl Connection {
    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.phase {
            Phase::Drained => return None,
            Phase::Closing(t) | Phase::Draining(t) => return Some(t),
            _ => {}
        }
        let mut t: Option<Timestamp> = None;
        let mut take = |x: Option<Timestamp>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        take(self.timers.next());
        take(self.path.mtu.deadline());
        for s in &self.spaces {
            take(s.ack_deadline());
        }
        if let Some(keys) = &self.keys.one_rtt {
            take(keys.prev_remote.as_ref().map(|(_, t)| *t));
        }
        t
    }

    /// A description of every armed deadline, for diagnosing a stuck simulation.
    pub fn debug_timers(&self) -> String {
        format!(
            "crypto_rx {:?} phase {:?} timers {:?} acks {:?} in_flight {} cwnd {} probes {:?} ae {:?} complete {} confirmed {} validated {} keys {:?} pto {}",
            self.spaces.iter().map(|s| (s.crypto_recv.read_offset(), s.crypto_recv.buffered(), s.largest_received())).collect::<Vec<_>>(),
            self.phase,
            self.timers.armed(),
            self.spaces.iter().map(|s| s.ack_deadline()).collect::<Vec<_>>(),
            self.bytes_in_flight,
            self.cc.window(),
            self.spaces.iter().map(|s| s.probes).collect::<Vec<_>>(),
            self.spaces.iter().map(|s| s.recovery.ack_eliciting_in_flight).collect::<Vec<_>>(),
            self.handshake_complete,
            self.handshake_confirmed,
            self.path.is_validated(),
            SPACES.iter().map(|s| (self.keys.can_send(*s), self.keys.can_receive(*s))).collect::<Vec<_>>(),
            self.pto_count,
        )
    }

    /// Handles every deadline that has passed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.last_now = self.last_now.max(now);
        match self.phase {
            Phase::Drained => return,
            Phase::Closing(t) | Phase::Draining(t) => {
                if now >= t {
                    self.phase = Phase::Drained;
                    self.endpoint_events.push_back(EndpointEvent::Drained);
                }
                return;
            }
            _ => {}
        }
        if self.timers.is_expired(Timer::Idle, now) {
            self.drain_now(ConnectionError::TimedOut);
            return;
        }
        if self.handshake_complete {
            self.timers.stop(Timer::Handshake);
        } else if self.timers.is_expired(Timer::Handshake, now) {
            // A half-open server connection: dropped without a word, like a SYN that
            // never saw its ACK.
            self.drain_now(ConnectionError::TimedOut);
            return;
        }
        if self.timers.is_expired(Timer::Pace, now) {
            self.timers.stop(Timer::Pace);
        }
        if self.timers.is_expired(Timer::KeepAlive, now) {
            // The PING re-arms it when it is sent.
            self.timers.stop(Timer::KeepAlive);
            self.ping_pending = true;
        }
        if let Some(keys) = &mut self.keys.one_rtt {
            if keys.prev_remote.as_ref().is_some_and(|(_, t)| now >= *t) {
                keys.prev_remote = None;
            }
        }
        if self.timers.is_expired(Timer::PathValidation, now) {
            self.timers.stop(Timer::PathValidation);
            if self.preferred.is_some() {
                self.on_preferred_timeout(now);
            } else {
                self.on_migration_timeout();
            }
        }
        if self.timers.is_expired(Timer::VersionProbe, now) {
            self.timers.stop(Timer::VersionProbe);
            self.on_version_probe_timeout(now);
        }
        // DPLPMTUD's raise timer: the search runs again (RFC 8899 §5.1.1).
        self.path.mtu.on_timeout(now);
        if self.timers.is_expired(Timer::Loss, now) {
            self.on_loss_timeout(now);
        }
        if self.timers.is_expired(Timer::Release, now) {
            self.timers.stop(Timer::Release);
            self.release_idle();
        }
    }

    /// Gives back the memory of what is empty now: the frame lists and large sent rings
    /// of spaces with nothing in flight, CRYPTO and stream send buffers whose every byte
    /// was acknowledged, and empty stream receive buffers. Deferred to [`Timer::Release`] so that a transfer that drains and
    /// refills them each flight keeps them.
    fn release_idle(&mut self) {
        for s in &mut self.spaces {
            s.recovery.release_if_quiet();
            s.crypto_send.release_if_drained();
        }
        self.streams.release_drained();
    }

    /// Pushes the idle timeout back (RFC 9000 §10.1): after a packet is received, and
    /// after the first ack-eliciting packet sent since then; at least three PTOs, backoff
    /// included. Once per instant: the packets of a receive batch share their time.
    pub(crate) fn arm_idle(&mut self, now: Timestamp) {
        if self.idle_armed_at == Some(now) {
            return;
        }
        self.idle_armed_at = Some(now);
        if let Some(idle) = self.idle_timeout {
            self.timers
                .set(Timer::Idle, now + idle.max(self.backed_off_pto() * 3));
        }
    }

    /// A server whose handshake runs heard from its client: the handshake timeout counts
    /// from now, up to its cap (`ConnectionConfig::handshake_timeout`).
    pub(crate) fn arm_handshake_timeout(&mut self, now: Timestamp) {
        if let (Some(t), Some(cap), false) = (
            self.config.handshake_timeout,
            self.handshake_cap,
            self.handshake_complete,
        ) {
            self.timers.set(Timer::Handshake, (now + t).min(cap));
        }
    }

    /// RFC 9002 Appendix A.9: OnLossDetectionTimeout.
    fn on_loss_timeout(&mut self, now: Timestamp) {
        self.timers.stop(Timer::Loss);
        if let Some(space) = self.earliest_loss_time().map(|(_, s)| s) {
            self.detect_lost(now, space);
            self.set_loss_timer(now);
            return;
        }
        let any_in_flight = self
            .spaces
            .iter()
            .any(|s| s.recovery.ack_eliciting_in_flight > 0);
        if !any_in_flight {
            // The client's anti-deadlock probe (RFC 9002 §6.2.2.1).
            let space = if self.keys.can_send(SpaceId::Handshake) {
                SpaceId::Handshake
            } else {
                SpaceId::Initial
            };
            if self.keys.can_send(space) {
                self.spaces[space_index(space)].probes = 1;
            }
        } else if let Some((_, space)) = self.pto_time_and_space(now) {
            let i = space_index(space);
            self.spaces[i].probes = 2;
            // A probe timeout with large packets outstanding is a suspicious loss burst
            // (RFC 8899 §4.3): a path that stopped carrying them acknowledges nothing.
            let base = self.path.mtu.base();
            let large = space == SpaceId::Data
                && self.spaces[i]
                    .recovery
                    .sent
                    .values()
                    .filter(|p| p.ack_eliciting)
                    .take(2)
                    .any(|p| p.frames.pmtu_probe().is_none() && p.size > base);
            if large && self.path.mtu.on_pto(now).is_some() {
                self.on_datagram_size_changed();
            }
            // Probes carry data where there is some (RFC 9002 §6.2.4): what the two oldest
            // ack-eliciting packets in flight carried is queued again. The packets stay in
            // flight; whichever copy is acknowledged first counts.
            let frames: Vec<crate::recovery::SentFrame> = self.spaces[i]
                .recovery
                .sent
                .values()
                .filter(|p| p.ack_eliciting)
                .take(2)
                .flat_map(|p| p.frames.iter().cloned())
                .collect();
            for f in &frames {
                self.on_frame_lost(space, f);
            }
        }
        self.pto_count += 1;
        self.set_loss_timer(now);
    }

    fn earliest_loss_time(&self) -> Option<(Timestamp, SpaceId)> {
        SPACES
            .iter()
            .filter_map(|&s| {
                self.spaces[space_index(s)]
                    .recovery
                    .loss_time
                    .map(|t| (t, s))
            })
            .min_by_key(|(t, _)| *t)
    }

    /// RFC 9002 Appendix A.8: GetPtoTimeAndSpace.
    fn pto_time_and_space(&self, now: Timestamp) -> Option<(Timestamp, SpaceId)> {
        let backoff = 1u32 << self.pto_count.min(16);
        let mut duration = self.rtt.pto_base() * backoff;
        if self
            .spaces
            .iter()
            .all(|s| s.recovery.ack_eliciting_in_flight == 0)
        {
            let space = if self.keys.can_send(SpaceId::Handshake) {
                SpaceId::Handshake
            } else {
                SpaceId::Initial
            };
            return Some((now + duration, space));
        }
        let mut best: Option<(Timestamp, SpaceId)> = None;
        for space in SPACES {
            let s = &self.spaces[space_index(space)];
            if s.recovery.ack_eliciting_in_flight == 0 {
                continue;
            }
            if space == SpaceId::Data {
                if !self.handshake_confirmed {
                    return best;
                }
                let max_ack_delay = self
                    .peer_params
                    .as_ref()
                    .map_or(25, |p| p.max_ack_delay.into_inner());
                duration += std::time::Duration::from_millis(max_ack_delay) * backoff;
            }
            if let Some(last) = s.recovery.last_ack_eliciting {
                let t = last + duration;
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, space));
                }
            }
        }
        best
    }

    /// RFC 9002 Appendix A.8: SetLossDetectionTimer.
    pub(crate) fn set_loss_timer(&mut self, now: Timestamp) {
        if self.is_closed() {
            self.timers.stop(Timer::Loss);
            return;
        }
        if let Some((t, _)) = self.earliest_loss_time() {
            self.timers.set(Timer::Loss, t);
            return;
        }
        // A server at its anti-amplification limit cannot send; arming would spin.
        if self.side == Side::Server && self.path.amplification_blocked() {
            self.timers.stop(Timer::Loss);
            return;
        }
        let any_in_flight = self
            .spaces
            .iter()
            .any(|s| s.recovery.ack_eliciting_in_flight > 0);
        if !any_in_flight && self.peer_validated_us {
            self.timers.stop(Timer::Loss);
            return;
        }
        match self.pto_time_and_space(now) {
            Some((t, _)) => self.timers.set(Timer::Loss, t),
            None => self.timers.stop(Timer::Loss),
        }
    }
}
