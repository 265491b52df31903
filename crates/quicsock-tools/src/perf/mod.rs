//! quicperf: goodput and request/response latency over QUIC (quicsock), plain TCP and TLS
//! 1.3 over TCP, measured the same way.
//!
//! # The exchange
//!
//! The client opens one connection and writes an 8-byte header: the mode (0 bulk, 1
//! request/response, 2 reverse bulk, 3 both ways) and the message length (u32, little endian).
//!
//! * **Bulk:** the client writes messages of that length for the given time (or until it
//!   wrote the given number of bytes), then ends its direction. Over QUIC it may use
//!   several streams (`-P`, the header's second byte: streams after the first), writing
//!   to each in turn and ending each. The server counts what it
//!   read and answers with the count (u64, little endian). Goodput is that count over the
//!   time from the first write to the answer, so what was still queued when the time ran
//!   out is counted only once it arrived.
//! * **Both ways** (`--bidir`, mode 3): the client writes as in bulk while the server
//!   writes messages of that length back; each side counts what it reads; the server ends
//!   its direction once the client ended its own.
//! * **Reverse bulk** (`-R`): the server writes messages of that length until the client
//!   closes the connection; the client counts what it read for the given time (or until the
//!   given number of bytes arrived). Goodput is that count over that time.
//! * **Request/response:** the client writes one message and waits for the server's
//!   echo of the same length, again and again; each round trip is a latency sample.

mod interval;
mod session;
mod switches;
mod tally;
mod transport;

pub use interval::Interval;
pub use switches::Switches;
pub use tally::ServerReport;

use interval::Intervals;
use tally::Tally;

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use transport::Conn;

/// The ALPN quicperf uses.
pub const ALPN: &[u8] = b"quicperf";
/// The message sizes of the self-test (Linux QUIC's published table).
pub const SELF_TEST_SIZES: [usize; 4] = [1024, 4096, 16384, 65536];
/// The most streams a bulk upload may spread over (`-P`).
pub const MAX_STREAMS: usize = 64;

/// The largest message length.
pub const MAX_MSG_LEN: usize = 16 << 20;

/// The transport measured.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// QUIC with quicsock.
    Quic,
    /// Plain TCP.
    Tcp,
    /// TLS 1.3 (rustls) over TCP.
    Tls,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Self::Quic => "quic",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

/// Why quicperf failed.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// A certificate, key or CA file could not be used.
    #[error(transparent)]
    File(#[from] crate::certs::FileError),
    /// The listening address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, io::Error),
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, io::Error),
    /// The connection failed during the measurement.
    #[error("connection failed: {0}")]
    Io(#[from] io::Error),
}

/// TLS material for both sides.
#[derive(Clone, Debug)]
pub struct Tls {
    /// The client's configuration.
    pub client: Arc<rustls::ClientConfig>,
    /// The server's configuration.
    pub server: Arc<rustls::ServerConfig>,
    /// The name the client checks.
    pub server_name: String,
    /// The UDP payload size QUIC starts with.
    pub mtu: u16,
    /// Search for a larger one with DPLPMTUD, up to this many bytes; `None` keeps `mtu`
    /// throughout, so that measurements compare one datagram size.
    pub pmtud_max: Option<u16>,
    /// QUIC sends disable_1rtt_encryption (0xbaad): with a peer that sends it too, 1-RTT
    /// packets go unencrypted, for Linux QUIC's `--no_crypt` measurements.
    pub no_crypt: bool,
}

impl Tls {
    /// The connections' DPLPMTUD settings.
    pub(crate) fn pmtu_config(&self) -> Option<quicsock_proto::conn::PmtuConfig> {
        self.pmtud_max.map(|max| quicsock_proto::conn::PmtuConfig {
            max,
            ..Default::default()
        })
    }
}

pub use crate::certs::{load_cert, self_signed};

