//! Interoperability with the quinn crate, an independent QUIC implementation: quicsock as
//! client against a quinn server and quinn as client against a quicsock server. Each
//! direction: the handshake, 10 MB on one stream compared byte for byte, 100 concurrent
//! bidirectional streams, datagrams both ways, and an application close code that the
//! other side observes.

mod quinn_peer;

use std::time::Duration;

use quicsock::proto::conn::{CloseCode, ConnectionError};
use quicsock::{tls, Error, Flags, QuicListener, QuicSocket, ServerConfig};
use quinn_peer::*;

/// The quicsock side of each exchange; the quinn side runs the mirror image.
mod quicsock_side {
    use super::*;

    /// Echoes every bidirectional stream the peer opens until `streams` ended.
    pub(super) fn echo_streams(s: &QuicSocket, streams: usize) {
        let mut buf = vec![0u8; 65536];
        let mut pending: std::collections::HashMap<i64, Vec<u8>> = Default::default();
        let mut done = 0;
        while done < streams {
            let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            let got = pending.entry(id).or_default();
            got.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                let msg = pending.remove(&id).unwrap();
                s.send(&msg, id, Flags::STREAM_FIN).unwrap();
                done += 1;
            }
        }
    }
}

#[test]
fn interop_quinn_client_to_quicsock_server() {
    let rt = runtime();
    let (listener, addr) = quicsock_server();
    let big = data(TEN_MB, 1);
    let expected = big.clone();
    let server = std::thread::spawn(move || {
        let s = listener.accept().unwrap();
        assert_eq!(s.alpn().as_deref(), Some(ALPN));
        // 10 MB on the client's first stream, answered with its length.
        let got = read_stream(&s, 0);
        assert!(got == expected, "10 MB arrived intact");
        s.send(&(got.len() as u64).to_le_bytes(), 0, Flags::STREAM_FIN)
            .unwrap();
        // 100 concurrent streams, echoed.
        quicsock_side::echo_streams(&s, 100);
        // Datagrams: echo three back.
        let mut buf = [0u8; 2048];
        for _ in 0..3 {
            let (n, _, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            assert!(flags.contains(Flags::DATAGRAM));
            s.send(&buf[..n], -1, Flags::DATAGRAM).unwrap();
        }
        // The client closes with code 42.
        s.set_read_timeout(Some(Duration::from_secs(10)));
        match s.recv(&mut buf, Flags::NONE) {
            Err(Error::Closed(ConnectionError::Peer(CloseCode::Application { code, reason }))) => {
                assert_eq!((code, reason.as_str()), (42, "bye from quinn"));
            }
            other => panic!("expected the client's close, got {other:?}"),
        }
    });
    rt.block_on(async {
        let conn = quinn_client(addr).await;
        upload_and_check_length(&conn, &big).await;

        let mut tasks = Vec::new();
        for i in 0..100u32 {
            let conn = conn.clone();
            tasks.push(tokio::spawn(async move {
                let (mut send, mut recv) = conn.open_bi().await.unwrap();
                let msg = data(1000 + i as usize * 37, i as u8);
                send.write_all(&msg).await.unwrap();
                send.finish().unwrap();
                let back = recv.read_to_end(1 << 20).await.unwrap();
                assert!(back == msg, "stream {i} echoed intact");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }

        for i in 0..3u8 {
            conn.send_datagram(vec![i; 100 + usize::from(i)].into())
                .unwrap();
            let back = tokio::time::timeout(Duration::from_secs(5), conn.read_datagram())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&back[..], &vec![i; 100 + usize::from(i)][..]);
        }
        conn.close(42u32.into(), b"bye from quinn");
        // Let the close go out before the runtime stops.
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    server.join().unwrap();
}

#[test]
fn interop_quinn_server_to_quicsock_client() {
    let rt = runtime();
    let (ep, addr) = rt.block_on(async { quinn_server() });
    let big = data(TEN_MB, 2);
    let expected = big.clone();
    let server = rt.spawn(async move {
        let conn = ep.accept().await.unwrap().await.unwrap();
        // The client's 10 MB, answered with its length.
        let (mut send, mut recv) = conn.accept_bi().await.unwrap();
        let got = recv.read_to_end(TEN_MB + 1).await.unwrap();
        assert!(got == expected, "10 MB arrived intact");
        send.write_all(&(got.len() as u64).to_le_bytes())
            .await
            .unwrap();
        send.finish().unwrap();
        // 100 concurrent streams, echoed.
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (mut send, mut recv) = conn.accept_bi().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let msg = recv.read_to_end(1 << 20).await.unwrap();
                send.write_all(&msg).await.unwrap();
                send.finish().unwrap();
                // Keep the stream until the client has the echo.
                let _ = send.stopped().await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Datagrams: echo three back.
        for _ in 0..3 {
            let d = conn.read_datagram().await.unwrap();
            conn.send_datagram(d).unwrap();
        }
        // The client closes with code 7.
        match conn.closed().await {
            quinn::ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.error_code, 7u32.into());
                assert_eq!(&close.reason[..], b"bye from quicsock");
            }
            other => panic!("expected the client's close, got {other:?}"),
        }
    });
    let c = quicsock_client(addr);
    assert_eq!(c.alpn().as_deref(), Some(ALPN));
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(&big, id, Flags::STREAM_FIN).unwrap();
    assert_eq!(read_stream(&c, id), (TEN_MB as u64).to_le_bytes());

    // 100 streams written before any is read back: all open at once.
    let mut ids = Vec::new();
    for i in 0..100u32 {
        let id = c.open_stream(Flags::NONE).unwrap();
        c.send(
            &data(1000 + i as usize * 37, i as u8),
            id,
            Flags::STREAM_FIN,
        )
        .unwrap();
        ids.push(id);
    }
    for (i, id) in ids.iter().enumerate() {
        assert!(
            read_stream(&c, *id) == data(1000 + i * 37, i as u8),
            "stream {id}"
        );
    }

    let mut buf = [0u8; 2048];
    for i in 0..3u8 {
        let msg = vec![i; 200 + usize::from(i)];
        c.send(&msg, -1, Flags::DATAGRAM).unwrap();
        let (n, _, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
        assert!(flags.contains(Flags::DATAGRAM));
        assert_eq!(&buf[..n], &msg[..]);
    }
    c.abort(7, b"bye from quicsock");
    rt.block_on(server).unwrap();
}

#[test]
fn interop_quinn_server_closes_and_quicsock_sees_the_code() {
    let rt = runtime();
    let (ep, addr) = rt.block_on(async { quinn_server() });
    let server = rt.spawn(async move {
        let conn = ep.accept().await.unwrap().await.unwrap();
        conn.close(99u32.into(), b"server done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    let c = quicsock_client(addr);
    let mut buf = [0u8; 16];
    c.set_read_timeout(Some(Duration::from_secs(10)));
    match c.recv(&mut buf, Flags::NONE) {
        Err(Error::Closed(ConnectionError::Peer(CloseCode::Application { code, reason }))) => {
            assert_eq!((code, reason.as_str()), (99, "server done"));
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
    rt.block_on(server).unwrap();
}

#[test]
fn interop_quinn_client_sees_quicsock_server_close_code() {
    let rt = runtime();
    let (listener, addr) = quicsock_server();
    let server = std::thread::spawn(move || {
        let s = listener.accept().unwrap();
        s.abort(1234, b"server says no");
        // Keep the socket (and its closing period) alive while the close travels.
        std::thread::sleep(Duration::from_millis(200));
    });
    rt.block_on(async {
        let conn = quinn_client(addr).await;
        match conn.closed().await {
            quinn::ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.error_code, 1234u32.into());
                assert_eq!(&close.reason[..], b"server says no");
            }
            other => panic!("expected the server's close, got {other:?}"),
        }
    });
    server.join().unwrap();
}

/// Forced Retry, quinn as the client: our server sends every client a Retry
/// (`validate_address`), and quinn, which checks the original and Retry connection IDs in
/// our transport parameters (RFC 9000 §7.3), completes the handshake and moves 1 MB.
#[test]
fn hostile_retry_round_trip_quinn_client() {
    let rt = runtime();
    let (chain, key) = cert();
    let mut config = ServerConfig::new(tls::server_config(chain, key, &[ALPN]).unwrap());
    config.transport = transport();
    config.validate_address = true;
    let listener = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = listener.local_addr().unwrap();
    let big = data(1 << 20, 3);
    let expected = big.clone();
    let server = std::thread::spawn(move || {
        let s = listener.accept().unwrap();
        let got = read_stream(&s, 0);
        assert!(got == expected, "1 MB arrived intact");
        s.send(&(got.len() as u64).to_le_bytes(), 0, Flags::STREAM_FIN)
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 16];
        assert!(matches!(
            s.recv(&mut buf, Flags::NONE),
            Err(Error::Closed(_))
        ));
    });
    rt.block_on(async {
        let conn = quinn_client(addr).await;
        upload_and_check_length(&conn, &big).await;
        conn.close(0u32.into(), b"");
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    server.join().unwrap();
}

/// Retry the other way: a quinn server that sends every client a Retry, and the quicsock
/// client follows it and gets in.
#[test]
fn interop_quinn_retrying_server_to_quicsock_client() {
    let rt = runtime();
    let (ep, addr) = rt.block_on(async { quinn_server() });
    let server = rt.spawn(async move {
        let first = ep.accept().await.unwrap();
        assert!(!first.remote_address_validated());
        first.retry().unwrap();
        let second = ep.accept().await.unwrap();
        assert!(
            second.remote_address_validated(),
            "the client came back with the token"
        );
        let conn = second.await.unwrap();
        let (mut send, mut recv) = conn.accept_bi().await.unwrap();
        let got = recv.read_to_end(1 << 16).await.unwrap();
        send.write_all(&got).await.unwrap();
        send.finish().unwrap();
        conn.closed().await;
    });
    let c = quicsock_client(addr);
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(b"after a Retry", id, Flags::STREAM_FIN).unwrap();
    assert_eq!(read_stream(&c, id), b"after a Retry");
    c.close().unwrap();
    rt.block_on(server).unwrap();
}
