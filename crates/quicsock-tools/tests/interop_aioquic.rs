//! Interoperability with aioquic (PyPI), an independent QUIC implementation in Python:
//! `quic-client` downloading from an aioquic hq-interop server, and an aioquic client
//! downloading from `quic-server`; 1 MB and 10 MB files compared byte for byte, with the
//! default cipher suites and with ChaCha20-Poly1305 only.
//!
//! The peer is `interop/aioquic/hq.py`. Its Python comes from `QUICSOCK_INTEROP_PYTHON`
//! (set by `.ci/run`), or else from a virtual environment these tests make under `target/`
//! with the aioquic of `interop/aioquic/requirements.txt` from PyPI. A test fails, never skips, when the peer cannot be set up.

use std::process::Command;

mod common;
use common::aioquic::{python, workspace};
use common::hq::{free_port, Fixture, Server};

fn urls(port: u16) -> Vec<String> {
    ["1M.bin", "10M.bin"]
        .iter()
        .map(|f| format!("https://localhost:{port}/{f}"))
        .collect()
}

/// Which program serves.
const QUICSOCK: bool = true;
const AIOQUIC: bool = false;

/// How a pair of endpoints is asked to connect.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Mode {
    /// Default suites and versions.
    Default,
    /// TLS_CHACHA20_POLY1305_SHA256 only.
    Chacha20,
    /// The client starts in v1 and lists v2 first: the server switches it to v2 (RFC 9368).
    NegotiateV2,
    /// The first file on one connection, the other on a second that resumes the session.
    Resume,
    /// As `Resume`, with the second connection's request in 0-RTT, which the server
    /// accepts (RFC 9001 §4.6).
    ZeroRtt,
    /// quic-client updates its keys once the handshake is confirmed (RFC 9001 §6).
    KeyUpdate,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Default => "",
            Self::Chacha20 => "-chacha",
            Self::NegotiateV2 => "-v2",
            Self::Resume => "-resume",
            Self::ZeroRtt => "-0rtt",
            Self::KeyUpdate => "-keyupdate",
        }
    }

    /// The options the server takes for it: quic-server's or hq.py's.
    fn server_args(self, quicsock: bool) -> &'static [&'static str] {
        match self {
            Self::Chacha20 => &["--chacha20"],
            // quic-server accepts early data when told; aioquic's server always does.
            Self::ZeroRtt if quicsock => &["--early-data"],
            _ => &[],
        }
    }

    /// The options the client takes for it (quic-client and hq.py spell them alike).
    fn client_args(self) -> &'static [&'static str] {
        match self {
            Self::Default => &[],
            Self::Chacha20 => &["--chacha20"],
            Self::NegotiateV2 => &["--negotiate-v2"],
            Self::Resume => &["--resume"],
            Self::ZeroRtt => &["--zero-rtt"],
            Self::KeyUpdate => &["--key-update"],
        }
    }

    /// What the log of the side that names it says: the cipher suite (quicsock's side),
    /// the version the connection ended in (the client's), and how the second connection
    /// resumed (the client's, quic-client's words or hq.py's).
    fn check(self, quicsock_log: &str, client_log: &str, quicsock_client: bool) {
        let resumed = match (self, quicsock_client) {
            (Self::Resume, true) => &["resumed: true, 0-RTT: None"][..],
            (Self::ZeroRtt, true) => &["resumed: true, 0-RTT: Accepted"][..],
            (Self::Resume, false) => &["resumed True", "early data accepted False"][..],
            (Self::ZeroRtt, false) => &["resumed True", "early data accepted True"][..],
            _ => &[][..],
        };
        // With the default suites both sides prefer an AES-GCM suite.
        let suite = if self == Self::Chacha20 {
            "ChaCha20Poly1305Sha256"
        } else {
            "GcmSha"
        };
        let version = if self == Self::NegotiateV2 {
            "version v2"
        } else {
            "version v1"
        };
        let mut wanted = vec![(quicsock_log, suite), (client_log, version)];
        wanted.extend(resumed.iter().map(|w| (client_log, *w)));
        if self == Self::KeyUpdate {
            wanted.push((client_log, "key updated: phase Some(true)"));
        }
        for (log, want) in wanted {
            assert!(log.contains(want), "the log names {want:?}: {log}");
        }
    }
}

