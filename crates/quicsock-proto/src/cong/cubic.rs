//! CUBIC (RFC 9438) with HyStart++ (RFC 9406) in slow start.
//!
//! Windows are in bytes; the cubic function is evaluated in segments as the RFC writes it.

use super::hystart::{HyStart, Phase, CSS_GROWTH_DIVISOR};
use super::{in_recovery, initial_window, minimum_window, Controller};
use crate::recovery::RttEstimator;
use crate::time::Timestamp;

/// CUBIC's C (RFC 9438 §5.1).
const C: f64 = 0.4;
/// CUBIC's multiplicative decrease factor β (RFC 9438 §4.6).
const BETA: f64 = 0.7;

/// The CUBIC congestion controller.
#[derive(Debug, Clone)]
pub struct Cubic {
    mss: u64,
    window: u64,
    ssthresh: u64,
    recovery_start: Option<Timestamp>,
    /// Start of the current congestion-avoidance epoch.
    epoch_start: Option<Timestamp>,
    /// W_max in bytes: the window before the last reduction.
    w_max: f64,
    /// K in seconds.
    k: f64,
    /// The Reno-friendly estimate W_est in bytes (RFC 9438 §4.3).
    w_est: f64,
    /// The window at the start of the epoch (cwnd_epoch).
    cwnd_epoch: f64,
    hystart: HyStart,
    next_pn: u64,
    /// Fractional growth carried between acks.
    carry: f64,
}

impl Cubic {
    /// A controller for datagrams of `mss` bytes.
    pub fn new(mss: u64) -> Self {
        Self {
            mss,
            window: initial_window(mss),
            ssthresh: u64::MAX,
            recovery_start: None,
            epoch_start: None,
            w_max: 0.0,
            k: 0.0,
            w_est: 0.0,
            cwnd_epoch: 0.0,
            hystart: HyStart::new(),
            next_pn: 0,
            carry: 0.0,
        }
    }

    /// W_cubic(t) in bytes (RFC 9438 §4.2), t in seconds since the epoch.
    fn w_cubic(&self, t: f64) -> f64 {
        let mss = self.mss as f64;
        (C * (t - self.k).powi(3) + self.w_max / mss) * mss
    }

    fn congestion_avoidance(&mut self, now: Timestamp, bytes: u64, rtt: &RttEstimator) {
        let mss = self.mss as f64;
        let epoch = *self.epoch_start.get_or_insert_with(|| {
            // A new epoch (RFC 9438 §4.2): K from W_max and the window now.
            self.cwnd_epoch = self.window as f64;
            self.w_est = self.window as f64;
            self.k = if self.w_max > self.cwnd_epoch {
                ((self.w_max - self.cwnd_epoch) / mss / C).cbrt()
            } else {
                0.0
            };
            if self.w_max < self.cwnd_epoch {
                self.w_max = self.cwnd_epoch;
            }
            now
        });
        let t = now.saturating_duration_since(epoch).as_secs_f64();
        let target = self
            .w_cubic(t + rtt.smoothed().as_secs_f64())
            .clamp(self.window as f64, 1.5 * self.window as f64);
        // Reno-friendly region (§4.3): alpha = 3(1-β)/(1+β) per window.
        let alpha = 3.0 * (1.0 - BETA) / (1.0 + BETA);
        self.w_est += alpha * bytes as f64 / self.window as f64 * mss;
        let growth = if self.w_cubic(t) < self.w_est {
            (self.w_est - self.window as f64).max(0.0)
        } else {
            (target - self.window as f64) / self.window as f64 * bytes as f64
        };
        self.carry += growth;
        if self.carry >= 1.0 {
            let whole = self.carry.floor();
            self.window += whole as u64;
            self.carry -= whole;
        }
    }
}

impl Controller for Cubic {
    fn on_sent(&mut self, _now: Timestamp, pn: u64, _bytes: u64) {
        self.next_pn = pn + 1;
        if self.window < self.ssthresh {
            self.hystart.on_sent(pn);
        }
    }

    fn on_ack(
        &mut self,
        now: Timestamp,
        pn: u64,
        sent: Timestamp,
        bytes: u64,
        rtt: &RttEstimator,
        app_limited: bool,
    ) {
        if app_limited || in_recovery(self.recovery_start, sent) {
            return;
        }
        if self.window < self.ssthresh {
            match self.hystart.on_ack(pn, rtt.latest(), self.next_pn) {
                Phase::SlowStart => self.window += bytes,
                Phase::Conservative => self.window += bytes / CSS_GROWTH_DIVISOR,
                Phase::Exit => {
                    self.ssthresh = self.window;
                    self.w_max = self.window as f64;
                }
            }
        } else {
            self.congestion_avoidance(now, bytes, rtt);
        }
    }

    fn on_congestion_event(&mut self, now: Timestamp, sent: Timestamp, persistent: bool) {
        if persistent {
            self.window = minimum_window(self.mss);
            self.recovery_start = None;
            self.epoch_start = None;
            self.hystart = HyStart::new();
            return;
        }
        if in_recovery(self.recovery_start, sent) {
            return;
        }
        self.recovery_start = Some(now);
        let cwnd = self.window as f64;
        // Fast convergence (RFC 9438 §4.7).
        self.w_max = if cwnd < self.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        self.window = ((cwnd * BETA) as u64).max(minimum_window(self.mss));
        self.ssthresh = self.window;
        self.epoch_start = None;
        self.carry = 0.0;
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
    fn reduces_by_beta_and_regrows_to_w_max_in_about_k() {
        // A long RTT, so the cubic curve rather than the Reno-friendly estimate governs.
        let rtt_d = Duration::from_millis(500);
        let mut rtt = RttEstimator::new(rtt_d);
        rtt.update(rtt_d, Duration::ZERO);
        let mss = 1200;
        let mut c = Cubic::new(mss);
        let t0 = Timestamp::ZERO;
        // Grow in slow start to 100 segments.
        let mut pn = 0;
        while c.window() < 100 * mss {
            c.on_sent(t0, pn, mss);
            c.on_ack(t0, pn, t0, mss, &rtt, false);
            pn += 1;
        }
        let before = c.window();
        c.on_congestion_event(t0 + rtt_d, t0, false);
        assert_eq!(c.window(), (before as f64 * BETA) as u64);
        // Acknowledge a window per RTT; W_max is regained near K = cbrt(W_max(1-β)/C).
        let k = ((before as f64 / mss as f64) * (1.0 - BETA) / C).cbrt();
        let mut now = t0 + rtt_d * 2;
        let mut secs = 0.0;
        while c.window() < before && secs < 20.0 {
            let w = c.window();
            for _ in 0..w / mss {
                c.on_sent(now, pn, mss);
                c.on_ack(now, pn, now, mss, &rtt, false);
                pn += 1;
            }
            now += rtt_d;
            secs += rtt_d.as_secs_f64();
        }
        assert!(
            (secs - k).abs() < 1.0,
            "regained W_max after {secs} s, K = {k}"
        );
        assert!(!c.in_slow_start());
    }

    #[test]
    fn persistent_congestion_collapses_the_window() {
        let mut c = Cubic::new(1200);
        c.on_congestion_event(Timestamp::ZERO, Timestamp::ZERO, true);
        assert_eq!(c.window(), 2400);
    }
}
