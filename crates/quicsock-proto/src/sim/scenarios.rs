//! Scenario tests over the simulator: each runs over many seeds and reports the median
//! simulated completion time (`cargo test sim_ -- --nocapture` prints them).

use std::time::Duration;

use super::{LinkConfig, Pair, PairConfig};
use crate::conn::Event;
use crate::endpoint::ConnectionHandle;

/// Runs `scenario` for seeds `0..n`; each returns its simulated completion time. Prints the
/// median.
fn over_seeds(name: &str, n: u64, scenario: impl Fn(u64) -> Duration) {
    let mut times: Vec<Duration> = (0..n).map(&scenario).collect();
    times.sort();
    println!("{name}: {n} seeds, median {:?}", times[times.len() / 2]);
}

/// Connects and runs until both sides completed the handshake; returns the pair and the
/// client handle.
fn handshake(cfg: &PairConfig, limit: Duration) -> (Pair, ConnectionHandle, bool) {
    let mut pair = Pair::new(cfg);
    let h = pair.connect(cfg);
    let ok = pair.run_until(limit, |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    });
    (pair, h, ok)
}

#[test]
fn sim_handshake() {
    over_seeds("sim_handshake", 20, |seed| {
        let cfg = PairConfig::new(seed, LinkConfig::default());
        let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(5));
        assert!(ok, "seed {seed}: handshake did not complete");
        let c = pair.client_conn(h);
        let mut events = Vec::new();
        while let Some(e) = c.poll_event() {
            events.push(e);
        }
        assert!(events.contains(&Event::HandshakeComplete));
        assert!(events.contains(&Event::HandshakeConfirmed));
        assert!(pair.amplification_violation.is_none());
        pair.now.as_duration()
    });
}
