//! `quicperf load`: many concurrent connections from one client endpoint to one server,
//! each making a small request and then staying idle, and what they cost the server.
//!
//! # The exchange
//!
//! Each request is a bidirectional stream: the client writes `request_len` bytes and its
//! FIN; the server answers with as many bytes and its FIN. A probe connection, opened
//! first, measures the latency of a fresh request (a new stream) with no other connection
//! open and again with all of them open.
//!
//! # What is reported
//!
//! Handshakes per second while opening, connections established, the server's resident
//! memory before and with every connection open (KiB per connection), its CPU while the
//! connections idle (keep-alive PINGs only, every `keep_alive`), the probe's latency both
//! ways, and whether every connection was still open after the hold time. The server runs
//! in another process, whose `/proc` entries give its memory and CPU.

mod server;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quicsock::{ClientConfig, Flags, QuicEndpoint, QuicSocket};

pub use server::serve;

pub use crate::perf::ServerProcess;

use crate::perf::PerfError;

/// The ALPN of the load exchange.
pub const ALPN: &[u8] = b"quicload";

/// What a load run does.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Connections to open besides the probe.
    pub connections: usize,
    /// Handshakes in flight at once while opening.
    pub concurrency: usize,
    /// Bytes of each request (and of its answer).
    pub request_len: usize,
    /// How long every connection is held open, idle, after the measurements.
    pub hold: Duration,
    /// How long the server's idle CPU is measured.
    pub cpu_window: Duration,
    /// The clients' keep-alive interval (a PING when nothing else was sent for this long).
    pub keep_alive: Duration,
    /// Requests whose latency is measured, each way.
    pub probes: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            connections: 10_000,
            concurrency: 64,
            request_len: 1024,
            hold: Duration::from_secs(60),
            cpu_window: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            probes: 200,
        }
    }
}

/// What a load run measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LoadReport {
    /// The server measured (`quicsock`, `quinn`).
    pub server: String,
    /// Connections asked for.
    pub connections: usize,
    /// Connections whose handshake and first request completed.
    pub established: usize,
    /// Handshakes per second while opening.
    pub handshakes_per_sec: f64,
    /// Handshakes per second of the server's CPU time while opening (per core busy: the
    /// client shares the machine, so this is the server's own cost).
    pub handshakes_per_cpu_sec: f64,
    /// The server's resident memory before the connections were opened, KiB.
    pub rss_before_kib: u64,
    /// The server's resident memory with every connection open, KiB.
    pub rss_with_kib: u64,
    /// Their difference per connection, KiB.
    pub kib_per_connection: f64,
    /// The server's CPU while the connections idle, percent of one core.
    pub idle_cpu_percent: f64,
    /// The probe's median request latency with no other connection open, microseconds.
    pub latency_alone_us: f64,
    /// The same with every connection open.
    pub latency_loaded_us: f64,
    /// Connections still open after the hold time.
    pub held: usize,
    /// The hold time, seconds.
    pub hold_secs: f64,
}

impl LoadReport {
    /// One JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }

    /// Lines for a person.
    pub fn to_text(&self) -> String {
        format!(
            "{}: {}/{} connections established, {:.0} handshakes/s, {:.0} per second of server CPU\n\
             {}: server RSS {} KiB before, {} KiB with them open: {:.2} KiB per connection\n\
             {}: server CPU while idle {:.2} % of one core\n\
             {}: fresh request latency {:.1} us alone, {:.1} us with them open ({:.2}x)\n\
             {}: {} of them still open after {:.0} s\n",
            self.server,
            self.established,
            self.connections,
            self.handshakes_per_sec,
            self.handshakes_per_cpu_sec,
            self.server,
            self.rss_before_kib,
            self.rss_with_kib,
            self.kib_per_connection,
            self.server,
            self.idle_cpu_percent,
            self.server,
            self.latency_alone_us,
            self.latency_loaded_us,
            self.latency_loaded_us / self.latency_alone_us.max(f64::MIN_POSITIVE),
            self.server,
            self.held,
            self.hold_secs,
        )
    }
}

/// The wall clock a measurement reads (the protocol core never does).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// A process's resident memory, KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Result<u64, PerfError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| PerfError::Usage(format!("no VmRSS for process {pid}")))
}

/// A process's CPU time so far (user + system, `/proc/PID/stat`).
pub fn cpu_time(pid: u32) -> Result<Duration, PerfError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| PerfError::Usage(format!("unreadable stat of process {pid}")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name and state.
    let (Some(utime), Some(stime)) = (ticks(11), ticks(12)) else {
        return Err(PerfError::Usage(format!(
            "unreadable stat of process {pid}"
        )));
    };
    // USER_HZ is 100 on Linux for every architecture we build for.
    Ok(Duration::from_millis((utime + stime) * 10))
}

/// One request on a new stream of `sock`: `len` bytes and FIN out, the answer in.
pub fn request(sock: &QuicSocket, len: usize) -> Result<(), PerfError> {
    let body = vec![0x5a; len];
    let id = sock.open_stream(Flags::NONE).map_err(quic)?;
    sock.send(&body, id, Flags::STREAM_FIN).map_err(quic)?;
    let mut got = 0;
    let mut buf = vec![0u8; len.max(4096)];
    loop {
        let (n, fin) = sock.recv_stream(id, &mut buf, Flags::NONE).map_err(quic)?;
        got += n;
        if fin {
            break;
        }
    }
    if got != len {
        return Err(PerfError::Usage(format!(
            "answer of {got} bytes to a request of {len}"
        )));
    }
    Ok(())
}

fn quic(e: quicsock::Error) -> PerfError {
    PerfError::Io(e.into())
}

