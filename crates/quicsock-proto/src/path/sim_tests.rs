//! DPLPMTUD over the simulator: the search finds a link's MTU, a black hole takes the
//! size back to the base and the search finds the narrower path, all during a transfer
//! that arrives whole.

use std::time::Duration;

use crate::path::pmtu::{MAX_PROBES, SEARCH_GRANULARITY};
use crate::path::PmtuState;
use crate::sim::scenarios::{pattern, transfer_with};
use crate::sim::{LinkConfig, PairConfig};

/// A 100 Mbit/s link with a 10 ms round trip and a queue that never overflows: a
/// transfer of some MiB lasts long enough for the search (a round trip per size), and
/// the only datagrams dropped are those above the MTU.
fn link(mtu: usize) -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(5),
        mtu,
        bandwidth: Some(12_500_000),
        queue: 256 << 20,
        ..LinkConfig::default()
    }
}

/// On a 1500-byte link the search ends within the granularity of 1500: the bound (8952)
/// fails, then each bisection step sends `MAX_PROBES` probes. Lost probes are not
/// losses: no packet counts as lost and nothing is sent again.
#[test]
fn the_search_finds_the_links_mtu_without_congestion() {
    let cfg = PairConfig::new(21, link(1500));
    let data = pattern(16 << 20, 21);
    let (mut pair, h, _) = transfer_with(&cfg, &data, Duration::from_secs(60), |_, _| {});
    let c = pair.client_conn(h).stats();
    println!("{c:?}");
    assert_eq!(c.pmtu, PmtuState::Complete);
    let size = c.max_datagram_size;
    assert!(
        size <= 1500 && size + usize::from(SEARCH_GRANULARITY) > 1500,
        "{size}"
    );
    let [sent, acked, lost] = c.pmtu_probes;
    assert_eq!(sent, acked + lost);
    // 1200 to 8952 in steps that halve the gap: at most 10 steps after the bound.
    assert!(sent <= u32::from(MAX_PROBES) * 11, "{sent} probes sent");
    assert_eq!(lost % u32::from(MAX_PROBES), 0, "sizes fail whole");
    assert_eq!(
        (
            c.packets_lost,
            c.stream_bytes_retransmitted,
            c.pmtu_black_holes
        ),
        (0, 0, 0)
    );
    // The link dropped the probes that were too large, and nothing else.
    assert_eq!(pair.c2s_stats().dropped, u64::from(lost));
}

/// The link's MTU drops from 9000 to 1400 in mid-transfer: the 8952-byte packets are
/// lost, the loss bursts reveal a black hole, the size falls back to 1200, and the search
/// finds 1400 again. Every byte arrives.
#[test]
fn a_black_hole_falls_back_to_the_base_and_searches_again() {
    let cfg = PairConfig::new(22, link(9000));
    let data = pattern(24 << 20, 22);
    let mut dropped = false;
    let mut before = 0;
    let (mut pair, h, _) = transfer_with(&cfg, &data, Duration::from_secs(120), |p, got| {
        if !dropped && got > 4 << 20 {
            dropped = true;
            before = p.c2s_stats().dropped;
            p.c2s_config().mtu = 1400;
        }
    });
    assert!(dropped);
    let c = pair.client_conn(h).stats();
    println!("{c:?}");
    assert_eq!(c.pmtu_black_holes, 1);
    assert_eq!(c.pmtu, PmtuState::Complete);
    let size = c.max_datagram_size;
    assert!(
        size <= 1400 && size + usize::from(SEARCH_GRANULARITY) > 1400,
        "{size}"
    );
    assert!(pair.c2s_stats().dropped > before);
}
