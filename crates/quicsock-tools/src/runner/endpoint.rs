//! Starting a cell's endpoints: each implementation's server and client with the options a
//! case asks for (the mapping of the runner's `TESTCASE` that `interop/runner/run_endpoint.sh`
//! makes for quicsock), and running a whole cell.

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::fixture::Fixture;
use super::net::{self, Bound};
use super::trace::{KeyLog, Trace};
use super::{check, Case, Cell, Peer, Programs, Role, Scale};

/// The environment variable naming a directory for each cell's decrypted packet log.
pub const LOG_DIR: &str = "QUIC_RUNNER_LOGS";

/// How long a server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running endpoint, killed when dropped.
struct Process {
    child: Child,
    /// Its output, gathered by a thread.
    output: mpsc::Receiver<String>,
}

impl Process {
    fn spawn(mut cmd: Command, what: &str) -> Result<(Self, mpsc::Receiver<String>), String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {what} ({:?}): {e}", cmd.get_program()))?;
        // Lines as they come (for the server's "listening" line), and everything at the end.
        let (lines_tx, lines) = mpsc::channel();
        let (all_tx, output) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (lines_tx, all_tx) = (lines_tx.clone(), all_tx.clone());
            std::thread::spawn(move || {
                let mut all = String::new();
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let _ = lines_tx.send(line.clone());
                    all.push_str(&line);
                    all.push('\n');
                }
                let _ = all_tx.send(all);
            });
        }
        Ok((Self { child, output }, lines))
    }

    /// Waits up to `timeout` for the process to exit; kills it after that.
    fn wait(&mut self, timeout: Duration) -> Result<std::process::ExitStatus, String> {
        let deadline = net::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if net::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!("did not finish within {} s", timeout.as_secs()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Stops the process and returns what it wrote.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.collect()
    }

    fn collect(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..2 {
            match self.output.recv_timeout(Duration::from_secs(5)) {
                Ok(s) => out.push_str(&s),
                Err(_) => break,
            }
        }
        out
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of an endpoint's output, for a failure message.
fn tail(output: &str) -> String {
    let lines: Vec<_> = output.lines().collect();
    lines[lines.len().saturating_sub(8)..].join(" | ")
}

/// A started server: where it listens, and where datagrams to its preferred address must
/// go.
struct Server {
    process: Process,
    addr: SocketAddr,
    preferred_target: SocketAddr,
}

fn loopback(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

/// The server options of a case, as every implementation here spells them; `preferred`
/// is the address to announce as the preferred address.
fn server_options(peer: Peer, case: Case, preferred: SocketAddr) -> Vec<String> {
    let mut o: Vec<String> = Vec::new();
    match case {
        Case::Chacha20 => o.push("--chacha20".into()),
        Case::Retry => o.push("--retry".into()),
        // aioquic's server takes early data whenever a ticket allows it.
        Case::ZeroRtt if peer != Peer::Aioquic => o.push("--early-data".into()),
        Case::ConnectionMigration => {
            o.push("--preferred-address".into());
            o.push(preferred.to_string());
        }
        _ => {}
    }
    o
}

/// The client options of a case.
fn client_options(case: Case) -> Vec<&'static str> {
    match case {
        Case::HandshakeLoss | Case::HandshakeCorruption => vec!["--multiconnect"],
        Case::Chacha20 => vec!["--chacha20"],
        Case::Resumption => vec!["--resume"],
        Case::ZeroRtt => vec!["--zero-rtt"],
        Case::KeyUpdate => vec!["--key-update"],
        Case::V2 => vec!["--negotiate-v2"],
        _ => Vec::new(),
    }
}

fn start_server(
    peer: Peer,
    case: Case,
    programs: &Programs,
    fx: &Fixture,
    preferred: SocketAddr,
) -> Result<Server, String> {
    let v6 = case.ipv6();
    let ip = loopback(v6);
    let path = |p: &str| fx.path(p).display().to_string();
    let common = [
        "--cert".to_owned(),
        path("chain.pem"),
        "--key".into(),
        path("key.pem"),
        "--root".into(),
        fx.www().display().to_string(),
        "--keylog".into(),
        path("server.keys"),
    ];
    let mut cmd;
    match peer {
        Peer::Quicsock => {
            cmd = Command::new(&programs.quic_server);
            // The wildcard address: a preferred address arrives on another loopback IP.
            let listen = if v6 { "[::]:0" } else { "0.0.0.0:0" };
            cmd.args(["--listen", listen]);
        }
        Peer::Aioquic => {
            cmd = Command::new(&programs.python);
            cmd.arg(&programs.hq_py)
                .args(["server", "--host", &ip.to_string(), "--port", "0"]);
        }
        Peer::Quinn => {
            cmd = Command::new(&programs.quinn_hq);
            cmd.args(["server", "--listen", &SocketAddr::new(ip, 0).to_string()]);
        }
    }
    cmd.args(common).args(server_options(peer, case, preferred));
    let (process, lines) = Process::spawn(cmd, &format!("{peer} server"))?;
    let deadline = net::now() + START_TIMEOUT;
    let port = loop {
        let left = deadline.saturating_duration_since(net::now());
        let Ok(line) = lines.recv_timeout(left) else {
            return Err(format!(
                "the {peer} server did not start: {}",
                tail(&process.stop())
            ));
        };
        if line.contains("listening on") || line.contains("serving") {
            let port = line
                .rsplit(':')
                .next()
                .and_then(|p| p.trim().parse::<u16>().ok());
            match port {
                Some(p) => break p,
                None => return Err(format!("no port in the {peer} server's line {line:?}")),
            }
        }
    };
    let addr = SocketAddr::new(ip, port);
    // quic-server receives its preferred address on another loopback IP of its wildcard
    // socket; quinn on the socket it has.
    let preferred_target = match peer {
        Peer::Quicsock if !v6 => SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), port),
        _ => addr,
    };
    Ok(Server {
        process,
        addr,
        preferred_target,
    })
}

