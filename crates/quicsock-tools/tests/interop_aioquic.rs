//! Interoperability with aioquic (PyPI), an independent QUIC implementation in Python:
//! `quic-client` downloading from an aioquic hq-interop server, and an aioquic client
//! downloading from `quic-server`; 1 MB and 10 MB files compared byte for byte, with the
//! default cipher suites and with ChaCha20-Poly1305 only.
//!
//! The peer is `interop/aioquic/hq.py`. Its Python comes from `QUICSOCK_INTEROP_PYTHON`
//! (set by `.ci/run`), or else from a virtual environment these tests make under `target/`
//! with the aioquic of `interop/aioquic/requirements.txt` from PyPI. A test fails, never skips, when the peer cannot be set up.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

mod common;
use common::aioquic::{python, workspace};

/// A scratch directory with a CA, a server certificate signed by it, and the files to
/// serve.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("quicsock-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::create_dir_all(dir.join("dl")).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "quicsock interop CA");
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut leaf = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("chain.pem"), format!("{}{}", leaf.pem(), ca.pem())).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        for (name, len) in [("1M.bin", 1_000_000usize), ("10M.bin", 10_000_000)] {
            let mut x: u64 = len as u64 ^ 0x9e37_79b9_7f4a_7c15;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            std::fs::write(dir.join("www").join(name), data).unwrap();
        }
        Self { dir }
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).to_str().unwrap().to_owned()
    }

    /// Both files arrived intact.
    fn check_downloads(&self) {
        for name in ["1M.bin", "10M.bin"] {
            let sent = std::fs::read(self.dir.join("www").join(name)).unwrap();
            let got = std::fs::read(self.dir.join("dl").join(name)).unwrap_or_default();
            assert_eq!(got.len(), sent.len(), "{name}: length");
            assert!(got == sent, "{name}: content differs");
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server process, killed when dropped; `ready` is the line it prints when listening.
struct Server {
    child: Child,
    stderr: Option<std::process::ChildStderr>,
}

impl Server {
    fn start(mut cmd: Command, ready_on_stderr: bool) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        let mut stderr = child.stderr.take();
        if ready_on_stderr {
            let mut r = BufReader::new(stderr.take().unwrap());
            r.read_line(&mut line).unwrap();
            stderr = Some(r.into_inner());
        } else {
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
        }
        assert!(
            line.contains("listening on") || line.contains("serving"),
            "server did not start: {line:?}"
        );
        Self { child, stderr }
    }

    /// Everything the server wrote to stderr, after stopping it.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
        }
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
