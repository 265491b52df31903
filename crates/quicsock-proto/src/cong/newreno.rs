//! NewReno (RFC 9002 §7.3, Appendix B).

use super::{in_recovery, initial_window, minimum_window, Controller};
use crate::recovery::RttEstimator;
use crate::time::Timestamp;

/// The NewReno congestion controller.
#[derive(Debug, Clone)]
pub struct NewReno {
    mss: u64,
    window: u64,
    ssthresh: u64,
    recovery_start: Option<Timestamp>,
    /// Bytes acknowledged in congestion avoidance not yet turned into window growth.
    acked_in_ca: u64,
}

impl NewReno {
    /// A controller for datagrams of `mss` bytes.
    pub fn new(mss: u64) -> Self {
        Self {
            mss,
            window: initial_window(mss),
            ssthresh: u64::MAX,
            recovery_start: None,
            acked_in_ca: 0,
        }
    }
}

impl Controller for NewReno {
    fn on_sent(&mut self, _now: Timestamp, _pn: u64, _bytes: u64) {}

    fn on_ack(
        &mut self,
        _now: Timestamp,
        _pn: u64,
        sent: Timestamp,
        bytes: u64,
        _rtt: &RttEstimator,
        app_limited: bool,
    ) {
        if app_limited || in_recovery(self.recovery_start, sent) {
            return;
        }
        if self.window < self.ssthresh {
            self.window += bytes;
        } else {
            // One MSS per window acknowledged.
            self.acked_in_ca += bytes;
            if self.acked_in_ca >= self.window {
                self.acked_in_ca -= self.window;
                self.window += self.mss;
            }
        }
    }

    fn on_congestion_event(&mut self, now: Timestamp, sent: Timestamp, persistent: bool) {
        if persistent {
            self.window = minimum_window(self.mss);
            self.recovery_start = None;
            return;
        }
        if in_recovery(self.recovery_start, sent) {
            return;
        }
        self.recovery_start = Some(now);
        self.ssthresh = (self.window / 2).max(minimum_window(self.mss));
        self.window = self.ssthresh;
        self.acked_in_ca = 0;
    }

    fn window(&self) -> u64 {
        self.window
    }

    fn snapshot(&self) -> Box<dyn Controller> {
        Box::new(self.clone())
    }

    fn in_slow_start(&self) -> bool {
        self.window < self.ssthresh
    }

    fn set_mss(&mut self, mss: u64) {
        self.mss = mss;
        self.window = self.window.max(minimum_window(mss));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slow_start_halving_and_recovery_period() {
        let rtt = RttEstimator::new(Duration::from_millis(100));
        let t = |ms| Timestamp::ZERO + Duration::from_millis(ms);
        let mut c = NewReno::new(1200);
        assert_eq!(c.window(), 12000);
        c.on_ack(t(100), 0, t(0), 1200, &rtt, false);
        assert_eq!(c.window(), 13200);
        c.on_congestion_event(t(200), t(150), false);
        assert_eq!(c.window(), 6600);
        // Losses and acks of packets sent before recovery started change nothing.
        c.on_congestion_event(t(210), t(160), false);
        c.on_ack(t(220), 1, t(190), 1200, &rtt, false);
        assert_eq!(c.window(), 6600);
        // Congestion avoidance: one MSS per window.
        for i in 0..6 {
            c.on_ack(t(300), 2 + i, t(250), 1100, &rtt, false);
        }
        assert_eq!(c.window(), 7800);
        c.on_congestion_event(t(400), t(390), true);
        assert_eq!(c.window(), 2400);
    }
}
