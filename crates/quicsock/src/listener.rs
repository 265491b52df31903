//! [`QuicListener`]: bind, listen, accept (reference §1.1). New connections complete
//! their handshake in the background; `accept` hands out those that did, in order.
//!
//! A listener runs one engine per shard ([`ServerConfig::shards`], by default one per CPU
//! the process may use), each with its own `SO_REUSEPORT` UDP socket bound to the same
//! address, its own routing table and thread. New connections spread over the shards by
//! the kernel; every connection ID a shard issues starts with the shard's index, and a
//! classic BPF program in the kernel (`UdpSocket::steer_by_connection_id`) reads it, so a
//! connection's packets reach its shard even after the client's address changed. The
//! shards share one accept queue, so `accept`, the backlog and ALPN dispatch work across
//! them as with one.
//!
//! Several listeners in one process may bind the same address and port with disjoint ALPN
//! lists (reference §2.1): they share the UDP sockets and engines, and each new connection
//! goes to the listener serving the first protocol its client offers that any of them
//! serves (a listener with an empty ALPN list takes the others). A client offering none of
//! them is refused with the TLS no_application_protocol alert. The transport settings and
//! shards of the first listener on an address apply to all of its connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use quicsock_proto::endpoint::{EndpointConfig, ServerConfig as EndpointServer};
use quicsock_udp::{SocketConfig, UdpSocket};

use crate::accept_queue::{AcceptQueue, ListenerState};
use crate::clock;
use crate::config::ServerConfig;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::handshake::dispatch::{DispatchDriver, ListenerTable, ListenerTls};
use crate::readiness::Readiness;
use crate::socket::QuicSocket;

/// The shards of listeners, by bound address, so a second listener can share the port.
static BOUND: Mutex<Option<HashMap<SocketAddr, Vec<Weak<Engine>>>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Accepts QUIC connections on one UDP address.
#[derive(Debug)]
pub struct QuicListener {
    /// The engines of its shards; index `i` issues connection IDs starting with `i`.
    shards: Vec<Arc<Engine>>,
    id: u64,
    queue: Arc<AcceptQueue>,
    nonblocking: AtomicBool,
    poll_fd: std::sync::OnceLock<OwnedFd>,
}

/// Shards a listener runs by default: one per CPU the process may use.
pub(crate) fn default_shards() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Binds the UDP sockets of `n` shards at `addr`: with more than one, a reuseport group
/// steered by connection ID. Falls back to one socket when the kernel refuses steering.
fn bind_shards(addr: SocketAddr, socket: &SocketConfig, n: usize) -> Result<Vec<UdpSocket>> {
    let n = n.clamp(1, usize::from(u8::MAX));
    if n == 1 {
        return Ok(vec![UdpSocket::bind_with(addr, socket)?]);
    }
    let config = SocketConfig {
        reuse_port: true,
        ..socket.clone()
    };
    // Port 0 with SO_REUSEPORT may be given a port another reuseport group of this user
    // already holds (the kernel sees no conflict), and the two would share datagrams: take
    // a port nobody holds with a plain socket first, then bind the group there.
    let addr = if addr.port() == 0 {
        let probe = UdpSocket::bind_with(addr, &SocketConfig::default())?;
        probe.local_addr()?
    } else {
        addr
    };
    let first = UdpSocket::bind_with(addr, &config)?;
    let bound = first.local_addr()?;
    if first.steer_by_connection_id(n as u8).is_err() {
        // Without steering, a rebinding client would reach the wrong shard.
        drop(first);
        return Ok(vec![UdpSocket::bind_with(addr, socket)?]);
    }
    let mut socks = vec![first];
    for _ in 1..n {
        socks.push(UdpSocket::bind_with(bound, &config)?);
    }
    Ok(socks)
}

