//! The work of one connection's packets and timers does not grow with the number of
//! connections on the endpoint: counted in connection visits ([`Host::visits`]), not time.

use std::time::Duration;

use crate::endpoint::ConnectionHandle;
use crate::host::Host;
use crate::sim::{LinkConfig, Pair, PairConfig};
use crate::Dir;

/// Opens `n` connections in batches below the Retry threshold and runs until every one
/// is confirmed on both sides and the handshakes' acknowledgements have settled.
fn idle_pair(n: usize) -> (Pair, Vec<ConnectionHandle>) {
    let cfg = PairConfig::new(11, LinkConfig::default());
    let mut pair = Pair::new(&cfg);
    let mut handles = Vec::with_capacity(n);
    while handles.len() < n {
        let batch: Vec<_> = (0..(n - handles.len()).min(500))
            .map(|_| pair.connect(&cfg))
            .collect();
        let ok = pair.run_until(Duration::from_secs(10), |p| {
            batch
                .iter()
                .all(|h| p.client.get(*h).is_some_and(|c| c.is_handshake_confirmed()))
        });
        assert!(ok, "a batch of handshakes did not complete");
        handles.extend(batch);
    }
    // Delayed ACKs, HANDSHAKE_DONE and NEW_CONNECTION_ID settle within a few RTTs.
    let until = pair.now + Duration::from_millis(500);
    pair.run_until(Duration::from_secs(1), |p| p.now >= until);
    assert_eq!(pair.server.connection_count(), n);
    (pair, handles)
}

fn visits(p: &Pair) -> u64 {
    p.client.visits() + p.server.visits()
}

/// Writes a 1 KiB request on a new stream of client connection `h` and runs until it is
/// acknowledged; returns the stream.
fn deliver_one_request(p: &mut Pair, h: ConnectionHandle) -> crate::StreamId {
    let id = {
        let c = p.client_conn(h);
        let id = c.open_stream(Dir::Bi).expect("stream");
        c.write(id, &[7u8; 1024], true).expect("write");
        id
    };
    let mut sent = false;
    let acked = p.run_until(Duration::from_secs(1), |p| {
        let in_flight = p.client.get(h).map_or(0, |c| c.bytes_in_flight());
        sent |= in_flight > 0;
        sent && in_flight == 0
    });
    assert!(acked, "the request was not acknowledged");
    id
}

/// Visits caused by one request on one connection, and by a quiet second, with `n`
/// connections open.
fn work_with(n: usize) -> (u64, u64) {
    let (mut p, handles) = idle_pair(n);
    let before = visits(&p);
    let until = p.now + Duration::from_secs(1);
    p.run_until(Duration::from_secs(2), |p| p.now >= until);
    let quiet = visits(&p) - before;
    let before = visits(&p);
    let h = handles[n / 2];
    let id = deliver_one_request(&mut p, h);
    let request = visits(&p) - before;
    // It arrived: exactly one server connection has it to read.
    let readers = p
        .server
        .handles()
        .into_iter()
        .filter(|s| {
            p.server
                .connection(*s)
                .is_some_and(|c| c.streams().has_readable(id))
        })
        .count();
    assert_eq!(readers, 1);
    (request, quiet)
}

/// With 10,000 idle connections, one connection's request and its acknowledgement cost
/// the same bounded number of connection visits as with 10, and a quiet second costs none.
#[test]
fn work_per_event_does_not_grow_with_connections() {
    let (few, few_quiet) = work_with(10);
    let (many, many_quiet) = work_with(10_000);
    println!("visits for one request: {few} with 10 connections, {many} with 10,000");
    assert_eq!(few_quiet, 0);
    assert_eq!(many_quiet, 0);
    // A request, its ACK and a delayed ACK: a few calls on each side.
    assert!(many <= 48, "{many} visits for one request");
    assert_eq!(many, few);
}

/// The connection's own struct stays small (keys, buffers and tables live in allocations
/// that idle connections give back): part of the idle-connection budget of DESIGN.md.
#[test]
fn connection_struct_is_small() {
    let size = std::mem::size_of::<crate::conn::Connection>();
    println!("Connection: {size} bytes");
    assert!(size <= 5 * 1024, "Connection is {size} bytes");
}

/// A sharded endpoint's connection IDs all start with its shard: the handshake ID, every
/// NEW_CONNECTION_ID, and the ID of a Retry.
#[test]
fn issued_connection_ids_carry_the_shard() {
    use crate::endpoint::EndpointConfig;
    use crate::rng::SeededRandom;
    for validate in [false, true] {
        let cfg = PairConfig::new(5, LinkConfig::default());
        let mut pair = Pair::new(&cfg);
        let mut server = cfg.server_config();
        server.validate_address = validate;
        pair.server = Host::new(
            EndpointConfig {
                server: Some(server),
                cid_prefix: Some(0xa7),
                ..EndpointConfig::default()
            },
            Box::new(SeededRandom::new(9)),
        );
        let h = pair.connect(&cfg);
        let ok = pair.run_until(Duration::from_secs(5), |p| {
            p.client.get(h).is_some_and(|c| c.is_handshake_confirmed())
        });
        assert!(ok);
        let until = pair.now + Duration::from_millis(300);
        pair.run_until(Duration::from_secs(1), |p| p.now >= until);
        let sh = pair.server.handles()[0];
        let odcid = pair.server.get(sh).unwrap().original_dcid();
        let ours: Vec<_> = pair
            .server
            .endpoint()
            .connection_ids(sh)
            .iter()
            .filter(|c| **c != odcid)
            .copied()
            .collect();
        assert!(
            ours.len() >= 2,
            "the handshake ID and NEW_CONNECTION_IDs: {ours:?}"
        );
        assert!(ours.iter().all(|c| c.as_ref()[0] == 0xa7), "{ours:?}");
    }
}