/// The server's TLS configuration.
pub fn server_tls(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, PerfError> {
    quicsock::tls::server_config(chain, key, &[ALPN]).map_err(|e| PerfError::Usage(e.to_string()))
}

/// The client's TLS configuration: trust the certificates in `ca`, or none (`insecure`).
pub fn client_tls(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, PerfError> {
    Ok(match ca {
        None => quicsock::tls::insecure_client_config(&[ALPN]),
        Some(ca) => quicsock::tls::client_config(crate::certs::load_roots(ca)?, &[ALPN]),
    })
}

/// Serves clients until the process is killed. `ready` gets the bound address. `shards`
/// sets a QUIC listener's engines (default: one per CPU). Each client's exchange ends with
/// a [`ServerReport`] on standard output, one JSON object each with `json`.
pub fn serve(
    proto: Proto,
    addr: SocketAddr,
    tls: &Tls,
    shards: Option<usize>,
    json: bool,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), PerfError> {
    let server = transport::Server::bind(proto, addr, tls, shards)?;
    ready(server.local_addr()?);
    let server = match server {
        // Every QUIC connection from one thread per CPU, through one `QuicPoll`.
        transport::Server::Quic(listener) => {
            crate::serve::serve(listener, crate::serve::default_threads(), move |sock| {
                session::PerfSession::new(sock.peer_addr().ok(), json)
            })
        }
        // TCP and TLS, the baselines, as their applications usually run: a thread each.
        tcp => tcp,
    };
    loop {
        let conn = match server.accept() {
            Ok(c) => c,
            // A failed handshake concerns that client only.
            Err(_) => continue,
        };
        let (conn, peer) = conn;
        std::thread::spawn(move || {
            let _ = serve_one(conn, peer, proto, json);
        });
    }
}

fn serve_one(
    mut conn: Box<dyn Conn>,
    peer: SocketAddr,
    proto: Proto,
    json: bool,
) -> io::Result<()> {
    let mut header = [0u8; 8];
    conn.read_exact(&mut header)?;
    let len = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as usize;
    if len == 0 || len > MAX_MSG_LEN || header[0] > 3 {
        return Err(io::Error::other("bad header"));
    }
    let mut tally = Tally::new(peer, proto, header[0], json);
    let mut buf = vec![0u8; len.max(64 * 1024)];
    match header[0] {
        0 => {
            let mut total: u64 = 0;
            loop {
                match conn.read(&mut buf)? {
                    0 => break,
                    n => total += n as u64,
                }
            }
            tally.add(total);
            conn.write_all(&total.to_le_bytes())?;
            conn.finish()
        }
        1 => {
            conn.set_nodelay()?;
            serve_echo(conn.as_mut(), &mut buf, len, &mut tally)
        }
        // Both ways: send until the client ends its direction, counting what it sends.
        3 => {
            buf.truncate(len);
            buf.fill(0x5a);
            let (sent, received) = conn.both_ways(&buf, &|_| true)?;
            tally.add(sent + received);
            Ok(())
        }
        // Reverse bulk: until the client closes, which makes a write fail.
        _ => {
            buf.truncate(len);
            buf.fill(0x5a);
            while conn.write_all(&buf).is_ok() {
                tally.add(len as u64);
            }
            Ok(())
        }
    }
}

/// Echoes each request of `len` bytes; a clean end of stream ends the exchange.
fn serve_echo(
    conn: &mut dyn Conn,
    buf: &mut [u8],
    len: usize,
    tally: &mut Tally,
) -> io::Result<()> {
    loop {
        let mut off = 0;
        while off < len {
            match conn.read(&mut buf[off..len])? {
                0 if off == 0 => return conn.finish(),
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => off += n,
            }
        }
        conn.write_all(&buf[..len])?;
        tally.add(2 * len as u64);
    }
}

/// What one client run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// The transport.
    pub proto: Proto,
    /// The message length.
    pub msg_len: usize,
    /// Bytes the server received (bulk) or moved both ways (request/response).
    pub bytes: u64,
    /// Seconds measured.
    pub seconds: f64,
    /// Goodput in Gbit/s.
    pub gbps: f64,
    /// Request/response figures.
    pub rr: Option<RrStats>,
    /// The client process's context switches during the run.
    pub client_switches: Switches,
    /// The server process's, when the run knew its process (the self-test).
    pub server_switches: Option<Switches>,
    /// CPU time the client process used during the run, seconds (every thread).
    pub client_cpu: f64,
    /// The server process's, when the run knew its process (the self-test).
    pub server_cpu: Option<f64>,
    /// The client's QUIC connection at the end of the run.
    pub quic: Option<quicsock::ConnectionStats>,
    /// What each interval moved (`ClientRun::interval`).
    pub intervals: Vec<Interval>,
    /// Both ways at once: (bytes sent, bytes received).
    pub bidir: Option<(u64, u64)>,
}

/// Request/response figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RrStats {
    /// Transactions per second.
    pub tps: f64,
    /// Latency percentiles in microseconds: 50, 90, 99, 99.9.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
}