fn aioquic_client_downloads_from_quic_server(mode: Mode) {
    let fx = Fixture::new(&format!("c2q{}", mode.name()));
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quic-server"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--cert",
            &fx.path("chain.pem"),
            "--key",
            &fx.path("key.pem"),
            "--root",
            &fx.path("www"),
        ])
        .args(mode.server_args(QUICSOCK));
    let server = Server::start(cmd, true);
    let mut client = Command::new(python());
    client
        .arg(workspace().join("interop/aioquic/hq.py"))
        .args([
            "client",
            "--output",
            &fx.path("dl"),
            "--ca",
            &fx.path("ca.pem"),
        ])
        .args(mode.client_args())
        .args(urls(port));
    let out = client.output().unwrap();
    let log = server.stop();
    let client_log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "aioquic client: {client_log}");
    fx.check_downloads();
    mode.check(&log, &client_log, false);
}

fn quic_client_downloads_from_aioquic_server(mode: Mode) {
    let fx = Fixture::new(&format!("q2c{}", mode.name()));
    let port = free_port();
    let mut cmd = Command::new(python());
    cmd.arg(workspace().join("interop/aioquic/hq.py"))
        .args(["server", "--port", &port.to_string()])
        .args([
            "--cert",
            &fx.path("chain.pem"),
            "--key",
            &fx.path("key.pem"),
            "--root",
            &fx.path("www"),
        ])
        .args(mode.server_args(AIOQUIC));
    let server = Server::start(cmd, false);
    let mut client = Command::new(env!("CARGO_BIN_EXE_quic-client"));
    client
        .args(["--output", &fx.path("dl"), "--ca", &fx.path("ca.pem")])
        .args(mode.client_args())
        .args(urls(port));
    let out = client.output().unwrap();
    drop(server);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "quic-client: {log}");
    fx.check_downloads();
    mode.check(&log, &log, true);
}

#[test]
fn interop_aioquic_client_downloads_from_quic_server() {
    aioquic_client_downloads_from_quic_server(Mode::Default);
}

#[test]
fn interop_aioquic_client_downloads_from_quic_server_chacha20() {
    aioquic_client_downloads_from_quic_server(Mode::Chacha20);
}

/// RFC 9368 with quicsock as the server: the aioquic client starts in v1 and lists v2
/// first, quic-server switches the connection to v2.
#[test]
fn interop_aioquic_client_negotiates_v2_with_quic_server() {
    aioquic_client_downloads_from_quic_server(Mode::NegotiateV2);
}

/// Resumption and 0-RTT with quicsock as the server: the aioquic client resumes on its
/// second connection, and sends its request there in 0-RTT, which quic-server accepts.
#[test]
fn interop_aioquic_client_resumes_with_quic_server() {
    aioquic_client_downloads_from_quic_server(Mode::Resume);
}

#[test]
fn interop_aioquic_client_zero_rtt_with_quic_server() {
    aioquic_client_downloads_from_quic_server(Mode::ZeroRtt);
}

/// quic-client updates its keys before its requests (the runner's keyupdate case); the
/// aioquic server follows and the downloads arrive intact.
#[test]
fn interop_aioquic_server_follows_a_quic_client_key_update() {
    quic_client_downloads_from_aioquic_server(Mode::KeyUpdate);
}

/// Resumption and 0-RTT with quicsock as the client, against the aioquic server.
#[test]
fn interop_aioquic_server_resumes_quic_client() {
    quic_client_downloads_from_aioquic_server(Mode::Resume);
}

#[test]
fn interop_aioquic_server_takes_zero_rtt_from_quic_client() {
    quic_client_downloads_from_aioquic_server(Mode::ZeroRtt);
}

#[test]
fn interop_aioquic_server_serves_quic_client() {
    quic_client_downloads_from_aioquic_server(Mode::Default);
}

#[test]
fn interop_aioquic_server_serves_quic_client_chacha20() {
    quic_client_downloads_from_aioquic_server(Mode::Chacha20);
}

/// RFC 9368 with quicsock as the client: quic-client starts in v1 and lists v2 first, the
/// aioquic server switches the connection to v2 and quic-client follows.
#[test]
fn interop_aioquic_server_negotiates_v2_with_quic_client() {
    quic_client_downloads_from_aioquic_server(Mode::NegotiateV2);
}
