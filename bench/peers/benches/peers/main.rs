//! quicsock against s2n-quic, quiche and quinn in one sitting, with quicperf's bulk
//! exchange (an 8-byte header, the messages, the server's byte count): for each message
//! size and stack, a server in its own process pinned to CPU 1 and the client on CPU 0,
//! one connection, one stream, every stack at a 1452-byte UDP payload. Each cell is the
//! median of the runs; the tables give Gbit/s, Gbit/s per busy core (client and server CPU
//! together) and quicsock's ratio to each peer.
//!
//! quicsock runs as quicperf does (`quicsock_tools::perf::serve` and `run_client`); quinn
//! and s2n-quic on a single-threaded tokio runtime per process; quiche in the loop its own
//! tools use, with GSO and GRO through quicsock-udp.
//!
//! `bash bench/peers/run.sh [SECONDS [RUNS [SIZE...]]]` (installs cmake and libclang for
//! quiche's BoringSSL, then `cargo bench`).

// A benchmark reads the clock; only the protocol core may not.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use quicsock_tools::load::cpu_time;
use quicsock_tools::perf::{self, ClientRun, Proto, ServerProcess, Tls};

mod quiche;
#[path = "../../../../crates/quicsock-tools/benches/peer/quinn.rs"]
mod quinn_peer;
mod s2n;

use quinn_peer::{pin, MTU};

/// Set in a server process: the stack it serves.
const SERVER_ENV: &str = "QUICSOCK_PEERS_SERVER";
/// The certificate and key (PEM files) the s2n-quic and quiche servers use.
const CERT_ENV: &str = "QUICSOCK_PEERS_CERT";
const KEY_ENV: &str = "QUICSOCK_PEERS_KEY";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    Quicsock,
    Quiche,
    S2n,
    Quinn,
}

const STACKS: [Stack; 4] = [Stack::Quicsock, Stack::Quiche, Stack::S2n, Stack::Quinn];

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Self::Quicsock => "quicsock",
            Self::Quiche => "quiche",
            Self::S2n => "s2n-quic",
            Self::Quinn => "quinn",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        STACKS.into_iter().find(|s| s.name() == name)
    }
}

fn quicsock_tls() -> Tls {
    let (chain, key) = perf::self_signed();
    Tls {
        client: perf::client_tls(None).unwrap(),
        server: perf::server_tls(chain, key).unwrap(),
        server_name: "localhost".into(),
        mtu: MTU,
        pmtud_max: None,
        no_crypt: false,
    }
}

/// This process as the server of `stack`.
fn serve(stack: Stack) {
    let pem = |var| std::fs::read_to_string(std::env::var(var).unwrap()).unwrap();
    match stack {
        Stack::Quicsock => {
            pin(1);
            let addr = "127.0.0.1:0".parse().unwrap();
            perf::serve(Proto::Quic, addr, &quicsock_tls(), None, false, |a| {
                println!("listening on {a}");
            })
            .unwrap();
        }
        Stack::Quiche => quiche::server(
            &std::env::var(CERT_ENV).unwrap(),
            &std::env::var(KEY_ENV).unwrap(),
        ),
        Stack::S2n => s2n::server(&pem(CERT_ENV), &pem(KEY_ENV)),
        Stack::Quinn => quinn_peer::quinn_server(),
    }
}

/// One measurement: Gbit/s, and Gbit/s per busy core.
#[derive(Clone, Copy, Debug)]
struct Cell {
    gbps: f64,
    per_core: f64,
}

