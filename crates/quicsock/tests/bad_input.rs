//! Hostile and broken peers against a real listener on loopback: garbage datagrams, an
//! Initial flood and a peer that vanishes. None of them may block, slow or crash another
//! connection or the listener, and none may make it keep state beyond its bounds.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use quicsock::handshake::RustlsDriver;
use quicsock::proto::conn::ConnectionError;
use quicsock::proto::endpoint::{ConnectionHandle, EndpointConfig};
use quicsock::proto::host::Host;
use quicsock::proto::rng::{Random, SeededRandom};
use quicsock::proto::{Dir, Timestamp, VarInt};
use quicsock::{tls, ClientConfig, Error, Flags, QuicListener, QuicSocket, ServerConfig};

const ALPN: &[u8] = b"bad-input";

/// A listener's settings with a fresh self-signed certificate.
fn server_config(backlog: usize, idle_ms: u32) -> ServerConfig {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    let tls = tls::server_config(vec![key.cert.der().clone()], der.into(), &[ALPN]).unwrap();
    let mut config = ServerConfig::new(tls);
    config.backlog = backlog;
    config.transport.transport.max_idle_timeout = VarInt::from_u32(idle_ms);
    config
}

fn bind(config: &ServerConfig) -> (QuicListener, SocketAddr) {
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

fn server(backlog: usize, idle_ms: u32) -> (QuicListener, SocketAddr) {
    bind(&server_config(backlog, idle_ms))
}

fn client(addr: SocketAddr) -> QuicSocket {
    QuicSocket::connect(
        addr,
        &ClientConfig::new(tls::insecure_client_config(&[ALPN]), "localhost"),
    )
    .unwrap()
}

/// Sends `len` bytes on a new stream and checks the server counted them all.
fn transfer(c: &QuicSocket, s: &QuicSocket, len: usize) {
    let id = c.open_stream(Flags::NONE).unwrap();
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut buf = vec![0u8; 65536];
            let mut total = 0;
            loop {
                let (n, fin) = s.recv_stream(id, &mut buf, Flags::NONE).unwrap();
                total += n;
                if fin {
                    return total;
                }
            }
        });
        let chunk = vec![0xabu8; 65536];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            c.send(&chunk[..n], id, Flags::NONE).unwrap();
            sent += n;
        }
        c.send(b"", id, Flags::STREAM_FIN).unwrap();
        assert_eq!(reader.join().unwrap(), len);
    });
}

/// A client driven by hand over a plain UDP socket: the protocol core and rustls, with the
/// test deciding when (and whether) it runs.
struct RawClient {
    ep: Host,
    h: ConnectionHandle,
    udp: UdpSocket,
    epoch: std::time::Instant,
}

impl RawClient {
    #[allow(clippy::disallowed_methods)]
    fn new(udp: UdpSocket, server: SocketAddr, seed: u64) -> Self {
        let epoch = std::time::Instant::now();
        let mut ep = Host::new(EndpointConfig::default(), Box::new(SeededRandom::new(seed)));
        let driver =
            RustlsDriver::client(tls::insecure_client_config(&[ALPN]), "localhost").unwrap();
        let h = ep
            .connect(
                Timestamp::ZERO,
                server,
                quicsock::TransportConfig::default(),
                Box::new(driver),
            )
            .unwrap();
        Self { ep, h, udp, epoch }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.epoch.elapsed())
    }

    /// Sends what the connection has.
    fn flush(&mut self) {
        self.flush_with(&mut |r, d, to| {
            let _ = r.udp.send_to(d, to);
        });
    }

    /// Hands each datagram the connection has to `send`, with its destination.
    fn flush_with(&mut self, send: &mut impl FnMut(&mut Self, &[u8], SocketAddr)) {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let now = self.now();
            let Some((_, t)) = self.ep.poll_transmit(now, &mut buf) else {
                break;
            };
            send(self, &buf[..t.size], t.destination);
        }
    }

    /// A datagram with a PING, for the connection's current path.
    fn ping(&mut self) -> Vec<u8> {
        self.ep.connection(self.h).unwrap().ping();
        let mut buf = Vec::new();
        let now = self.now();
        let (_, t) = self.ep.poll_transmit(now, &mut buf).unwrap();
        buf.truncate(t.size);
        buf
    }

    /// Runs the connection until `done` or `limit`.
    fn run(&mut self, limit: Duration, done: impl FnMut(&mut Self) -> bool) -> bool {
        self.run_filtered(limit, done, |r, d, to| {
            let _ = r.udp.send_to(d, to);
        })
    }

    /// [`run`](Self::run) with each outgoing datagram handed to `send`.
    #[allow(clippy::disallowed_methods)]
    fn run_filtered(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Self) -> bool,
        mut send: impl FnMut(&mut Self, &[u8], SocketAddr),
    ) -> bool {
        let end = std::time::Instant::now() + limit;
        self.udp
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let mut buf = vec![0u8; 65536];
        while std::time::Instant::now() < end {
            self.flush_with(&mut send);
            if done(self) {
                return true;
            }
            if let Ok((n, from)) = self.udp.recv_from(&mut buf) {
                let now = self.now();
                self.ep.handle(now, from, None, &mut buf[..n]);
            }
            let now = self.now();
            self.ep.handle_timeout(now);
        }
        false
    }
}

