//! Pacing (RFC 9002 §7.7): spread a window's packets over the round trip instead of sending
//! them in one burst. A token bucket refills at 1.25 × cwnd / smoothed RTT and holds a
//! burst of about 2 ms of sending (at least 10, at most 256 datagrams), so a GSO batch can
//! still leave in one call.

use std::time::Duration;

use crate::time::Timestamp;

const BURST_INTERVAL: Duration = Duration::from_millis(2);
const MIN_BURST: u64 = 10;
const MAX_BURST: u64 = 256;

/// A token-bucket pacer.
#[derive(Debug, Clone)]
pub struct Pacer {
    tokens: u64,
    capacity: u64,
    last: Option<Timestamp>,
    window: u64,
    mss: u64,
}

impl Pacer {
    /// A pacer that starts with a full burst.
    pub fn new(window: u64, mss: u64) -> Self {
        let capacity = MIN_BURST * mss;
        Self {
            tokens: capacity,
            capacity,
            last: None,
            window,
            mss,
        }
    }

    fn capacity(window: u64, rtt: Duration, mss: u64) -> u64 {
        let nanos = rtt.as_nanos().max(1);
        let burst = (u128::from(window) * BURST_INTERVAL.as_nanos() / nanos) as u64;
        burst.clamp(MIN_BURST * mss, MAX_BURST * mss)
    }

    /// When a packet of `bytes` may leave, given the window and smoothed RTT: `None` now,
    /// or the time to wait for.
    pub fn delay(
        &mut self,
        now: Timestamp,
        bytes: u64,
        window: u64,
        rtt: Duration,
    ) -> Option<Timestamp> {
        if window != self.window {
            self.capacity = Self::capacity(window, rtt, self.mss);
            self.tokens = self.tokens.min(self.capacity);
            self.window = window;
        }
        let rtt = rtt.max(Duration::from_micros(1));
        match self.last {
            Some(last) => {
                let elapsed = now.saturating_duration_since(last);
                // rate = 1.25 * window / rtt bytes per second.
                let refill = u128::from(window) * 5 * elapsed.as_nanos() / (4 * rtt.as_nanos());
                // Time too short to earn a whole byte is not lost: `last` stays.
                if refill > 0 {
                    self.tokens =
                        (u128::from(self.tokens) + refill).min(u128::from(self.capacity)) as u64;
                    self.last = Some(now);
                }
            }
            None => self.last = Some(now),
        }
        if self.tokens >= bytes {
            return None;
        }
        let missing = u128::from(bytes - self.tokens);
        let per = 5 * u128::from(window.max(1));
        let wait_nanos = (missing * 4 * rtt.as_nanos()).div_ceil(per);
        Some(now + Duration::from_nanos(wait_nanos.max(1) as u64))
    }

    /// A packet of `bytes` left.
    pub fn on_sent(&mut self, bytes: u64) {
        self.tokens = self.tokens.saturating_sub(bytes);
    }

    /// The datagram size changed.
    pub fn set_mss(&mut self, mss: u64) {
        self.mss = mss;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_a_window_over_the_rtt() {
        let rtt = Duration::from_millis(100);
        let mss = 1000;
        let window = 1000 * mss; // 1 MB per 100 ms at 1.25x = 12.5 MB/s
        let mut p = Pacer::new(window, mss);
        let mut now = Timestamp::ZERO;
        let mut sent = 0u64;
        while now < Timestamp::ZERO + rtt {
            match p.delay(now, mss, window, rtt) {
                None => {
                    p.on_sent(mss);
                    sent += mss;
                }
                Some(t) => now = t,
            }
        }
        // 1.25 windows per RTT plus the initial burst.
        let expected = window * 5 / 4;
        assert!(
            sent >= expected && sent <= expected + p.capacity + mss,
            "sent {sent}"
        );
    }
}
