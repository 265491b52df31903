//! `quicperf load` against a quicsock server and a quinn server in the same run: the same
//! client (one quicsock endpoint opening N connections, one 1 KiB request each, then
//! keep-alive PINGs every 5 s) measures each server in its own process, and the ratios are
//! printed. The quicsock server is `quicperf load-server` (one thread per CPU through a
//! `QuicPoll`); quinn runs as this benchmark's own executable in server mode on a tokio
//! runtime with one worker per CPU, answering each stream with as many bytes as it carried.
//!
//! `cargo bench -p quicsock-tools --bench load_baseline [-- CONNECTIONS [HOLD_SECONDS]]`

// A benchmark reads the clock; only the protocol core may not.
#![allow(clippy::disallowed_methods)]

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use quicsock_tools::load::{self, LoadOptions, LoadReport, ServerProcess};
use quinn::crypto::rustls::QuicServerConfig;

const SERVER_ENV: &str = "QUICSOCK_BENCH_LOAD_QUINN_SERVER";

fn quinn_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (chain, key) = quicsock_tools::perf::self_signed();
        let tls = quicsock::tls::server_config(chain, key, &[load::ALPN]).unwrap();
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(
            QuicServerConfig::try_from((*tls).clone()).unwrap(),
        ));
        let mut transport = quinn::TransportConfig::default();
        transport.max_idle_timeout(Some(Duration::from_secs(120).try_into().unwrap()));
        config.transport_config(Arc::new(transport));
        let ep = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
        println!("listening on {}", ep.local_addr().unwrap());
        while let Some(incoming) = ep.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                    tokio::spawn(async move {
                        let Ok(req) = recv.read_to_end(1 << 20).await else {
                            return;
                        };
                        let _ = send.write_all(&vec![0x5a; req.len()]).await;
                        let _ = send.finish();
                    });
                }
            });
        }
    });
}

fn main() {
    if std::env::var_os(SERVER_ENV).is_some() {
        quinn_server();
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let opts = LoadOptions {
        connections: args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000),
        hold: Duration::from_secs(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60)),
        ..LoadOptions::default()
    };
    let progress = |l: &str| eprintln!("{l}");
    let mut reports: Vec<LoadReport> = Vec::new();
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quicperf"));
        cmd.arg("load-server");
        let server = ServerProcess::spawn(cmd).expect("quicsock load server");
        reports.push(load::run("quicsock", server.addr, server.pid(), &opts, progress).unwrap());
    }
    {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env(SERVER_ENV, "1");
        let server = ServerProcess::spawn(cmd).expect("quinn load server");
        reports.push(load::run("quinn", server.addr, server.pid(), &opts, progress).unwrap());
    }
    for r in &reports {
        print!("{}", r.to_text());
        println!("{}", r.to_json());
    }
    let (q, b) = (&reports[0], &reports[1]);
    println!(
        "quicsock/quinn: handshakes/s {:.2}x, per second of server CPU {:.2}x, KiB per connection {:.2}x, idle CPU {:.2}x, loaded latency {:.2}x",
        q.handshakes_per_sec / b.handshakes_per_sec,
        q.handshakes_per_cpu_sec / b.handshakes_per_cpu_sec,
        q.kib_per_connection / b.kib_per_connection,
        q.idle_cpu_percent / b.idle_cpu_percent.max(f64::MIN_POSITIVE),
        q.latency_loaded_us / b.latency_loaded_us,
    );
}