/// Context switches in a report: counts and per GiB moved.
#[derive(serde::Serialize)]
struct SwitchesJson {
    voluntary: u64,
    involuntary: u64,
    voluntary_per_gib: f64,
    involuntary_per_gib: f64,
}

impl SwitchesJson {
    fn new(sw: Switches, bytes: u64) -> Self {
        let (voluntary_per_gib, involuntary_per_gib) = sw.per_gib(bytes);
        Self {
            voluntary: sw.voluntary,
            involuntary: sw.involuntary,
            voluntary_per_gib,
            involuntary_per_gib,
        }
    }
}

/// A QUIC connection's figures in a report.
#[derive(serde::Serialize)]
struct QuicJson {
    rtt_us: u128,
    min_rtt_us: u128,
    rtt_var_us: u128,
    cwnd: u64,
    packets_sent: u64,
    packets_received: u64,
    packets_lost: u64,
    spurious_losses: u64,
    stream_bytes_retransmitted: u64,
}

/// A report as JSON.
#[derive(serde::Serialize)]
struct ReportJson<'a> {
    proto: &'static str,
    msg_len: usize,
    bytes: u64,
    seconds: f64,
    gbps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rr: Option<&'a RrStats>,
    client_switches: SwitchesJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_switches: Option<SwitchesJson>,
    /// Cores the client kept busy on average (CPU seconds per second).
    client_cores: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_cores: Option<f64>,
    /// Goodput per busy core, client and server together (when both are known).
    #[serde(skip_serializing_if = "Option::is_none")]
    gbps_per_core: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quic: Option<QuicJson>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    intervals: &'a [Interval],
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received_bytes: Option<u64>,
}

impl Report {
    fn json(&self) -> ReportJson<'_> {
        ReportJson {
            proto: self.proto.name(),
            msg_len: self.msg_len,
            bytes: self.bytes,
            seconds: self.seconds,
            gbps: self.gbps,
            rr: self.rr.as_ref(),
            client_switches: SwitchesJson::new(self.client_switches, self.bytes),
            client_cores: self.client_cpu / self.seconds.max(f64::MIN_POSITIVE),
            server_cores: self
                .server_cpu
                .map(|c| c / self.seconds.max(f64::MIN_POSITIVE)),
            gbps_per_core: self.gbps_per_core(),
            server_switches: self
                .server_switches
                .map(|sw| SwitchesJson::new(sw, self.bytes)),
            quic: self.quic.map(|q| QuicJson {
                rtt_us: q.smoothed_rtt.as_micros(),
                min_rtt_us: q.min_rtt.as_micros(),
                rtt_var_us: q.rtt_var.as_micros(),
                cwnd: q.congestion_window,
                packets_sent: q.packets_sent,
                packets_received: q.packets_received,
                packets_lost: q.packets_lost,
                spurious_losses: q.spurious_losses,
                stream_bytes_retransmitted: q.stream_bytes_retransmitted,
            }),
            intervals: &self.intervals,
            sent_bytes: self.bidir.map(|b| b.0),
            received_bytes: self.bidir.map(|b| b.1),
        }
    }

    /// One JSON object with the figures.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.json()).expect("a report serializes")
    }

    /// The reports of parallel connections as one JSON object: each connection's, and
    /// their sum.
    pub fn to_json_parallel(reports: &[Self]) -> String {
        #[derive(serde::Serialize)]
        struct Parallel<'a> {
            connections: Vec<ReportJson<'a>>,
            bytes: u64,
            gbps: f64,
        }
        let p = Parallel {
            connections: reports.iter().map(Self::json).collect(),
            bytes: reports.iter().map(|r| r.bytes).sum(),
            gbps: reports.iter().map(|r| r.gbps).sum(),
        };
        serde_json::to_string(&p).expect("reports serialize")
    }

    /// Several reports (the self-test's) as one JSON array.
    pub fn to_json_array(reports: &[Self]) -> String {
        let all: Vec<ReportJson<'_>> = reports.iter().map(Self::json).collect();
        serde_json::to_string(&all).expect("reports serialize")
    }

    /// Goodput per core kept busy, client and server together; `None` without the
    /// server's CPU.
    pub fn gbps_per_core(&self) -> Option<f64> {
        let busy = (self.client_cpu + self.server_cpu?) / self.seconds.max(f64::MIN_POSITIVE);
        Some(self.gbps / busy.max(f64::MIN_POSITIVE))
    }

    /// The QUIC connection's path figures, for a person.
    pub fn quic_text(&self) -> Option<String> {
        let q = self.quic.as_ref()?;
        Some(format!(
            "rtt {} us (min {} us), cwnd {} bytes, {} packets sent, {} lost ({} spurious), {} stream bytes retransmitted",
            q.smoothed_rtt.as_micros(),
            q.min_rtt.as_micros(),
            q.congestion_window,
            q.packets_sent,
            q.packets_lost,
            q.spurious_losses,
            q.stream_bytes_retransmitted
        ))
    }

    /// Context switches per GiB moved, for a person: client, and server when known.
    pub fn switches_text(&self) -> String {
        let (v, i) = self.client_switches.per_gib(self.bytes);
        let mut s =
            format!("context switches per GiB: client {v:.0} voluntary, {i:.0} involuntary");
        if let Some(sw) = self.server_switches {
            let (v, i) = sw.per_gib(self.bytes);
            let _ = write!(s, "; server {v:.0} voluntary, {i:.0} involuntary");
        }
        s
    }
}