#[test]
fn garbage_datagrams_leave_the_listener_and_a_transfer_unharmed() {
    let (l, addr) = server(64, 30_000);
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    // A real first flight, to send broken copies of.
    let mut raw = RawClient::new(UdpSocket::bind("127.0.0.1:0").unwrap(), addr, 7);
    let mut initial = Vec::new();
    let t = raw.ep.poll_transmit(raw.now(), &mut initial).unwrap();
    initial.truncate(t.1.size);
    let t = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        (l, s)
    });
    let c = client(addr);
    let (l, s) = t.join().unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| transfer(&c, &s, 20_000_000));
        let mut rng = SeededRandom::new(1);
        let mut d = vec![0u8; 1500];
        for i in 0..8000u64 {
            let len = match i % 4 {
                // Random bytes of any size.
                0 => 1 + rng.next_u64() as usize % 1500,
                // Long headers that claim to be Initials (v1), random IDs and payload.
                1 => {
                    rng.fill(&mut d[..1200]);
                    d[0] = 0xc0 | (d[0] & 0x0f);
                    d[1..5].copy_from_slice(&1u32.to_be_bytes());
                    d[5] = 8;
                    1200
                }
                // A real Initial, truncated or with one byte changed.
                2 => {
                    let cut = 1 + rng.next_u64() as usize % initial.len();
                    d[..initial.len()].copy_from_slice(&initial);
                    if rng.next_u64() % 2 == 0 {
                        cut
                    } else {
                        d[rng.next_u64() as usize % initial.len()] ^=
                            1 + (rng.next_u64() as u8 & 0x7f);
                        initial.len()
                    }
                }
                // Short headers for IDs that do not exist.
                _ => {
                    rng.fill(&mut d[..100]);
                    d[0] = 0x40 | (d[0] & 0x3f);
                    100
                }
            };
            let _ = attacker.send_to(&d[..len], addr);
        }
    });
    // No state was kept for any of it (but for an intact copy of the real Initial, which
    // is a genuine handshake attempt); the listener still takes a new client.
    assert!(
        l.connection_count() <= 2,
        "{} connections",
        l.connection_count()
    );
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c2 = client(addr);
    let s2 = t.join().unwrap();
    transfer(&c2, &s2, 100_000);
}

/// The socket-level twin of the protocol core's `hostile_initial_flood_real_client_connects`:
/// 300 real first flights (rustls ClientHellos) from one socket, never answered, hold at
/// most the Retry threshold of handshakes (plus the validated newcomer) while an
/// established connection transfers;
/// a new client arriving during the flood is sent a Retry and gets in.
#[test]
fn hostile_initial_flood_real_client_connects_over_udp() {
    let mut config = server_config(256, 30_000);
    config.retry_threshold = 16;
    config.max_half_open = 64;
    config.transport.handshake_timeout = Some(Duration::from_secs(1));
    let (l, addr) = bind(&config);
    let l = Arc::new(l);
    let l2 = l.clone();
    let t = std::thread::spawn(move || l2.accept().unwrap());
    let c = client(addr);
    let s = t.join().unwrap();
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut most = 0;
    let mut newcomer = None;
    std::thread::scope(|scope| {
        scope.spawn(|| transfer(&c, &s, 5_000_000));
        for i in 0..300 {
            let mut raw = RawClient::new(attacker.try_clone().unwrap(), addr, 100 + i);
            raw.flush();
            most = most.max(l.handshake_count());
            if i == 150 {
                let l3 = l.clone();
                let accept = std::thread::spawn(move || l3.accept().unwrap());
                newcomer = Some((client(addr), accept));
            }
        }
    });
    // The threshold, and the newcomer that came back with its Retry token.
    assert!(
        most <= 16 + 1,
        "{most} handshakes held beyond a Retry threshold of 16"
    );
    let (c2, accept) = newcomer.unwrap();
    let s2 = accept.join().unwrap();
    transfer(&c2, &s2, 100_000);
    // The half-open handshakes go at the handshake timeout.
    let mut waited = Duration::ZERO;
    while l.handshake_count() > 0 && waited < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    }
    assert_eq!(
        l.handshake_count(),
        0,
        "half-open handshakes held after {waited:?}"
    );
}

