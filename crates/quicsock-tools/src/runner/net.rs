//! The network between a runner's client and server: a loopback UDP relay that reproduces
//! the QUIC Interop Runner's ns-3 scenarios (quic-interop/quic-network-simulator), since
//! this kernel has no netem.
//!
//! The client talks to a front address of the relay; the relay forwards each client flow to
//! the server from a back socket of its own, like a NAT, and the server's answers back the
//! same way. Each direction is a link with a one-way delay, a bandwidth with a drop-tail
//! queue of a number of packets, seeded loss and corruption in bursts of up to three
//! datagrams, blackout periods, and a drop list by datagram index. Rebinding gives every
//! flow a new back socket (a new port, or a new port and a new loopback address) and
//! forgets the old one, as the simulator's NAT does. Every datagram is recorded with its
//! ECN codepoint and its fate, for the checks.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quicsock_proto::rng::SeededRandom;
use quicsock_udp::{EcnCodepoint, RecvMeta, SocketConfig, Transmit, UdpSocket};

/// The clock: the relay is a network in real time, the runtime edge that reads it.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// How long a relay thread blocks in a receive before it looks at the stop flag.
const POLL: Duration = Duration::from_millis(20);

/// The longest run of datagrams one loss or corruption event takes (the simulator's burst).
pub const MAX_BURST: u64 = 3;

/// Which way a datagram travels.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    pub(crate) fn index(self) -> usize {
        match self {
            Self::ToServer => 0,
            Self::ToClient => 1,
        }
    }
}

/// Periodic blackouts: the link carries traffic for `on`, then drops everything for `off`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Blackhole {
    /// How long the link works.
    pub on: Duration,
    /// How long it drops every datagram.
    pub off: Duration,
}

/// NAT rebinding: the client's address as the server sees it changes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rebind {
    /// The first change, after the relay starts.
    pub first: Duration,
    /// The time between changes after that.
    pub every: Duration,
    /// Change the IP address too, not only the port (IPv4 loopback: 127.0.0.0/8).
    pub address: bool,
}

/// The conditions of both links.
#[derive(Clone, Debug, PartialEq)]
pub struct Conditions {
    /// One-way delay of each link.
    pub delay: Duration,
    /// The bandwidth of each link in bits per second; `None` for no limit.
    pub bandwidth: Option<u64>,
    /// Datagrams a link holds waiting for its bandwidth before it drops new ones.
    pub queue: usize,
    /// The links' IP MTU: larger datagrams are dropped (the simulator's links are
    /// Ethernet, 1500 bytes).
    pub mtu: usize,
    /// The fraction of datagrams lost, toward the server and toward the client.
    pub loss: [f64; 2],
    /// The fraction of datagrams with a bit flipped, toward the server and the client.
    pub corrupt: [f64; 2],
    /// Periodic blackouts of both links.
    pub blackhole: Option<Blackhole>,
    /// NAT rebinding of the client's flows.
    pub rebind: Option<Rebind>,
    /// 1-based indices of the datagrams toward the server to drop.
    pub drop_to_server: Vec<u64>,
    /// 1-based indices of the datagrams toward the client to drop.
    pub drop_to_client: Vec<u64>,
    /// The seed of the loss and corruption draws.
    pub seed: u64,
}

impl Default for Conditions {
    /// The runner's default scenario: 15 ms each way, 10 Mbit/s, a 25-packet queue.
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(15),
            bandwidth: Some(10_000_000),
            queue: 25,
            mtu: 1500,
            loss: [0.0; 2],
            corrupt: [0.0; 2],
            blackhole: None,
            rebind: None,
            drop_to_server: Vec::new(),
            drop_to_client: Vec::new(),
            seed: 1,
        }
    }
}