/// What a client run does.
#[derive(Clone, Debug)]
pub struct ClientRun {
    /// The transport.
    pub proto: Proto,
    /// The server.
    pub addr: SocketAddr,
    /// Bytes per message.
    pub msg_len: usize,
    /// How long to send.
    pub time: Duration,
    /// Request/response instead of bulk.
    pub rr: bool,
    /// The server sends and the client receives (bulk only).
    pub reverse: bool,
    /// Bulk: stop after this many bytes instead of after `time`.
    pub bytes: Option<u64>,
    /// Report what each interval of this length moved (iperf3's `-i`).
    pub interval: Option<Duration>,
    /// Bulk over QUIC: streams to spread the data over (iperf3's `-P`; 1 by default).
    pub streams: usize,
    /// Bulk both ways at once (iperf3's `--bidir`; QUIC and TCP).
    pub bidir: bool,
    /// How long to wait for the connection to be set up.
    pub connect_timeout: Duration,
}

impl ClientRun {
    /// A bulk upload of `time` in `msg_len` writes on one stream, with no interval reports
    /// (the self-test's and the peer benchmark's run).
    pub fn bulk(proto: Proto, addr: SocketAddr, msg_len: usize, time: Duration) -> Self {
        Self {
            proto,
            addr,
            msg_len,
            time,
            rr: false,
            reverse: false,
            bytes: None,
            interval: None,
            streams: 1,
            bidir: false,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// CPU time this process used so far.
fn own_cpu() -> Result<Duration, PerfError> {
    crate::load::cpu_time(std::process::id())
}

/// The client side of one measurement: when it started, and the process's context
/// switches and CPU time then; [`report`](Self::report) fills in what every run reports.
struct Measure {
    start: Instant,
    switches: Switches,
    cpu: Duration,
}

impl Measure {
    fn start() -> Result<Self, PerfError> {
        Ok(Self {
            switches: Switches::of(None)?,
            cpu: own_cpu()?,
            #[allow(clippy::disallowed_methods)]
            start: Instant::now(),
        })
    }

    /// A report of `bytes` moved from the start until `seconds` later, the client's
    /// switches and CPU until now, and `conn`'s QUIC figures.
    fn report(
        &self,
        run: &ClientRun,
        bytes: u64,
        seconds: f64,
        conn: &dyn Conn,
    ) -> Result<Report, PerfError> {
        Ok(Report {
            proto: run.proto,
            msg_len: run.msg_len,
            bytes,
            seconds,
            gbps: bytes as f64 * 8.0 / seconds / 1e9,
            rr: None,
            client_switches: Switches::of(None)?.since(self.switches),
            client_cpu: (own_cpu()? - self.cpu).as_secs_f64(),
            server_cpu: None,
            server_switches: None,
            quic: conn.stats(),
            intervals: Vec::new(),
            bidir: None,
        })
    }
}

/// Runs one client measurement.
pub fn run_client(run: &ClientRun, tls: &Tls) -> Result<Report, PerfError> {
    run_client_reporting(run, tls, &mut |_| {})
}

/// `n` runs of `run` at once, each on its own connection (`--connections`); the reports
/// in order. Each report's context switches are the whole
/// client process's, all connections together.
pub fn run_clients(run: &ClientRun, tls: &Tls, n: usize) -> Result<Vec<Report>, PerfError> {
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..n).map(|_| s.spawn(|| run_client(run, tls))).collect();
        runs.into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| Err(PerfError::Io(io::Error::other("client panicked"))))
            })
            .collect()
    })
}