#[test]
fn a_vanished_peer_times_out_without_disturbing_others() {
    let (l, addr) = server(64, 1_000);
    let l = Arc::new(l);
    // A client that completes the handshake, sends a little, then is never heard again.
    let mut raw = RawClient::new(UdpSocket::bind("127.0.0.1:0").unwrap(), addr, 9);
    assert!(raw.run(Duration::from_secs(5), |r| r
        .ep
        .connection(r.h)
        .is_some_and(|c| c.is_handshake_confirmed())));
    let conn = raw.ep.connection(raw.h).unwrap();
    let id = conn.open_stream(Dir::Bi).unwrap();
    conn.write(id, b"hello, then silence", false).unwrap();
    raw.flush();
    let gone = l.accept().unwrap();
    let mut buf = [0u8; 64];
    let (n, _, _) = gone.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(&buf[..n], b"hello, then silence");
    // Meanwhile another client transfers as usual, and the silent one times out.
    let l2 = l.clone();
    let t = std::thread::spawn(move || l2.accept().unwrap());
    let c = client(addr);
    let s = t.join().unwrap();
    transfer(&c, &s, 5_000_000);
    gone.set_read_timeout(Some(Duration::from_secs(10)));
    match gone.recv(&mut buf, Flags::NONE) {
        Err(Error::Closed(ConnectionError::TimedOut)) => {}
        other => panic!("expected the idle timeout, got {other:?}"),
    }
}

/// A NAT between client and server that gives the client a new port mid-transfer, again
/// and again: the server follows it each time (PATH_CHALLENGE), reports
/// CONNECTION_MIGRATION, and the data arrives, with one shard and with several (each new
/// 4-tuple reaches the connection's own shard through the kernel's steering by connection
/// ID, `reuseport_group_steers_by_connection_id` in quicsock-udp).
#[test]
fn nat_rebinding_through_a_relay() {
    for shards in [1, 2, 4] {
        rebinding_with_shards(shards, 8);
    }
}

