//! C programs that use QUIC sockets as descriptors: 100 non-blocking sockets in one epoll
//! set; poll, select, O_NONBLOCK, FIONBIO, SIOCINQ, dup, fork, EINTR, eight threads on
//! one connection, a close that delivers before it returns and SO_LINGER's abortive
//! close; and bad input to every
//! call, which must get Linux QUIC's errno and never crash.

mod common;

use std::time::Duration;

use common::{assert_ok, cert_files, command, compile, run, Link, Server};

#[test]
fn c_epoll_drives_100_non_blocking_quic_sockets() {
    let exe = compile("epoll", Link::Libquic);
    let (cert, key) = cert_files();
    let mut s = command(&exe, Link::Libquic);
    s.args(["server", "127.0.0.1"]).arg(&cert).arg(&key);
    let server = Server::start(s);
    let mut c = command(&exe, Link::Libquic);
    c.args(["client", "127.0.0.1", &server.port.to_string(), "100"]);
    let client = run(c, Duration::from_secs(60));
    let server = server.finish(Duration::from_millis(100));
    assert_ok("the epoll client", &[&client]);
    let out = String::from_utf8_lossy(&client.stdout);
    assert!(
        out.contains("100 connections echoed 65536 bytes each"),
        "{out}\nserver: {}",
        String::from_utf8_lossy(&server.stderr)
    );
}

/// Runs a program that prints "ok N …" / "not ok N …" lines; all must be ok, `cases` of
/// them.
fn cases(exe_name: &str, link: Link, args: &[&std::ffi::OsStr], cases: usize) {
    let exe = compile(exe_name, link);
    let mut cmd = command(&exe, link);
    cmd.args(args);
    let out = run(cmd, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("not ok")).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_ok(exe_name, &[&out]);
    let ok = text.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok, cases, "{text}");
}

#[test]
fn c_quic_descriptors_poll_select_dup_fork_and_take_signals() {
    let (cert, key) = cert_files();
    cases(
        "process",
        Link::Libquic,
        &[cert.as_os_str(), key.as_os_str()],
        25,
    );
}

#[test]
fn c_bad_input_gets_linux_errnos_linked_with_libquic() {
    cases("badinput", Link::Libquic, &[], 62);
}

#[test]
fn c_bad_input_gets_linux_errnos_under_ld_preload() {
    cases("badinput", Link::Preload, &[], 62);
}
