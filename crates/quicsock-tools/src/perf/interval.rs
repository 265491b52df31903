//! Per-interval figures of a client run (iperf3's `-i`): bytes moved in each interval of
//! the run, reported as each interval ends and kept for the JSON report.

use std::time::{Duration, Instant};

/// What one interval moved.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Seconds from the start of the run to the start of the interval.
    pub start: f64,
    /// To its end.
    pub end: f64,
    /// Bytes moved in it.
    pub bytes: u64,
    /// Their rate, Gbit/s.
    pub gbps: f64,
}

/// Cuts a run into intervals as it goes.
pub(crate) struct Intervals<'a> {
    every: Option<Duration>,
    start: Instant,
    /// The end of the last interval, from `start`, and the bytes moved by then.
    last: (Duration, u64),
    pub(crate) done: Vec<Interval>,
    report: &'a mut dyn FnMut(&Interval),
}

impl<'a> Intervals<'a> {
    /// Intervals of `every` (none when `None`) from `start`, each handed to `report`.
    pub(crate) fn new(
        every: Option<Duration>,
        start: Instant,
        report: &'a mut dyn FnMut(&Interval),
    ) -> Self {
        Self {
            every: every.filter(|d| !d.is_zero()),
            start,
            last: (Duration::ZERO, 0),
            done: Vec::new(),
            report,
        }
    }

    /// `total` bytes moved so far: ends an interval if one is due.
    pub(crate) fn tick(&mut self, total: u64) {
        let Some(every) = self.every else {
            return;
        };
        let now = self.start.elapsed();
        if now >= self.last.0 + every {
            self.close(now, total);
        }
    }

    /// The run ended with `total` bytes: the last, partial interval.
    pub(crate) fn finish(&mut self, total: u64) -> Vec<Interval> {
        let now = self.start.elapsed();
        if self.every.is_some() && total > self.last.1 {
            self.close(now, total);
        }
        std::mem::take(&mut self.done)
    }

    fn close(&mut self, now: Duration, total: u64) {
        let (from, before) = self.last;
        let secs = (now - from).as_secs_f64().max(f64::MIN_POSITIVE);
        let i = Interval {
            start: from.as_secs_f64(),
            end: now.as_secs_f64(),
            bytes: total - before,
            gbps: (total - before) as f64 * 8.0 / secs / 1e9,
        };
        (self.report)(&i);
        self.done.push(i);
        self.last = (now, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_cover_the_run_and_sum_to_its_bytes() {
        let mut seen = 0;
        let mut report = |_: &Interval| seen += 1;
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let mut iv = Intervals::new(Some(Duration::from_millis(5)), start, &mut report);
        let mut total = 0;
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(1));
            total += 1000;
            iv.tick(total);
        }
        let all = iv.finish(total);
        assert!(all.len() >= 3, "{all:?}");
        assert_eq!(all.iter().map(|i| i.bytes).sum::<u64>(), total);
        assert!(all.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(seen, all.len());
        // Without an interval, nothing is cut.
        let mut none = |_: &Interval| panic!("no interval asked for");
        let mut iv = Intervals::new(None, start, &mut none);
        iv.tick(5);
        assert!(iv.finish(5).is_empty());
    }
}