/// What became of a datagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered as sent.
    Delivered,
    /// Delivered with one bit flipped.
    Corrupted,
    /// Lost by the loss model.
    Lost,
    /// Dropped because the link's queue was full.
    QueueFull,
    /// Dropped in a blackout.
    Blackhole,
    /// Dropped by the drop list.
    DropList,
    /// Sent to an address the NAT no longer maps (after a rebinding).
    Unmapped,
    /// Larger than the link's MTU.
    TooBig,
}

impl Fate {
    /// Whether the datagram reached its receiver (possibly corrupted).
    pub fn arrived(self) -> bool {
        matches!(self, Self::Delivered | Self::Corrupted)
    }
}

/// One datagram as it entered the relay.
#[derive(Clone, Debug)]
pub struct Record {
    /// When it arrived, from the relay's start.
    pub at: Duration,
    /// Which way it went.
    pub dir: Direction,
    /// The client's address.
    pub client: SocketAddr,
    /// The relay's address the client talks to.
    pub front: SocketAddr,
    /// The client's address as the server sees it (the relay's back socket).
    pub back: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// The ECN codepoint it carried.
    pub ecn: Option<EcnCodepoint>,
    /// The datagram as its sender sent it.
    pub data: Vec<u8>,
    /// What became of it.
    pub fate: Fate,
}

/// One relay address the client sends to, and the server address it leads to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Route {
    front: SocketAddr,
    server: SocketAddr,
}

/// A running relay. Dropping it stops it; [`Relay::finish`] also returns the record.
pub struct Relay {
    shared: Arc<Shared>,
    fronts: Vec<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
}

/// A datagram waiting on a link.
struct InFlight {
    due: Instant,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    ecn: Option<EcnCodepoint>,
    data: Vec<u8>,
}

/// One direction's link: its queue for the bandwidth, then its delay line.
#[derive(Default)]
struct Link {
    /// When each datagram still in the queue leaves it.
    departures: VecDeque<Instant>,
    /// Datagrams on their way, in order of arrival time.
    line: VecDeque<InFlight>,
    /// Datagrams seen on this link.
    count: u64,
    /// The loss draw's bursts and the corruption draw's.
    burst: [Burst; 2],
}

/// A client flow through the relay (one client address on one front).
struct Flow {
    back: Arc<UdpSocket>,
    back_addr: SocketAddr,
    retired: Arc<AtomicBool>,
}

struct State {
    links: [Link; 2],
    flows: HashMap<(SocketAddr, usize), Flow>,
    records: Vec<Record>,
    rng: SeededRandom,
    /// The next loopback address a rebinding moves a flow to.
    next_ip: u8,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    start: Instant,
    conditions: Conditions,
    routes: Vec<(Arc<UdpSocket>, Route)>,
    state: Mutex<State>,
    wake: [Condvar; 2],
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn relay_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let config = SocketConfig {
        gro: false,
        gso: false,
        v6_only: addr.is_ipv6(),
        ..SocketConfig::default()
    };
    let socket = UdpSocket::bind_with(addr, &config)?;
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}

/// A relay's front sockets, bound before the server starts (a server that announces a
/// preferred address needs the relay's address for it).
pub struct Bound {
    sockets: Vec<(Arc<UdpSocket>, SocketAddr)>,
}

impl Bound {
    /// Binds one front socket per address (port 0: any).
    pub fn new(fronts: &[SocketAddr]) -> io::Result<Self> {
        let mut sockets = Vec::new();
        for &f in fronts {
            let s = relay_socket(f)?;
            let front = s.local_addr()?;
            sockets.push((Arc::new(s), front));
        }
        Ok(Self { sockets })
    }

    /// The front addresses.
    pub fn fronts(&self) -> Vec<SocketAddr> {
        self.sockets.iter().map(|s| s.1).collect()
    }

    /// Starts relaying: the client's datagrams to front `i` go to `servers[i]`.
    pub fn start(self, servers: &[SocketAddr], conditions: Conditions) -> Relay {
        let fronts = self.fronts();
        let routes = self
            .sockets
            .into_iter()
            .zip(servers)
            .map(|((s, front), &server)| (s, Route { front, server }))
            .collect();
        Relay::start(routes, fronts, conditions)
    }
}