#[allow(clippy::disallowed_methods)]
fn rebinding_with_shards(shards: usize, rebindings: usize) {
    use quicsock::{EventType, QuicEvent};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let mut config = server_config(64, 30_000);
    config.shards = shards;
    let (l, server) = bind(&config);
    assert_eq!(l.shards(), shards);
    l.set_event(EventType::ConnectionMigration, true);
    // The relay: the client talks to `front`; upstream it uses `ups[current]`.
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let ups: Vec<UdpSocket> = (0..=rebindings)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let relay_addr = front.local_addr().unwrap();
    let current = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut relays = Vec::new();
    front
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    for s in &ups {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    }
    let client_addr = Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    {
        let front = front.try_clone().unwrap();
        let ups: Vec<UdpSocket> = ups.iter().map(|u| u.try_clone().unwrap()).collect();
        let (current, stop, client_addr) = (current.clone(), stop.clone(), client_addr.clone());
        relays.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = front.recv_from(&mut buf) {
                    *client_addr.lock().unwrap() = Some(from);
                    let up = &ups[current.load(Ordering::Relaxed)];
                    let _ = up.send_to(&buf[..n], server);
                }
            }
        }));
    }
    for up in &ups {
        let up = up.try_clone().unwrap();
        let (front, stop, client_addr) = (
            front.try_clone().unwrap(),
            stop.clone(),
            client_addr.clone(),
        );
        relays.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, _)) = up.recv_from(&mut buf) {
                    if let Some(c) = *client_addr.lock().unwrap() {
                        let _ = front.send_to(&buf[..n], c);
                    }
                }
            }
        }));
    }
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = client(relay_addr);
    let s = t.join().unwrap();
    assert_eq!(s.peer_addr().unwrap(), ups[0].local_addr().unwrap());
    let id = c.open_stream(Flags::NONE).unwrap();
    let per_path = 10;
    let read = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut buf = vec![0u8; 65536];
            let (mut total, mut migrations) = (0, 0);
            s.set_read_timeout(Some(Duration::from_secs(10)));
            loop {
                let (n, _, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
                if flags.contains(Flags::NOTIFICATION) {
                    if QuicEvent::from_bytes(&buf[..n])
                        == Some(QuicEvent::ConnectionMigration { local: 0 })
                    {
                        migrations += 1;
                    }
                    continue;
                }
                total += n;
                read.store(total, Ordering::Relaxed);
                if flags.contains(Flags::STREAM_FIN) {
                    return (total, migrations);
                }
            }
        });
        let chunk = vec![7u8; 65536];
        for i in 1..=rebindings {
            for _ in 0..per_path {
                c.send(&chunk, id, Flags::NONE).unwrap();
            }
            // The server reads half of what was sent on this path before the NAT moves the
            // client, so every path carries part of the transfer.
            let half = (i * per_path - per_path / 2) * 65536;
            let waited = std::time::Instant::now();
            while read.load(Ordering::Relaxed) < half && waited.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            current.store(i, Ordering::Relaxed);
        }
        for _ in 0..per_path {
            c.send(&chunk, id, Flags::NONE).unwrap();
        }
        c.send(b"", id, Flags::STREAM_FIN).unwrap();
        let (total, migrations) = reader.join().unwrap();
        assert_eq!(total, (rebindings + 1) * per_path * 65536);
        // One event per path the server moved to; a path that carried nothing (the client
        // had nothing to send while the NAT held it) has none.
        assert!(migrations >= 1, "CONNECTION_MIGRATION reported");
    });
    assert_eq!(
        s.peer_addr().unwrap(),
        ups[rebindings].local_addr().unwrap(),
        "the server follows the last port ({shards} shards)"
    );
    stop.store(true, Ordering::Relaxed);
    for r in relays {
        r.join().unwrap();
    }
}

/// The kernel steers a GSO burst by its first datagram (`gso_burst_lands_on_one_socket` in
/// quicsock-udp), so datagrams of several connections sent back to back from one address
/// can reach a shard that does not own them. Here a relay puts a decoy steered to the
/// other shard in front of every datagram of the client, in one burst: each of the
/// client's datagrams reaches the wrong shard, which hands it on, and the connection is
/// made and carries data both ways.
#[test]
fn datagrams_steered_to_another_shard_reach_their_own() {
    use quicsock_udp::{steered_socket, RecvMeta, Transmit};
    use std::io::IoSliceMut;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let mut config = server_config(64, 30_000);
    config.shards = 2;
    let (l, server) = bind(&config);
    assert_eq!(l.shards(), 2);
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let up = Arc::new(quicsock_udp::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap());
    assert!(up.capabilities().gso_segments > 1, "loopback GSO");
    front
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    up.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let misdirected = Arc::new(AtomicUsize::new(0));
    let client_addr = Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    let upstream = {
        let (front, up, stop, client_addr, misdirected) = (
            front.try_clone().unwrap(),
            up.clone(),
            stop.clone(),
            client_addr.clone(),
            misdirected.clone(),
        );
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut burst = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = front.recv_from(&mut buf) else {
                    continue;
                };
                *client_addr.lock().unwrap() = Some(from);
                let d = &buf[..n];
                // A Handshake packet for an unknown ID (dropped by the server), of the same
                // size, steered to the other shard.
                let other = 1 - steered_socket(d, 2) as u8;
                burst.clear();
                burst.extend_from_slice(&[0xe0, 0, 0, 0, 1, 8, other]);
                burst.resize(n, 0x5a);
                burst.extend_from_slice(d);
                let t = Transmit {
                    destination: server,
                    ecn: None,
                    contents: &burst,
                    segment_size: Some(n),
                    src_ip: None,
                };
                if up.send(&t).is_ok() {
                    misdirected.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let downstream = {
        let (front, up, stop, client_addr) = (
            front.try_clone().unwrap(),
            up.clone(),
            stop.clone(),
            client_addr.clone(),
        );
        std::thread::spawn(move || {
            let mut storage = [vec![0u8; 65536]];
            let mut meta = [RecvMeta::default()];
            while !stop.load(Ordering::Relaxed) {
                let mut bufs: Vec<IoSliceMut<'_>> =
                    storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
                let Ok(1) = up.recv(&mut bufs, &mut meta) else {
                    continue;
                };
                if let Some(c) = *client_addr.lock().unwrap() {
                    for d in storage[0][..meta[0].len].chunks(meta[0].stride) {
                        let _ = front.send_to(d, c);
                    }
                }
            }
        })
    };
    let relay = front.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send((l.accept().unwrap(), l));
    });
    let c = client(relay);
    // Without the hand-on the server never hears the client again: fail, not hang.
    let (s, _l) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server completes the handshake");
    c.set_read_timeout(Some(Duration::from_secs(10)));
    s.set_read_timeout(Some(Duration::from_secs(10)));
    transfer(&c, &s, 1_000_000);
    transfer(&s, &c, 1_000_000);
    assert!(misdirected.load(Ordering::Relaxed) > 100);
    stop.store(true, Ordering::Relaxed);
    upstream.join().unwrap();
    downstream.join().unwrap();
}

