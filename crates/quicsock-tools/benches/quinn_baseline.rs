//! quicsock against the quinn crate in the same harness: for each message size, a server in
//! its own process pinned to CPU 1 and a client pinned to CPU 0, one connection, one stream,
//! bulk transfer with quicperf's exchange (an 8-byte header, the messages, the server's
//! byte count). quicsock runs as `quicperf server` / `quicperf client --json`; quinn runs
//! as this benchmark's own executable in server mode and in-process as the client, both on
//! a single-threaded tokio runtime, with the same 1452-byte UDP payload.
//!
//! `cargo bench -p quicsock-tools --bench quinn_baseline [-- SECONDS [SIZE...]]`

// A benchmark reads the clock; only the protocol core may not.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVER_ENV: &str = "QUICSOCK_BENCH_QUINN_SERVER";

#[path = "peer/quinn.rs"]
mod quinn_peer;
use quinn_peer::{quinn_client, quinn_server, MTU};

struct Server(Child, SocketAddr);

impl Server {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .expect("server address")
            .parse()
            .unwrap();
        Self(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn quicsock_run(msg_len: usize, time: Duration) -> f64 {
    let exe = env!("CARGO_BIN_EXE_quicperf");
    let mtu = MTU.to_string();
    let mut cmd = Command::new(exe);
    cmd.args([
        "server",
        "--listen",
        "127.0.0.1:0",
        "--cpu",
        "1",
        "--mtu",
        &mtu,
    ]);
    let server = Server::start(cmd);
    let out = Command::new(exe)
        .args([
            "client",
            "--insecure",
            "--cpu",
            "0",
            "--json",
            "--mtu",
            &mtu,
        ])
        .args(["--connect", &server.1.to_string()])
        .args([
            "--msg-len",
            &msg_len.to_string(),
            "--time",
            &time.as_secs_f64().to_string(),
        ])
        .output()
        .expect("client runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    let gbps = json
        .split("\"gbps\":")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .expect("gbps");
    gbps.parse().unwrap()
}

fn main() {
    if std::env::var_os(SERVER_ENV).is_some() {
        return quinn_server();
    }
    // `cargo bench` passes `--bench`; the rest are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let time = Duration::from_secs_f64(args.first().and_then(|s| s.parse().ok()).unwrap_or(5.0));
    let sizes: Vec<usize> = args.iter().skip(1).filter_map(|s| s.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1024, 65536]
    } else {
        sizes
    };
    println!("one connection, one stream, loopback, {time:?} per run, UDP payload {MTU}");
    println!(
        "{:>9} | {:>13} | {:>12} | {:>7}",
        "msg_len", "quicsock Gb/s", "quinn Gb/s", "ratio"
    );
    for msg_len in sizes {
        let q = quicsock_run(msg_len, time);
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env(SERVER_ENV, "1");
        let server = Server::start(cmd);
        let addr = server.1;
        let n = std::thread::spawn(move || quinn_client(addr, msg_len, time))
            .join()
            .unwrap();
        drop(server);
        println!("{msg_len:>9} | {q:>13.2} | {n:>12.2} | {:>6.2}x", q / n);
    }
}