/// [`run_client`], handing each interval to `report` as it ends.
pub fn run_client_reporting(
    run: &ClientRun,
    tls: &Tls,
    report: &mut dyn FnMut(&Interval),
) -> Result<Report, PerfError> {
    if run.msg_len == 0 || run.msg_len > MAX_MSG_LEN {
        return Err(PerfError::Usage(format!(
            "--msg-len must be 1..={MAX_MSG_LEN}"
        )));
    }
    if run.bidir && (run.rr || run.reverse || run.streams > 1 || run.proto == Proto::Tls) {
        return Err(PerfError::Usage(
            "--bidir is a bulk transfer over QUIC or TCP, without --rr, -R or -P".into(),
        ));
    }
    let streams = run.streams.max(1);
    if streams > 1 && (run.rr || run.reverse || run.proto != Proto::Quic) {
        return Err(PerfError::Usage(
            "-P (parallel streams) is for QUIC bulk uploads; --connections runs parallel connections"
                .into(),
        ));
    }
    if streams > MAX_STREAMS {
        return Err(PerfError::Usage(format!("-P must be 1..={MAX_STREAMS}")));
    }
    let mut conn = transport::connect(run.proto, run.addr, tls, run.connect_timeout)?;
    if tls.no_crypt && run.proto == Proto::Quic && !conn.is_plaintext() {
        return Err(PerfError::Usage(
            "the server did not agree to disable 1-RTT encryption (start it with --no-crypt)"
                .into(),
        ));
    }
    if run.rr {
        conn.set_nodelay()?;
    }
    let mut header = [0u8; 8];
    header[1] = (streams - 1) as u8;
    header[0] = match (run.rr, run.reverse, run.bidir) {
        (true, _, _) => 1,
        (false, true, _) => 2,
        (false, false, true) => 3,
        (false, false, false) => 0,
    };
    header[4..8].copy_from_slice(&(run.msg_len as u32).to_le_bytes());
    conn.write_all(&header)?;
    if streams > 1 {
        conn.open_streams(streams - 1)?;
    }
    let msg: Vec<u8> = (0..run.msg_len).map(|i| (i % 251) as u8).collect();
    if run.rr {
        return request_response(run, conn, &msg, report);
    }
    if run.reverse {
        return receive_bulk(run, conn, report);
    }
    if run.bidir {
        return both_ways(run, conn, &msg);
    }
    let m = Measure::start()?;
    let start = m.start;
    let mut intervals = Intervals::new(run.interval, start, report);
    let mut written = 0u64;
    while run
        .bytes
        .map_or(start.elapsed() < run.time, |n| written < n)
    {
        let left = run.bytes.map_or(msg.len() as u64, |n| n - written);
        let part = &msg[..msg.len().min(left as usize)];
        let stream = (written / msg.len() as u64) as usize % streams;
        conn.write_on(stream, part)?;
        written += part.len() as u64;
        intervals.tick(written);
    }
    let intervals = intervals.finish(written);
    for k in (0..streams).rev() {
        conn.finish_on(k)?;
    }
    let mut count = [0u8; 8];
    conn.read_exact(&mut count)?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Report {
        intervals,
        ..m.report(run, u64::from_le_bytes(count), seconds, conn.as_ref())?
    })
}