impl QuicListener {
    /// Binds `addr` and listens (an IPv6 wildcard address takes IPv4 clients too). If
    /// another listener of this process is bound to `addr` (with a port other than 0),
    /// this one shares its sockets and serves the protocols of its own ALPN list, which
    /// must not overlap the others'.
    pub fn bind(addr: SocketAddr, config: &ServerConfig) -> Result<Self> {
        let entry = |id| ListenerTls {
            id,
            alpns: config.tls.alpn_protocols.clone(),
            tls: config.tls.clone(),
            manual: config.manual_handshake,
        };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let queue = AcceptQueue::new(config.backlog, config.max_half_open);
        let state = |early| ListenerState {
            id,
            queue: queue.clone(),
            event_mask: 0,
            early,
        };
        let mut bound = BOUND.lock().unwrap_or_else(|e| e.into_inner());
        let map = bound.get_or_insert_with(HashMap::new);
        map.retain(|_, e| e.iter().all(|e| e.strong_count() > 0));
        let own_driver = config.driver.is_some();
        if addr.port() != 0 && !own_driver {
            let shards: Option<Vec<Arc<Engine>>> = map
                .get(&addr)
                .map(|e| e.iter().filter_map(Weak::upgrade).collect());
            if let Some(shards) = shards.filter(|s| !s.is_empty()) {
                for (i, engine) in shards.iter().enumerate() {
                    if !engine.acquire() {
                        for e in &shards[..i] {
                            e.release();
                        }
                        return Err(Error::InvalidArgument(
                            "the listener on this address is closing; bind again",
                        ));
                    }
                }
                let table = shards[0].shared().table.clone();
                {
                    let mut table = table.write().unwrap_or_else(|e| e.into_inner());
                    let clash = table.iter().any(|l| {
                        l.alpns.is_empty() && config.tls.alpn_protocols.is_empty()
                            || l.alpns
                                .iter()
                                .any(|a| config.tls.alpn_protocols.contains(a))
                    });
                    if clash {
                        for engine in &shards {
                            engine.release();
                        }
                        return Err(Error::InvalidArgument(
                            "another listener on this address serves one of these ALPNs",
                        ));
                    }
                    table.push(entry(id));
                }
                for engine in &shards {
                    engine
                        .shared()
                        .listeners
                        .push(state(config.manual_handshake));
                }
                return Ok(Self::new(shards, id, queue));
            }
        }
        let table: ListenerTable = Arc::new(std::sync::RwLock::new(vec![entry(id)]));
        let drivers = table.clone();
        let driver: quicsock_proto::endpoint::DriverFactory = config
            .driver
            .clone()
            .unwrap_or_else(|| Arc::new(move || Box::new(DispatchDriver::new(drivers.clone()))));
        let socks = bind_shards(addr, &config.socket, config.shards)?;
        let n = socks.len();
        // Admission bounds hold for the listener as a whole: each shard takes its share.
        let server = EndpointServer {
            max_half_open: config.max_half_open.div_ceil(n),
            retry_threshold: config.retry_threshold.div_ceil(n),
            validate_address: config.validate_address,
            max_connections: config.max_connections.div_ceil(n),
            ..EndpointServer::new(config.transport.clone(), driver)
        };
        let mut shards = Vec::with_capacity(n);
        for (i, udp) in socks.into_iter().enumerate() {
            let endpoint = EndpointConfig {
                server: Some(server.clone()),
                reset_key: config.reset_key.clone(),
                cid_prefix: (n > 1).then_some(i as u8),
                versions: config.versions.clone(),
                ..EndpointConfig::default()
            };
            let engine = Engine::start_shard(udp, endpoint, table.clone(), i)?;
            if let Some(dir) = &config.qlog_dir {
                let _ = engine.qlog_dir.set(dir.clone());
            }
            engine
                .shared()
                .listeners
                .push(state(config.manual_handshake));
            shards.push(engine);
        }
        let siblings: Vec<_> = shards.iter().map(Arc::downgrade).collect();
        for engine in &shards {
            let _ = engine.siblings.set(siblings.clone());
        }
        // Only listeners whose handshakes quicsock dispatches by ALPN share their port.
        if !own_driver {
            map.insert(
                shards[0].local_addr()?,
                shards.iter().map(Arc::downgrade).collect(),
            );
        }
        Ok(Self::new(shards, id, queue))
    }

    fn new(shards: Vec<Arc<Engine>>, id: u64, queue: Arc<AcceptQueue>) -> Self {
        Self {
            shards,
            id,
            queue,
            nonblocking: AtomicBool::new(false),
            poll_fd: std::sync::OnceLock::new(),
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.shards[0].local_addr()?)
    }

    /// The shards serving this listener (engines, each with its own UDP socket and
    /// thread).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The engines of its shards.
    pub(crate) fn engines(&self) -> &[Arc<Engine>] {
        &self.shards
    }

