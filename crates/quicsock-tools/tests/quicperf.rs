//! quicperf as a user runs it: the self-test, the two sides as separate processes, JSON
//! output, and what bad arguments and unreachable servers give.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn quicperf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quicperf"))
}

#[test]
fn self_test_prints_a_table_with_every_transport() {
    let out = quicperf()
        .args(["--time", "0.3", "--sizes", "1024,65536"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("quic/tcp"), "{table}");
    for size in ["1024", "65536"] {
        let row = table
            .lines()
            .find(|l| l.trim_start().starts_with(size))
            .expect("a row per size");
        let cells: Vec<f64> = row
            .split('|')
            .skip(1)
            .map(|c| c.trim().trim_end_matches('x').parse().unwrap())
            .collect();
        assert_eq!(cells.len(), 5, "{row}");
        assert!(
            cells.iter().all(|g| *g > 0.0),
            "every transport moved data: {row}"
        );
    }
    // With --json, the same cells as one array.
    let json_run = quicperf()
        .args(["--time", "0.2", "--sizes", "1024", "--json"])
        .output()
        .unwrap();
    assert!(json_run.status.success());
    let all: serde_json::Value = serde_json::from_slice(&json_run.stdout).expect("a JSON array");
    let protos: Vec<&str> = all
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["proto"].as_str().unwrap())
        .collect();
    assert_eq!(protos, ["quic", "tcp", "tls"]);
    assert!(all[0]["server_switches"]["voluntary"].is_number(), "{all}");
    // A progress line per cell, with the context switches of both sides.
    let progress = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        progress
            .lines()
            .filter(|l| l.contains("Gbit/s") && l.contains("switches per GiB: client"))
            .filter(|l| l.contains("; server"))
            .count(),
        6,
        "{progress}"
    );
}