/// Reverse bulk: counts what the server sends for the run's time (or bytes), then closes.
fn receive_bulk(
    run: &ClientRun,
    mut conn: Box<dyn Conn>,
    report: &mut dyn FnMut(&Interval),
) -> Result<Report, PerfError> {
    let mut buf = vec![0u8; 256 * 1024];
    let m = Measure::start()?;
    let start = m.start;
    let mut intervals = Intervals::new(run.interval, start, report);
    let mut bytes = 0u64;
    while run.bytes.map_or(start.elapsed() < run.time, |n| bytes < n) {
        match conn.read(&mut buf)? {
            0 => return Err(PerfError::Io(io::ErrorKind::UnexpectedEof.into())),
            n => bytes += n as u64,
        }
        intervals.tick(bytes);
    }
    let seconds = start.elapsed().as_secs_f64();
    let intervals = intervals.finish(bytes);
    let report = m.report(run, bytes, seconds, conn.as_ref())?;
    // Closing the connection is what stops the server.
    drop(conn);
    Ok(Report {
        intervals,
        ..report
    })
}

/// Both ways at once: what the client wrote and what it read in the run's time (or until
/// it wrote the run's bytes), both counted in `bytes`, each in `sent` and `received`.
fn both_ways(run: &ClientRun, mut conn: Box<dyn Conn>, msg: &[u8]) -> Result<Report, PerfError> {
    let m = Measure::start()?;
    let more = |written: u64| {
        run.bytes
            .map_or(m.start.elapsed() < run.time, |n| written < n)
    };
    let (sent, received) = conn.both_ways(msg, &more)?;
    let seconds = m.start.elapsed().as_secs_f64();
    Ok(Report {
        bidir: Some((sent, received)),
        ..m.report(run, sent + received, seconds, conn.as_ref())?
    })
}

fn request_response(
    run: &ClientRun,
    mut conn: Box<dyn Conn>,
    msg: &[u8],
    report: &mut dyn FnMut(&Interval),
) -> Result<Report, PerfError> {
    let mut back = vec![0u8; msg.len()];
    let mut samples = Vec::new();
    let m = Measure::start()?;
    let start = m.start;
    let mut intervals = Intervals::new(run.interval, start, report);
    while start.elapsed() < run.time {
        #[allow(clippy::disallowed_methods)]
        let t = Instant::now();
        conn.write_all(msg)?;
        conn.read_exact(&mut back)?;
        samples.push(t.elapsed());
        intervals.tick(2 * (samples.len() * msg.len()) as u64);
    }
    let seconds = start.elapsed().as_secs_f64();
    let intervals = intervals.finish(2 * (samples.len() * msg.len()) as u64);
    conn.finish()?;
    samples.sort_unstable();
    let pct = |p: f64| {
        let i = ((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1));
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    let bytes = 2 * (samples.len() * msg.len()) as u64;
    Ok(Report {
        rr: Some(RrStats {
            tps: samples.len() as f64 / seconds,
            p50_us: pct(0.5),
            p90_us: pct(0.9),
            p99_us: pct(0.99),
            p999_us: pct(0.999),
        }),
        intervals,
        ..m.report(run, bytes, seconds, conn.as_ref())?
    })
}

/// A server in a child process that prints `listening on ADDR` once it listens (quicperf's
/// `server` and `load-server` commands, or a benchmark's baseline), killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Runs `cmd` and waits for the address it listens on.
    pub fn spawn(mut cmd: Command) -> Result<Self, PerfError> {
        let mut child = cmd.stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(Self { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(PerfError::Io(io::Error::other(format!(
                    "server did not start: {line:?}"
                ))))
            }
        }
    }

    /// This executable's `server` command for `proto`, pinned to `cpu`.
    fn quicperf(
        exe: &Path,
        proto: Proto,
        cpu: Option<usize>,
        tls: &Tls,
    ) -> Result<Self, PerfError> {
        let mut cmd = Command::new(exe);
        cmd.args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--proto",
            proto.name(),
            "--mtu",
        ])
        .arg(tls.mtu.to_string())
        .stderr(Stdio::inherit());
        if tls.no_crypt {
            cmd.arg("--no-crypt");
        }
        if let Some(cpu) = cpu {
            cmd.arg("--cpu").arg(cpu.to_string());
        }
        Self::spawn(cmd)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The loopback self-test: for each message size, QUIC, TCP and TLS over TCP, each with a
