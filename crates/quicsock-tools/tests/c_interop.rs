//! Linux QUIC programs in C, on quicsock through the C interface, against independent
//! implementations: a C hq-interop client (`quicsock-ffi/tests/c/hq.c`, linked with
//! `-lquic`) downloading from an aioquic server and from a quinn server, and an aioquic
//! client downloading from the C server. 1 MB and 10 MB files, compared byte for byte;
//! the C client checks the server's certificate against the fixture's CA.

use std::process::Command;
use std::time::Duration;

mod common;
use common::aioquic::{python, workspace};
use common::hq::{free_port, Fixture, Server};

#[path = "../../quicsock-ffi/tests/common/mod.rs"]
mod c;

const FILES: [&str; 2] = ["/1M.bin", "/10M.bin"];

fn c_client(fx: &Fixture, port: u16) {
    let exe = c::compile("hq", c::Link::Libquic);
    let mut cmd = c::command(&exe, c::Link::Libquic);
    cmd.env("SSL_CERT_FILE", fx.path("ca.pem"))
        .args(["client", "127.0.0.1", &port.to_string(), &fx.path("dl")])
        .args(FILES);
    let out = c::run(cmd, Duration::from_secs(60));
    c::assert_ok("the C hq client", &[&out]);
    fx.check_downloads();
}

#[test]
fn interop_c_client_downloads_from_aioquic_server() {
    let fx = Fixture::new("c-from-aioquic");
    let port = free_port();
    let mut cmd = Command::new(python());
    cmd.arg(workspace().join("interop/aioquic/hq.py"))
        .args(["server", "--port", &port.to_string()])
        .args([
            "--cert",
            &fx.path("chain.pem"),
            "--key",
            &fx.path("key.pem"),
        ])
        .args(["--root", &fx.path("www")]);
    let server = Server::start(cmd, false);
    c_client(&fx, port);
    drop(server);
}

#[test]
fn interop_c_client_downloads_from_quinn_server() {
    let fx = Fixture::new("c-from-quinn");
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quinn-hq"));
    cmd.args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--cert",
            &fx.path("chain.pem"),
            "--key",
            &fx.path("key.pem"),
        ])
        .args(["--root", &fx.path("www")]);
    let server = Server::start(cmd, true);
    c_client(&fx, port);
    drop(server);
}

#[test]
fn interop_aioquic_client_downloads_from_c_server() {
    let fx = Fixture::new("aioquic-from-c");
    let exe = c::compile("hq", c::Link::Libquic);
    let mut cmd = c::command(&exe, c::Link::Libquic);
    cmd.args([
        "server",
        "127.0.0.1",
        &fx.path("chain.pem"),
        &fx.path("key.pem"),
    ])
    .arg(fx.path("www"));
    let server = c::Server::start(cmd);
    let port = server.port;
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
        .args(FILES.map(|f| format!("https://localhost:{port}{f}")));
    let out = c::run(client, Duration::from_secs(60));
    let server = server.finish(Duration::from_millis(100));
    assert!(
        out.status.success(),
        "aioquic client: {}\nC server: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&server.stderr)
    );
    fx.check_downloads();
}
