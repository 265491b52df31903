//! Flow control (RFC 9000 §4): the credit we give the peer and the credit it gives us.
//!
//! Receive windows grow with the measured bandwidth-delay product: when the application
//! consumes a quarter of the window in less than half a round trip, the peer was sending at
//! more than half the rate the window allows per round trip, so the window (not the path)
//! would soon limit it, and the window doubles, up to a configured maximum. A slow reader
//! or a short path keeps the small initial window and so little buffered memory.

use std::time::Duration;

use crate::time::Timestamp;

/// The credit this endpoint extends: MAX_DATA or MAX_STREAM_DATA for one stream.
#[derive(Debug, Clone)]
pub(crate) struct RecvWindow {
    /// The current window: credit beyond what the application consumed.
    window: u64,
    /// The largest the window may grow to.
    max_window: u64,
    /// The limit advertised to the peer.
    advertised: u64,
    /// Bytes the application consumed (or that a reset released).
    consumed: u64,
    /// When the last update was advertised.
    last_update: Option<Timestamp>,
}

impl RecvWindow {
    /// A window of `initial` bytes, growing up to `max_window`.
    pub(crate) fn new(initial: u64, max_window: u64) -> Self {
        Self {
            window: initial,
            max_window: max_window.max(initial),
            advertised: initial,
            consumed: 0,
            last_update: None,
        }
    }

    /// The limit advertised to the peer.
    pub(crate) fn limit(&self) -> u64 {
        self.advertised
    }

    /// The largest the window may grow to.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn max_window(&self) -> u64 {
        self.max_window
    }

    /// The current window size.
    pub(crate) fn window(&self) -> u64 {
        self.window
    }

    /// Records `n` bytes consumed; returns whether a new limit should be advertised (the
    /// caller then sends MAX_DATA / MAX_STREAM_DATA with [`limit`](Self::limit)).
    pub(crate) fn consume(&mut self, n: u64, now: Timestamp, rtt: Duration) -> bool {
        self.consumed += n;
        let target = self.consumed + self.window;
        if target - self.advertised < self.window / 4 {
            return false;
        }
        if let Some(last) = self.last_update {
            if now.saturating_duration_since(last) < rtt / 2 && self.window < self.max_window {
                self.window = (self.window * 2).min(self.max_window);
            }
        }
        self.last_update = Some(now);
        self.advertised = self.consumed + self.window;
        true
    }
}

/// The credit the peer extends to us.
#[derive(Debug, Clone, Default)]
pub(crate) struct SendCredit {
    /// The peer's limit.
    pub(crate) max: u64,
    /// Bytes sent against it (highest offset, or the sum over streams).
    pub(crate) used: u64,
    /// The limit at which a BLOCKED frame was last queued, so one is sent once per limit.
    pub(crate) blocked_at: Option<u64>,
}

impl SendCredit {
    /// Credit of `max` bytes.
    pub(crate) fn new(max: u64) -> Self {
        Self {
            max,
            used: 0,
            blocked_at: None,
        }
    }

    /// Credit left.
    pub(crate) fn available(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }

    /// Raises the limit (a lower one is ignored, RFC 9000 §4.1); returns whether it grew.
    pub(crate) fn raise(&mut self, max: u64) -> bool {
        if max > self.max {
            self.max = max;
            true
        } else {
            false
        }
    }

    /// Whether a BLOCKED frame should be queued now, marking it queued.
    pub(crate) fn should_signal_blocked(&mut self) -> bool {
        if self.available() == 0 && self.blocked_at != Some(self.max) {
            self.blocked_at = Some(self.max);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_grows_when_consumed_fast_and_not_when_slow() {
        let rtt = Duration::from_millis(100);
        let mut w = RecvWindow::new(1000, 8000);
        let mut t = Timestamp::ZERO;
        assert!(!w.consume(100, t, rtt));
        assert!(w.consume(200, t, rtt));
        assert_eq!((w.limit(), w.window()), (1300, 1000));
        t += Duration::from_millis(10);
        assert!(w.consume(300, t, rtt));
        assert_eq!(
            w.window(),
            2000,
            "a quarter window within half an RTT doubles it"
        );
        t += Duration::from_secs(5);
        assert!(w.consume(600, t, rtt));
        assert_eq!(w.window(), 2000, "slow consumption keeps it");
        for _ in 0..20 {
            t += Duration::from_millis(1);
            w.consume(4000, t, rtt);
        }
        assert_eq!(w.window(), 8000, "capped at the maximum");
    }

    #[test]
    fn blocked_is_signalled_once_per_limit() {
        let mut c = SendCredit::new(10);
        c.used = 10;
        assert!(c.should_signal_blocked());
        assert!(!c.should_signal_blocked());
        assert!(c.raise(20) && !c.raise(15));
        c.used = 20;
        assert!(c.should_signal_blocked());
    }
}