fn run(stack: Stack, msg_len: usize, time: Duration, cert: &(PathBuf, PathBuf)) -> Cell {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(SERVER_ENV, stack.name())
        .env(CERT_ENV, &cert.0)
        .env(KEY_ENV, &cert.1);
    let server = ServerProcess::spawn(cmd).expect("server starts");
    let addr: SocketAddr = server.addr;
    let cert_pem = std::fs::read_to_string(&cert.0).unwrap();
    let (cpu0, scpu0) = (
        cpu_time(std::process::id()).unwrap(),
        cpu_time(server.pid()).unwrap(),
    );
    let start = Instant::now();
    let gbps = std::thread::spawn(move || match stack {
        Stack::Quicsock => {
            pin(0);
            let r = ClientRun::bulk(Proto::Quic, addr, msg_len, time);
            perf::run_client(&r, &quicsock_tls())
                .expect("quicsock client")
                .gbps
        }
        Stack::Quiche => quiche::client(addr, msg_len, time),
        Stack::S2n => s2n::client(addr, &cert_pem, msg_len, time),
        Stack::Quinn => quinn_peer::quinn_client(addr, msg_len, time),
    })
    .join()
    .expect("client runs");
    let secs = start.elapsed().as_secs_f64();
    let cpu =
        cpu_time(std::process::id()).unwrap() - cpu0 + cpu_time(server.pid()).unwrap() - scpu0;
    Cell {
        gbps,
        per_core: gbps / (cpu.as_secs_f64() / secs),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Writes a self-signed certificate for "localhost" and its key as PEM files.
fn write_cert() -> (PathBuf, PathBuf) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("quicsock-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, pkey) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, key.cert.pem()).unwrap();
    std::fs::write(&pkey, key.key_pair.serialize_pem()).unwrap();
    (cert, pkey)
}

fn table(title: &str, sizes: &[usize], cells: &[Vec<Cell>], f: impl Fn(&Cell) -> f64) {
    println!("{title}");
    let mut head = format!("{:>8}", "msg_len");
    for s in STACKS {
        head += &format!(" | {:>8}", s.name());
    }
    for s in &STACKS[1..] {
        head += &format!(" | {:>10}", format!("/{}", s.name()));
    }
    println!("{head}");
    println!("{}", "-".repeat(head.len()));
    for (size, row) in sizes.iter().zip(cells) {
        let mut line = format!("{size:>8}");
        for c in row {
            line += &format!(" | {:>8.2}", f(c));
        }
        for c in &row[1..] {
            line += &format!(" | {:>9.2}x", f(&row[0]) / f(c));
        }
        println!("{line}");
    }
}

fn main() {
    if let Some(stack) = std::env::var(SERVER_ENV)
        .ok()
        .and_then(|s| Stack::from_name(&s))
    {
        return serve(stack);
    }
    // `cargo bench` passes `--bench`; the rest are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let time = Duration::from_secs_f64(args.first().and_then(|s| s.parse().ok()).unwrap_or(5.0));
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    let sizes: Vec<usize> = args.iter().skip(2).filter_map(|s| s.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        perf::SELF_TEST_SIZES.to_vec()
    } else {
        sizes
    };
    let cert = write_cert();
    println!(
        "one connection, one stream, loopback, server on CPU 1 and client on CPU 0, \
         UDP payload {MTU}, median of {runs} runs of {time:?}"
    );
    let mut cells = Vec::new();
    for &msg_len in &sizes {
        let mut row = Vec::new();
        for stack in STACKS {
            let got: Vec<Cell> = (0..runs)
                .map(|_| run(stack, msg_len, time, &cert))
                .collect();
            let cell = Cell {
                gbps: median(got.iter().map(|c| c.gbps).collect()),
                per_core: median(got.iter().map(|c| c.per_core).collect()),
            };
            eprintln!(
                "{msg_len:>8} {:>9}: {:.2} Gbit/s, {:.2} per busy core (runs: {})",
                stack.name(),
                cell.gbps,
                cell.per_core,
                got.iter()
                    .map(|c| format!("{:.2}", c.gbps))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            row.push(cell);
        }
        cells.push(row);
    }
    table(
        "goodput, Gbit/s (quicsock's ratio to each peer on the right)",
        &sizes,
        &cells,
        |c| c.gbps,
    );
    println!();
    table(
        "Gbit/s per busy core (client and server CPU together)",
        &sizes,
        &cells,
        |c| c.per_core,
    );
    let _ = std::fs::remove_dir_all(cert.0.parent().unwrap());
}
