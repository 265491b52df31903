//! Key update against quinn in the interop runner's sense (its `keyupdate` case): one
//! side updates its 1-RTT keys early in a transfer, the other follows, and both send
//! key-phase-1 packets while the data moves (RFC 9001 §6). Both roles: quicsock starts
//! the update as a client of a quinn server, and follows quinn's update as a server.

mod quinn_peer;

use quicsock::{EventType, Flags, QuicEvent};
use quinn_peer::*;

const LEN: usize = 4 << 20;

/// Starts a key update as soon as one is allowed, checking every millisecond, 5,000 times
/// at most.
fn update_when_allowed(c: &quicsock::QuicSocket, why: &str) {
    for _ in 0..5000 {
        if c.update_key().is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("{why}");
}

/// quicsock (client) updates right after its handshake is confirmed, then uploads; quinn
/// answers in the new phase, so the update completes and a second one is allowed.
#[test]
fn interop_quinn_server_follows_a_quicsock_key_update() {
    let rt = runtime();
    let (ep, addr) = rt.block_on(async { quinn_server() });
    let big = data(LEN, 3);
    let server = upload_server(&rt, ep, big.clone(), |_, got| {
        (got.len() as u64).to_le_bytes().to_vec()
    });
    let c = quicsock_client(addr);
    assert_eq!(c.key_phase(), Some(false));
    // The client's handshake is confirmed when HANDSHAKE_DONE arrives.
    update_when_allowed(&c, "the handshake was never confirmed");
    assert_eq!(c.key_phase(), Some(true));
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(&big, id, Flags::STREAM_FIN).unwrap();
    assert_eq!(read_stream(&c, id), (LEN as u64).to_le_bytes());
    assert_eq!(c.key_phase(), Some(true), "still in phase 1");
    // The update completes once quinn's phase-1 packets arrive and the old keys go (about
    // three PTOs later); then another may start.
    update_when_allowed(&c, "the first update never completed");
    assert_eq!(c.key_phase(), Some(false));
    c.abort(0, b"done");
    rt.block_on(server).unwrap();
}

/// quinn (client) forces a key update early in an upload; quicsock (server) reports the
/// peer's update as a KEY_UPDATE event with phase 1, answers in phase 1, and the data
/// arrives intact. A first exchange ("ready"/"go") makes sure the server listens for the
/// event and the client's handshake is confirmed before the update.
#[test]
fn interop_quicsock_server_follows_a_quinn_key_update() {
    let rt = runtime();
    let (listener, addr) = quicsock_server();
    let big = data(LEN, 4);
    let expected = big.clone();
    let server = std::thread::spawn(move || {
        let s = listener.accept().unwrap();
        s.set_event(EventType::KeyUpdate, true);
        assert_eq!(read_stream(&s, 0), b"ready");
        s.send(b"go", 0, Flags::STREAM_FIN).unwrap();
        let mut got = Vec::new();
        let mut event = None;
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            if flags.contains(Flags::NOTIFICATION) {
                event = Some(QuicEvent::from_bytes(&buf[..n]).expect("a known event"));
                continue;
            }
            assert_eq!(id, 4, "the upload's stream");
            got.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        assert!(got == expected, "the upload arrived intact");
        assert_eq!(event, Some(QuicEvent::KeyUpdate { phase: 1 }));
        assert_eq!(s.key_phase(), Some(true));
        s.send(&(got.len() as u64).to_le_bytes(), 4, Flags::STREAM_FIN)
            .unwrap();
        let mut buf = [0u8; 16];
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let _ = s.recv(&mut buf, Flags::NONE);
    });
    rt.block_on(async {
        let conn = quinn_client(addr).await;
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        send.write_all(b"ready").await.unwrap();
        send.finish().unwrap();
        assert_eq!(recv.read_to_end(16).await.unwrap(), b"go");
        // Early in the transfer: before its first byte.
        conn.force_key_update();
        upload_and_check_length(&conn, &big).await;
        conn.close(0u32.into(), b"done");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    });
    server.join().unwrap();
}
