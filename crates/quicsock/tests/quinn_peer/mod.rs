//! What the quinn interoperability tests share: certificates, both sides' set-up, and the
//! exchanges each direction runs.

// Each test crate uses the part it needs.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use quicsock::proto::VarInt;
use quicsock::{tls, ClientConfig, Flags, QuicListener, QuicSocket, ServerConfig};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

pub(crate) const ALPN: &[u8] = b"interop";
pub(crate) const TEN_MB: usize = 10_000_000;

pub(crate) fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8 ^ seed)
        .collect()
}

pub(crate) fn cert() -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    (vec![key.cert.der().clone()], der.into())
}

/// Datagrams on, at the size quinn's default accepts.
pub(crate) fn transport() -> quicsock::TransportConfig {
    let mut t = quicsock::TransportConfig::default();
    t.transport.max_datagram_frame_size = Some(VarInt::from_u32(65535));
    t
}

pub(crate) fn quicsock_server() -> (QuicListener, SocketAddr) {
    let (chain, key) = cert();
    let mut config = ServerConfig::new(tls::server_config(chain, key, &[ALPN]).unwrap());
    config.transport = transport();
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

pub(crate) fn quicsock_client(addr: SocketAddr) -> QuicSocket {
    let mut config = ClientConfig::new(tls::insecure_client_config(&[ALPN]), "localhost");
    config.transport = transport();
    QuicSocket::connect(addr, &config).unwrap()
}

pub(crate) fn quinn_server() -> (quinn::Endpoint, SocketAddr) {
    let (chain, key) = cert();
    let tls = tls::server_config(chain, key, &[ALPN]).unwrap();
    let crypto = QuicServerConfig::try_from((*tls).clone()).unwrap();
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let ep = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = ep.local_addr().unwrap();
    (ep, addr)
}

pub(crate) async fn quinn_client(addr: SocketAddr) -> quinn::Connection {
    let tls = tls::insecure_client_config(&[ALPN]);
    let crypto = QuicClientConfig::try_from((*tls).clone()).unwrap();
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    ep.connect(addr, "localhost").unwrap().await.unwrap()
}

/// Sends `data` on a new stream and checks the peer answers with its length.
pub(crate) async fn upload_and_check_length(conn: &quinn::Connection, data: &[u8]) {
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(data).await.unwrap();
    send.finish().unwrap();
    let len = recv.read_to_end(16).await.unwrap();
    assert_eq!(len, (data.len() as u64).to_le_bytes());
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Reads one stream of a quicsock socket to its end.
pub(crate) fn read_stream(s: &QuicSocket, id: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, fin) = s.recv_stream(id, &mut buf, Flags::NONE).unwrap();
        out.extend_from_slice(&buf[..n]);
        if fin {
            return out;
        }
    }
}

/// A quinn server task for one upload: it accepts a connection and its bidirectional
/// stream, checks the bytes against `expected`, answers with what `reply` makes of the
/// connection and the upload, and waits for the client to close.
pub(crate) fn upload_server(
    rt: &tokio::runtime::Runtime,
    ep: quinn::Endpoint,
    expected: Vec<u8>,
    reply: impl FnOnce(&quinn::Connection, &[u8]) -> Vec<u8> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    rt.spawn(async move {
        let conn = ep.accept().await.unwrap().await.unwrap();
        let (mut send, mut recv) = conn.accept_bi().await.unwrap();
        let got = recv.read_to_end(expected.len() + 1).await.unwrap();
        assert!(got == expected, "the upload arrived intact");
        send.write_all(&reply(&conn, &got)).await.unwrap();
        send.finish().unwrap();
        let _ = conn.closed().await;
    })
}
