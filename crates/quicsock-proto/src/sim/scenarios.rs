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
pub(crate) fn handshake(cfg: &PairConfig, limit: Duration) -> (Pair, ConnectionHandle, bool) {
    let mut pair = Pair::new(cfg);
    let h = pair.connect(cfg);
    let ok = pair.run_until(limit, |p| {
        p.client_conn(h).is_handshake_confirmed()
            && p.server_conn().is_some_and(|c| c.is_handshake_confirmed())
    });
    if !ok {
        let c = pair.client_conn(h);
        eprintln!(
            "seed {}: client {:?} {}",
            cfg.seed,
            c.error(),
            c.debug_timers()
        );
        if let Some(s) = pair.server_conn() {
            eprintln!(
                "seed {}: server {:?} {}",
                cfg.seed,
                s.error(),
                s.debug_timers()
            );
        }
    }
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

/// Deterministic test data.
pub(crate) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = crate::rng::SeededRandom::new(seed ^ 0x5eed);
    let mut v = vec![0; len];
    crate::rng::Random::fill(&mut rng, &mut v);
    v
}

/// Sends `data` from the client to the server on one bidirectional stream and checks it
/// arrives byte for byte; returns the time from the end of the handshake to the last byte.
fn transfer(cfg: &PairConfig, data: &[u8], limit: Duration) -> Duration {
    transfer_pair(cfg, data, limit).2
}

/// [`transfer`], returning the pair and the client's handle as well.
fn transfer_pair(
    cfg: &PairConfig,
    data: &[u8],
    limit: Duration,
) -> (Pair, crate::endpoint::ConnectionHandle, Duration) {
    transfer_with(cfg, data, limit, |_, _| {})
}

