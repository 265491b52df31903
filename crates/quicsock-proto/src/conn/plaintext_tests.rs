//! disable_1rtt_encryption (0xbaad, reference/linux-quic.md §1.6): with both endpoints
//! sending it, 1-RTT packets leave without AEAD and header protection and carry data both
//! ways; with one alone, nothing changes.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::conn::{ConnectionConfig, FixedSecretDriver, KeyUpdateError};
use crate::crypto::CipherSuite;
use crate::endpoint::{EndpointConfig, ServerConfig};
use crate::host::Host;
use crate::rng::SeededRandom;
use crate::time::Timestamp;
use crate::{Dir, Side};

const MARK: &[u8] = b"plaintext-marker-0123456789";

fn config(off: bool) -> ConnectionConfig {
    let mut c = ConnectionConfig::default();
    c.transport.disable_1rtt_encryption = off;
    c
}

/// Runs a handshake and sends `MARK` each way; returns whether each side runs 1-RTT in the
/// clear, and whether `MARK` was seen on the wire in a short-header packet.
fn exchange(client_off: bool, server_off: bool) -> (bool, bool, bool) {
    let suite = CipherSuite::Aes128GcmSha256;
    let server_config = ServerConfig::new(
        config(server_off),
        Arc::new(move || Box::new(FixedSecretDriver::new(Side::Server, suite))),
    );
    let mut client = Host::new(EndpointConfig::default(), Box::new(SeededRandom::new(1)));
    let mut server = Host::new(
        EndpointConfig {
            server: Some(server_config),
            ..EndpointConfig::default()
        },
        Box::new(SeededRandom::new(2)),
    );
    let (caddr, saddr): (SocketAddr, SocketAddr) =
        ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
    let mut now = Timestamp::ZERO;
    let h = client
        .connect(
            now,
            saddr,
            config(client_off),
            Box::new(FixedSecretDriver::new(Side::Client, suite)),
        )
        .unwrap();
    let mut seen = false;
    let mut pump = |from: &mut Host, to: &mut Host, addr: SocketAddr, now: Timestamp| {
        let mut buf = Vec::new();
        while let Some((_, t)) = from.poll_transmit(now, &mut buf) {
            let d = &mut buf[..t.size];
            seen |= d[0] & 0x80 == 0 && d.windows(MARK.len()).any(|w| w == MARK);
            to.handle(now, addr, None, d);
            buf.clear();
        }
    };
    let mut sh = None;
    let mut sent = false;
    let mut got = (Vec::new(), Vec::new());
    for _ in 0..200 {
        pump(&mut client, &mut server, caddr, now);
        pump(&mut server, &mut client, saddr, now);
        if sh.is_none() {
            sh = server.accept();
        }
        let c = client.connection(h).unwrap();
        if c.is_handshake_confirmed() && !sent {
            let id = c.open_stream(Dir::Bi).unwrap();
            c.write(id, MARK, true).unwrap();
            sent = true;
        }
        if let Some(s) = sh.and_then(|sh| server.connection(sh)) {
            let mut out = [0u8; 64];
            while let Ok(r) = s.read(
                now,
                crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap(),
                &mut out,
            ) {
                if r.len == 0 {
                    break;
                }
                got.0.extend_from_slice(&out[..r.len]);
            }
            if got.0 == MARK && got.1.is_empty() {
                let id = crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap();
                s.write(id, MARK, true).unwrap();
                got.1.push(0);
            }
        }
        let c = client.connection(h).unwrap();
        let mut out = [0u8; 64];
        let id = crate::StreamId::new(Side::Client, Dir::Bi, 0).unwrap();
        while let Ok(r) = c.read(now, id, &mut out) {
            if r.len == 0 {
                break;
            }
            got.1.extend_from_slice(&out[..r.len]);
        }
        now += std::time::Duration::from_millis(1);
        client.handle_timeout(now);
        server.handle_timeout(now);
    }
    let mut back = vec![0];
    back.extend_from_slice(MARK);
    assert_eq!(got.0, MARK, "client to server");
    assert_eq!(got.1, back, "server to client");
    let c = client.connection(h).unwrap().is_1rtt_plaintext();
    let s = server.connection(sh.unwrap()).unwrap().is_1rtt_plaintext();
    (c, s, seen)
}

#[test]
fn both_sides_disable_1rtt_encryption_and_data_flows_in_the_clear() {
    assert_eq!(exchange(true, true), (true, true, true));
}

#[test]
fn one_side_alone_keeps_1rtt_encrypted() {
    assert_eq!(exchange(true, false), (false, false, false));
    assert_eq!(exchange(false, true), (false, false, false));
    assert_eq!(exchange(false, false), (false, false, false));
}

#[test]
fn a_plaintext_connection_has_no_key_to_update() {
    let mut cfg = crate::sim::PairConfig::new(3, crate::sim::LinkConfig::default());
    cfg.client = config(true);
    cfg.server = config(true);
    let mut pair = crate::sim::Pair::new(&cfg);
    let h = pair.connect(&cfg);
    assert!(pair.run_until(std::time::Duration::from_secs(5), |p| p
        .client_conn(h)
        .is_handshake_confirmed()));
    let now = pair.now;
    assert!(pair.client_conn(h).is_1rtt_plaintext());
    assert_eq!(
        pair.client_conn(h).initiate_key_update(now),
        Err(KeyUpdateError::Plaintext)
    );
}
