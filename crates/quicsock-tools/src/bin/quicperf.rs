//! quicperf: QUIC goodput and latency against TCP and TLS over TCP.
//!
//! With no arguments it runs the loopback self-test and prints the goodput table. `server`
//! and `client` run the two sides as separate processes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use std::io;

use quicsock_tools::load;
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
    /// QUIC without 1-RTT encryption on both ends (disable_1rtt_encryption, Linux QUIC's
    /// --no_crypt row).
    #[arg(long)]
    no_crypt: bool,
    /// Print the self-test's reports as one JSON array instead of the table.
    #[arg(long)]
    json: bool,
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
        /// UDP payload size QUIC uses (throughout, unless --pmtud-max).
        #[arg(long, default_value_t = 1452)]
        mtu: u16,
        /// Search for larger datagrams with DPLPMTUD (RFC 8899), up to this UDP payload
        /// size, starting from --mtu.
        #[arg(long)]
        pmtud_max: Option<u16>,
        /// QUIC engines (SO_REUSEPORT shards; default: one per CPU).
        #[arg(long)]
        shards: Option<usize>,
        /// Report each client's exchange as one JSON object per line (after the
        /// `listening on` line).
        #[arg(long)]
        json: bool,
        /// Send disable_1rtt_encryption: with a peer that sends it too, QUIC's 1-RTT
        /// packets go unencrypted and without header protection (Linux QUIC's --no_crypt).
        #[arg(long)]
        no_crypt: bool,
    },
    /// Measure against a server.
    Client {
        /// The server: an address, or a host name with a port (`host:4433`).
        #[arg(long)]
        connect: String,
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
        #[arg(long, conflicts_with_all = ["reverse", "bytes"])]
        rr: bool,
        /// Reverse: the server sends, the client receives.
        #[arg(short = 'R', long)]
        reverse: bool,
        /// Seconds between interval reports (0: none). With --json they go to standard
        /// error, and into the report.
        #[arg(short = 'i', long, default_value_t = 1.0)]
        interval: f64,
        /// Move this many bytes instead of running for --time.
        #[arg(short = 'n', long, value_parser = clap::value_parser!(u64).range(1..))]
        bytes: Option<u64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Transport.
        #[arg(long, value_enum, default_value = "quic")]
        proto: Proto,
        /// Pin the client to this CPU.
        #[arg(long)]
        cpu: Option<usize>,
        /// UDP payload size QUIC uses (throughout, unless --pmtud-max).
        #[arg(long, default_value_t = 1452)]
        mtu: u16,
        /// Search for larger datagrams with DPLPMTUD (RFC 8899), up to this UDP payload
        /// size, starting from --mtu.
        #[arg(long)]
        pmtud_max: Option<u16>,
        /// Seconds to wait for the connection to be set up.
        #[arg(long, default_value_t = 10.0)]
        connect_timeout: f64,
        /// Both directions at once (QUIC or TCP): the client sends and receives.
        #[arg(long, conflicts_with_all = ["rr", "reverse"])]
        bidir: bool,
        /// Parallel streams of one QUIC connection for a bulk upload (iperf3's -P).
        #[arg(short = 'P', long = "parallel", default_value_t = 1)]
        streams: usize,
        /// Parallel connections, each running the same exchange; their sum is reported.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        connections: u16,
        /// Send disable_1rtt_encryption: with a peer that sends it too, QUIC's 1-RTT
        /// packets go unencrypted and without header protection (Linux QUIC's --no_crypt).
        #[arg(long)]
        no_crypt: bool,
    },
    /// Many idle connections from one client endpoint: handshakes/s, server memory and
    /// CPU per connection, request latency with them open.
    Load {
        /// A load server to measure (`quicperf load-server`); without it one is started.
        #[arg(long, requires = "server_pid")]
        connect: Option<SocketAddr>,
        /// The process id of the server at --connect (for its memory and CPU).
        #[arg(long, requires = "connect")]
        server_pid: Option<u32>,
        /// Connections to open.
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Handshakes in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Bytes of each request and answer.
        #[arg(long, default_value_t = 1024)]
        request_len: usize,
        /// Seconds every connection is held open, counted from the first handshake.
        #[arg(long, default_value_t = 60.0)]
        hold: f64,
        /// Seconds over which the idle server's CPU is measured.
        #[arg(long, default_value_t = 10.0)]
        cpu_window: f64,
        /// Seconds between the clients' keep-alive PINGs.
        #[arg(long, default_value_t = 5.0)]
        keep_alive: f64,
        /// Server threads of the server started here.
        #[arg(long)]
        threads: Option<usize>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The server `load` measures: answers each request stream with as many bytes.
    LoadServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Threads serving connections (default: the CPUs this process may use).
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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

fn check_pmtud(max: Option<u16>, mtu: u16) -> Result<Option<u16>, PerfError> {
    match max {
        Some(m) if m < mtu => Err(PerfError::Usage(format!(
            "--pmtud-max ({m}) must be at least --mtu ({mtu})"
        ))),
        m => Ok(m),
    }
}

/// The first address `target` (an address, or `host:port`) resolves to.
fn resolve(target: &str) -> Result<SocketAddr, PerfError> {
    use std::net::ToSocketAddrs as _;
    let invalid = |why: String| PerfError::Usage(format!("invalid --connect {target:?}: {why}"));
    target
        .to_socket_addrs()
        .map_err(|e| invalid(e.to_string()))?
        .next()
        .ok_or_else(|| invalid("no address".into()))
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
            let mtu = check_mtu(cli.mtu)?;
            let reports = perf::self_test(&exe, time, &cli.sizes, mtu, cli.no_crypt, |line| {
                eprintln!("{line}")
            })?;
            if cli.json {
                println!("{}", perf::Report::to_json_array(&reports));
                return Ok(());
            }
            if cli.no_crypt {
                println!("quic: 1-RTT encryption disabled on both ends (disable_1rtt_encryption)");
            }
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
            pmtud_max,
            shards,
            json,
            no_crypt,
        }) => {
            pin(cpu)?;
            if shards == Some(0) {
                return Err(PerfError::Usage("--shards must be at least 1".into()));
            }
            let (chain, key) = match (cert, key) {
                (Some(c), Some(k)) => perf::load_cert(&c, &k)?,
                _ => perf::self_signed(),
            };
            let tls = Tls {
                client: perf::client_tls(None)?,
                server: perf::server_tls(chain, key)?,
                server_name: "localhost".into(),
                mtu: check_mtu(mtu)?,
                pmtud_max: check_pmtud(pmtud_max, mtu)?,
                no_crypt,
            };
            perf::serve(proto, listen, &tls, shards, json, |addr| {
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
            reverse,
            interval,
            bytes,
            json,
            proto,
            cpu,
            mtu,
            pmtud_max,
            connect_timeout,
            bidir,
            streams,
            connections,
            no_crypt,
        }) => {
            pin(cpu)?;
            let (chain, key) = perf::self_signed();
            let tls = Tls {
                client: perf::client_tls(ca.as_deref())?,
                server: perf::server_tls(chain, key)?,
                server_name,
                mtu: check_mtu(mtu)?,
                pmtud_max: check_pmtud(pmtud_max, mtu)?,
                no_crypt,
            };
            let run = ClientRun {
                proto,
                addr: resolve(&connect)?,
                msg_len,
                time: seconds(time, "--time")?,
                rr,
                reverse,
                bytes,
                interval: if interval == 0.0 {
                    None
                } else {
                    Some(seconds(interval, "--interval")?)
                },
                streams,
                bidir,
                connect_timeout: seconds(connect_timeout, "--connect-timeout")?,
            };
            if connections > 1 {
                let reports = perf::run_clients(&run, &tls, usize::from(connections))?;
                if json {
                    println!("{}", perf::Report::to_json_parallel(&reports));
                    return Ok(());
                }
                for (k, r) in reports.iter().enumerate() {
                    println!(
                        "[connection {k}] {:.3} Gbit/s ({} bytes in {:.2} s)",
                        r.gbps, r.bytes, r.seconds
                    );
                }
                println!(
                    "{} {} bytes, {} connections: {:.3} Gbit/s in all ({} bytes)",
                    connect,
                    msg_len,
                    reports.len(),
                    reports.iter().map(|r| r.gbps).sum::<f64>(),
                    reports.iter().map(|r| r.bytes).sum::<u64>()
                );
                return Ok(());
            }
            let report = perf::run_client_reporting(&run, &tls, &mut |i| {
                let line = format!(
                    "[{:>6.2}-{:>6.2} s] {:>12} bytes {:>8.3} Gbit/s",
                    i.start, i.end, i.bytes, i.gbps
                );
                if json {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            })?;
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
                if let Some((sent, received)) = report.bidir {
                    println!("both ways: {sent} bytes sent, {received} bytes received");
                }
                println!("{}", report.switches_text());
            }
            if let (false, Some(q)) = (json, report.quic_text()) {
                println!("{q}");
            }
            Ok(())
        }
        Some(Cmd::Load {
            connect,
            server_pid,
            connections,
            concurrency,
            request_len,
            hold,
            cpu_window,
            keep_alive,
            threads,
            json,
        }) => {
            if connections == 0 || concurrency == 0 {
                return Err(PerfError::Usage(
                    "--connections and --concurrency must be positive".into(),
                ));
            }
            let opts = load::LoadOptions {
                connections,
                concurrency,
                request_len,
                hold: seconds(hold, "--hold")?,
                cpu_window: seconds(cpu_window, "--cpu-window")?,
                keep_alive: seconds(keep_alive, "--keep-alive")?,
                ..load::LoadOptions::default()
            };
            run_load(connect, server_pid, opts, threads, json)
        }
        Some(Cmd::LoadServer { listen, threads }) => load_server(listen, threads),
    }
}

