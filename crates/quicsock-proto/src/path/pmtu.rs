//! Datagram Packetization Layer Path MTU Discovery for one path (RFC 8899 §5, RFC 9000
//! §14.3): the largest UDP payload the connection sends, and the search that raises it.
//!
//! The path starts at the *base* size, the configured datagram size (at least 1200, which
//! every QUIC path carries, RFC 9000 §14). Once the handshake is confirmed the search
//! probes upward with PMTU probes, 1-RTT packets of PING and PADDING alone in a datagram
//! of the probed size. The upper bound is the smallest of the configured maximum, the
//! peer's max_udp_payload_size and what the local interface carries (the engine asks the
//! kernel, [`Pmtud::set_limit`]). Each size is probed with [`MAX_PROBES`] probes sent
//! together: one acknowledged proves it, all lost rule it out, so a size costs one round
//! trip either way and a random loss rules nothing out. The first size tried is the
//! bound itself, so a path whose limit is the local interface (the common case) is done
//! in one round trip; a bound that fails turns the search into a bisection between the
//! largest size acknowledged and the smallest one that failed, which ends when the two
//! are less than [`SEARCH_GRANULARITY`] apart (about a dozen round trips from 1200 to
//! 8952). RFC 8899 §5.3 leaves the search method open and sends probes one at a time;
//! Linux QUIC steps up 32 bytes at a time, which takes hundreds of probes to reach a
//! loopback MTU.
//!
//! A probe's loss is not congestion (RFC 9000 §14.4): the connection keeps its window.
//! A size that was acknowledged becomes the connection's datagram size at once and the
//! congestion controller's MSS with it.
//!
//! Black holes (RFC 8899 §4.3): a *suspicious* loss burst is one in which packets larger
//! than the base size were lost and sent after the last acknowledged packet larger than
//! the base; a probe timeout while the size is above the base counts as one too, since a
//! path that stopped carrying large datagrams acknowledges nothing. After
//! [`BLACK_HOLE_BURSTS`] of them with no large packet acknowledged in between, the size
//! falls back to the base and the search starts again below the size that failed.
//!
//! A search that ended is run again [`PmtuConfig::interval`] later (RFC 8899's
//! PMTU_RAISE_TIMER, 600 s by default), in case the path now carries more. The deadline
//! is kept here, with the state it guards.

use std::time::Duration;

use crate::time::Timestamp;

/// Probes of one size sent, all lost before the size is taken as too large (RFC 8899
/// §5.1.2, MAX_PROBES).
pub const MAX_PROBES: u8 = 3;

/// The search ends when the largest size acknowledged and the smallest that failed are
/// closer than this.
pub const SEARCH_GRANULARITY: u16 = 16;

/// Suspicious loss bursts, with nothing large acknowledged between them, that make a
/// black hole.
pub const BLACK_HOLE_BURSTS: u8 = 3;

/// The smallest datagram size a QUIC path must carry (RFC 9000 §14).
pub const BASE: u16 = 1200;

/// How DPLPMTUD searches (RFC 8899 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmtuConfig {
    /// The largest UDP payload to probe for. The search also stays within the peer's
    /// max_udp_payload_size and the local interface's MTU.
    pub max: u16,
    /// A search that ended starts again this long after (PMTU_RAISE_TIMER).
    pub interval: Duration,
}

impl Default for PmtuConfig {
    /// Up to 8952 bytes (a 9000-byte jumbo frame less IPv6 and UDP headers), raised
    /// every 600 s.
    fn default() -> Self {
        Self {
            max: 8952,
            interval: Duration::from_secs(600),
        }
    }
}

/// Where the search stands (RFC 8899 §5.2).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum PmtuState {
    /// PMTU discovery is off: the base size is used throughout.
    #[default]
    Disabled,
    /// The base size is in use; the search has not started (it starts once the
    /// handshake is confirmed).
    Base,
    /// Probing for a larger size.
    Searching,
    /// The largest size within the bounds was found; searched again after the interval.
    Complete,
}

/// The size being probed: its probes go out together, [`MAX_PROBES`] of them in one
/// round trip, and one acknowledged proves the size.
#[derive(Copy, Clone, Debug)]
struct Probe {
    size: u16,
    sent: u8,
    lost: u8,
}

