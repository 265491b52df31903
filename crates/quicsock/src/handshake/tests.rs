//! The rustls driver over the protocol core's deterministic simulator: real TLS 1.3
//! handshakes with X.509 certificates, every cipher suite, ALPN, SNI, client certificates,
//! and the TLS failures that must close the connection with CRYPTO_ERROR (RFC 9001 §4.8).

use std::sync::Arc;
use std::time::Duration;

use quicsock_proto::conn::{CloseCode, ConnectionError};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::endpoint::{ConnectionHandle, ServerConfig};
use quicsock_proto::sim::{LinkConfig, Pair, PairConfig};
use quicsock_proto::{Dir, TransportErrorCode};
use rustls::crypto::aws_lc_rs as provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;

use super::RustlsDriver;

/// A certificate authority and the certificates it signed for one test.
struct Pki {
    ca: CertificateDer<'static>,
    server: (CertificateDer<'static>, Vec<u8>),
    client: (CertificateDer<'static>, Vec<u8>),
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    // Each authority has a name of its own, so a chain never matches another's anchor.
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("quicsock test CA {serial}"),
    );
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (cert.der().clone(), key.serialize_der())
    };
    Pki {
        server: leaf("localhost"),
        client: leaf("client.test"),
        ca: ca.der().clone(),
    }
}

fn key(der: &[u8]) -> PrivateKeyDer<'static> {
    PrivatePkcs8KeyDer::from(der.to_vec()).into()
}

fn roots(ca: &CertificateDer<'static>) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    Arc::new(roots)
}

fn suites(only: Option<rustls::SupportedCipherSuite>) -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = provider::default_provider();
    if let Some(s) = only {
        p.cipher_suites = vec![s];
    }
    Arc::new(p)
}

struct Setup {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
    server_name: &'static str,
}

fn setup(pki: &Pki) -> Setup {
    let client = rustls::ClientConfig::builder_with_provider(suites(None))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(&pki.ca))
        .with_no_client_auth();
    let server = rustls::ServerConfig::builder_with_provider(suites(None))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server.0.clone()], key(&pki.server.1))
        .unwrap();
    let mut s = Setup {
        client: Arc::new(client),
        server: Arc::new(server),
        server_name: "localhost",
    };
    alpn(&mut s, &[b"hq-interop"], &[b"hq-interop"]);
    s
}

fn alpn(s: &mut Setup, client: &[&[u8]], server: &[&[u8]]) {
    Arc::make_mut(&mut s.client).alpn_protocols = client.iter().map(|a| a.to_vec()).collect();
    Arc::make_mut(&mut s.server).alpn_protocols = server.iter().map(|a| a.to_vec()).collect();
}

/// A pair whose two endpoints run rustls, and the client connection.
fn pair(s: &Setup, cfg: &PairConfig) -> (Pair, ConnectionHandle) {
    let server_tls = s.server.clone();
    let server = ServerConfig::new(
        cfg.server.clone(),
        Arc::new(move || Box::new(RustlsDriver::server(server_tls.clone()))),
    );
    let mut pair = Pair::with_server(cfg, server);
    let driver = RustlsDriver::client(s.client.clone(), s.server_name).unwrap();
    let now = pair.now;
    let addr = pair.server_addr;
    let h = pair
        .client
        .connect(now, addr, cfg.client.clone(), Box::new(driver))
        .unwrap();
    (pair, h)
}

/// Runs until both sides confirmed the handshake or one closed.
fn run_handshake(pair: &mut Pair, h: ConnectionHandle, limit: Duration) -> bool {
    pair.run_until(limit, |p| {
        let c = p.client_conn(h);
        let c = (c.is_handshake_confirmed(), c.is_closed());
        let s_done = p
            .server_conn()
            .map(|s| (s.is_handshake_confirmed(), s.is_closed()));
        (c.0 && s_done.is_some_and(|s| s.0)) || c.1 || s_done.is_some_and(|s| s.1)
    });
    pair.client_conn(h).is_handshake_confirmed()
        && pair
            .server_conn()
            .is_some_and(|s| s.is_handshake_confirmed())
}

