//! Active migration against quinn (RFC 9000 §9.2, the interop runner's migration
//! behaviour from the client's side): a quicsock client moves to another local address
//! in the middle of an upload; the quinn server follows it, and the data arrives intact.

mod quinn_peer;

use quicsock::{EventType, Flags, QuicEvent};
use quinn_peer::*;

const LEN: usize = 2 << 20;

#[test]
fn interop_quinn_server_follows_a_quicsock_migration() {
    let rt = runtime();
    let (ep, addr) = rt.block_on(async { quinn_server() });
    let big = data(LEN, 5);
    // The answer: where the client is now, as quinn sees it.
    let server = upload_server(&rt, ep, big.clone(), |conn, _| {
        conn.remote_address().to_string().into_bytes()
    });
    let c = quicsock_client(addr);
    c.set_event(EventType::ConnectionMigration, true);
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(&big[..LEN / 4], id, Flags::NONE).unwrap();
    // quinn's spare connection IDs come after the handshake is confirmed.
    let new_ip = std::net::IpAddr::from([127, 0, 0, 2]);
    let mut tries = 0;
    while let Err(e) = c.migrate(new_ip) {
        tries += 1;
        assert!(tries < 5000, "never allowed to migrate: {e}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    c.send(&big[LEN / 4..], id, Flags::STREAM_FIN).unwrap();
    let mut buf = [0u8; 256];
    let (n, sid, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!((sid, flags), (-1, Flags::NOTIFICATION | Flags::EOR));
    assert_eq!(
        QuicEvent::from_bytes(&buf[..n]),
        Some(QuicEvent::ConnectionMigration { local: 1 })
    );
    let seen = String::from_utf8(read_stream(&c, id)).unwrap();
    let local = c.local_addr().unwrap();
    assert_eq!(
        seen,
        std::net::SocketAddr::new(new_ip, local.port()).to_string()
    );
    c.abort(0, b"done");
    rt.block_on(server).unwrap();
}