/// server in its own process on CPU 1 and the client on CPU 0 (when there are two).
/// Progress goes to `progress`; returns the reports, QUIC, TCP and TLS per size.
pub fn self_test(
    exe: &Path,
    time: Duration,
    sizes: &[usize],
    mtu: u16,
    no_crypt: bool,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Report>, PerfError> {
    let two_cpus = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let (client_cpu, server_cpu) = if two_cpus {
        (Some(0), Some(1))
    } else {
        (None, None)
    };
    let (chain, key) = self_signed();
    let tls = Tls {
        client: client_tls(None)?,
        server: server_tls(chain, key)?,
        server_name: "localhost".into(),
        mtu,
        pmtud_max: None,
        no_crypt,
    };
    let mut reports = Vec::new();
    for &msg_len in sizes {
        for proto in [Proto::Quic, Proto::Tcp, Proto::Tls] {
            let server = ServerProcess::quicperf(exe, proto, server_cpu, &tls)?;
            let run = ClientRun::bulk(proto, server.addr, msg_len, time);
            let pid = server.pid();
            let server_before = Switches::of(Some(pid))?;
            let server_cpu = crate::load::cpu_time(pid)?;
            let mut server_seen = server_before;
            // The client's threads (QUIC's engine thread included) inherit the pinning.
            let mut report = std::thread::scope(|s| {
                let client = s.spawn(|| {
                    if let Some(cpu) = client_cpu {
                        let _ = quicsock_udp::pin_current_thread(cpu);
                    }
                    run_client(&run, &tls)
                });
                // A server thread that ends with its connection takes its counts with it
                // (TCP's thread per connection): sample while the run lasts.
                while !client.is_finished() {
                    if let Ok(now) = Switches::of(Some(pid)) {
                        server_seen = server_seen.max(now);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                client
                    .join()
                    .unwrap_or_else(|_| Err(PerfError::Io(io::Error::other("client panicked"))))
            })?;
            if let Ok(now) = Switches::of(Some(pid)) {
                server_seen = server_seen.max(now);
            }
            report.server_switches = Some(server_seen.since(server_before));
            report.server_cpu = Some((crate::load::cpu_time(pid)? - server_cpu).as_secs_f64());
            progress(&format!(
                "{:>6} bytes  {:<4}  {:>7.2} Gbit/s  {:>6.2} per busy core  ({} bytes in {:.2} s; {})",
                msg_len,
                proto.name(),
                report.gbps,
                report.gbps_per_core().unwrap_or(0.0),
                report.bytes,
                report.seconds,
                report.switches_text()
            ));
            reports.push(report);
        }
    }
    Ok(reports)
}

/// The self-test table: one row per message size, goodput and then goodput per core kept
/// busy (client and server CPU together).
pub fn table(reports: &[Report]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "goodput, Gbit/s (one connection, one stream, loopback)");
    let _ = writeln!(
        s,
        "tcp and tls/tcp: kernel defaults (Nagle on, as iperf3); request/response sets TCP_NODELAY"
    );
    section(&mut s, reports, |r| r.gbps);
    let _ = writeln!(s, "Gbit/s per busy core (client and server CPU together)");
    section(&mut s, reports, |r| r.gbps_per_core().unwrap_or(0.0));
    s
}

/// One section of [`table`]: `value` of each transport per message size, and the ratios.
fn section(s: &mut String, reports: &[Report], value: impl Fn(&Report) -> f64) {
    let _ = writeln!(
        s,
        "{:>9} | {:>8} | {:>8} | {:>8} | {:>9} | {:>9}",
        "msg_len", "quic", "tcp", "tls/tcp", "quic/tcp", "quic/tls"
    );
    let _ = writeln!(s, "{}", "-".repeat(67));
    for row in reports.chunks(3) {
        let [q, t, l] = row else { continue };
        let (q, t, l, len) = (value(q), value(t), value(l), q.msg_len);
        let _ = writeln!(
            s,
            "{len:>9} | {q:>8.2} | {t:>8.2} | {l:>8.2} | {:>8.2}x | {:>8.2}x",
            q / t,
            q / l
        );
    }
}
