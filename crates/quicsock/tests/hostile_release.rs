//! Connections that end leave nothing behind (a test binary of its own, so that the
//! threads and descriptors it counts are its own): 1,000 client connections, 250 closed
//! each way — by us, by the peer, by idle timeout, and by a stateless reset from a server
//! that lost its state — leave no connection in any endpoint, no engine thread and no file
//! descriptor beyond those of the process before they started.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quicsock::handshake::RustlsDriver;
use quicsock::proto::conn::ConnectionError;
use quicsock::proto::endpoint::{EndpointConfig, ServerConfig as EndpointServer};
use quicsock::proto::host::Host;
use quicsock::proto::reset::ResetKey;
use quicsock::proto::rng::SystemRandom;
use quicsock::proto::{Timestamp, VarInt};
use quicsock::{tls, ClientConfig, Error, Flags, QuicListener, QuicSocket, ServerConfig};

const ALPN: &[u8] = b"release";
const EACH: usize = 250;

fn engine_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "quicsock-engine")
        .count()
}

/// Open descriptors, and how many of them are eventfds.
fn open_fds() -> (usize, usize) {
    let links: Vec<_> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .collect();
    let eventfds = links
        .iter()
        .filter(|l| l.to_string_lossy().contains("eventfd"))
        .count();
    (links.len(), eventfds)
}

/// Every descriptor is back, except that a thread that waited in a blocking call keeps
/// the eventfd it waits on until it exits (this test's thread may have one more).
fn fds_back(before: (usize, usize)) -> bool {
    let now = open_fds();
    now.0 - now.1 == before.0 - before.1 && now.1 <= before.1 + 1
}

fn server_tls() -> Arc<rustls::ServerConfig> {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    tls::server_config(vec![key.cert.der().clone()], der.into(), &[ALPN]).unwrap()
}

fn client(addr: SocketAddr, idle_ms: u32) -> QuicSocket {
    let mut config = ClientConfig::new(tls::insecure_client_config(&[ALPN]), "localhost");
    config.transport.transport.max_idle_timeout = VarInt::from_u32(idle_ms);
    QuicSocket::connect(addr, &config).unwrap()
}

/// Waits until `done`, for at most `limit`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let mut waited = Duration::ZERO;
    while !done() {
        if waited >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    }
    true
}

/// Waits until every client's connection ended, and checks each ended with `why`.
fn all_closed_with(clients: &[QuicSocket], why: ConnectionError) {
    assert!(eventually(Duration::from_secs(20), || clients
        .iter()
        .all(|c| c.close_reason().is_some())));
    let other = clients
        .iter()
        .find(|c| c.close_reason() != Some(why.clone()));
    assert!(other.is_none(), "{:?}", other.map(QuicSocket::close_reason));
}

/// A server run by hand on a plain UDP socket, so that the test can make it lose every
/// connection's state at once (a restart) while keeping its address and reset key.
struct RawServer {
    udp: UdpSocket,
    ep: Host,
    key: ResetKey,
    tls: Arc<rustls::ServerConfig>,
    epoch: std::time::Instant,
}

impl RawServer {
    #[allow(clippy::disallowed_methods)]
    fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let key = ResetKey::new(&[42; 32]);
        let ep = Self::endpoint(&tls, &key);
        let epoch = std::time::Instant::now();
        Self {
            udp,
            ep,
            key,
            tls,
            epoch,
        }
    }

    fn endpoint(tls: &Arc<rustls::ServerConfig>, key: &ResetKey) -> Host {
        let tls = tls.clone();
        let driver: quicsock::proto::endpoint::DriverFactory =
            Arc::new(move || Box::new(RustlsDriver::server(tls.clone())));
        let config = EndpointConfig {
            server: Some(EndpointServer::new(Default::default(), driver)),
            reset_key: Some(key.clone()),
            ..EndpointConfig::default()
        };
        Host::new(config, Box::new(SystemRandom))
    }

    /// Everything is forgotten; the address and the reset key stay.
    fn restart(&mut self) {
        self.ep = Self::endpoint(&self.tls, &self.key);
    }

    fn pump(&mut self) {
        let now = Timestamp::from_duration(self.epoch.elapsed());
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = self.udp.recv_from(&mut buf) {
            self.ep.handle(now, from, None, &mut buf[..n]);
        }
        self.ep.handle_timeout(now);
        let mut out = Vec::new();
        loop {
            out.clear();
            let Some((_, t)) = self.ep.poll_transmit(now, &mut out) else {
                break;
            };
            let _ = self.udp.send_to(&out[..t.size], t.destination);
        }
        while self.ep.accept().is_some() {}
    }
}