/// [`transfer_pair`], calling `each_step` with the pair and the bytes received so far
/// before every step (to change the links mid-transfer).
pub(crate) fn transfer_with(
    cfg: &PairConfig,
    data: &[u8],
    limit: Duration,
    mut each_step: impl FnMut(&mut Pair, usize),
) -> (Pair, crate::endpoint::ConnectionHandle, Duration) {
    let (mut pair, h, ok) = handshake(cfg, Duration::from_secs(60));
    assert!(ok, "seed {}: handshake did not complete", cfg.seed);
    let start = pair.now;
    let id = pair
        .client_conn(h)
        .open_stream(crate::Dir::Bi)
        .expect("stream");
    let mut written = 0;
    let mut received = Vec::with_capacity(data.len());
    let mut fin = false;
    let mut buf = vec![0; 64 * 1024];
    let done = pair.run_until(limit, |p| {
        each_step(p, received.len());
        let now = p.now;
        let c = p.client_conn(h);
        super::write_pending(c, id, data, &mut written);
        if let Some(s) = p.server_conn() {
            while !fin {
                match s.read(now, id, &mut buf) {
                    Ok(r) => {
                        received.extend_from_slice(&buf[..r.len]);
                        fin = r.fin;
                        if r.len == 0 && !r.fin {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        fin
    });
    assert!(
        done,
        "seed {}: transfer incomplete: {} of {} bytes",
        cfg.seed,
        received.len(),
        data.len()
    );
    assert!(received == data, "seed {}: data differs", cfg.seed);
    let took = pair.now - start;
    (pair, h, took)
}

/// `Connection::stats` over a lossy path and a clean one: losses and the stream data sent
/// again are counted, the RTT matches the path's, and a clean path loses nothing.
#[test]
fn stats_count_packets_losses_and_retransmissions() {
    let lossy = LinkConfig {
        delay: Duration::from_millis(10),
        loss: 0.03,
        ..LinkConfig::default()
    };
    let cfg = PairConfig::new(11, lossy);
    let (mut pair, h, _) = transfer_pair(&cfg, &pattern(2 << 20, 11), Duration::from_secs(60));
    let c = pair.client_conn(h).stats();
    let s = pair.server_conn().expect("server").stats();
    assert!(c.packets_lost > 0 && c.bytes_lost > 0, "{c:?}");
    assert!(c.stream_bytes_retransmitted > 0, "{c:?}");
    assert!(c.packets_sent > s.packets_received, "losses: {c:?} {s:?}");
    assert!(c.bytes_sent >= 2 << 20 && s.bytes_received >= 2 << 20);
    let rtt = c.smoothed_rtt.as_millis();
    assert!((20..60).contains(&rtt), "a 20 ms path: {rtt} ms");
    assert!(c.min_rtt >= Duration::from_millis(20));
    assert!(c.congestion_window > 0);

    let clean = LinkConfig {
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let cfg = PairConfig::new(12, clean);
    let (mut pair, h, _) = transfer_pair(&cfg, &pattern(2 << 20, 12), Duration::from_secs(60));
    let c = pair.client_conn(h).stats();
    let s = pair.server_conn().expect("server").stats();
    assert_eq!(
        (c.packets_lost, c.stream_bytes_retransmitted),
        (0, 0),
        "{c:?}"
    );
    assert!(s.packets_received <= c.packets_sent && s.packets_received > 1400);
}

#[test]
fn sim_transfer_10mib() {
    over_seeds("sim_transfer_10mib", 20, |seed| {
        let link = LinkConfig {
            delay: Duration::from_millis(5),
            bandwidth: Some(125_000_000),
            queue: 1 << 20,
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        transfer(&cfg, &pattern(10 << 20, seed), Duration::from_secs(30))
    });
}

fn lossy(loss: f64, burst: u32) -> LinkConfig {
    LinkConfig {
        loss,
        burst,
        ..LinkConfig::default()
    }
}

#[test]
fn sim_handshake_loss_30pct() {
    over_seeds("sim_handshake_loss_30pct", 50, |seed| {
        let mut cfg = PairConfig::new(seed, lossy(0.3, 3));
        // With bursts, ten Initials in a row can be lost: give the handshake longer than
        // the default 30 s idle timeout and the server's 10 s handshake timeout, which
        // would otherwise end it first.
        for c in [&mut cfg.client, &mut cfg.server] {
            c.transport.max_idle_timeout = crate::VarInt::from_u32(300_000);
            c.handshake_timeout = None;
        }
        let (pair, _, ok) = handshake(&cfg, Duration::from_secs(300));
        assert!(ok, "seed {seed}: handshake did not complete under 30% loss");
        assert!(pair.amplification_violation.is_none());
        pair.now.as_duration()
    });
}

#[test]
fn sim_handshake_corruption_30pct() {
    over_seeds("sim_handshake_corruption_30pct", 20, |seed| {
        let link = LinkConfig {
            corrupt_head: 0.3,
            ..LinkConfig::default()
        };
        let mut cfg = PairConfig::new(seed, link);
        // Measures how long the handshake takes, past the server's handshake timeout.
        cfg.server.handshake_timeout = None;
        let (pair, _, ok) = handshake(&cfg, Duration::from_secs(120));
        assert!(
            ok,
            "seed {seed}: handshake did not complete under 30% corruption"
        );
        assert!(pair.c2s_stats().corrupted + pair.s2c_stats().corrupted > 0 || seed > 0);
        pair.now.as_duration()
    });
}

#[test]
fn sim_transfer_loss_5pct() {
    over_seeds("sim_transfer_loss_5pct", 20, |seed| {
        let link = LinkConfig {
            loss: 0.05,
            burst: 2,
            bandwidth: Some(12_500_000),
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        transfer(&cfg, &pattern(2 << 20, seed), Duration::from_secs(120))
    });
}

#[test]
fn sim_transfer_corruption_2pct() {
    over_seeds("sim_transfer_corruption_2pct", 20, |seed| {
        let link = LinkConfig {
            corrupt_head: 0.01,
            bit_flip: 0.01,
            bandwidth: Some(12_500_000),
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        transfer(&cfg, &pattern(2 << 20, seed), Duration::from_secs(120))
    });
}

#[test]
fn sim_transfer_reorder_duplicate() {
    over_seeds("sim_transfer_reorder_duplicate", 20, |seed| {
        let link = LinkConfig {
            jitter: Duration::from_millis(8),
            duplicate: 0.05,
            bandwidth: Some(12_500_000),
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        transfer(&cfg, &pattern(2 << 20, seed), Duration::from_secs(120))
    });
}

/// Reordering is told from loss: late packets raise the thresholds and undo the window
/// cut their "loss" caused.
#[test]
fn sim_reordering_undoes_spurious_congestion_events() {
    let link = LinkConfig {
        jitter: Duration::from_millis(8),
        bandwidth: Some(12_500_000),
        ..LinkConfig::default()
    };
    let cfg = PairConfig::new(3, link);
    let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(10));
    assert!(ok);
    let id = pair.client_conn(h).open_stream(crate::Dir::Uni).unwrap();
    let data = pattern(1 << 20, 3);
    let mut written = 0;
    pair.run_until(Duration::from_secs(30), |p| {
        let c = p.client_conn(h);
        super::write_pending(c, id, &data, &mut written);
        c.streams().all_acked() && written == data.len()
    });
    let (spurious, undone) = pair.client_conn(h).spurious_losses();
    assert!(
        spurious > 0 && undone > 0,
        "spurious {spurious}, undone {undone}"
    );
}

#[test]
fn sim_long_rtt_750ms() {
    over_seeds("sim_long_rtt_750ms", 20, |seed| {
        let link = LinkConfig {
            delay: Duration::from_millis(375),
            bandwidth: Some(12_500_000),
            queue: 16 << 20,
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        transfer(&cfg, &pattern(4 << 20, seed), Duration::from_secs(120))
    });
}

#[test]
fn sim_blackhole_2s() {
    over_seeds("sim_blackhole_2s", 20, |seed| {
        let mut link = LinkConfig {
            bandwidth: Some(12_500_000),
            ..LinkConfig::default()
        };
        // Everything is dropped, both ways, for two seconds in the middle of the transfer.
        let from = crate::Timestamp::ZERO + Duration::from_millis(300);
        link.blackhole = Some((from, from + Duration::from_secs(2)));
        let cfg = PairConfig::new(seed, link);
        let t = transfer(&cfg, &pattern(4 << 20, seed), Duration::from_secs(60));
        assert!(
            t > Duration::from_secs(2),
            "the transfer spans the blackhole"
        );
        t
    });
}

#[test]
fn sim_same_seed_same_trace() {
    let run = |seed| {
        let link = LinkConfig {
            loss: 0.05,
            jitter: Duration::from_millis(3),
            duplicate: 0.02,
            corrupt_head: 0.02,
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        let mut pair = Pair::new(&cfg);
        let h = pair.connect(&cfg);
        pair.run_until(Duration::from_secs(10), |p| {
            p.client_conn(h).is_handshake_confirmed()
        });
        (pair.trace, pair.now)
    };
    for seed in 0..20 {
        assert_eq!(run(seed), run(seed), "seed {seed}");
    }
    assert_ne!(run(1), run(2));
}

#[test]
#[ignore]
fn debug_seed() {
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let link = if std::env::var("CORRUPT").is_ok() {
        LinkConfig {
            corrupt_head: 0.3,
            ..LinkConfig::default()
        }
    } else {
        lossy(0.3, 3)
    };
    let cfg = PairConfig::new(seed, link);
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let mut last = String::new();
    pair.run_until(Duration::from_secs(40), |p| {
        let c = p.client_conn(h).debug_timers();
        let mut s = String::new();
        for sh in p.server.handles() {
            s += &format!(
                "[{}] {} ",
                sh.0,
                p.server.connection(sh).unwrap().debug_timers()
            );
        }
        let line = format!("C {c}\n   S {s}");
        if line != last {
            println!(
                "{:?} c2s {:?} s2c {:?}\n   {line}",
                p.now,
                p.c2s_stats(),
                p.s2c_stats()
            );
            last = line;
        }
        false
    });
}

#[test]
fn sim_multiplexing_2000_streams() {
    over_seeds("sim_multiplexing_2000_streams", 20, |seed| {
        let link = LinkConfig {
            bandwidth: Some(12_500_000),
            ..LinkConfig::default()
        };
        let mut cfg = PairConfig::new(seed, link);
        cfg.server.transport.initial_max_streams_bidi = crate::VarInt::from_u32(1000);
        let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(10));
        assert!(ok);
        let start = pair.now;
        let total = 2000usize;
        let mut opened = Vec::new();
        let mut echoed = std::collections::BTreeMap::new();
        let mut partial: std::collections::BTreeMap<crate::StreamId, Vec<u8>> = Default::default();
        let mut requests: std::collections::BTreeMap<crate::StreamId, Vec<u8>> = Default::default();
        let mut done_server = std::collections::BTreeSet::new();
        let mut buf = [0u8; 64];
        let finished = pair.run_until(Duration::from_secs(60), |p| {
            let now = p.now;
            let c = p.client_conn(h);
            // Open as many as the server allows; MAX_STREAMS raises the limit as streams
            // close.
            while opened.len() < total {
                match c.open_stream(crate::Dir::Bi) {
                    Ok(id) => {
                        let msg = format!("stream {}", opened.len());
                        c.write(id, msg.as_bytes(), true)
                            .expect("fresh stream takes a short message");
                        opened.push(id);
                    }
                    Err(_) => break,
                }
            }
            // The server echoes each request back and finishes.
            if let Some(s) = p.server_conn() {
                while let Some(e) = s.poll_event() {
                    if let Event::Stream(crate::stream::StreamEvent::Readable(id)) = e {
                        while let Ok(r) = s.read(now, id, &mut buf) {
                            let req = requests.entry(id).or_default();
                            req.extend_from_slice(&buf[..r.len]);
                            if r.fin && done_server.insert(id) {
                                let _ = s.write(id, req, true);
                            }
                            if r.fin || r.len == 0 {
                                break;
                            }
                        }
                    }
                }
            }
            let c = p.client_conn(h);
            for id in &opened {
                if echoed.contains_key(id) {
                    continue;
                }
                while let Ok(r) = c.read(now, *id, &mut buf) {
                    let got = partial.entry(*id).or_default();
                    got.extend_from_slice(&buf[..r.len]);
                    if r.fin {
                        echoed.insert(*id, String::from_utf8_lossy(got).into_owned());
                    }
                    if r.fin || r.len == 0 {
                        break;
                    }
                }
            }
            echoed.len() == total
        });
        assert!(
            finished,
            "seed {seed}: {} of {total} streams echoed",
            echoed.len()
        );
        for (i, id) in opened.iter().enumerate() {
            assert_eq!(echoed[id], format!("stream {i}"));
        }
        assert!(
            opened.iter().any(|id| id.index() >= 1000),
            "streams beyond the initial limit were opened"
        );
        pair.now - start
    });
}

#[test]
fn sim_flow_control_stall_resume() {
    over_seeds("sim_flow_control_stall_resume", 20, |seed| {
        let mut cfg = PairConfig::new(seed, LinkConfig::default());
        cfg.server.transport.initial_max_stream_data_bidi_remote =
            crate::VarInt::from_u32(16 * 1024);
        cfg.server.transport.initial_max_data = crate::VarInt::from_u32(32 * 1024);
        let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(10));
        assert!(ok);
        let data = pattern(256 * 1024, seed);
        let id = pair.client_conn(h).open_stream(crate::Dir::Bi).unwrap();
        let mut written = 0;
        // The server does not read: the client stalls at the window.
        pair.run_until(Duration::from_secs(2), |p| {
            let c = p.client_conn(h);
            while let Ok(n) = c.write(id, &data[written..], true) {
                if n == 0 {
                    break;
                }
                written += n;
                if written == data.len() {
                    break;
                }
            }
            false
        });
        let server = pair.server_conn().unwrap();
        let (readable, _) = server.streams().readable(id).unwrap();
        assert_eq!(
            readable,
            16 * 1024,
            "seed {seed}: exactly the stream window arrived"
        );
        let stalled_at = pair.now;
        // The server reads: credit flows, the transfer resumes and completes.
        let mut received = Vec::new();
        let mut buf = vec![0; 8192];
        let mut fin = false;
        let done = pair.run_until(Duration::from_secs(30), |p| {
            let now = p.now;
            let c = p.client_conn(h);
            super::write_pending(c, id, &data, &mut written);
            let s = p.server_conn().unwrap();
            while let Ok(r) = s.read(now, id, &mut buf) {
                received.extend_from_slice(&buf[..r.len]);
                fin |= r.fin;
                if r.len == 0 || r.fin {
                    break;
                }
            }
            fin
        });
        assert!(
            done && received == data,
            "seed {seed}: resumed transfer incomplete: written {written}, received {}, client {}, server {}",
            received.len(),
            pair.client_conn(h).debug_timers(),
            pair.server_conn().unwrap().debug_timers()
        );
        pair.now - stalled_at
    });
}

#[test]
fn sim_idle_timeout() {
    over_seeds("sim_idle_timeout", 20, |seed| {
        let mut cfg = PairConfig::new(seed, LinkConfig::default());
        cfg.client.transport.max_idle_timeout = crate::VarInt::from_u32(2_000);
        cfg.server.transport.max_idle_timeout = crate::VarInt::from_u32(5_000);
        let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(10));
        assert!(ok);
        let start = pair.now;
        // Nothing to send: both sides time out after the smaller timeout (2 s), silently.
        let closed = pair.run_until(Duration::from_secs(30), |p| {
            p.client_conn(h).is_drained() && p.server_conn().is_some_and(|s| s.is_drained())
        });
        assert!(closed, "seed {seed}: idle connections were not closed");
        assert_eq!(
            pair.client_conn(h).error(),
            Some(&crate::conn::ConnectionError::TimedOut)
        );
        let elapsed = pair.now - start;
        assert!(
            elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
        elapsed
    });
}

#[test]
fn sim_keep_alive_prevents_idle_timeout() {
    let mut cfg = PairConfig::new(1, LinkConfig::default());
    cfg.client.transport.max_idle_timeout = crate::VarInt::from_u32(2_000);
    cfg.client.keep_alive = Some(Duration::from_millis(500));
    let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(10));
    assert!(ok);
    pair.run_until(Duration::from_secs(20), |_| false);
    assert!(!pair.client_conn(h).is_closed());
    assert!(!pair.server_conn().unwrap().is_closed());
}

#[test]
fn sim_close_draining() {
    over_seeds("sim_close_draining", 20, |seed| {
        let cfg = PairConfig::new(seed, LinkConfig::default());
        let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(10));
        assert!(ok);
        let start = pair.now;
        let now = pair.now;
        pair.client_conn(h)
            .close(now, crate::VarInt::from_u32(42), b"bye");
        let closed = pair.run_until(Duration::from_secs(30), |p| {
            p.client_conn(h).is_drained() && p.server_conn().is_some_and(|s| s.is_drained())
        });
        assert!(closed, "seed {seed}");
        let expected = crate::conn::CloseCode::Application {
            code: 42,
            reason: "bye".into(),
        };
        let server = pair.server_conn().unwrap();
        assert_eq!(
            server.error(),
            Some(&crate::conn::ConnectionError::Peer(expected))
        );
        // Draining and closing last three PTOs, not zero (RFC 9000 §10.2).
        let elapsed = pair.now - start;
        assert!(elapsed > Duration::from_millis(50), "{elapsed:?}");
        elapsed
    });
}

#[test]
fn sim_amplification_limit() {
    over_seeds("sim_amplification_limit", 20, |seed| {
        // The client's packets after its first flight are lost for a while, so the server
        // has to stop at three times what it received.
        let link = LinkConfig {
            loss: 0.2,
            ..LinkConfig::default()
        };
        let mut cfg = PairConfig::new(seed, link);
        cfg.c2s.blackhole = Some((
            crate::Timestamp::ZERO + Duration::from_millis(1),
            crate::Timestamp::ZERO + Duration::from_secs(3),
        ));
        // A server with a large first flight: a long transport-parameter extension.
        cfg.server.transport.max_datagram_frame_size = Some(crate::VarInt::from_u32(65535));
        // Measures the handshake however long it takes, past the handshake timeout.
        cfg.server.handshake_timeout = None;
        let (pair, _, ok) = handshake(&cfg, Duration::from_secs(120));
        assert!(ok, "seed {seed}");
        assert_eq!(
            pair.amplification_violation, None,
            "seed {seed}: (received, sent)"
        );
        pair.now.as_duration()
    });
}

/// RFC 9000 §8.1.3: the server gives a NEW_TOKEN after the handshake; a later connection
/// from the same address presenting it is validated by its first Initial, so the server is
/// not held to three times what it received. A changed token changes nothing but that.
#[test]
fn sim_new_token_validates_the_next_connection() {
    let cfg = PairConfig::new(5, LinkConfig::default());
    let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(5));
    assert!(ok);
    let mut token = None;
    pair.run_until(Duration::from_secs(2), |p| {
        while let Some(e) = p.client_conn(h).poll_event() {
            if let Event::NewToken(t) = e {
                token = Some(t);
            }
        }
        token.is_some()
    });
    let token = token.expect("the server sent NEW_TOKEN");
    assert_eq!(token.len(), crate::token::TOKEN_LEN);
    let mut bad = token.clone();
    bad[3] ^= 0x20;
    for (presented, validated) in [(None, false), (Some(bad), false), (Some(token), true)] {
        let before = pair.server.handles().len();
        let driver = Box::new(crate::conn::FixedSecretDriver::new(
            crate::Side::Client,
            cfg.suite,
        ));
        let now = pair.now;
        let addr = pair.server_addr;
        let h2 = pair
            .client
            .connect(now, addr, cfg.client.clone(), driver)
            .unwrap();
        if let Some(t) = presented.clone() {
            pair.client_conn(h2).set_initial_token(t);
        }
        // The moment the server has the new connection, before any Handshake packet.
        assert!(
            pair.run_until(Duration::from_secs(2), |p| p.server.handles().len()
                > before)
        );
        let sh = *pair.server.handles().last().unwrap();
        assert_eq!(
            pair.server.connection(sh).unwrap().is_validated(),
            validated,
            "{presented:?}"
        );
        assert!(pair.run_until(Duration::from_secs(5), |p| p
            .client_conn(h2)
            .is_handshake_confirmed()));
    }
}

/// NAT rebinding (RFC 9000 §9.3): mid-transfer the client's address changes (its port, or
/// its IP address too). The server follows it, validates the new path with PATH_CHALLENGE
/// and reports the migration; every byte arrives.
#[test]
fn sim_nat_rebinding_mid_transfer() {
    for (seed, new_addr) in [(1, "10.0.0.1:5555"), (2, "10.0.0.9:4433")] {
        let link = LinkConfig {
            bandwidth: Some(12_500_000),
            ..LinkConfig::default()
        };
        let cfg = PairConfig::new(seed, link);
        let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(5));
        assert!(ok);
        let new_addr: std::net::SocketAddr = new_addr.parse().unwrap();
        let switch_at = pair.now + Duration::from_millis(100);
        let id = pair.client_conn(h).open_stream(crate::Dir::Bi).unwrap();
        let data = pattern(2 << 20, seed);
        let (mut written, mut received, mut fin) = (0, Vec::new(), false);
        let mut migrated = false;
        let mut buf = vec![0u8; 65536];
        let done = pair.run_until(Duration::from_secs(30), |p| {
            if p.now >= switch_at {
                p.client_addr = new_addr;
            }
            let now = p.now;
            let c = p.client_conn(h);
            super::write_pending(c, id, &data, &mut written);
            let s = p.server_conn().unwrap();
            while let Some(e) = s.poll_event() {
                migrated |= e == Event::PathMigrated { local: false };
            }
            while let Ok(r) = s.read(now, id, &mut buf) {
                received.extend_from_slice(&buf[..r.len]);
                fin |= r.fin;
                if r.len == 0 || r.fin {
                    break;
                }
            }
            fin && migrated
        });
        let s = pair.server_conn().unwrap();
        assert!(
            done,
            "seed {seed}: fin {fin}, migrated {migrated}, {} bytes",
            received.len()
        );
        assert!(received == data, "seed {seed}: data differs");
        assert_eq!(s.remote_address(), new_addr);
        assert!(s.is_validated());
    }
}

/// ACK_FREQUENCY between two quicsock endpoints: the sender asks the receiver (which
/// advertised min_ack_delay) for an ACK every few packets, and a 8 MiB transfer over a
/// 1 Gbit/s, 10 ms path costs the receiver under a third of the packets it sends under RFC
/// 9000's every-second-packet rule, in no more virtual time.
#[test]
fn ack_frequency_cuts_the_acks_of_a_bulk_transfer() {
    let link = LinkConfig {
        delay: Duration::from_millis(5),
        bandwidth: Some(125_000_000),
        queue: 1 << 20,
        ..LinkConfig::default()
    };
    let run = |on: bool| {
        let mut cfg = PairConfig::new(21, link.clone());
        cfg.client.ack_frequency = on;
        let (mut pair, h, took) =
            transfer_pair(&cfg, &pattern(8 << 20, 21), Duration::from_secs(60));
        let s = pair.server_conn().expect("server").stats();
        let _ = h;
        (s.packets_sent, took)
    };
    let ((off, off_took), (on, on_took)) = (run(false), run(true));
    println!(
        "receiver's packets: {off} without ACK_FREQUENCY, {on} with; {off_took:?} / {on_took:?}"
    );
    assert!(on * 3 < off, "{on} with, {off} without");
    assert!(
        on_took <= off_took + off_took / 10,
        "{on_took:?} / {off_took:?}"
    );
}

/// ECN on a path that carries it (RFC 9000 §13.4): the client's datagrams arrive marked
/// ECT(0), the server counts and acknowledges them in ACK_ECN frames, the client validates
/// the counts and keeps marking (capable). The server, which sends little, validates too.
#[test]
fn sim_ecn_is_validated_on_a_path_that_carries_it() {
    let cfg = PairConfig::new(11, LinkConfig::default());
    let data = pattern(1 << 20, 11);
    let (mut pair, h, _) = transfer_pair(&cfg, &data, Duration::from_secs(30));
    let c = pair.client_conn(h).stats();
    let s = pair.server_conn().unwrap().stats();
    assert_eq!(c.ecn, crate::conn::EcnState::Capable, "{c:?}");
    // Every packet the client sent once the handshake was confirmed was in a marked
    // datagram (the handshake's few before it are not marked, nor are PMTU probes).
    let probes = u64::from(c.pmtu_probes[1]);
    assert!(
        s.packets_received - s.ecn_received[0] <= 8 + probes,
        "{s:?}"
    );
    assert!(
        s.ecn_received[0] as usize * c.max_datagram_size > data.len(),
        "{s:?}"
    );
    assert_eq!((s.ecn_received[1], s.ecn_received[2]), (0, 0));
    assert_eq!(c.ecn_ce_events, 0);
}

/// A path that bleaches the ECN field: the peer's ACKs carry no counts for packets we
/// marked, validation fails and marking stops after the testing period (RFC 9000
/// §13.4.2.1); the transfer is not affected.
#[test]
fn sim_ecn_fails_validation_on_a_bleaching_path() {
    let mut cfg = PairConfig::new(12, LinkConfig::default());
    cfg.c2s.ecn = super::LinkEcn::Bleach;
    let data = pattern(1 << 20, 12);
    let (mut pair, h, _) = transfer_pair(&cfg, &data, Duration::from_secs(30));
    let c = pair.client_conn(h).stats();
    let s = pair.server_conn().unwrap().stats();
    assert_eq!(c.ecn, crate::conn::EcnState::Failed, "{c:?}");
    assert_eq!(s.ecn_received, [0, 0, 0]);
}

/// A congested router that marks CE (RFC 9002 §7.1): the receiver counts CE, the sender
/// takes each growth of the count as a congestion event and its window shrinks, with no
/// packet lost.
#[test]
fn sim_ecn_ce_marks_are_congestion_without_loss() {
    let run = |ecn| {
        let mut cfg = PairConfig::new(13, LinkConfig::default());
        cfg.c2s.ecn = ecn;
        let data = pattern(4 << 20, 13);
        let (mut pair, h, took) = transfer_pair(&cfg, &data, Duration::from_secs(60));
        let ce = pair.c2s_stats().ce_marked;
        let c = pair.client_conn(h).stats();
        let s = pair.server_conn().unwrap().stats();
        (c, s, ce, took)
    };
    let (c, s, ce, _) = run(super::LinkEcn::MarkCe(0.01));
    assert!(ce > 0);
    assert_eq!(s.ecn_received[2], ce, "every CE mark counted");
    assert_eq!(c.ecn, crate::conn::EcnState::Capable, "{c:?}");
    assert!(c.ecn_ce_events > 0, "{c:?}");
    assert_eq!(c.packets_lost, 0, "{c:?}");
    let (clean, ..) = run(super::LinkEcn::Pass);
    assert_eq!(clean.ecn_ce_events, 0);
    assert!(
        c.congestion_window < clean.congestion_window,
        "CE: {} bytes, clean: {}",
        c.congestion_window,
        clean.congestion_window
    );
}

/// With ECN off in the configuration nothing is marked, and what the peer marks is still
/// counted and acknowledged.
#[test]
fn sim_ecn_off_marks_nothing() {
    let mut cfg = PairConfig::new(14, LinkConfig::default());
    cfg.client.ecn = false;
    let data = pattern(256 << 10, 14);
    let (mut pair, h, _) = transfer_pair(&cfg, &data, Duration::from_secs(30));
    let c = pair.client_conn(h).stats();
    let s = pair.server_conn().unwrap().stats();
    assert_eq!(c.ecn, crate::conn::EcnState::Failed);
    assert_eq!(s.ecn_received, [0, 0, 0]);
    assert!(c.ecn_received[0] > 0, "the server marks: {c:?}");
    assert_eq!(s.ecn, crate::conn::EcnState::Capable, "{s:?}");
}