impl Relay {
    fn start(
        routes: Vec<(Arc<UdpSocket>, Route)>,
        fronts: Vec<SocketAddr>,
        conditions: Conditions,
    ) -> Self {
        let seed = conditions.seed;
        let shared = Arc::new(Shared {
            start: now(),
            conditions,
            routes,
            state: Mutex::new(State {
                links: Default::default(),
                flows: HashMap::new(),
                records: Vec::new(),
                rng: SeededRandom::new(seed),
                next_ip: 10,
                threads: Vec::new(),
            }),
            wake: [Condvar::new(), Condvar::new()],
            stop: AtomicBool::new(false),
        });
        let mut threads = Vec::new();
        for index in 0..shared.routes.len() {
            let s = shared.clone();
            threads.push(std::thread::spawn(move || front_loop(&s, index)));
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            let s = shared.clone();
            threads.push(std::thread::spawn(move || deliver_loop(&s, dir)));
        }
        if let Some(rebind) = shared.conditions.rebind {
            let s = shared.clone();
            threads.push(std::thread::spawn(move || rebind_loop(&s, rebind)));
        }
        Self {
            shared,
            fronts,
            threads,
        }
    }

    /// The front addresses, in the order of the routes.
    pub fn fronts(&self) -> &[SocketAddr] {
        &self.fronts
    }

