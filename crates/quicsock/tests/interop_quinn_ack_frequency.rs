//! The ACK frequency extension (draft-ietf-quic-ack-frequency) with quinn, an independent
//! implementation, both ways: quinn asks a quicsock server for fewer ACKs and the server
//! follows its request, and a quicsock client asks a quinn server, which accepts it (quinn
//! advertises min_ack_delay and closes the connection on a malformed or forbidden request).
//! The uploads arrive intact.

// The relay reads the clock; only the protocol core may not.
#![allow(clippy::disallowed_methods)]

mod quinn_peer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quicsock::{tls, ClientConfig, Flags, QuicSocket};
use quinn::crypto::rustls::QuicClientConfig;
use quinn_peer::{data, quicsock_server, quinn_server, runtime, ALPN, TEN_MB};

/// What the client uploads through the delaying relay.
const UPLOAD: usize = 4_000_000;

/// quinn asks for an ACK every 16 ack-eliciting packets within 5 ms; the quicsock server's
/// stats show that policy in force once the upload arrived.
#[test]
fn interop_quinn_asks_quicsock_for_fewer_acks() {
    let (listener, addr) = quicsock_server();
    let server = std::thread::spawn(move || {
        let s = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let got = quinn_peer::read_stream(&s, 0);
        assert!(got == data(TEN_MB, 4), "10 MB arrived intact");
        let got = got.len();
        let stats = s.stats();
        s.send(&(got as u64).to_le_bytes(), 0, Flags::STREAM_FIN)
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = s.recv(&mut buf, Flags::NONE);
        (got, stats)
    });
    runtime().block_on(async {
        let tls = tls::insecure_client_config(&[ALPN]);
        let crypto = QuicClientConfig::try_from((*tls).clone()).unwrap();
        let mut ack = quinn::AckFrequencyConfig::default();
        ack.ack_eliciting_threshold(15u32.into())
            .max_ack_delay(Some(Duration::from_millis(5)));
        let mut transport = quinn::TransportConfig::default();
        transport.ack_frequency_config(Some(ack));
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        config.transport_config(Arc::new(transport));
        let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        ep.set_default_client_config(config);
        let conn = ep.connect(addr, "localhost").unwrap().await.unwrap();
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        send.write_all(&data(TEN_MB, 4)).await.unwrap();
        send.finish().unwrap();
        let len = recv.read_to_end(16).await.unwrap();
        assert_eq!(len, (TEN_MB as u64).to_le_bytes());
        conn.close(0u32.into(), b"done");
        ep.wait_idle().await;
    });
    let (got, stats) = server.join().unwrap();
    assert_eq!(got, TEN_MB);
    println!("quicsock server: {stats:?}");
    assert_eq!(stats.ack_threshold, 15, "{stats:?}");
    assert_eq!(stats.ack_delay_limit, Duration::from_millis(5), "{stats:?}");
}

/// A UDP relay between a client and `server` that holds every datagram for `delay` each
/// way (a path with an RTT of twice that); returns the address clients use. It runs until
/// the process ends.
fn delaying_relay(server: SocketAddr, delay: Duration) -> SocketAddr {
    use std::net::UdpSocket;
    use std::sync::mpsc;
    use std::time::Instant;
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let up = UdpSocket::bind("127.0.0.1:0").unwrap();
    up.connect(server).unwrap();
    let addr = front.local_addr().unwrap();
    let client = Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    // Each direction: a reader stamping datagrams, a writer sending each when due (one
    // delay for all, so order is kept).
    let spawn_pair = |rx: UdpSocket, tx: UdpSocket, to_client: bool| {
        let (queue, due) = mpsc::channel::<(Instant, Vec<u8>)>();
        let client_in = client.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = rx.recv_from(&mut buf) {
                if !to_client {
                    *client_in.lock().unwrap() = Some(from);
                }
                let _ = queue.send((Instant::now() + delay, buf[..n].to_vec()));
            }
        });
        let client_out = client.clone();
        std::thread::spawn(move || {
            for (at, d) in due {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                if to_client {
                    if let Some(c) = *client_out.lock().unwrap() {
                        let _ = tx.send_to(&d, c);
                    }
                } else {
                    let _ = tx.send(&d);
                }
            }
        });
    };
    spawn_pair(front.try_clone().unwrap(), up.try_clone().unwrap(), false);
    spawn_pair(up, front, true);
    addr
}

/// A quicsock client uploading to quinn over a 10 ms path (a quarter of the RTT is more
/// than quinn's min_ack_delay) asks it for fewer ACKs; quinn takes the request (the upload
/// completes and the connection closes with the client's code).
#[test]
fn interop_quicsock_asks_quinn_for_fewer_acks() {
    let rt = runtime();
    let (ep, server_addr) = rt.block_on(async { quinn_server() });
    let addr = delaying_relay(server_addr, Duration::from_millis(5));
    let server = rt.spawn(async move {
        let conn = ep.accept().await.unwrap().await.unwrap();
        let (mut send, mut recv) = conn.accept_bi().await.unwrap();
        let got = recv.read_to_end(UPLOAD + 1).await.unwrap();
        assert!(got == data(UPLOAD, 5), "the upload arrived intact");
        send.write_all(&(got.len() as u64).to_le_bytes())
            .await
            .unwrap();
        send.finish().unwrap();
        conn.closed().await
    });
    let config = ClientConfig::new(tls::insecure_client_config(&[ALPN]), "localhost");
    let c = QuicSocket::connect(addr, &config).unwrap();
    assert_eq!(
        c.send(&data(UPLOAD, 5), -1, Flags::STREAM_FIN).unwrap(),
        UPLOAD
    );
    let mut buf = [0u8; 16];
    let mut len = Vec::new();
    loop {
        let (n, _, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
        len.extend_from_slice(&buf[..n]);
        if flags.contains(Flags::STREAM_FIN) {
            break;
        }
    }
    assert_eq!(len, (UPLOAD as u64).to_le_bytes());
    let stats = c.stats();
    println!("quicsock client: {stats:?}");
    // The first request always asks for more than RFC 9000's threshold of 1 (nothing is
    // sent while that is what the window calls for); later ones follow the window.
    let asked = stats
        .ack_threshold_requested
        .expect("an ACK_FREQUENCY went out");
    assert!(asked <= 9, "{stats:?}");
    c.set_close_info(7, b"done").unwrap();
    c.close().unwrap();
    match rt.block_on(server).unwrap() {
        quinn::ConnectionError::ApplicationClosed(close) => {
            assert_eq!(close.error_code, 7u32.into());
        }
        other => panic!("quinn saw {other:?}, not the client's close"),
    }
}
