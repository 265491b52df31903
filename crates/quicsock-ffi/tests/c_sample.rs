//! A Linux QUIC sample program in C (libquic's handshake with certificates, one message
//! each way on a stream) built against the header and linked with `-lquic`, client and
//! server in separate processes.

mod common;

use std::time::Duration;

use common::{assert_ok, cert_files, command, compile, run, Link, Server};

#[test]
fn c_sample_client_and_server_with_libquic_and_certificates() {
    let exe = compile("sample", Link::Libquic);
    let (cert, key) = cert_files();
    let mut s = command(&exe, Link::Libquic);
    s.arg("server").arg("127.0.0.1").arg(&cert).arg(&key);
    let server = Server::start(s);
    let mut c = command(&exe, Link::Libquic);
    c.args(["client", "127.0.0.1", &server.port.to_string()]);
    let client = run(c, Duration::from_secs(20));
    let server = server.finish(Duration::from_secs(20));
    assert_ok("the sample", &[&client, &server]);
    let client_out = String::from_utf8_lossy(&client.stdout);
    let server_out = String::from_utf8_lossy(&server.stdout);
    assert!(
        client_out.contains("client got \"hello quic client!\" on stream 0 with FIN"),
        "{client_out}"
    );
    assert!(
        server_out.contains("server got \"hello quic server!\" on stream 0 with FIN"),
        "{server_out}"
    );
}