#[test]
fn hostile_closed_connections_release_state() {
    let threads_before = engine_threads();
    let fds_before = open_fds();
    let tls = server_tls();
    let mut config = ServerConfig::new(tls.clone());
    config.backlog = 4 * EACH;
    config.transport.transport.max_idle_timeout = VarInt::from_u32(30_000);
    let listener = Arc::new(QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap());
    let addr = listener.local_addr().unwrap();
    let accept = |n: usize| {
        let l = listener.clone();
        std::thread::spawn(move || (0..n).map(|_| l.accept().unwrap()).collect::<Vec<_>>())
    };

    // By us: the client closes, the server sees it.
    let t = accept(EACH);
    let clients: Vec<_> = (0..EACH).map(|_| client(addr, 30_000)).collect();
    let servers = t.join().unwrap();
    for c in clients {
        c.close().unwrap();
    }
    drop(servers);

    // By the peer: the server closes, each client reads the close, then drops its socket.
    let t = accept(EACH);
    let clients: Vec<_> = (0..EACH).map(|_| client(addr, 30_000)).collect();
    for s in t.join().unwrap() {
        s.abort(7, b"server says bye");
    }
    for c in clients {
        c.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 16];
        match c.recv(&mut buf, Flags::NONE) {
            Err(Error::Closed(ConnectionError::Peer(_))) => {}
            other => panic!("expected the server's close, got {other:?}"),
        }
    }

    // By idle timeout: nobody says anything for longer than both sides allow.
    let t = accept(EACH);
    let clients: Vec<_> = (0..EACH).map(|_| client(addr, 500)).collect();
    let servers = t.join().unwrap();
    all_closed_with(&clients, ConnectionError::TimedOut);
    drop(clients);
    drop(servers);

    // By stateless reset: a server that restarts loses every connection, and answers the
    // clients' next packets with resets they believe.
    let mut raw = RawServer::new(tls);
    let raw_addr = raw.udp.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (pumping, restart) = (stop.clone(), Arc::new(AtomicBool::new(false)));
    let restart2 = restart.clone();
    let pump = std::thread::spawn(move || {
        while !pumping.load(Ordering::Relaxed) {
            if restart2.swap(false, Ordering::Relaxed) {
                raw.restart();
            }
            raw.pump();
        }
        raw.ep.connection_count()
    });
    let clients: Vec<_> = (0..EACH).map(|_| client(raw_addr, 30_000)).collect();
    restart.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    for c in &clients {
        // A client whose last ACK already drew a reset knows it.
        if let Ok(id) = c.open_stream(Flags::NONE) {
            let _ = c.send(b"anyone there?", id, Flags::NONE);
        }
    }
    all_closed_with(&clients, ConnectionError::Reset);
    drop(clients);
    stop.store(true, Ordering::Relaxed);
    assert_eq!(
        pump.join().unwrap(),
        0,
        "the restarted server holds nothing"
    );

    // Nothing is left: the listener's endpoints are empty, no client engine runs (only
    // the listener's shards do), and once the listener goes too, every descriptor is back.
    let shards = listener.shards();
    assert!(eventually(Duration::from_secs(20), || {
        listener.connection_count() == 0 && engine_threads() == threads_before + shards
    }));
    assert_eq!(listener.connection_count(), 0);
    assert_eq!(
        engine_threads(),
        threads_before + shards,
        "client engine threads left"
    );
    drop(listener);
    assert!(eventually(Duration::from_secs(10), || engine_threads()
        == threads_before
        && fds_back(fds_before)));
    assert_eq!(engine_threads(), threads_before);
    assert!(
        fds_back(fds_before),
        "file descriptors left open: {:?} against {fds_before:?} (all, eventfds)",
        open_fds()
    );
}