/// Sends `len` bytes from the client on a bidirectional stream; the server echoes them.
fn echo(pair: &mut Pair, h: ConnectionHandle, len: usize) {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let id = pair.client_conn(h).open_stream(Dir::Bi).unwrap();
    let (mut written, mut echoed_written) = (0, 0);
    let (mut at_server, mut back) = (Vec::new(), Vec::new());
    let mut buf = vec![0; 65536];
    let done = pair.run_until(Duration::from_secs(60), |p| {
        let now = p.now;
        let c = p.client_conn(h);
        quicsock_proto::sim::write_pending(c, id, &data, &mut written);
        let s = p.server_conn().unwrap();
        while let Ok(r) = s.read(now, id, &mut buf) {
            at_server.extend_from_slice(&buf[..r.len]);
            if r.len == 0 {
                break;
            }
        }
        while echoed_written < at_server.len() {
            let fin = at_server.len() == data.len();
            match s.write(id, &at_server[echoed_written..], fin) {
                Ok(0) | Err(_) => break,
                Ok(n) => echoed_written += n,
            }
        }
        let c = p.client_conn(h);
        let mut fin = false;
        while let Ok(r) = c.read(now, id, &mut buf) {
            back.extend_from_slice(&buf[..r.len]);
            fin |= r.fin;
            if r.len == 0 || r.fin {
                break;
            }
        }
        fin
    });
    assert!(done, "echo incomplete: {} of {len} bytes back", back.len());
    assert!(back == data, "echoed data differs");
}

fn driver_of(pair: &mut Pair, h: Option<ConnectionHandle>) -> (Option<Vec<u8>>, Option<String>) {
    let conn = match h {
        Some(h) => pair.client_conn(h),
        None => pair.server_conn().unwrap(),
    };
    let d = conn.driver().unwrap();
    (
        d.alpn().map(<[u8]>::to_vec),
        d.server_name().map(str::to_owned),
    )
}

fn resumed_of(pair: &mut Pair, h: Option<ConnectionHandle>) -> Option<bool> {
    let conn = match h {
        Some(h) => pair.client_conn(h),
        None => pair.server_conn().unwrap(),
    };
    conn.driver().unwrap().is_resumed()
}

#[test]
fn rustls_handshake_alpn_sni_and_echo() {
    let pki = pki();
    let s = setup(&pki);
    let cfg = PairConfig::new(1, LinkConfig::default());
    let (mut pair, h) = pair(&s, &cfg);
    assert!(run_handshake(&mut pair, h, Duration::from_secs(5)));
    assert_eq!(
        driver_of(&mut pair, Some(h)).0.as_deref(),
        Some(&b"hq-interop"[..])
    );
    assert_eq!(
        driver_of(&mut pair, None),
        (Some(b"hq-interop".to_vec()), Some("localhost".to_owned()))
    );
    echo(&mut pair, h, 1 << 20);
    assert!(pair.amplification_violation.is_none());
}

#[test]
fn rustls_every_cipher_suite() {
    let pki = pki();
    for (suite, ours) in [
        (
            provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::Aes128GcmSha256,
        ),
        (
            provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::Aes256GcmSha384,
        ),
        (
            provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            CipherSuite::ChaCha20Poly1305Sha256,
        ),
    ] {
        let mut s = setup(&pki);
        // The client offers only this suite; the server offers all three.
        let client = rustls::ClientConfig::builder_with_provider(suites(Some(suite)))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots(&pki.ca))
            .with_no_client_auth();
        s.client = Arc::new(client);
        alpn(&mut s, &[b"hq-interop"], &[b"hq-interop"]);
        let cfg = PairConfig::new(2, LinkConfig::default());
        let (mut pair, h) = pair(&s, &cfg);
        let driver = RustlsDriver::client(s.client.clone(), "localhost").unwrap();
        assert_eq!(
            driver.cipher_suite(),
            None,
            "nothing negotiated before the handshake"
        );
        assert!(
            run_handshake(&mut pair, h, Duration::from_secs(5)),
            "{ours:?}"
        );
        echo(&mut pair, h, 200_000);
        // The suite the driver reports is the one the packets are protected with.
        let conn = pair.client_conn(h);
        assert_eq!(conn.one_rtt_suite(), Some(ours));
    }
}