/// Forced Retry with rustls on both sides over real UDP: the listener sends every client a
/// Retry (`validate_address`) and the quicsock client follows it, checks the server's
/// original and Retry IDs, and transfers.
#[test]
fn hostile_retry_round_trip_rustls() {
    let mut config = server_config(256, 30_000);
    config.validate_address = true;
    let (l, addr) = bind(&config);
    let t = std::thread::spawn(move || (l.accept().unwrap(), l));
    let c = client(addr);
    let (s, _l) = t.join().unwrap();
    transfer(&c, &s, 1_000_000);
}

/// 1,000 real clients (rustls) connecting at once, all from one UDP socket driven by one
/// thread: the backlog (256) bounds only completed connections nobody accepted, so while
/// the application accepts, every one of them gets in.
#[test]
#[allow(clippy::disallowed_methods)]
fn hostile_connection_burst_all_accepted() {
    const CLIENTS: usize = 1000;
    let (l, addr) = server(256, 30_000);
    let acceptor = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        while accepted.len() < CLIENTS {
            match l.accept_timeout(Some(Duration::from_secs(60))) {
                Ok(s) => accepted.push(s),
                Err(e) => panic!("accept failed after {} connections: {e}", accepted.len()),
            }
        }
        // The sockets stay open until the clients saw every connection established.
        (l, accepted)
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let epoch = std::time::Instant::now();
    let now = || Timestamp::from_duration(epoch.elapsed());
    let mut ep = Host::new(EndpointConfig::default(), Box::new(SeededRandom::new(77)));
    let tls_config = tls::insecure_client_config(&[ALPN]);
    let handles: Vec<ConnectionHandle> = (0..CLIENTS)
        .map(|_| {
            let driver = RustlsDriver::client(tls_config.clone(), "localhost").unwrap();
            ep.connect(
                now(),
                addr,
                quicsock::TransportConfig::default(),
                Box::new(driver),
            )
            .unwrap()
        })
        .collect();
    udp.set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let established = |ep: &mut Host| {
        handles
            .iter()
            .filter(|&&h| ep.connection(h).is_some_and(|c| c.is_handshake_complete()))
            .count()
    };
    while std::time::Instant::now() < deadline {
        loop {
            out.clear();
            let Some((_, t)) = ep.poll_transmit(now(), &mut out) else {
                break;
            };
            let _ = udp.send_to(&out[..t.size], t.destination);
        }
        let mut got = 0;
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            ep.handle(now(), from, None, &mut buf[..n]);
            got += 1;
            if got == 64 {
                break;
            }
        }
        ep.handle_timeout(now());
        if got == 0 && established(&mut ep) == CLIENTS {
            break;
        }
    }
    let closed: Vec<String> = handles
        .iter()
        .filter_map(|&h| {
            ep.connection(h)
                .and_then(|c| c.error().map(|e| e.to_string()))
        })
        .collect();
    assert!(
        closed.is_empty(),
        "{} clients closed, first: {:?}",
        closed.len(),
        closed.first()
    );
    assert_eq!(established(&mut ep), CLIENTS);
    // Keep answering while the last connections are accepted.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (_l, accepted) = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                while let Ok((n, from)) = udp.recv_from(&mut buf) {
                    ep.handle(now(), from, None, &mut buf[..n]);
                }
                loop {
                    out.clear();
                    let Some((_, t)) = ep.poll_transmit(now(), &mut out) else {
                        break;
                    };
                    let _ = udp.send_to(&out[..t.size], t.destination);
                }
                ep.handle_timeout(now());
            }
        });
        let r = acceptor.join().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        r
    });
    assert_eq!(accepted.len(), CLIENTS);
}

