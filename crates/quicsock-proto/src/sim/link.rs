//! One direction of a simulated network path.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::conn::Ecn;
use crate::rng::SeededRandom;
use crate::time::Timestamp;

/// The impairments of one direction.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra delay, uniform in `0..=jitter`, per datagram (reorders them).
    pub jitter: Duration,
    /// Probability that a datagram starts a loss burst.
    pub loss: f64,
    /// A loss burst drops 1 to `burst` consecutive datagrams.
    pub burst: u32,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Probability that one random byte within the first 50 is replaced, as the QUIC
    /// Interop Runner's corruption does.
    pub corrupt_head: f64,
    /// Probability that one random bit anywhere is flipped.
    pub bit_flip: f64,
    /// Datagrams larger than this are dropped.
    pub mtu: usize,
    /// Bytes per second the link drains; `None` for unlimited.
    pub bandwidth: Option<u64>,
    /// Bytes that may wait for the link before new datagrams are dropped (tail drop).
    pub queue: usize,
    /// Everything sent in this window of time is dropped.
    pub blackhole: Option<(Timestamp, Timestamp)>,
    /// What the link does to ECN marks.
    pub ecn: LinkEcn,
}

/// What a link does to the ECN field of the datagrams it carries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkEcn {
    /// Marks arrive as sent.
    Pass,
    /// Marks are cleared (a middlebox that bleaches the field).
    Bleach,
    /// A datagram marked ECT is marked CE instead with this probability (a congested
    /// AQM router).
    MarkCe(f64),
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            burst: 1,
            duplicate: 0.0,
            corrupt_head: 0.0,
            bit_flip: 0.0,
            mtu: 1500,
            bandwidth: None,
            queue: 1 << 20,
            blackhole: None,
            ecn: LinkEcn::Pass,
        }
    }
}

/// Counters of what a link did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams offered.
    pub sent: u64,
    /// Datagrams dropped (loss, blackhole, MTU, queue).
    pub dropped: u64,
    /// Datagrams corrupted.
    pub corrupted: u64,
    /// Datagrams duplicated.
    pub duplicated: u64,
    /// Datagrams whose ECT mark the link turned into CE.
    pub ce_marked: u64,
}

/// A datagram on the link: arrival time, sequence (to keep equal times in order), bytes
/// and ECN mark.
type InFlight = (Timestamp, u64, Vec<u8>, Option<Ecn>);

/// A simulated link.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    rng: SeededRandom,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    busy_until: Timestamp,
    burst_left: u32,
    pub(crate) stats: LinkStats,
}

impl Link {
    pub(crate) fn new(config: LinkConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SeededRandom::new(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            busy_until: Timestamp::ZERO,
            burst_left: 0,
            stats: LinkStats::default(),
        }
    }

    /// Offers a datagram at `now`, with its ECN mark.
    pub(crate) fn send(&mut self, now: Timestamp, mut d: Vec<u8>, ecn: Option<Ecn>) {
        self.stats.sent += 1;
        let ecn = match (self.config.ecn, ecn) {
            (LinkEcn::Bleach, _) => None,
            (LinkEcn::MarkCe(p), Some(Ecn::Ect0 | Ecn::Ect1)) if self.rng.chance(p) => {
                self.stats.ce_marked += 1;
                Some(Ecn::Ce)
            }
            (_, e) => e,
        };
        let c = &self.config;
        let blackholed = c.blackhole.is_some_and(|(a, b)| now >= a && now < b);
        if d.len() > c.mtu || blackholed {
            self.stats.dropped += 1;
            return;
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            self.stats.dropped += 1;
            return;
        }
        if self.rng.chance(c.loss) {
            self.burst_left = self.rng.below(u64::from(c.burst.max(1))) as u32;
            self.stats.dropped += 1;
            return;
        }
        let mut depart = now;
        if let Some(bw) = c.bandwidth {
            let backlog = self.busy_until.saturating_duration_since(now);
            let queued = (backlog.as_secs_f64() * bw as f64) as usize;
            if queued + d.len() > c.queue {
                self.stats.dropped += 1;
                return;
            }
            let tx = Duration::from_secs_f64(d.len() as f64 / bw as f64);
            depart = self.busy_until.max(now) + tx;
            self.busy_until = depart;
        }
        if self.rng.chance(c.corrupt_head) && !d.is_empty() {
            let i = self.rng.below(d.len().min(50) as u64) as usize;
            let old = d[i];
            while d[i] == old {
                d[i] = self.rng.next_u64() as u8;
            }
            self.stats.corrupted += 1;
        }
        if self.rng.chance(c.bit_flip) && !d.is_empty() {
            let bit = self.rng.below(d.len() as u64 * 8);
            d[(bit / 8) as usize] ^= 1 << (bit % 8);
            self.stats.corrupted += 1;
        }
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            let at = depart + self.config.delay + self.jitter();
            self.push(at, d.clone(), ecn);
        }
        let at = depart + self.config.delay + self.jitter();
        self.push(at, d, ecn);
    }

    fn jitter(&mut self) -> Duration {
        let j = self.config.jitter.as_nanos() as u64;
        if j == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.rng.below(j + 1))
        }
    }

    fn push(&mut self, at: Timestamp, d: Vec<u8>, ecn: Option<Ecn>) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, d, ecn)));
    }

    /// When the next datagram arrives.
    pub(crate) fn next_arrival(&self) -> Option<Timestamp> {
        self.queue.peek().map(|Reverse((t, _, _, _))| *t)
    }

    /// The next datagram that has arrived by `now`, with its ECN mark.
    pub(crate) fn recv(&mut self, now: Timestamp) -> Option<(Vec<u8>, Option<Ecn>)> {
        if self.next_arrival()? <= now {
            self.queue.pop().map(|Reverse((_, _, d, e))| (d, e))
        } else {
            None
        }
    }
}