    /// Stops the relay and returns every datagram it saw, in order of arrival.
    pub fn finish(mut self) -> Vec<Record> {
        self.stop();
        std::mem::take(&mut self.shared.lock().records)
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for c in &self.shared.wake {
            c.notify_all();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let backs = std::mem::take(&mut self.shared.lock().threads);
        for t in backs {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Receives one datagram from `socket`; `None` on timeout.
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, RecvMeta)> {
    let mut meta = [RecvMeta::default()];
    match socket.recv(&mut [IoSliceMut::new(buf)], &mut meta) {
        Ok(1) if meta[0].len > 0 => Some((meta[0].len, meta[0])),
        _ => None,
    }
}

fn front_loop(shared: &Arc<Shared>, index: usize) {
    let (socket, route) = &shared.routes[index];
    let mut buf = vec![0u8; 65_535];
    while !shared.stop.load(Ordering::Relaxed) {
        let Some((len, meta)) = receive(socket, &mut buf) else {
            continue;
        };
        let client = meta.addr;
        let mut state = shared.lock();
        let (back, back_addr) = match state.flows.get(&(client, index)) {
            Some(f) => (f.back.clone(), f.back_addr),
            None => {
                let ip = match route.server {
                    SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    SocketAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
                };
                match open_flow(shared, &mut state, client, index, ip) {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("relay: cannot open a back socket: {e}");
                        continue;
                    }
                }
            }
        };
        let record = Record {
            at: shared.start.elapsed(),
            dir: Direction::ToServer,
            client,
            front: route.front,
            back: back_addr,
            server: route.server,
            ecn: meta.ecn,
            data: buf[..len].to_vec(),
            fate: Fate::Delivered,
        };
        offer(shared, &mut state, record, back, route.server);
    }
}

/// Opens a back socket for a client flow on `ip` and starts its receive thread.
fn open_flow(
    shared: &Arc<Shared>,
    state: &mut State,
    client: SocketAddr,
    index: usize,
    ip: IpAddr,
) -> io::Result<(Arc<UdpSocket>, SocketAddr)> {
    let socket = Arc::new(relay_socket(SocketAddr::new(ip, 0))?);
    let back_addr = socket.local_addr()?;
    let retired = Arc::new(AtomicBool::new(false));
    let (s, sock, r) = (shared.clone(), socket.clone(), retired.clone());
    state.threads.push(std::thread::spawn(move || {
        back_loop(&s, &sock, &r, client, index, back_addr);
    }));
    state.flows.insert(
        (client, index),
        Flow {
            back: socket.clone(),
            back_addr,
            retired,
        },
    );
    Ok((socket, back_addr))
}

fn back_loop(
    shared: &Arc<Shared>,
    socket: &UdpSocket,
    retired: &AtomicBool,
    client: SocketAddr,
    index: usize,
    back_addr: SocketAddr,
) {
    let (front, route) = &shared.routes[index];
    let mut buf = vec![0u8; 65_535];
    while !shared.stop.load(Ordering::Relaxed) {
        let Some((len, meta)) = receive(socket, &mut buf) else {
            if retired.load(Ordering::Relaxed) {
                return;
            }
            continue;
        };
        let mut state = shared.lock();
        let mut record = Record {
            at: shared.start.elapsed(),
            dir: Direction::ToClient,
            client,
            front: route.front,
            back: back_addr,
            server: meta.addr,
            ecn: meta.ecn,
            data: buf[..len].to_vec(),
            fate: Fate::Delivered,
        };
        if retired.load(Ordering::Relaxed) {
            record.fate = Fate::Unmapped;
            state.records.push(record);
            continue;
        }
        offer(shared, &mut state, record, front.clone(), client);
    }
}

/// Applies the link's conditions to a datagram and queues it for delivery.
fn offer(
    shared: &Shared,
    state: &mut State,
    mut record: Record,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
) {
    let c = &shared.conditions;
    let dir = record.dir.index();
    let now = now();
    let State {
        links,
        rng,
        records,
        ..
    } = state;
    let link = &mut links[dir];
    link.count += 1;
    let drops = match record.dir {
        Direction::ToServer => &c.drop_to_server,
        Direction::ToClient => &c.drop_to_client,
    };
    let dark = c.blackhole.is_some_and(|b| {
        let period = (b.on + b.off).as_nanos().max(1);
        record.at.as_nanos() % period >= b.on.as_nanos()
    });
    while link.departures.front().is_some_and(|&d| d <= now) {
        link.departures.pop_front();
    }
    let mut data = record.data.clone();
    // IPv4 and UDP headers are 28 bytes, IPv6 and UDP 48.
    let headers = if record.server.is_ipv6() { 48 } else { 28 };
    record.fate = if record.data.len() + headers > c.mtu {
        Fate::TooBig
    } else if drops.contains(&link.count) {
        Fate::DropList
    } else if dark {
        Fate::Blackhole
    } else if burst(rng, &mut link.burst[0], c.loss[dir]) {
        Fate::Lost
    } else if link.departures.len() >= c.queue.max(1) && c.bandwidth.is_some() {
        Fate::QueueFull
    } else if burst(rng, &mut link.burst[1], c.corrupt[dir]) {
        let bit = rng.below(data.len() as u64 * 8);
        data[(bit / 8) as usize] ^= 1 << (bit % 8);
        Fate::Corrupted
    } else {
        Fate::Delivered
    };
    if record.fate.arrived() {
        let start = link.departures.back().map_or(now, |&d| d.max(now));
        let departs = match c.bandwidth {
            Some(bw) => {
                let bits = (data.len() as u64 + 28) * 8;
                start + Duration::from_nanos(bits * 1_000_000_000 / bw.max(1))
            }
            None => now,
        };
        if c.bandwidth.is_some() {
            link.departures.push_back(departs);
        }
        link.line.push_back(InFlight {
            due: departs + c.delay,
            socket,
            to,
            ecn: record.ecn,
            data,
        });
        shared.wake[dir].notify_one();
    }
    records.push(record);
}

/// Where a loss or corruption draw is in its bursts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
enum Burst {
    /// A burst may start.
    #[default]
    Free,
    /// This many more datagrams of the burst are taken.
    Taking(u64),
    /// The burst ended: the next datagram passes.
    Rest,
}

/// One loss or corruption draw: bursts of 1 to [`MAX_BURST`] datagrams, each followed by
/// one that passes, so that no run is longer than the simulator's; they start at a rate
/// that takes the fraction `p` of all datagrams in the long run. With a mean burst of 2,
/// a start probability `q` among the datagrams free to start one takes 2 / (2 + 1/q).
fn burst(rng: &mut SeededRandom, state: &mut Burst, p: f64) -> bool {
    match *state {
        Burst::Taking(n) => {
            *state = if n > 1 {
                Burst::Taking(n - 1)
            } else {
                Burst::Rest
            };
            true
        }
        Burst::Rest => {
            *state = Burst::Free;
            false
        }
        Burst::Free if p <= 0.0 => false,
        Burst::Free => {
            let mean = (1 + MAX_BURST) as f64 / 2.0;
            if !rng.chance(p / (mean * (1.0 - p).max(f64::EPSILON))) {
                return false;
            }
            let more = rng.below(MAX_BURST);
            *state = if more == 0 {
                Burst::Rest
            } else {
                Burst::Taking(more)
            };
            true
        }
    }
}

fn deliver_loop(shared: &Shared, dir: Direction) {
    let i = dir.index();
    let mut state = shared.lock();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let now = now();
        match state.links[i].line.front().map(|f| f.due) {
            Some(due) if due <= now => {
                let f = state.links[i].line.pop_front().expect("front exists");
                drop(state);
                let _ = f.socket.send(&Transmit {
                    destination: f.to,
                    ecn: f.ecn,
                    contents: &f.data,
                    segment_size: None,
                    src_ip: None,
                });
                state = shared.lock();
            }
            Some(due) => {
                state = shared.wake[i]
                    .wait_timeout(state, due - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            None => {
                state = shared.wake[i]
                    .wait_timeout(state, POLL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }
}

fn rebind_loop(shared: &Arc<Shared>, rebind: Rebind) {
    let mut next = shared.start + rebind.first;
    while !shared.stop.load(Ordering::Relaxed) {
        let now = now();
        if now < next {
            std::thread::sleep((next - now).min(POLL));
            continue;
        }
        next += rebind.every;
        let mut state = shared.lock();
        let keys: Vec<_> = state.flows.keys().copied().collect();
        for (client, index) in keys {
            let old = state.flows.get(&(client, index)).map(|f| f.back_addr);
            let Some(old) = old else { continue };
            let ip = match old.ip() {
                IpAddr::V4(_) if rebind.address => {
                    state.next_ip = state.next_ip.wrapping_add(1).max(10);
                    IpAddr::V4(Ipv4Addr::new(127, 0, 1, state.next_ip))
                }
                ip => ip,
            };
            if let Some(f) = state.flows.get(&(client, index)) {
                f.retired.store(true, Ordering::Relaxed);
            }
            if let Err(e) = open_flow(shared, &mut state, client, index, ip) {
                eprintln!("relay: cannot rebind a flow: {e}");
            }
        }
    }
}

/// What became of the datagrams, as a line: how many, and how many of each kind of drop.
pub fn summary(records: &[Record]) -> String {
    let mut counts: Vec<(Fate, usize)> = Vec::new();
    for r in records {
        match counts.iter_mut().find(|(f, _)| *f == r.fate) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.fate, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .filter(|(f, _)| *f != Fate::Delivered)
        .map(|(f, n)| format!("{n} {f:?}"))
        .collect();
    if parts.is_empty() {
        format!("{} datagrams, all delivered", records.len())
    } else {
        format!("{} datagrams: {}", records.len(), parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP server behind a relay: what it received and from where.
    fn received(server: &std::net::UdpSocket, n: usize) -> Vec<(usize, SocketAddr)> {
        server
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 65_535];
        let mut got = Vec::new();
        while got.len() < n {
            match server.recv_from(&mut buf) {
                Ok((len, from)) => got.push((len, from)),
                Err(_) => break,
            }
        }
        got
    }

    fn start(conditions: Conditions) -> (Relay, std::net::UdpSocket, std::net::UdpSocket) {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let bound = Bound::new(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        let front = bound.fronts()[0];
        let relay = bound.start(&[server.local_addr().unwrap()], conditions);
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(front).unwrap();
        (relay, server, client)
    }

    fn fates(records: &[Record]) -> Vec<Fate> {
        records.iter().map(|r| r.fate).collect()
    }

    #[test]
    fn loss_takes_its_fraction_in_bursts_of_at_most_three() {
        for p in [0.02, 0.3] {
            let mut rng = SeededRandom::new(7);
            let mut state = Burst::default();
            let draws: Vec<bool> = (0..200_000)
                .map(|_| burst(&mut rng, &mut state, p))
                .collect();
            let taken = draws.iter().filter(|&&d| d).count() as f64 / draws.len() as f64;
            assert!((taken - p).abs() < p * 0.05, "p {p}: took {taken}");
            let longest = draws.split(|&d| !d).map(<[bool]>::len).max().unwrap_or(0);
            assert_eq!(longest as u64, MAX_BURST, "p {p}");
        }
        let mut state = Burst::default();
        let mut rng = SeededRandom::new(1);
        assert!((0..1000).all(|_| !burst(&mut rng, &mut state, 0.0)));
    }

    #[test]
    fn a_full_queue_drops_what_arrives_and_the_mtu_what_is_too_big() {
        // 100 kbit/s: each 1000-byte datagram holds the link for 82 ms, so 40 sent at
        // once fill the 25-packet queue.
        let (relay, server, client) = start(Conditions {
            delay: Duration::ZERO,
            bandwidth: Some(100_000),
            ..Conditions::default()
        });
        for _ in 0..40 {
            client.send(&[0u8; 1000]).unwrap();
        }
        let records = {
            let got = received(&server, 40);
            let records = relay.finish();
            assert_eq!(got.len(), 25);
            records
        };
        let f = fates(&records);
        assert_eq!(f.iter().filter(|&&x| x == Fate::Delivered).count(), 25);
        assert_eq!(f.iter().filter(|&&x| x == Fate::QueueFull).count(), 15);

        let (relay, server, client) = start(Conditions {
            delay: Duration::ZERO,
            bandwidth: None,
            ..Conditions::default()
        });
        // 1472 bytes of UDP payload fill a 1500-byte IPv4 packet.
        client.send(&[0u8; 1473]).unwrap();
        client.send(&[0u8; 1472]).unwrap();
        let got = received(&server, 2);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1472]);
        assert_eq!(fates(&relay.finish()), [Fate::TooBig, Fate::Delivered]);
    }

    #[test]
    fn the_drop_list_counts_datagrams_from_one_and_a_rebinding_moves_the_client() {
        let (relay, server, client) = start(Conditions {
            delay: Duration::ZERO,
            bandwidth: None,
            drop_to_server: vec![2, 3],
            rebind: Some(Rebind {
                first: Duration::from_millis(100),
                every: Duration::from_secs(3600),
                address: true,
            }),
            ..Conditions::default()
        });
        for i in 0..4u8 {
            client.send(&[i]).unwrap();
        }
        let before = received(&server, 2);
        // Wait for the rebinding, then send again.
        std::thread::sleep(Duration::from_millis(300));
        client.send(&[9]).unwrap();
        let after = received(&server, 1);
        let records = relay.finish();
        assert_eq!(
            fates(&records),
            [
                Fate::Delivered,
                Fate::DropList,
                Fate::DropList,
                Fate::Delivered,
                Fate::Delivered
            ]
        );
        assert_eq!(before.len(), 2);
        assert_eq!(after.len(), 1);
        assert_eq!(before[0].1, before[1].1);
        assert_ne!(before[0].1.ip(), after[0].1.ip(), "the address changed");
        assert_eq!(records[4].back, after[0].1);
    }
}