/// Connections that complete their handshake and then close before anyone accepts them
/// leave the accept queue and stop counting against the backlog: with a backlog of 4,
/// 20 clients that connect and leave at once are all forgotten, and the next client is
/// the one `accept` returns.
#[test]
fn hostile_drained_connections_leave_accept_queue() {
    let (l, addr) = server(4, 30_000);
    for _ in 0..20 {
        let c = client(addr);
        c.abort(1, b"gone before accept");
    }
    let mut waited = Duration::ZERO;
    while (l.backlog_count() > 0 || l.connection_count() > 0) && waited < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    }
    assert_eq!(l.backlog_count(), 0, "closed connections still queued");
    assert_eq!(l.connection_count(), 0, "closed connections still held");
    let c = client(addr);
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(b"the live one", id, Flags::STREAM_FIN).unwrap();
    let s = l.accept_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 32];
    let (n, _, _) = s.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(&buf[..n], b"the live one");
}

/// A listener given a reset key answers a packet for a connection it does not know with
/// the stateless reset that key derives for that connection ID (RFC 9000 §10.3.2), as a
/// restarted server keeping its key must; the reset is shorter than the packet.
#[test]
fn hostile_listener_reset_key_survives_restarts() {
    use quicsock::proto::reset::ResetKey;
    let mut config = server_config(16, 30_000);
    config.reset_key = Some(ResetKey::new(&[9; 32]));
    let (_l, addr) = bind(&config);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // A short-header packet for connection ID 0x11.. of a connection lost in a restart.
    let cid = [0x11u8; 8];
    let mut d = vec![0x40];
    d.extend_from_slice(&cid);
    d.resize(100, 0x5a);
    peer.send_to(&d, addr).unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    let token =
        ResetKey::new(&[9; 32]).token(&quicsock::proto::ConnectionId::from_slice(&cid).unwrap());
    assert!(n < d.len() && n >= 21, "{n} bytes");
    assert_eq!(&buf[n - 16..n], &token[..]);
}

/// A server with a preferred address answers a probe of it from that address even when
/// the probe shares a receive batch with datagrams sent to the original address: the
/// client sends its one PATH_CHALLENGE to the preferred address between two PINGs to the
/// original one (the first keeps the server busy while the other two arrive, so they
/// are read in one batch); later probes are dropped. The client moves only if the
/// PATH_RESPONSE came from the address it probed (RFC 9000 §9.6.3 and §8.2.2). Sixteen
/// clients in turn, as the batching is up to the kernel's timing.
#[test]
fn a_probe_of_the_preferred_address_is_answered_from_it() {
    use quicsock::proto::conn::PreferredAddresses;
    let port = UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let preferred = std::net::SocketAddrV4::new([127, 0, 0, 2].into(), port);
    let original = SocketAddr::from(([127, 0, 0, 1], port));
    let mut config = server_config(64, 30_000);
    config.transport.preferred_address = Some(PreferredAddresses {
        ipv4: Some(preferred),
        ipv6: None,
    });
    let preferred = SocketAddr::V4(preferred);
    let l = QuicListener::bind(SocketAddr::from(([0, 0, 0, 0], port)), &config).unwrap();
    for seed in 0..16 {
        std::thread::scope(|scope| {
            let accept = scope.spawn(|| l.accept().unwrap());
            let mut raw = RawClient::new(UdpSocket::bind("127.0.0.1:0").unwrap(), original, seed);
            let mut probes = 0;
            let moved = raw.run_filtered(
                Duration::from_secs(10),
                |r| {
                    r.ep.connection(r.h)
                        .is_some_and(|c| c.remote_address() == preferred)
                },
                |r, d, to| {
                    let probing =
                        r.ep.connection(r.h)
                            .is_some_and(|c| c.remote_address() != preferred);
                    if to != preferred || !probing {
                        let _ = r.udp.send_to(d, to);
                        return;
                    }
                    probes += 1;
                    if probes > 1 {
                        return;
                    }
                    let pings = [r.ping(), r.ping()];
                    let _ = r.udp.send_to(&pings[0], original);
                    let _ = r.udp.send_to(d, to);
                    let _ = r.udp.send_to(&pings[1], original);
                },
            );
            assert!(moved, "client {seed} stayed after {probes} probes");
            assert_eq!(probes, 1, "one probe was enough");
            accept.join().unwrap();
        });
    }
}