/// DPLPMTUD state of one path.
#[derive(Clone, Debug)]
pub(crate) struct Pmtud {
    state: PmtuState,
    /// [`PmtuConfig::interval`] in seconds (kept small: every connection holds one).
    raise_secs: u32,
    base: u16,
    /// The datagram size in use: the largest acknowledged.
    current: u16,
    /// What the configuration, the peer and the interface allow.
    limit: u16,
    /// The search's upper bound: sizes above it failed (or exceed `limit`).
    high: u16,
    /// The size being probed.
    probe: Option<Probe>,
    /// Whether the search probes `high` itself next (its first step).
    try_high: bool,
    /// When a completed search starts again.
    raise_at: Option<Timestamp>,
    /// One more than the largest packet number of an acknowledged packet larger than
    /// the base (zero while there is none).
    large_acked_below: u64,
    /// Suspicious loss bursts since then.
    suspicious: u8,
    /// The loss burst being processed held a suspicious loss.
    burst_suspicious: bool,
    /// Probes sent, acknowledged and lost, and black holes detected.
    pub(crate) probes_sent: u32,
    pub(crate) probes_acked: u32,
    pub(crate) probes_lost: u32,
    pub(crate) black_holes: u32,
}

impl Pmtud {
    /// A path that starts at `base` (at least [`BASE`]) and searches as `config` says, if
    /// it is given.
    pub(crate) fn new(base: u16, config: Option<PmtuConfig>) -> Self {
        let base = base.max(BASE);
        let limit = config.as_ref().map_or(base, |c| c.max.max(base));
        Self {
            state: if config.is_some() {
                PmtuState::Base
            } else {
                PmtuState::Disabled
            },
            raise_secs: config.map_or(0, |c| {
                u32::try_from(c.interval.as_secs().max(1)).unwrap_or(u32::MAX)
            }),
            base,
            current: base,
            limit,
            high: limit,
            probe: None,
            try_high: true,
            raise_at: None,
            large_acked_below: 0,
            suspicious: 0,
            burst_suspicious: false,
            probes_sent: 0,
            probes_acked: 0,
            probes_lost: 0,
            black_holes: 0,
        }
    }

    /// How long after a finished search the next starts, if the search is on.
    pub(crate) fn raise_interval(&self) -> Option<Duration> {
        (self.state != PmtuState::Disabled).then(|| Duration::from_secs(self.raise_secs.into()))
    }

    /// The datagram size in use.
    pub(crate) fn current(&self) -> u16 {
        self.current
    }

    /// The largest datagram this path may be asked to carry: the size in use, or the
    /// probe being searched for.
    pub(crate) fn largest(&self) -> u16 {
        match self.state {
            PmtuState::Searching => self.high.max(self.current),
            _ => self.current,
        }
    }

    /// The base size: every path of the connection carries it.
    pub(crate) fn base(&self) -> u16 {
        self.base
    }

    pub(crate) fn state(&self) -> PmtuState {
        self.state
    }

    /// Lowers the bound to `max` (the peer's max_udp_payload_size, the interface's MTU).
    /// The size in use never goes below the base: every path carries that.
    pub(crate) fn set_limit(&mut self, max: u16) {
        let max = max.max(BASE);
        self.limit = self.limit.min(max);
        self.high = self.high.min(self.limit);
        self.base = self.base.min(self.limit);
        self.current = self.current.min(self.limit);
        if self.probe.is_some_and(|p| p.size > self.high) {
            self.probe = None;
        }
    }

    /// The handshake is confirmed: the search may start.
    pub(crate) fn start(&mut self) {
        if self.state == PmtuState::Base {
            self.begin_search();
        }
    }

    fn begin_search(&mut self) {
        self.high = self.limit;
        self.try_high = true;
        self.probe = None;
        self.raise_at = None;
        self.state = PmtuState::Searching;
        self.end_if_narrow();
    }

    /// Ends the search once nothing between the size in use and the bound is worth a
    /// probe.
    fn end_if_narrow(&mut self) {
        if self.state == PmtuState::Searching
            && self.high < self.current.saturating_add(SEARCH_GRANULARITY)
        {
            self.state = PmtuState::Complete;
            self.probe = None;
            self.raise_at = None;
        }
    }

    /// The size of the probe to send now, if one is due: searching, and fewer than
    /// [`MAX_PROBES`] of the size being probed sent.
    pub(crate) fn probe_due(&mut self) -> Option<u16> {
        if self.state != PmtuState::Searching {
            return None;
        }
        if let Some(p) = self.probe {
            return (p.sent < MAX_PROBES).then_some(p.size);
        }
        let size = if self.try_high {
            self.high
        } else {
            self.current + (self.high - self.current).div_ceil(2)
        };
        self.probe = Some(Probe {
            size,
            sent: 0,
            lost: 0,
        });
        Some(size)
    }

