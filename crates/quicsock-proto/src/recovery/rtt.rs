//! Round-trip time estimation (RFC 9002 §5).

use std::time::Duration;

/// The timer granularity (RFC 9002 §6.1.2, kGranularity).
pub const GRANULARITY: Duration = Duration::from_millis(1);

/// Smoothed RTT, its variation and the minimum (RFC 9002 §5).
#[derive(Clone, Debug)]
pub struct RttEstimator {
    latest: Duration,
    smoothed: Duration,
    var: Duration,
    min: Duration,
    has_sample: bool,
}

impl RttEstimator {
    /// An estimator that starts from `initial` (RFC 9002 §6.2.2: 333 ms by default).
    pub fn new(initial: Duration) -> Self {
        Self {
            latest: initial,
            smoothed: initial,
            var: initial / 2,
            min: initial,
            has_sample: false,
        }
    }

    /// Takes an RTT sample (RFC 9002 §5.3). `ack_delay` is the peer's reported delay,
    /// already limited to max_ack_delay once the handshake is confirmed.
    pub fn update(&mut self, sample: Duration, ack_delay: Duration) {
        self.latest = sample;
        if !self.has_sample {
            self.has_sample = true;
            self.min = sample;
            self.smoothed = sample;
            self.var = sample / 2;
            return;
        }
        self.min = self.min.min(sample);
        let adjusted = if sample >= self.min + ack_delay {
            sample - ack_delay
        } else {
            sample
        };
        let diff = self.smoothed.abs_diff(adjusted);
        self.var = (self.var * 3 + diff) / 4;
        self.smoothed = (self.smoothed * 7 + adjusted) / 8;
    }

    /// The smoothed RTT.
    pub fn smoothed(&self) -> Duration {
        self.smoothed
    }

    /// The RTT variation.
    pub fn var(&self) -> Duration {
        self.var
    }

    /// The minimum RTT seen.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The latest sample.
    pub fn latest(&self) -> Duration {
        self.latest
    }

    /// Whether a sample was taken.
    pub fn has_sample(&self) -> bool {
        self.has_sample
    }

    /// The PTO period before backoff and without max_ack_delay (RFC 9002 §6.2.1).
    pub fn pto_base(&self) -> Duration {
        self.smoothed + (self.var * 4).max(GRANULARITY)
    }

    /// The loss-time threshold: 9/8 of the larger of the smoothed and latest RTT, at least
    /// the granularity (RFC 9002 §6.1.2).
    pub fn loss_delay(&self) -> Duration {
        (self.smoothed.max(self.latest) * 9 / 8).max(GRANULARITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rfc9002_section_5_3() {
        let ms = Duration::from_millis;
        let mut r = RttEstimator::new(ms(333));
        r.update(ms(100), ms(0));
        assert_eq!((r.smoothed(), r.var(), r.min()), (ms(100), ms(50), ms(100)));
        // ack_delay is subtracted only when it leaves at least min_rtt.
        r.update(ms(140), ms(20));
        assert_eq!(r.smoothed(), (ms(100) * 7 + ms(120)) / 8);
        assert_eq!(r.var(), (ms(50) * 3 + ms(20)) / 4);
        r.update(ms(105), ms(20));
        assert_eq!(r.latest(), ms(105));
        assert_eq!(r.min(), ms(100));
    }
}