fn start_client(
    peer: Peer,
    case: Case,
    programs: &Programs,
    fx: &Fixture,
    front: SocketAddr,
    files: &[(String, usize)],
    timeout: Duration,
) -> Result<Process, String> {
    let path = |p: &str| fx.path(p).display().to_string();
    let mut cmd;
    match peer {
        Peer::Quicsock => {
            cmd = Command::new(&programs.quic_client);
            cmd.args(["--timeout", &timeout.as_secs().to_string()]);
        }
        Peer::Aioquic => {
            cmd = Command::new(&programs.python);
            cmd.arg(&programs.hq_py).arg("client");
            cmd.args(["--timeout", &timeout.as_secs().to_string()]);
        }
        Peer::Quinn => {
            cmd = Command::new(&programs.quinn_hq);
            cmd.arg("client");
        }
    }
    cmd.args(["--output", &fx.downloads().display().to_string()])
        .args(["--ca", &path("ca.pem")])
        .args(["--keylog", &path("client.keys")])
        .args(client_options(case));
    for (name, _) in files {
        cmd.arg(format!("https://{front}/{name}"));
    }
    Ok(Process::spawn(cmd, &format!("{peer} client"))?.0)
}

/// Runs one cell to its checks; returns a line of facts, or what failed.
pub fn run_cell(cell: Cell, programs: &Programs, scale: Scale) -> Result<String, String> {
    let c = capture(cell, programs, scale)?;
    let verdict = check::check(cell.case, &c.files, &c.records, &c.trace, &c.fronts);
    write_log(
        cell,
        &c.trace,
        &c.records,
        verdict.as_ref().unwrap_or_else(|e| e),
    );
    verdict.map(|facts| format!("{facts}; {}", net::summary(&c.records)))
}

/// Writes a cell's decrypted packet log and its outcome into [`LOG_DIR`], if it is set.
fn write_log(cell: Cell, trace: &Trace, records: &[net::Record], outcome: &str) {
    let Some(dir) = std::env::var_os(LOG_DIR) else {
        return;
    };
    let path = std::path::Path::new(&dir).join(format!("{}.log", cell.test_name()));
    if let Err(e) = std::fs::write(&path, format!("{}\n{outcome}\n", trace.log(records))) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}

/// What a cell's run left for the checks.
pub struct Capture {
    /// The files the client downloaded, which arrived intact.
    pub files: Vec<(String, usize)>,
    /// Every datagram the relay saw.
    pub records: Vec<net::Record>,
    /// The record decrypted.
    pub trace: Trace,
    /// The relay's front addresses: the server's, then its preferred address.
    pub fronts: Vec<SocketAddr>,
}

/// Runs a cell's endpoints through its network and compares the downloads; returns the
/// record for the checks.
pub fn capture(cell: Cell, programs: &Programs, scale: Scale) -> Result<Capture, String> {
    let Cell { case, peer, role } = cell;
    let (client_peer, server_peer) = match role {
        Role::Client => (Peer::Quicsock, peer),
        Role::Server => (peer, Peer::Quicsock),
    };
    let files = case.files(scale);
    let fx = Fixture::new(&cell.test_name(), case.chain_len(), &files)
        .map_err(|e| format!("cannot make the fixture: {e}"))?;
    let ip = loopback(case.ipv6());
    // Front 0 is the server's address; front 1 its preferred address.
    let bound = Bound::new(&[SocketAddr::new(ip, 0), SocketAddr::new(ip, 0)])
        .map_err(|e| format!("cannot bind the relay: {e}"))?;
    let fronts = bound.fronts();
    let server = start_server(server_peer, case, programs, &fx, fronts[1])?;
    let relay = bound.start(
        &[server.addr, server.preferred_target],
        case.conditions(scale),
    );
    let timeout = case.timeout(scale);
    let mut client = start_client(client_peer, case, programs, &fx, fronts[0], &files, timeout)?;
    let status = client.wait(timeout + Duration::from_secs(5));
    let client_out = client.collect();
    // Late packets (a closing period) are part of the record.
    std::thread::sleep(Duration::from_millis(200));
    let records = relay.finish();
    let server_out = server.process.stop();
    let mut keys = KeyLog::default();
    for f in ["client.keys", "server.keys"] {
        if let Ok(text) = std::fs::read_to_string(fx.path(f)) {
            keys.add(&text);
        }
    }
    let trace = Trace::decode(&records, &keys);
    let failed = match status {
        Ok(s) if s.success() => fx.check_downloads(&files).err(),
        Ok(s) => Some(format!(
            "the {client_peer} client failed ({s}): {}",
            tail(&client_out)
        )),
        Err(e) => Some(format!(
            "the {client_peer} client {e}: {} / server: {}",
            tail(&client_out),
            tail(&server_out)
        )),
    };
    if let Some(why) = failed {
        write_log(
            cell,
            &trace,
            &records,
            &format!("{why}\nclient:\n{client_out}\nserver:\n{server_out}"),
        );
        return Err(why);
    }
    Ok(Capture {
        files,
        records,
        trace,
        fronts,
    })
}