    /// The probe of `size` left.
    pub(crate) fn on_probe_sent(&mut self, size: u16) {
        if let Some(p) = self.probe.as_mut().filter(|p| p.size == size) {
            p.sent += 1;
            self.probes_sent += 1;
        }
    }

    /// A probe of `size` was acknowledged: the path carries it. Returns the new datagram
    /// size, if it grew.
    pub(crate) fn on_probe_acked(&mut self, size: u16, now: Timestamp) -> Option<u16> {
        self.probes_acked += 1;
        if self.probe.is_some_and(|p| p.size == size) {
            self.probe = None;
        }
        if self.state != PmtuState::Searching || size <= self.current || size > self.limit {
            return None;
        }
        self.current = size;
        self.try_high = false;
        self.end_if_narrow();
        self.arm_raise(now);
        Some(size)
    }

    /// A probe of `size` was declared lost.
    pub(crate) fn on_probe_lost(&mut self, size: u16, now: Timestamp) {
        self.probes_lost += 1;
        let Some(p) = self.probe.as_mut().filter(|p| p.size == size) else {
            return;
        };
        p.lost += 1;
        if p.lost < MAX_PROBES {
            return;
        }
        // All lost: too large. The search goes on below it.
        self.probe = None;
        self.try_high = false;
        self.high = size - 1;
        self.end_if_narrow();
        self.arm_raise(now);
    }

    /// A completed search is run again after the interval.
    fn arm_raise(&mut self, now: Timestamp) {
        // A search that reached the limit has nothing to raise to.
        if self.state == PmtuState::Complete && self.current < self.limit {
            self.raise_at = Some(now + Duration::from_secs(u64::from(self.raise_secs)));
        }
    }

    /// A packet other than a probe was acknowledged.
    pub(crate) fn on_acked(&mut self, pn: u64, size: u16) {
        if size > self.base {
            self.large_acked_below = self.large_acked_below.max(pn + 1);
            self.suspicious = 0;
        }
    }

    /// A packet other than a probe was declared lost, in the burst being processed.
    pub(crate) fn on_lost(&mut self, pn: u64, size: u16) {
        if size > self.base && pn >= self.large_acked_below {
            self.burst_suspicious = true;
        }
    }

    /// The end of a loss burst begun by [`on_lost`](Self::on_lost) calls. Returns the
    /// base size when the losses reveal a black hole.
    pub(crate) fn end_loss_burst(&mut self, now: Timestamp) -> Option<u16> {
        let suspicious = std::mem::take(&mut self.burst_suspicious);
        if suspicious {
            self.suspicious_burst(now)
        } else {
            None
        }
    }

    /// A probe timeout fired; returns the base size when that reveals a black hole.
    pub(crate) fn on_pto(&mut self, now: Timestamp) -> Option<u16> {
        if self.current > self.base {
            self.suspicious_burst(now)
        } else {
            None
        }
    }

    fn suspicious_burst(&mut self, now: Timestamp) -> Option<u16> {
        if self.current <= self.base {
            return None;
        }
        self.suspicious += 1;
        if self.suspicious < BLACK_HOLE_BURSTS {
            return None;
        }
        // RFC 8899 §4.3: back to the base, and search again below the size that failed.
        self.black_holes += 1;
        self.suspicious = 0;
        self.large_acked_below = 0;
        let failed = self.current;
        self.current = self.base;
        self.begin_search();
        self.high = failed - 1;
        self.try_high = false;
        self.end_if_narrow();
        self.arm_raise(now);
        Some(self.base)
    }

    /// The connection moved to another network path: what was learnt of this one does
    /// not hold there. Back to the base, and search again if the search had started.
    pub(crate) fn on_new_path(&mut self) {
        self.current = self.base;
        self.large_acked_below = 0;
        self.suspicious = 0;
        self.burst_suspicious = false;
        if matches!(self.state, PmtuState::Searching | PmtuState::Complete) {
            self.begin_search();
        }
    }