/// The alert a connection closed with, as the CRYPTO_ERROR code.
fn closed_with(pair: &mut Pair, h: Option<ConnectionHandle>) -> Option<ConnectionError> {
    let conn = match h {
        Some(h) => pair.client_conn(h),
        None => pair.server_conn()?,
    };
    conn.error().cloned()
}

fn transport_code(e: &ConnectionError) -> Option<TransportErrorCode> {
    match e {
        ConnectionError::Local(c) | ConnectionError::Peer(c) => c.transport_code(),
        _ => None,
    }
}

#[test]
fn rustls_unknown_ca_closes_with_crypto_error_48() {
    let pki = pki();
    let other = self::pki();
    let mut s = setup(&pki);
    // The client trusts another authority.
    let client = rustls::ClientConfig::builder_with_provider(suites(None))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(&other.ca))
        .with_no_client_auth();
    s.client = Arc::new(client);
    alpn(&mut s, &[b"hq-interop"], &[b"hq-interop"]);
    let cfg = PairConfig::new(3, LinkConfig::default());
    let (mut pair, h) = pair(&s, &cfg);
    assert!(!run_handshake(&mut pair, h, Duration::from_secs(5)));
    pair.run_until(Duration::from_secs(1), |_| false);
    let client = closed_with(&mut pair, Some(h)).expect("client closed");
    assert!(matches!(client, ConnectionError::Local(_)), "{client:?}");
    assert_eq!(
        transport_code(&client),
        Some(TransportErrorCode::crypto(48))
    );
    let server = closed_with(&mut pair, None).expect("server closed");
    assert!(matches!(server, ConnectionError::Peer(_)), "{server:?}");
    assert_eq!(
        transport_code(&server),
        Some(TransportErrorCode::crypto(48))
    );
}

#[test]
fn rustls_wrong_server_name_closes_with_bad_certificate() {
    let pki = pki();
    let mut s = setup(&pki);
    s.server_name = "example.org";
    let cfg = PairConfig::new(4, LinkConfig::default());
    let (mut pair, h) = pair(&s, &cfg);
    assert!(!run_handshake(&mut pair, h, Duration::from_secs(5)));
    let client = closed_with(&mut pair, Some(h)).expect("client closed");
    // rustls reports a name mismatch with the bad_certificate alert (42).
    assert_eq!(
        transport_code(&client),
        Some(TransportErrorCode::crypto(42))
    );
}

#[test]
fn rustls_no_common_alpn_closes_with_no_application_protocol() {
    let pki = pki();
    let mut s = setup(&pki);
    alpn(&mut s, &[b"h3"], &[b"hq-interop", b"smb"]);
    let cfg = PairConfig::new(5, LinkConfig::default());
    let (mut pair, h) = pair(&s, &cfg);
    assert!(!run_handshake(&mut pair, h, Duration::from_secs(5)));
    pair.run_until(Duration::from_secs(1), |_| false);
    let server = closed_with(&mut pair, None).expect("server closed");
    assert_eq!(
        transport_code(&server),
        Some(TransportErrorCode::crypto(120))
    );
    let client = closed_with(&mut pair, Some(h)).expect("client closed");
    assert!(matches!(
        client,
        ConnectionError::Peer(CloseCode::Transport { .. })
    ));
    assert_eq!(
        transport_code(&client),
        Some(TransportErrorCode::crypto(120))
    );
}

fn client_auth_server(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots(&pki.ca), suites(None))
            .build()
            .unwrap();
    let mut server = rustls::ServerConfig::builder_with_provider(suites(None))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], key(&pki.server.1))
        .unwrap();
    server.alpn_protocols = vec![b"hq-interop".to_vec()];
    Arc::new(server)
}

