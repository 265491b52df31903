//! Active migration over the simulator (RFC 9000 §9.2): a client moves to a new address
//! mid-transfer and the server follows; a migration whose path carries nothing times out
//! and the client goes back.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Event, MigrationError};
use crate::sim::scenarios::{handshake, pattern, transfer_with};
use crate::sim::{LinkConfig, PairConfig};

fn link() -> LinkConfig {
    LinkConfig {
        bandwidth: Some(12_500_000),
        ..LinkConfig::default()
    }
}

#[test]
fn a_client_migrates_mid_transfer_and_the_server_follows() {
    let cfg = PairConfig::new(31, link());
    let new_addr: SocketAddr = "10.0.0.7:4433".parse().unwrap();
    let data = pattern(4 << 20, 31);
    let mut cid_before = None;
    let (mut pair, h, _) = transfer_with(&cfg, &data, Duration::from_secs(60), |p, got| {
        if cid_before.is_none() && got > 512 << 10 {
            let h = p.client.handles()[0];
            let now = p.now;
            let c = p.client.connection(h).unwrap();
            cid_before = Some(c.peer_connection_id());
            c.migrate(now).expect("the client can migrate");
            assert_eq!(c.migrate(now), Err(MigrationError::InProgress));
            p.client_addr = new_addr;
        }
    });
    let cid_before = cid_before.expect("migrated");
    let c = pair.client_conn(h);
    let mut events = Vec::new();
    while let Some(e) = c.poll_event() {
        events.push(e);
    }
    assert!(
        events.contains(&Event::PathMigrated { local: true }),
        "{events:?}"
    );
    assert_ne!(c.peer_connection_id(), cid_before, "a new connection ID");
    let s = pair.server_conn().unwrap();
    assert_eq!(s.remote_address(), new_addr);
    let mut events = Vec::new();
    while let Some(e) = s.poll_event() {
        events.push(e);
    }
    assert!(
        events.contains(&Event::PathMigrated { local: false }),
        "{events:?}"
    );
}

#[test]
fn a_migration_that_carries_nothing_fails_and_the_client_goes_back() {
    let cfg = PairConfig::new(32, link());
    let old_addr: SocketAddr = "10.0.0.1:4433".parse().unwrap();
    let data = pattern(2 << 20, 32);
    let mut moved = false;
    let mut failed = false;
    let (mut pair, h, _) = transfer_with(&cfg, &data, Duration::from_secs(120), |p, got| {
        let h = p.client.handles()[0];
        let now = p.now;
        if !moved && got > 256 << 10 {
            moved = true;
            p.client.connection(h).unwrap().migrate(now).unwrap();
            p.client_addr = "10.0.0.8:4433".parse().unwrap();
            // The new path drops everything for ten seconds.
            p.c2s_config().blackhole = Some((now, now + Duration::from_secs(10)));
        }
        if moved && !failed {
            let c = p.client.connection(h).unwrap();
            while let Some(e) = c.poll_event() {
                failed |= e == Event::MigrationFailed;
            }
            if failed {
                p.client_addr = old_addr;
                p.c2s_config().blackhole = None;
            }
        }
    });
    assert!(failed, "the validation timed out");
    let s = pair.server_conn().unwrap();
    assert_eq!(s.remote_address(), old_addr, "the server never moved");
    let _ = pair.client_conn(h);
}

#[test]
fn migration_needs_a_confirmed_client_with_a_spare_id() {
    let cfg = PairConfig::new(33, LinkConfig::default());
    let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(5));
    assert!(ok);
    let now = pair.now;
    assert_eq!(
        pair.server_conn().unwrap().migrate(now),
        Err(MigrationError::NotClient)
    );
    let c = pair.client_conn(h);
    // The server issues active_connection_id_limit - 1 = 3 spare IDs (the default limit 4).
    let spare = c.spare_connection_ids();
    assert!(spare >= 1, "{spare}");
}

/// The CONNECTION_ID option's calls (reference §1.4): switching to a higher peer ID,
/// retiring the peer's IDs below a number, and asking the peer to retire ours; the other
/// side sees it in the IDs it uses.
#[test]
fn connection_ids_are_switched_and_retired_on_request() {
    use super::ConnectionIdError;
    let cfg = PairConfig::new(34, LinkConfig::default());
    let (mut pair, h, ok) = handshake(&cfg, Duration::from_secs(5));
    assert!(ok);
    pair.run_until(Duration::from_millis(200), |_| false);
    let c = pair.client_conn(h);
    assert_eq!(c.connection_id_info(true).0, 0);
    assert_eq!(c.use_peer_connection_id(0), Err(ConnectionIdError::Invalid));
    assert_eq!(
        c.use_peer_connection_id(99),
        Err(ConnectionIdError::Invalid)
    );
    c.use_peer_connection_id(2).unwrap();
    assert_eq!(c.connection_id_info(true), (2, 1));
    c.retire_connection_ids(true, 3).unwrap();
    assert_eq!(c.connection_id_info(true), (3, 3));
    assert_eq!(
        c.retire_connection_ids(true, 99),
        Err(ConnectionIdError::Invalid)
    );
    // Ours: the server is asked to move off IDs 0 and 1.
    c.retire_connection_ids(false, 2).unwrap();
    assert_eq!(
        c.retire_connection_ids(false, 2),
        Err(ConnectionIdError::Invalid)
    );
    let id = c.open_stream(crate::Dir::Bi).unwrap();
    c.write(id, b"x", true).unwrap();
    pair.run_until(Duration::from_millis(500), |_| false);
    let (active, prior) = pair.client_conn(h).connection_id_info(false);
    assert!(
        active >= 2 && prior >= 2,
        "the server moved off and retired: {active} {prior}"
    );
    // The server now sends to an ID the client issued after the request.
    let s = pair.server_conn().unwrap();
    assert!(s.connection_id_info(true).0 >= 2);
}