/// The median latency of `n` fresh requests on `sock`, microseconds.
fn latency(sock: &QuicSocket, len: usize, n: usize) -> Result<f64, PerfError> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = now();
        request(sock, len)?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples.get(samples.len() / 2).copied().unwrap_or(0.0))
}

/// The client configuration of a load run.
pub fn client_config(opts: &LoadOptions) -> ClientConfig {
    let mut config = ClientConfig::new(quicsock::tls::insecure_client_config(&[ALPN]), "localhost");
    config.transport.keep_alive = Some(opts.keep_alive);
    config.transport.transport.max_idle_timeout = quicsock_proto::VarInt::from_u32(120_000);
    config.handshake_timeout = Duration::from_secs(30);
    config
}

/// Runs the load against the server at `addr` (process `pid`, for its memory and CPU).
pub fn run(
    name: &str,
    addr: SocketAddr,
    pid: u32,
    opts: &LoadOptions,
    progress: impl Fn(&str),
) -> Result<LoadReport, PerfError> {
    let local: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse().expect("literal")
    } else {
        "0.0.0.0:0".parse().expect("literal")
    };
    let ep = Arc::new(QuicEndpoint::bind(local, &Default::default()).map_err(quic)?);
    let config = client_config(opts);
    let probe = ep.connect(addr, &config).map_err(quic)?;
    request(&probe, opts.request_len)?;
    let latency_alone_us = latency(&probe, opts.request_len, opts.probes)?;
    let rss_before_kib = rss_kib(pid)?;
    progress(&format!("{name}: opening {} connections", opts.connections));

    // Handshakes, `concurrency` at a time.
    let next = Arc::new(AtomicUsize::new(0));
    let open: Arc<Mutex<Vec<QuicSocket>>> = Arc::default();
    let cpu_opening = cpu_time(pid)?;
    let start = now();
    let workers: Vec<_> = (0..opts.concurrency.max(1))
        .map(|_| {
            let (ep, next, open, config) = (ep.clone(), next.clone(), open.clone(), config.clone());
            let n = opts.connections;
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    if let Ok(s) = ep.connect(addr, &config) {
                        open.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let opened = start.elapsed();
    let server_cpu = (cpu_time(pid)? - cpu_opening).as_secs_f64();
    let socks = std::mem::take(&mut *open.lock().unwrap_or_else(|e| e.into_inner()));
    let handshakes_per_sec = socks.len() as f64 / opened.as_secs_f64();
    let handshakes_per_cpu_sec = socks.len() as f64 / server_cpu.max(f64::MIN_POSITIVE);
    progress(&format!(
        "{name}: {} handshakes in {:.2} s",
        socks.len(),
        opened.as_secs_f64()
    ));

    // One request each, then idle.
    let socks = Arc::new(socks);
    let done = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..opts.concurrency.max(1))
        .map(|_| {
            let (socks, next, done) = (socks.clone(), next.clone(), done.clone());
            let len = opts.request_len;
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(s) = socks.get(i) else {
                    return;
                };
                if request(s, len).is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let established = done.load(Ordering::Relaxed);
    // Let the last ACKs and the connections' buffers settle before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let rss_with_kib = rss_kib(pid)?;
    progress(&format!(
        "{name}: measuring idle CPU for {:?}",
        opts.cpu_window
    ));
    let cpu0 = cpu_time(pid)?;
    let t0 = now();
    std::thread::sleep(opts.cpu_window);
    let idle_cpu_percent =
        (cpu_time(pid)? - cpu0).as_secs_f64() / t0.elapsed().as_secs_f64() * 100.0;
    let latency_loaded_us = latency(&probe, opts.request_len, opts.probes)?;
    let held_from = now();
    let remaining = opts.hold.saturating_sub(start.elapsed());
    progress(&format!("{name}: holding for {remaining:?} more"));
    std::thread::sleep(remaining);
    let held = socks.iter().filter(|s| s.close_reason().is_none()).count();
    let hold_secs = (start.elapsed().max(held_from.elapsed())).as_secs_f64();
    Ok(LoadReport {
        server: name.into(),
        connections: opts.connections,
        established,
        handshakes_per_sec,
        handshakes_per_cpu_sec,
        rss_before_kib,
        rss_with_kib,
        kib_per_connection: (rss_with_kib.saturating_sub(rss_before_kib)) as f64
            / established.max(1) as f64,
        idle_cpu_percent,
        latency_alone_us,
        latency_loaded_us,
        held,
        hold_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The poll-driven server on two threads answers every request of 200 connections
    /// from one endpoint, each with as many bytes as it asked with.
    #[test]
    fn poll_server_answers_every_connection() {
        let (chain, key) = crate::perf::self_signed();
        let tls = quicsock::tls::server_config(chain, key, &[ALPN]).unwrap();
        let mut config = quicsock::ServerConfig::new(tls);
        config.backlog = 1024;
        let listener =
            quicsock::QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || serve(listener, 2));
        let ep = QuicEndpoint::bind("127.0.0.1:0".parse().unwrap(), &Default::default()).unwrap();
        let opts = LoadOptions::default();
        let config = client_config(&opts);
        let socks: Vec<QuicSocket> = (0..200)
            .map(|_| ep.connect(addr, &config).unwrap())
            .collect();
        for (i, s) in socks.iter().enumerate() {
            request(s, 100 + i).unwrap();
        }
        // A request larger than any one send, and an empty one.
        request(&socks[0], 300_000).unwrap();
        request(&socks[1], 0).unwrap();
        assert_eq!(ep.connection_count(), 200);
    }
}