    /// A descriptor that polls readable when `accept` would not block, for epoll, mio or
    /// tokio's `AsyncFd`. Only poll it. Made on the first call.
    pub fn pollable(&self) -> Result<BorrowedFd<'_>> {
        crate::readiness::lazily(&self.poll_fd, || {
            let mut q = self.queue.lock();
            // Another thread may have made it meanwhile: share that one.
            if let Some(r) = q.readiness.as_ref() {
                return r.dup();
            }
            let mut r = Readiness::new()?;
            let dup = r.dup()?;
            r.set(!q.ready.is_empty(), false);
            q.readiness = Some(r);
            Ok(dup)
        })
    }

    /// Sets or clears the listener's [`QuicPoll`](crate::QuicPoll) registration.
    pub(crate) fn set_registration(&self, r: Option<crate::poll::Registration>) {
        self.queue.lock().poll = r;
    }

    /// Enables or disables one type of in-band event for the connections this listener
    /// accepts from now on (they inherit the listener's choice, as in Linux QUIC).
    pub fn set_event(&self, ty: crate::EventType, on: bool) {
        for engine in &self.shards {
            let mut st = engine.shared();
            if let Some(me) = st.listeners.iter_mut().find(|l| l.id == self.id) {
                if on {
                    me.event_mask |= ty.bit();
                } else {
                    me.event_mask &= !ty.bit();
                }
            }
        }
    }

    /// Connections whose handshake completed (or, with a manual handshake, that arrived)
    /// and that wait for `accept` on this listener (at most the backlog).
    pub fn backlog_count(&self) -> usize {
        self.queue.lock().ready.len()
    }

    /// Handshakes in progress on the listener's sockets (at most about `max_half_open`).
    pub fn handshake_count(&self) -> usize {
        self.sum(|st| st.endpoint.half_open())
    }

    /// Connections not yet accepted on this listener's sockets: in their handshake or
    /// waiting for `accept`.
    pub fn pending_count(&self) -> usize {
        self.sum(|st| st.endpoint.connection_count().saturating_sub(st.attached))
    }

    /// Connections the listener's endpoints hold in any state, closing and draining ones
    /// included.
    pub fn connection_count(&self) -> usize {
        self.sum(|st| st.endpoint.connection_count())
    }

    fn sum(&self, f: impl Fn(&crate::engine::Shared) -> usize) -> usize {
        self.shards.iter().map(|e| f(&e.shared())).sum()
    }

    /// Makes `accept` return [`Error::WouldBlock`] instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    /// The next connection whose handshake completed.
    pub fn accept(&self) -> Result<QuicSocket> {
        self.accept_timeout(None)
    }

    /// As [`accept`](Self::accept), waiting at most `timeout`.
    pub fn accept_timeout(&self, timeout: Option<Duration>) -> Result<QuicSocket> {
        let deadline = timeout.map(|t| clock::now() + t);
        let mut q = self.queue.lock();
        loop {
            for engine in &self.shards {
                engine.check()?;
            }
            while let Some((shard, h)) = q.take() {
                drop(q);
                if let Some(sock) = self.attach(shard, h) {
                    return Ok(sock);
                }
                q = self.queue.lock();
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(Error::WouldBlock);
            }
            let wait = match deadline {
                Some(d) => {
                    let now = clock::now();
                    if now >= d {
                        return Err(Error::TimedOut);
                    }
                    d.saturating_duration_since(now)
                }
                None => Duration::from_secs(3600),
            };
            q = self
                .queue
                .cond
                .wait_timeout(q, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// A socket for connection `h` of shard `shard`, unless it went away meanwhile.
    fn attach(
        &self,
        shard: usize,
        h: quicsock_proto::endpoint::ConnectionHandle,
    ) -> Option<QuicSocket> {
        let engine = &self.shards[shard];
        let slot = {
            let mut st = engine.shared();
            let slot = st.slot(h)?;
            st.handles += 1;
            st.attached += 1;
            slot
        };
        let mut g = slot.lock();
        if g.removed {
            // It drained between the queue and here: nobody will use it.
            drop(g);
            let mut st = engine.shared();
            st.handles -= 1;
            st.attached -= 1;
            return None;
        }
        g.cs.attached = true;
        drop(g);
        Some(QuicSocket::attach(engine.clone(), slot))
    }
}

impl AsFd for QuicListener {
    /// The pollable descriptor ([`QuicListener::pollable`]).
    ///
    /// # Panics
    ///
    /// When the process is out of file descriptors; `pollable` reports that as an error.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pollable()
            .expect("a pollable descriptor for the listener")
    }
}

impl AsRawFd for QuicListener {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl Drop for QuicListener {
    fn drop(&mut self) {
        let queued = self.queue.lock().drain();
        let mut close = Vec::new();
        for (i, engine) in self.shards.iter().enumerate() {
            let mut st = engine.shared();
            st.listeners.retain(|l| l.id != self.id);
            st.table
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|l| l.id != self.id);
            // Its connections never accepted are closed; accepted ones live on. The last
            // listener also closes those still in their handshake.
            if st.listeners.is_empty() {
                close.extend(st.all_slots().into_iter().map(|s| (i, s)));
            } else {
                close.extend(
                    queued
                        .iter()
                        .filter(|(s, _)| *s == i)
                        .filter_map(|(_, h)| st.slot(*h))
                        .map(|s| (i, s)),
                );
            }
        }
        let now = clock::now();
        for (i, slot) in close {
            let mut g = slot.lock();
            if !g.cs.attached {
                g.conn
                    .close(now, quicsock_proto::VarInt::ZERO, b"listener closed");
                self.shards[i].transmit(&slot, g);
            }
        }
        for engine in &self.shards {
            engine.release();
        }
    }
}