    /// When [`on_timeout`](Self::on_timeout) is due.
    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        self.raise_at
    }

    /// The raise timer fired: search again.
    pub(crate) fn on_timeout(&mut self, now: Timestamp) {
        if self.raise_at.is_some_and(|t| t <= now) {
            self.begin_search();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Timestamp {
        Timestamp::ZERO + Duration::from_secs(s)
    }

    fn searching(max: u16) -> Pmtud {
        let mut p = Pmtud::new(
            1200,
            Some(PmtuConfig {
                max,
                ..PmtuConfig::default()
            }),
        );
        p.start();
        p
    }

    /// Runs the search against a path that carries `mtu`; returns the probes sent.
    fn search(p: &mut Pmtud, mtu: u16) -> u32 {
        let mut guard = 0;
        while let Some(size) = p.probe_due() {
            p.on_probe_sent(size);
            if size <= mtu {
                p.on_probe_acked(size, t(1));
            } else {
                p.on_probe_lost(size, t(1));
            }
            guard += 1;
            assert!(guard < 1000, "the search does not end");
        }
        p.probes_sent
    }

    #[test]
    fn a_path_limited_by_the_bound_takes_one_probe() {
        let mut p = searching(8952);
        p.set_limit(1472);
        assert_eq!(search(&mut p, 1500), 1);
        assert_eq!(p.current(), 1472);
        assert_eq!(p.state(), PmtuState::Complete);
        // Nothing to raise to: no timer.
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn a_narrower_path_is_bisected_to_within_the_granularity() {
        let mut p = searching(8952);
        let sent = search(&mut p, 1500);
        assert!(p.current() <= 1500 && p.current() + SEARCH_GRANULARITY > 1500);
        // The bound fails three times, then each bisection step takes one probe when it
        // fits and three when it does not.
        assert!(sent <= 3 + 3 * 10, "{sent} probes");
        assert_eq!(p.state(), PmtuState::Complete);
        assert_eq!(p.deadline(), Some(t(601)));
        // The raise timer searches again, and finds a wider path.
        p.on_timeout(t(601));
        assert_eq!(p.state(), PmtuState::Searching);
        search(&mut p, 9000);
        assert_eq!(p.current(), 8952);
    }

    #[test]
    fn a_path_that_carries_only_the_base_stays_there() {
        let mut p = searching(8952);
        search(&mut p, 1200);
        assert_eq!(p.current(), 1200);
        assert_eq!(p.state(), PmtuState::Complete);
    }

    #[test]
    fn disabled_never_probes_and_the_peer_limit_lowers_the_size() {
        let mut p = Pmtud::new(1452, None);
        p.start();
        assert_eq!(p.probe_due(), None);
        assert_eq!(p.state(), PmtuState::Disabled);
        p.set_limit(1300);
        assert_eq!(p.current(), 1300);
        p.set_limit(100);
        assert_eq!(p.current(), BASE);
    }

    #[test]
    fn three_suspicious_bursts_fall_back_to_the_base_and_search_below() {
        let mut p = searching(8952);
        search(&mut p, 9000);
        assert_eq!(p.current(), 8952);
        p.on_acked(10, 8952);
        // Losses of packets sent before the last large one acknowledged are not suspicious.
        p.on_lost(5, 8952);
        assert_eq!(p.end_loss_burst(t(2)), None);
        // Small packets lost say nothing about the MTU.
        p.on_lost(11, 1000);
        assert_eq!(p.end_loss_burst(t(2)), None);
        for burst in 0..BLACK_HOLE_BURSTS {
            p.on_lost(20 + u64::from(burst), 8952);
            let r = p.end_loss_burst(t(2));
            assert_eq!(r.is_some(), burst + 1 == BLACK_HOLE_BURSTS);
        }
        assert_eq!(p.current(), 1200);
        assert_eq!(p.black_holes, 1);
        // The search starts again below the size that failed.
        let probes = p.probes_sent;
        search(&mut p, 4000);
        assert!(p.probes_sent > probes);
        assert!(p.current() <= 4000 && p.current() + SEARCH_GRANULARITY > 4000);
    }

    #[test]
    fn a_large_ack_between_bursts_clears_the_suspicion() {
        let mut p = searching(8952);
        search(&mut p, 9000);
        for i in 0..10u64 {
            p.on_lost(100 + 2 * i, 8952);
            assert_eq!(p.end_loss_burst(t(2)), None);
            p.on_acked(101 + 2 * i, 8952);
        }
        assert_eq!(p.current(), 8952);
        // Probe timeouts count as suspicious bursts.
        assert_eq!(p.on_pto(t(3)), None);
        assert_eq!(p.on_pto(t(3)), None);
        assert_eq!(p.on_pto(t(3)), Some(1200));
    }

    #[test]
    fn a_probe_acknowledged_after_its_bound_was_lowered_is_not_taken() {
        let mut p = searching(8952);
        let size = p.probe_due().unwrap();
        p.on_probe_sent(size);
        p.set_limit(1400);
        assert_eq!(p.on_probe_acked(size, t(1)), None);
        assert_eq!(p.current(), 1200);
        assert_eq!(search(&mut p, 9000), 2);
        assert_eq!(p.current(), 1400);
    }
}