#[test]
fn rustls_client_certificate_accepted() {
    let pki = pki();
    let mut s = setup(&pki);
    s.server = client_auth_server(&pki);
    let mut client = rustls::ClientConfig::builder_with_provider(suites(None))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(&pki.ca))
        .with_client_auth_cert(vec![pki.client.0.clone()], key(&pki.client.1))
        .unwrap();
    client.alpn_protocols = vec![b"hq-interop".to_vec()];
    s.client = Arc::new(client);
    let cfg = PairConfig::new(6, LinkConfig::default());
    let (mut pair, h) = pair(&s, &cfg);
    assert!(run_handshake(&mut pair, h, Duration::from_secs(5)));
    echo(&mut pair, h, 10_000);
}

#[test]
fn rustls_missing_client_certificate_closes_with_certificate_required() {
    let pki = pki();
    let mut s = setup(&pki);
    s.server = client_auth_server(&pki);
    let cfg = PairConfig::new(7, LinkConfig::default());
    let (mut pair, h) = pair(&s, &cfg);
    assert!(!run_handshake(&mut pair, h, Duration::from_secs(5)));
    pair.run_until(Duration::from_secs(1), |_| false);
    let server = closed_with(&mut pair, None).expect("server closed");
    // certificate_required (116), RFC 8446 §4.4.2.4.
    assert_eq!(
        transport_code(&server),
        Some(TransportErrorCode::crypto(116))
    );
    let client = closed_with(&mut pair, Some(h)).expect("client closed");
    assert_eq!(
        transport_code(&client),
        Some(TransportErrorCode::crypto(116))
    );
}

/// A second connection with the same client configuration resumes the session, and the
/// client still checks the server's fresh transport parameters, not the remembered ones.
#[test]
fn rustls_session_resumption() {
    let pki = pki();
    let s = setup(&pki);
    for (seed, resumed) in [(8, false), (9, true), (10, true)] {
        let cfg = PairConfig::new(seed, LinkConfig::default());
        let (mut pair, h) = pair(&s, &cfg);
        assert!(
            run_handshake(&mut pair, h, Duration::from_secs(5)),
            "seed {seed}"
        );
        // The server sends its ticket after the handshake; let it arrive.
        pair.run_until(Duration::from_millis(200), |_| false);
        echo(&mut pair, h, 1000);
        assert_eq!(resumed_of(&mut pair, Some(h)), Some(resumed), "seed {seed}");
        assert_eq!(resumed_of(&mut pair, None), Some(resumed), "seed {seed}");
    }
}

#[test]
fn rustls_bad_server_name_is_a_typed_error() {
    let pki = pki();
    let s = setup(&pki);
    let e = RustlsDriver::client(s.client.clone(), "not a name!").unwrap_err();
    assert!(e.to_string().contains("not a name!"), "{e}");
}

/// Real certificate chains make the server's first flight several packets long: under
/// loss with bursts every handshake still completes and the server never exceeds three
/// times what it received before validating the client's address.
#[test]
fn sim_rustls_handshake_loss_30pct() {
    let pki = pki();
    let s = setup(&pki);
    let mut times = Vec::new();
    for seed in 0..20 {
        let link = LinkConfig {
            loss: 0.3,
            burst: 3,
            ..LinkConfig::default()
        };
        let mut cfg = PairConfig::new(seed, link);
        for c in [&mut cfg.client, &mut cfg.server] {
            c.transport.max_idle_timeout = quicsock_proto::VarInt::from_u32(300_000);
            c.handshake_timeout = None;
        }
        let (mut pair, h) = pair(&s, &cfg);
        let ok = run_handshake(&mut pair, h, Duration::from_secs(300));
        let client_error = pair.client_conn(h).error().cloned();
        let server_error = pair.server_conn().and_then(|c| c.error().cloned());
        assert!(ok, "seed {seed}: {client_error:?} / {server_error:?}");
        assert_eq!(pair.amplification_violation, None, "seed {seed}");
        times.push(pair.now.as_duration());
    }
    times.sort();
    println!(
        "sim_rustls_handshake_loss_30pct: 20 seeds, median {:?}",
        times[10]
    );
}