#[test]
fn server_and_client_processes_with_json_and_rr() {
    let srv = server(&[]);
    let addr = &srv.addr;
    let out = quicperf()
        .args([
            "client",
            "--connect",
            addr,
            "--insecure",
            "--msg-len",
            "4096",
            "--time",
            "0.3",
            "-i",
            "0.1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    // Interval reports: in the JSON, and as lines on standard error.
    let intervals = json["intervals"].as_array().expect("intervals");
    assert!(intervals.len() >= 2, "{json}");
    assert!(intervals
        .iter()
        .all(|i| i["gbps"].is_number() && i["end"].is_number()));
    assert!(String::from_utf8_lossy(&out.stderr).contains(" s] "));
    assert_eq!(json["proto"], "quic");
    assert_eq!(json["msg_len"], 4096);
    for number in [
        &json["gbps"],
        &json["bytes"],
        &json["seconds"],
        &json["client_switches"]["voluntary"],
        &json["client_switches"]["voluntary_per_gib"],
        &json["quic"]["rtt_us"],
        &json["quic"]["cwnd"],
        &json["quic"]["packets_lost"],
        &json["quic"]["stream_bytes_retransmitted"],
    ] {
        assert!(number.is_number(), "{json}");
    }
    let out = quicperf()
        .args([
            "client",
            "--connect",
            addr,
            "--insecure",
            "--msg-len",
            "64",
            "--time",
            "0.3",
            "--rr",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("transactions/s") && text.contains("p99"),
        "{text}"
    );
}

/// A `quicperf server` child process, killed when dropped.
struct Server {
    child: std::process::Child,
    /// The address it listens on.
    addr: String,
    /// Its standard output after the `listening on` line.
    out: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `quicperf server` with `args` (listening on 127.0.0.1 unless they say otherwise).
fn server(args: &[&str]) -> Server {
    let mut cmd = quicperf();
    cmd.arg("server");
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    let mut child = cmd.args(args).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = out.next().unwrap().unwrap();
    let addr = first.strip_prefix("listening on ").unwrap().to_owned();
    Server { child, addr, out }
}

/// `quicperf client --connect ADDR --insecure ARGS --json`, which must succeed; its report.
fn client_json(addr: &str, args: &[&str]) -> serde_json::Value {
    let out = quicperf()
        .args(["client", "--connect", addr, "--insecure"])
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// A client run against `addr` with `args` that fails; its message.
fn client_fails(addr: &str, args: &[&str]) -> String {
    fails(&[&["client", "--connect", addr, "--insecure"][..], args].concat())
}

/// `--no-crypt` on both ends runs QUIC without 1-RTT encryption; a client asking for it
/// from a server that does not agree says so and fails.
#[test]
fn no_crypt_needs_both_ends() {
    let plain = server(&["--no-crypt"]);
    let json = client_json(
        &plain.addr,
        &["--no-crypt", "--msg-len", "4096", "--time", "0.3"],
    );
    assert!(json["gbps"].is_number(), "{json}");
    let encrypted = server(&[]);
    let err = client_fails(&encrypted.addr, &["--no-crypt", "--time", "0.3"]);
    assert!(
        err.contains("did not agree to disable 1-RTT encryption"),
        "{err}"
    );
}

/// `-R` (the server sends) and `-n` (a byte count instead of a time), over QUIC and TCP.
#[test]
fn reverse_and_byte_count_modes() {
    for proto in ["quic", "tcp"] {
        let srv = server(&["--proto", proto]);
        let run = |args: &[&str]| {
            let json = client_json(&srv.addr, &[&["--proto", proto][..], args].concat());
            json["bytes"].as_u64().expect("a byte count")
        };
        assert!(run(&["-R", "--time", "0.3"]) > 0, "{proto}");
        assert_eq!(run(&["-n", "3000000"]), 3_000_000, "{proto}");
        assert!(run(&["-R", "-n", "3000000"]) >= 3_000_000, "{proto}");
    }
    assert!(client_fails("127.0.0.1:1", &["--rr", "-R"]).contains("cannot be used with"));
    assert!(client_fails("127.0.0.1:1", &["-n", "0"]).contains("--bytes"));
}

/// The server reports each client's exchange; with `--json`, one object per line whose
/// byte count is the client's.
#[test]
fn server_reports_each_exchange() {
    let mut srv = server(&["--json"]);
    client_json(&srv.addr, &["-n", "2000000"]);
    let report: serde_json::Value =
        serde_json::from_str(&srv.out.next().unwrap().unwrap()).expect("a JSON report");
    assert_eq!(report["mode"], "bulk");
    assert_eq!(report["proto"], "quic");
    assert_eq!(report["bytes"], 2_000_000);
    assert!(report["gbps"].is_number() && report["peer"].is_string());
}

/// `--connections N` runs N connections at once and reports each and their sum.
#[test]
fn parallel_connections_are_summed() {
    let srv = server(&[]);
    let json = client_json(&srv.addr, &["--connections", "3", "-n", "1000000"]);
    let each = json["connections"].as_array().expect("each connection");
    assert_eq!(each.len(), 3);
    assert!(each.iter().all(|r| r["bytes"] == 1_000_000));
    assert_eq!(json["bytes"], 3_000_000);
    assert!(client_fails(&srv.addr, &["--connections", "0"]).contains("--connections"));
}

/// `-P N` spreads a QUIC upload over N streams of one connection; the server counts them
/// all. It is refused where it does not apply.
#[test]
fn parallel_streams_of_one_connection() {
    let srv = server(&[]);
    let json = client_json(&srv.addr, &["-P", "4", "-n", "5000000"]);
    assert_eq!(json["bytes"], 5_000_000);
    for bad in [
        ["-P", "2", "-R"],
        ["-P", "2", "--rr"],
        ["-P", "65", "--json"],
    ] {
        let err = client_fails(&srv.addr, &bad);
        assert!(err.contains("-P"), "{bad:?}: {err}");
    }
}

/// `--bidir` moves data both ways at once over QUIC and TCP, and says so in the report.
#[test]
fn both_ways_at_once() {
    for proto in ["quic", "tcp"] {
        let srv = server(&["--proto", proto]);
        let json = client_json(&srv.addr, &["--proto", proto, "--bidir", "--time", "0.3"]);
        let (sent, received) = (
            json["sent_bytes"].as_u64().unwrap(),
            json["received_bytes"].as_u64().unwrap(),
        );
        assert!(sent > 0 && received > 0, "{proto}: {json}");
        assert_eq!(json["bytes"].as_u64().unwrap(), sent + received);
    }
    let err = client_fails("127.0.0.1:1", &["--bidir", "--proto", "tls"]);
    assert!(err.contains("--bidir"), "{err}");
}

/// `--connect` takes a host name.
#[test]
fn connect_by_host_name() {
    let srv = server(&["--listen", "[::]:0"]);
    let port = srv.addr.rsplit(':').next().unwrap();
    client_json(&format!("localhost:{port}"), &["--time", "0.2"]);
}

/// Linux QUIC's MTU 9000 row: 8952-byte datagrams end to end.
#[test]
fn jumbo_datagrams_end_to_end() {
    let srv = server(&["--mtu", "8952"]);
    let json = client_json(
        &srv.addr,
        &["--mtu", "8952", "--msg-len", "65536", "--time", "0.3"],
    );
    assert!(json["gbps"].is_number(), "{json}");
}

/// The one-line error and the exit status of a failed run.
fn fails(args: &[&str]) -> String {
    let out = quicperf().args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.trim().is_empty(), "{args:?}: no message");
    err
}

#[test]
fn bad_arguments_and_unreachable_servers_fail_with_a_message() {
    assert!(fails(&["client", "--connect", "nowhere", "--insecure"]).contains("invalid"));
    assert!(
        fails(&["client", "--connect", "127.0.0.1:1"]).contains("--ca"),
        "a trust choice is required"
    );
    assert!(fails(&[
        "client",
        "--connect",
        "127.0.0.1:1",
        "--insecure",
        "--msg-len",
        "0"
    ])
    .contains("--msg-len"));
    assert!(fails(&["--time=-1"]).contains("--time"));
    let e = fails(&[
        "server",
        "--cert",
        "/nonexistent/cert.pem",
        "--key",
        "/nonexistent/key.pem",
    ]);
    assert!(e.contains("/nonexistent/cert.pem"), "{e}");
    // Nothing listens on these ports.
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = quiet.local_addr().unwrap().to_string();
    let e = fails(&[
        "client",
        "--connect",
        &addr,
        "--insecure",
        "--connect-timeout",
        "0.5",
    ]);
    assert!(e.starts_with("quicperf: cannot connect to"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap().to_string();
    drop(tcp);
    let e = fails(&["client", "--connect", &addr, "--insecure", "--proto", "tcp"]);
    assert!(e.contains("cannot connect"), "{e}");
}
