//! quicperf: QUIC goodput and latency against TCP and TLS over TCP.
//!
//! With no arguments it runs the loopback self-test and prints the goodput table. `server`
//! and `client` run the two sides as separate processes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use quicsock_tools::perf::{self, ClientRun, PerfError, Proto, Tls};

#[derive(Parser)]
#[command(
    name = "quicperf",
    version,
    about = "QUIC goodput and latency, with TCP and TLS over TCP for comparison"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Seconds per cell of the self-test.
    #[arg(long, default_value_t = 2.0)]
    time: f64,
    /// Message sizes of the self-test (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = perf::SELF_TEST_SIZES)]
    sizes: Vec<usize>,
    /// UDP payload size QUIC uses.
    #[arg(long, default_value_t = 1452)]
    mtu: u16,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve clients until killed.
    Server {
        /// Address to listen on.
        #[arg(long, default_value = "[::]:4433")]
        listen: SocketAddr,
        /// Certificate chain (PEM); without it a self-signed one is made.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// Private key (PEM).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// Transport.
        #[arg(long, value_enum, default_value = "quic")]
        proto: Proto,
        /// Pin the server to this CPU.
        #[arg(long)]
        cpu: Option<usize>,
        /// UDP payload size QUIC uses.
        #[arg(long, default_value_t = 1452)]
        mtu: u16,
    },
    /// Measure against a server.
    Client {
        /// The server's address.
        #[arg(long)]
        connect: SocketAddr,
        /// CA certificates (PEM) to verify the server with.
        #[arg(
            long,
            conflicts_with = "insecure",
            required_unless_present = "insecure"
        )]
        ca: Option<PathBuf>,
        /// Accept any server certificate.
        #[arg(long)]
        insecure: bool,
        /// The name the server's certificate must carry.
        #[arg(long, default_value = "localhost")]
        server_name: String,
        /// Bytes per message.
        #[arg(long, default_value_t = 65536)]
        msg_len: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 5.0)]
        time: f64,
        /// Request/response: latency percentiles and transactions per second.
        #[arg(long)]
        rr: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Transport.
        #[arg(long, value_enum, default_value = "quic")]
        proto: Proto,
        /// Pin the client to this CPU.
        #[arg(long)]
        cpu: Option<usize>,
        /// UDP payload size QUIC uses.
        #[arg(long, default_value_t = 1452)]
        mtu: u16,
        /// Seconds to wait for the connection to be set up.
        #[arg(long, default_value_t = 10.0)]
        connect_timeout: f64,
    },
}

fn seconds(s: f64, what: &str) -> Result<Duration, PerfError> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| PerfError::Usage(format!("{what} must be a positive number of seconds")))
}

fn check_mtu(mtu: u16) -> Result<u16, PerfError> {
    if mtu < 1200 {
        return Err(PerfError::Usage("--mtu must be at least 1200".into()));
    }
    Ok(mtu)
}

fn pin(cpu: Option<usize>) -> Result<(), PerfError> {
    if let Some(cpu) = cpu {
        quicsock_udp::pin_current_thread(cpu)
            .map_err(|e| PerfError::Usage(format!("cannot pin to CPU {cpu}: {e}")))?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), PerfError> {
    match cli.command {
        None => {
            let time = seconds(cli.time, "--time")?;
            let exe = std::env::current_exe()?;
            if cli.sizes.iter().any(|s| *s == 0 || *s > perf::MAX_MSG_LEN) {
                return Err(PerfError::Usage(format!(
                    "--sizes must be 1..={}",
                    perf::MAX_MSG_LEN
                )));
            }
            eprintln!("quicperf self-test: loopback, {time:?} per cell, server and client in separate processes");
            let reports = perf::self_test(&exe, time, &cli.sizes, check_mtu(cli.mtu)?, |line| {
                eprintln!("{line}")
            })?;
            print!("{}", perf::table(&reports));
            Ok(())
        }
        Some(Cmd::Server {
            listen,
            cert,
            key,
            proto,
            cpu,
            mtu,
        }) => {
            pin(cpu)?;
            let (chain, key) = match (cert, key) {
                (Some(c), Some(k)) => perf::load_cert(&c, &k)?,
                _ => perf::self_signed(),
            };
            let tls = Tls {
                client: perf::client_tls(None)?,
                server: perf::server_tls(chain, key)?,
                server_name: "localhost".into(),
                mtu: check_mtu(mtu)?,
            };
            perf::serve(proto, listen, &tls, |addr| {
                println!("listening on {addr}");
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
            })
        }
        Some(Cmd::Client {
            connect,
            ca,
            insecure: _,
            server_name,
            msg_len,
            time,
            rr,
            json,
            proto,
            cpu,
            mtu,
            connect_timeout,
        }) => {
            pin(cpu)?;
            let (chain, key) = perf::self_signed();
            let tls = Tls {
                client: perf::client_tls(ca.as_deref())?,
                server: perf::server_tls(chain, key)?,
                server_name,
                mtu: check_mtu(mtu)?,
            };
            let run = ClientRun {
                proto,
                addr: connect,
                msg_len,
                time: seconds(time, "--time")?,
                rr,
                connect_timeout: seconds(connect_timeout, "--connect-timeout")?,
            };
            let report = perf::run_client(&run, &tls)?;
            if json {
                println!("{}", report.to_json());
            } else if let Some(r) = &report.rr {
                println!(
                    "{} rr {} bytes: {:.0} transactions/s, latency p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, p99.9 {:.1} us",
                    connect, msg_len, r.tps, r.p50_us, r.p90_us, r.p99_us, r.p999_us
                );
            } else {
                println!(
                    "{} {} bytes: {:.3} Gbit/s ({} bytes in {:.2} s)",
                    connect, msg_len, report.gbps, report.bytes, report.seconds
                );
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quicperf: {e}");
            ExitCode::FAILURE
        }
    }
}
