//! The connection's own deadlines as one table, as quinn's `TimerTable` and Linux QUIC's
//! `QUIC_TIMER_*` keep them: each kind of timer is armed, moved and stopped here, and the
//! earliest is [`TimerTable::next`]. Three deadlines stay with the state they guard: each
//! packet-number space's ACK deadline (`pnspace`, from what it received), the end of
//! the previous key phase (`keys`, with the old key it discards) and DPLPMTUD's raise
//! timer (`path::pmtu`, with the search it restarts); the closing and draining
//! periods end with their [`Phase`](super::Phase).

use crate::time::Timestamp;

/// A kind of connection timer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Loss detection or the probe timeout (RFC 9002 §6.2, Appendix A.8).
    Loss,
    /// The idle timeout (RFC 9000 §10.1).
    Idle,
    /// A server connection's handshake timeout.
    Handshake,
    /// Pacing: the next packet may leave then (RFC 9002 §7.7).
    Pace,
    /// Keep-alive: a PING once nothing ack-eliciting was sent for this long.
    KeepAlive,
    /// Memory release: what drained when the last ACK emptied the flight (send buffers,
    /// a large sent ring, the frame lists) is given back if it is still empty then.
    Release,
    /// The validation of a path we migrated to gives up (RFC 9000 §8.2.4).
    PathValidation,
    /// A client probing for the server's versions probes again or gives up
    /// (`version_probe`).
    VersionProbe,
}

impl Timer {
    const COUNT: usize = 8;

    const ALL: [Self; Self::COUNT] = [
        Self::Loss,
        Self::Idle,
        Self::Handshake,
        Self::Pace,
        Self::KeepAlive,
        Self::Release,
        Self::PathValidation,
        Self::VersionProbe,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// When each timer fires, if armed.
#[derive(Debug, Default, Clone)]
pub(crate) struct TimerTable {
    at: [Option<Timestamp>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing its earlier deadline.
    pub(crate) fn set(&mut self, timer: Timer, at: Timestamp) {
        self.at[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    /// When `timer` fires.
    pub(crate) fn get(&self, timer: Timer) -> Option<Timestamp> {
        self.at[timer.index()]
    }

    /// Whether `timer` is armed for `now` or earlier.
    pub(crate) fn is_expired(&self, timer: Timer, now: Timestamp) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Timestamp> {
        self.at.iter().flatten().min().copied()
    }

    /// Every armed timer and its deadline, for diagnostics.
    pub(crate) fn armed(&self) -> Vec<(Timer, Timestamp)> {
        Timer::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_earliest_armed_timer_is_next() {
        let at = |ms| Timestamp::ZERO + Duration::from_millis(ms);
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Idle, at(30_000));
        t.set(Timer::Loss, at(300));
        t.set(Timer::Pace, at(5));
        assert_eq!(t.next(), Some(at(5)));
        t.stop(Timer::Pace);
        assert_eq!(t.next(), Some(at(300)));
        t.set(Timer::Loss, at(40_000));
        assert_eq!(t.next(), Some(at(30_000)));
        assert!(t.is_expired(Timer::Idle, at(30_000)));
        assert!(!t.is_expired(Timer::Loss, at(30_000)));
        assert!(!t.is_expired(Timer::KeepAlive, at(u64::MAX / 2_000_000)));
        assert_eq!(t.armed().len(), 2);
    }
}
