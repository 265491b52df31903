//! 0-RTT over the simulator with the fixed-secret driver: data written before the
//! handshake goes out in 0-RTT packets and reaches a server that accepts it before the
//! handshake completes; a server that rejects it gets it all in 1-RTT instead.

use std::sync::Arc;
use std::time::Duration;

use super::{Event, FixedSecretDriver, ZeroRttState};
use crate::endpoint::ServerConfig;
use crate::sim::{LinkConfig, Pair, PairConfig};
use crate::{Dir, Side};

/// A pair whose client resumes remembering `remembered` of the server, which accepts
/// early data or not.
fn resumed_pair(
    cfg: &PairConfig,
    accept: bool,
    remembered: crate::transport_params::TransportParameters,
) -> (Pair, crate::endpoint::ConnectionHandle) {
    let suite = cfg.suite;
    let server = ServerConfig::new(
        cfg.server.clone(),
        Arc::new(move || {
            let d = FixedSecretDriver::new(Side::Server, suite);
            Box::new(if accept { d.accepting_early_data() } else { d })
        }),
    );
    let mut pair = Pair::with_server(cfg, server);
    let mut bytes = Vec::new();
    remembered.encode(&mut bytes);
    let driver = FixedSecretDriver::new(Side::Client, suite).with_early_data(bytes);
    let h = pair
        .client
        .connect(
            pair.now,
            pair.server_addr,
            cfg.client.clone(),
            Box::new(driver),
        )
        .unwrap();
    (pair, h)
}

/// Runs a resumed connection whose client writes `data` before anything is sent and the
/// server accepts early data or not. Returns the pair, the client's handle, whether the
/// server held the data before its handshake completed, and the client's events.
fn early(accept: bool, data: &[u8]) -> (Pair, crate::endpoint::ConnectionHandle, bool, Vec<Event>) {
    // Jitter spreads the server's first flight and its acknowledgement of the 0-RTT
    // packets over separate arrivals, as the engine's handshake worker does.
    let link = LinkConfig {
        jitter: Duration::from_millis(3),
        ..LinkConfig::default()
    };
    let cfg = PairConfig::new(7, link);
    let (mut pair, h) = resumed_pair(&cfg, accept, cfg.server.transport.clone());
    let c = pair.client_conn(h);
    assert_eq!(c.zero_rtt(), ZeroRttState::Attempted);
    let id = c
        .open_stream(Dir::Bi)
        .expect("a stream within the remembered limits");
    let mut written = 0;
    crate::sim::write_pending(c, id, data, &mut written);
    assert_eq!(written, data.len(), "the remembered window takes it");
    let mut got = Vec::new();
    let mut before_handshake = false;
    let mut buf = vec![0u8; 65536];
    let mut fin = false;
    let done = pair.run_until(Duration::from_secs(10), |p| {
        let now = p.now;
        let client_done = p.client_conn(h).is_handshake_complete();
        let Some(s) = p.server_conn() else {
            return false;
        };
        let complete = s.is_handshake_complete();
        while let Ok(r) = s.read(now, id, &mut buf) {
            if r.len > 0 && !complete {
                before_handshake = true;
            }
            got.extend_from_slice(&buf[..r.len]);
            fin |= r.fin;
            if r.len == 0 {
                break;
            }
        }
        fin && client_done
    });
    assert!(done, "the stream's data and FIN arrived");
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    let mut events = Vec::new();
    while let Some(e) = pair.client_conn(h).poll_event() {
        events.push(e);
    }
    (pair, h, before_handshake, events)
}

#[test]
fn accepted_0rtt_data_arrives_before_the_handshake_completes() {
    let data: Vec<u8> = (0..6000u32).map(|i| i as u8).collect();
    let (mut pair, h, before, events) = early(true, &data);
    assert!(
        before,
        "the server read 0-RTT data before its handshake completed"
    );
    assert!(
        events.contains(&Event::ZeroRtt { accepted: true }),
        "{events:?}"
    );
    assert_eq!(pair.client_conn(h).zero_rtt(), ZeroRttState::Accepted);
    // The server's 1-RTT acknowledgement of the 0-RTT packets does not confirm the
    // client's handshake (which would drop its Handshake keys before its Finished
    // left): the server's handshake completes too.
    assert!(pair.run_until(Duration::from_secs(5), |p| p
        .server_conn()
        .is_some_and(|s| s.is_handshake_complete())));
    let s = pair.server_conn().unwrap();
    assert_eq!(s.zero_rtt(), ZeroRttState::Accepted);
    // Not sent again as a rejection would (jitter reorders, so a little may be).
    assert!(pair.client_conn(h).stats().stream_bytes_retransmitted < data.len() as u64);
}

#[test]
fn rejected_0rtt_data_is_sent_again_in_1rtt() {
    let data: Vec<u8> = (0..6000u32).map(|i| (i * 3) as u8).collect();
    let (mut pair, h, before, events) = early(false, &data);
    assert!(
        !before,
        "nothing before the handshake: the server dropped the 0-RTT packets"
    );
    assert!(events.contains(&Event::ZeroRtt { accepted: false }));
    let c = pair.client_conn(h);
    assert_eq!(c.zero_rtt(), ZeroRttState::Rejected);
    // Everything written went again, and no loss was counted as congestion.
    assert!(c.stats().stream_bytes_retransmitted >= data.len() as u64);
    assert_eq!(c.stats().packets_lost, 0);
    assert_eq!(pair.server_conn().unwrap().zero_rtt(), ZeroRttState::None);
}

/// RFC 9000 §7.4.1: a server that accepted 0-RTT must not lower a remembered limit; the
/// client closes with PROTOCOL_VIOLATION when it does.
#[test]
fn a_server_lowering_a_remembered_limit_is_a_protocol_violation() {
    let cfg = PairConfig::new(8, LinkConfig::default());
    let mut remembered = cfg.server.transport.clone();
    remembered.initial_max_data = crate::VarInt::from_u32(8 << 20);
    let (mut pair, h) = resumed_pair(&cfg, true, remembered);
    pair.run_until(Duration::from_secs(5), |p| p.client_conn(h).is_closed());
    let e = pair.client_conn(h).error().cloned();
    assert!(
        matches!(
            &e,
            Some(super::ConnectionError::Local(super::close::CloseCode::Transport { code, .. }))
                if *code == crate::TransportErrorCode::PROTOCOL_VIOLATION
        ),
        "{e:?}"
    );
}
