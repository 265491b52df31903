//! The TLS handshake of Linux QUIC programs, both ends in C, in every way libquic offers:
//! rustls with certificates (`quic_client_handshake` / `quic_server_handshake`), the
//! program's own GnuTLS session with certificates (`quic_handshake`, and the
//! event-loop `quic_handshake_init` / `quic_handshake_step` on a non-blocking socket),
//! and GnuTLS with a pre-shared key file; a GnuTLS client resumes its session with
//! `quic_session_get_data` / `quic_session_set_data` against a server whose tickets the
//! SESSION_TICKET key seals. rustls and GnuTLS also meet each other across
//! the socket: any TLS library drives the handshake. (The fourth way, fixed secrets set
//! from C through CRYPTO_SECRET, is `c_conformance`.)

mod common;

use std::time::Duration;

use common::{assert_ok, cert_files, command, compile_with, psk_file, run, Link, Server};

fn handshake(server_mode: &str, client_mode: &str) -> String {
    let exe = compile_with("gnutls_test", Link::Libquic, &["-lgnutls"]);
    let (cert, key) = cert_files();
    let psk = psk_file();
    let mut s = command(&exe, Link::Libquic);
    s.args(["server", "127.0.0.1", server_mode])
        .arg(&cert)
        .arg(&key)
        .arg(&psk);
    let server = Server::start(s);
    let mut c = command(&exe, Link::Libquic);
    c.args(["client", "127.0.0.1", &server.port.to_string(), client_mode])
        .arg(&psk);
    let client = run(c, Duration::from_secs(20));
    let server = server.finish(Duration::from_secs(20));
    assert_ok(
        &format!("a {server_mode} server with a {client_mode} client"),
        &[&client, &server],
    );
    let out = String::from_utf8_lossy(&client.stdout).into_owned();
    assert!(out.contains("client got \"pong\""), "{out}");
    out
}

#[test]
fn c_handshake_gnutls_resumes_with_quic_session_get_and_set_data() {
    let out = handshake("resume", "resume");
    assert!(out.contains("first full, second resumed"), "{out}");
}

#[test]
fn c_handshake_rustls_with_certificates() {
    handshake("rustls", "rustls");
}

#[test]
fn c_handshake_gnutls_with_certificates_blocking_client_stepwise_server() {
    handshake("gnutls", "gnutls");
}

/// AES-128-CCM, the suite rustls lacks: GnuTLS negotiates it and installs its secrets,
/// quicsock protects the packets with it.
#[test]
fn c_handshake_gnutls_with_aes_128_ccm() {
    let out = handshake("gnutls", "ccm");
    assert!(out.contains("cipher AES-128-CCM"), "{out}");
}

/// A client configured for version 123 (as Linux QUIC's selftest does), driving GnuTLS
/// step by step on a non-blocking socket: the transport probes, learns the server's
/// versions, and the handshake runs in v1.
#[test]
fn c_handshake_gnutls_stepwise_after_version_negotiation() {
    let out = handshake("gnutls", "vn");
    assert!(out.contains("version 0x1"), "{out}");
}

#[test]
fn c_handshake_gnutls_with_a_pre_shared_key() {
    handshake("psk", "psk");
}

#[test]
fn c_handshake_gnutls_client_with_a_rustls_server() {
    handshake("rustls", "gnutls");
}

#[test]
fn c_handshake_rustls_client_with_a_gnutls_server() {
    handshake("gnutls", "rustls");
}
