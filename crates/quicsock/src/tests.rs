//! The socket API over real UDP on loopback, with real TLS.

use std::sync::Arc;
use std::time::Duration;

use crate::{tls, ClientConfig, Error, Flags, QuicListener, QuicSocket, ServerConfig};

fn server_config() -> ServerConfig {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let chain = vec![key.cert.der().clone()];
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    ServerConfig::new(tls::server_config(chain, der.into(), &[b"test"]).unwrap())
}

fn client_config() -> ClientConfig {
    ClientConfig::new(tls::insecure_client_config(&[b"test"]), "localhost")
}

fn listener() -> (QuicListener, std::net::SocketAddr) {
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &server_config()).unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[test]
fn connect_accept_echo_and_close() {
    let (l, addr) = listener();
    let server = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        assert_eq!(s.alpn().as_deref(), Some(&b"test"[..]));
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        loop {
            let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            assert_eq!(id, 0);
            got.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        // The client's stream is the active one: a plain send answers on it.
        s.send(&got, -1, Flags::STREAM_FIN).unwrap();
        s.close().unwrap();
    });
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(c.send(&data, -1, Flags::STREAM_FIN).unwrap(), data.len());
    let mut back = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, id, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
        assert_eq!(id, 0);
        back.extend_from_slice(&buf[..n]);
        if flags.contains(Flags::STREAM_FIN) {
            break;
        }
    }
    assert!(back == data);
    server.join().unwrap();
    // The server closed with code 0 after its data was acknowledged.
    c.set_read_timeout(Some(Duration::from_secs(5)));
    match c.recv(&mut buf, Flags::NONE) {
        Err(Error::Closed(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn nonblocking_recv_and_send_flag_errors() {
    let (l, addr) = listener();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(
        c.recv(&mut buf, Flags::DONTWAIT),
        Err(Error::WouldBlock)
    ));
    assert!(matches!(
        c.send(b"", -1, Flags::NONE),
        Err(Error::MessageSize(0))
    ));
    assert!(matches!(
        c.send(b"x", -1, Flags(0x4)),
        Err(Error::InvalidArgument(_))
    ));
    // Not open without STREAM_NEW; a server-initiated id cannot be opened by a client.
    assert!(matches!(
        c.send(b"x", 4, Flags::NONE),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.send(b"x", 1, Flags::STREAM_NEW),
        Err(Error::InvalidArgument(_))
    ));
    // STREAM_NEW on id 8 opens 0, 4 and 8.
    c.send(b"eight", 8, Flags::STREAM_NEW | Flags::STREAM_FIN)
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5)));
    let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(
        (&buf[..n], id, flags),
        (&b"eight"[..], 8, Flags::STREAM_FIN)
    );
    // Datagrams were not enabled by the peer.
    assert!(matches!(
        c.send(b"d", -1, Flags::DATAGRAM),
        Err(Error::Unsupported(_))
    ));
    drop(Arc::new(s));
}

#[test]
fn a_refused_handshake_is_a_typed_error() {
    let (_l, addr) = listener();
    let mut cfg = client_config();
    cfg.tls = tls::insecure_client_config(&[b"other"]);
    match QuicSocket::connect(addr, &cfg) {
        Err(Error::Handshake(e)) => {
            assert!(e.to_string().contains("no application protocol"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Nothing listens here: the handshake times out.
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut cfg = client_config();
    cfg.handshake_timeout = Duration::from_millis(300);
    match QuicSocket::connect(quiet.local_addr().unwrap(), &cfg) {
        Err(e @ Error::Handshake(_)) => assert_eq!(e.errno(), 110),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stream_handles_read_and_write_one_stream() {
    use std::io::{Read, Write};
    let (l, addr) = listener();
    let server = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let mut got = Vec::new();
        s.stream(0).read_to_end(&mut got).unwrap();
        let mut h = s.stream(0);
        h.write_all(&(got.len() as u64).to_le_bytes()).unwrap();
        h.finish().unwrap();
        s.close().unwrap();
        got
    });
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let id = c.open_stream(Flags::NONE).unwrap();
    assert_eq!(id, 0);
    let mut h = c.stream(id);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(65536) {
        h.write_all(chunk).unwrap();
    }
    h.finish().unwrap();
    let mut count = Vec::new();
    h.read_to_end(&mut count).unwrap();
    assert_eq!(count, (data.len() as u64).to_le_bytes());
    assert!(server.join().unwrap() == data);
}
