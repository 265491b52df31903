//! The C conformance cases (`tests/c/quic_test.c`, after the groups of Linux QUIC's kernel
//! selftest: handshake, stream, connection, notification, close), run as a client and a
//! server process: once linked with `-lquic`, once knowing nothing of quicsock and started
//! with the library in `LD_PRELOAD`.
//!
//! Every case must pass, and as many per group as [`PASSING`] lists.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{assert_ok, command, compile, run, Link, Server};

/// Cases that pass, per group: every numbered case of the selftest's handshake (11),
/// stream (36) and connection (23) lists; func_test's notification list (30)
/// and the selftest's session-ticket events (4 more); func_test's close cases 3-7 and
/// three more (the peer's close read back, recv and send after it).
const PASSING: &[(&str, u32)] = &[
    ("close", 8),
    ("connection", 23),
    ("handshake", 11),
    ("notification", 34),
    ("stream", 36),
];

fn conformance(link: Link) {
    let exe = compile("quic_test", link);
    let mut s = command(&exe, link);
    s.args(["server", "127.0.0.1"]);
    let server = Server::start(s);
    let ports = server.ports.clone();
    let mut c = command(&exe, link);
    c.args(["client", "127.0.0.1"]).args(&ports);
    let client = run(c, Duration::from_secs(120));
    let mut server = server;
    let _ = server.child.kill();
    let server = server.finish(Duration::from_secs(5));
    let text = String::from_utf8_lossy(&client.stdout).into_owned();
    let mut passed: BTreeMap<String, u32> = BTreeMap::new();
    let mut failed = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(4, ' ').collect();
        match f[..] {
            ["ok", group, _, _] => *passed.entry(group.to_owned()).or_default() += 1,
            ["not", "ok", ..] => failed.push(line.to_owned()),
            _ => {}
        }
    }
    assert!(
        failed.is_empty() && client.status.success(),
        "{} failed ({}):\n{}\nserver stderr:\n{}",
        failed.len(),
        client.status,
        failed.join("\n"),
        String::from_utf8_lossy(&server.stderr)
    );
    assert_ok("the conformance client", &[&client]);
    eprintln!("passed per group ({link:?}): {passed:?}");
    let want: BTreeMap<String, u32> = PASSING.iter().map(|(g, n)| (g.to_string(), *n)).collect();
    assert_eq!(passed, want, "cases passing per group:\n{text}");
}

#[test]
fn c_conformance_linked_with_libquic() {
    conformance(Link::Libquic);
}

#[test]
fn c_conformance_under_ld_preload() {
    conformance(Link::Preload);
}
