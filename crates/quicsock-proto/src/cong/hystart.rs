//! HyStart++ (RFC 9406): leave slow start when the round-trip time starts to rise, through
//! a Conservative Slow Start phase, instead of overshooting into loss.

use std::time::Duration;

/// Minimum RTT increase that counts (RFC 9406 §4.3, MIN_RTT_THRESH).
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// Maximum RTT increase threshold (MAX_RTT_THRESH).
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// RTT samples needed per round (N_RTT_SAMPLE).
const N_RTT_SAMPLE: u32 = 8;
/// Window growth divisor in Conservative Slow Start (CSS_GROWTH_DIVISOR).
pub(super) const CSS_GROWTH_DIVISOR: u64 = 4;
/// Rounds of Conservative Slow Start before congestion avoidance (CSS_ROUNDS).
const CSS_ROUNDS: u32 = 5;

/// What HyStart++ says about the current slow start.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Standard slow start.
    SlowStart,
    /// Conservative Slow Start: grow by 1/CSS_GROWTH_DIVISOR.
    Conservative,
    /// Leave slow start now: set ssthresh to the window.
    Exit,
}

/// The HyStart++ state of one connection.
#[derive(Debug, Clone)]
pub struct HyStart {
    /// The round ends when a packet at or above this number is acknowledged.
    window_end: Option<u64>,
    last_round_min: Option<Duration>,
    current_round_min: Option<Duration>,
    samples: u32,
    css_baseline: Option<Duration>,
    css_rounds: u32,
}

impl Default for HyStart {
    fn default() -> Self {
        Self::new()
    }
}

impl HyStart {
    /// A fresh state at the start of slow start.
    pub fn new() -> Self {
        Self {
            window_end: None,
            last_round_min: None,
            current_round_min: None,
            samples: 0,
            css_baseline: None,
            css_rounds: 0,
        }
    }

    /// A packet was sent: the first send of a round marks where the round ends.
    pub fn on_sent(&mut self, pn: u64) {
        if self.window_end.is_none() {
            self.window_end = Some(pn);
        }
    }

    /// A packet numbered `pn` was acknowledged with RTT sample `rtt`, the sender's next
    /// packet number being `next_pn`. Returns the phase to apply to this ack.
    pub fn on_ack(&mut self, pn: u64, rtt: Duration, next_pn: u64) -> Phase {
        self.samples += 1;
        self.current_round_min = Some(self.current_round_min.map_or(rtt, |m| m.min(rtt)));
        let mut phase = if self.css_baseline.is_some() {
            Phase::Conservative
        } else {
            Phase::SlowStart
        };
        if self.samples >= N_RTT_SAMPLE {
            if let (Some(cur), Some(last)) = (self.current_round_min, self.last_round_min) {
                match self.css_baseline {
                    None => {
                        let thresh = (last / 8).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
                        if cur >= last + thresh {
                            self.css_baseline = Some(cur);
                            phase = Phase::Conservative;
                        }
                    }
                    Some(base) if cur < base => {
                        // The RTT rise was spurious: back to standard slow start.
                        self.css_baseline = None;
                        self.css_rounds = 0;
                        phase = Phase::SlowStart;
                    }
                    Some(_) => {}
                }
            }
        }
        if self.window_end.is_some_and(|end| pn >= end) {
            // The round ended.
            self.window_end = Some(next_pn);
            self.last_round_min = self.current_round_min.take();
            self.samples = 0;
            if self.css_baseline.is_some() {
                self.css_rounds += 1;
                if self.css_rounds >= CSS_ROUNDS {
                    return Phase::Exit;
                }
            }
        }
        phase
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_rtt_enters_css_then_exits_after_five_rounds() {
        let ms = Duration::from_millis;
        let mut h = HyStart::new();
        let mut pn = 0;
        let mut round = |h: &mut HyStart, rtt: Duration| {
            let start = pn;
            for _ in 0..10 {
                h.on_sent(pn);
                pn += 1;
            }
            let phases: Vec<Phase> = (start..pn).map(|p| h.on_ack(p, rtt, pn)).collect();
            if phases.contains(&Phase::Exit) {
                Phase::Exit
            } else {
                *phases.last().unwrap()
            }
        };
        assert_eq!(round(&mut h, ms(50)), Phase::SlowStart);
        assert_eq!(round(&mut h, ms(50)), Phase::SlowStart);
        // 50 ms + max(4, 50/8 = 6.25) ms: a rise to 60 ms is significant.
        assert_eq!(round(&mut h, ms(60)), Phase::Conservative);
        // CSS_ROUNDS rounds of Conservative Slow Start (a round ends with the ack of the
        // first packet sent after the previous round ended), then exit.
        let mut css = 1;
        while round(&mut h, ms(60)) == Phase::Conservative {
            css += 1;
            assert!(css <= CSS_ROUNDS);
        }
        assert_eq!(css, CSS_ROUNDS);
    }

    #[test]
    fn a_lower_rtt_in_css_resumes_slow_start() {
        let ms = Duration::from_millis;
        let mut h = HyStart::new();
        let mut pn = 0u64;
        let mut feed = |h: &mut HyStart, rtt: Duration| {
            let start = pn;
            for _ in 0..10 {
                h.on_sent(pn);
                pn += 1;
            }
            (start..pn).map(|p| h.on_ack(p, rtt, pn)).last().unwrap()
        };
        feed(&mut h, ms(50));
        feed(&mut h, ms(50));
        assert_eq!(feed(&mut h, ms(70)), Phase::Conservative);
        assert_eq!(feed(&mut h, ms(40)), Phase::SlowStart);
    }
}