fn load_server(listen: SocketAddr, threads: Option<usize>) -> Result<(), PerfError> {
    let (chain, key) = perf::self_signed();
    let tls = quicsock::tls::server_config(chain, key, &[load::ALPN])
        .map_err(|e| PerfError::Usage(e.to_string()))?;
    let mut config = quicsock::ServerConfig::new(tls);
    config.backlog = 4096;
    config.transport.transport.max_idle_timeout = quicsock_proto::VarInt::from_u32(120_000);
    let listener = quicsock::QuicListener::bind(listen, &config)
        .map_err(|e| PerfError::Bind(listen, e.into()))?;
    println!(
        "listening on {}",
        listener.local_addr().map_err(io::Error::from)?
    );
    let _ = io::Write::flush(&mut io::stdout());
    load::serve(listener, threads.unwrap_or_else(cpus))
}

#[allow(clippy::too_many_arguments)]
fn run_load(
    connect: Option<SocketAddr>,
    server_pid: Option<u32>,
    opts: load::LoadOptions,
    threads: Option<usize>,
    json: bool,
) -> Result<(), PerfError> {
    let mut own = None;
    let (addr, pid) = match (connect, server_pid) {
        (Some(a), Some(p)) => (a, p),
        _ => {
            let mut cmd = std::process::Command::new(std::env::current_exe()?);
            cmd.arg("load-server");
            if let Some(t) = threads {
                cmd.arg("--threads").arg(t.to_string());
            }
            let server = load::ServerProcess::spawn(cmd)?;
            let at = (server.addr, server.pid());
            own = Some(server);
            at
        }
    };
    let report = load::run("quicsock", addr, pid, &opts, |l| eprintln!("{l}"))?;
    drop(own);
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
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
