//! [`QuicListener`]: bind, listen, accept (reference §1.1). New connections complete
//! their handshake in the background; `accept` hands out those that did, in order.
//!
//! Several listeners in one process may bind the same address and port with disjoint ALPN
//! lists (reference §2.1): they share one UDP socket and engine, and each new connection
//! goes to the listener serving the first protocol its client offers that any of them
//! serves (a listener with an empty ALPN list takes the others). A client offering none of
//! them is refused with the TLS no_application_protocol alert. The transport settings of the
//! first listener on an address apply to all of its connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use std::time::Duration;

use quicsock_proto::endpoint::{EndpointConfig, ServerConfig as EndpointServer};
use quicsock_udp::UdpSocket;

use crate::accept_queue::ListenerState;
use crate::clock;
use crate::config::ServerConfig;
use crate::engine::{Engine, Shared};
use crate::error::{Error, Result};
use crate::handshake::dispatch::{DispatchDriver, ListenerTable, ListenerTls};
use crate::readiness::Readiness;
use crate::socket::QuicSocket;

/// Engines with listeners, by bound address, so a second listener can share the port.
static BOUND: Mutex<Option<HashMap<SocketAddr, Weak<Engine>>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Accepts QUIC connections on one UDP address.
#[derive(Debug)]
pub struct QuicListener {
    engine: Arc<Engine>,
    id: u64,
    nonblocking: AtomicBool,
    poll_fd: std::sync::OnceLock<OwnedFd>,
}

impl QuicListener {
    /// Binds `addr` and listens (an IPv6 wildcard address takes IPv4 clients too). If
    /// another listener of this process is bound to `addr` (with a port other than 0),
    /// this one shares its socket and serves the protocols of its own ALPN list, which
    /// must not overlap the others'.
    pub fn bind(addr: SocketAddr, config: &ServerConfig) -> Result<Self> {
        let entry = |id| ListenerTls {
            id,
            alpns: config.tls.alpn_protocols.clone(),
            tls: config.tls.clone(),
        };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut bound = BOUND.lock().unwrap_or_else(|e| e.into_inner());
        let map = bound.get_or_insert_with(HashMap::new);
        map.retain(|_, e| e.strong_count() > 0);
        let own_driver = config.driver.is_some() || config.manual_handshake;
        if addr.port() != 0 && !own_driver {
            if let Some(engine) = map.get(&addr).and_then(Weak::upgrade) {
                let mut st = engine.shared();
                if st.is_closed() {
                    return Err(Error::InvalidArgument(
                        "the listener on this address is closing; bind again",
                    ));
                }
                let mut table = st.table.write().unwrap_or_else(|e| e.into_inner());
                let clash = table.iter().any(|l| {
                    l.alpns.is_empty() && config.tls.alpn_protocols.is_empty()
                        || l.alpns
                            .iter()
                            .any(|a| config.tls.alpn_protocols.contains(a))
                });
                if clash {
                    return Err(Error::InvalidArgument(
                        "another listener on this address serves one of these ALPNs",
                    ));
                }
                table.push(entry(id));
                drop(table);
                st.listeners
                    .push(ListenerState::new(id, config.backlog, config.max_half_open));
                st.handles += 1;
                drop(st);
                return Ok(Self::new(engine, id));
            }
        }
        let udp = UdpSocket::bind_with(addr, &config.socket)?;
        let table: ListenerTable = Arc::new(std::sync::RwLock::new(vec![entry(id)]));
        let drivers = table.clone();
        let driver: quicsock_proto::endpoint::DriverFactory = if config.manual_handshake {
            Arc::new(|| Box::new(crate::socket_handshake::ManualDriver))
        } else {
            config
                .driver
                .clone()
                .unwrap_or_else(|| Arc::new(move || Box::new(DispatchDriver::new(drivers.clone()))))
        };
        let server = EndpointServer {
            max_half_open: config.max_half_open,
            retry_threshold: config.retry_threshold,
            validate_address: config.validate_address,
            max_connections: config.max_connections,
            ..EndpointServer::new(config.transport.clone(), driver)
        };
        let endpoint = EndpointConfig {
            server: Some(server),
            reset_key: config.reset_key.clone(),
            ..EndpointConfig::default()
        };
        let engine = Engine::start(udp, endpoint, table)?;
        let mut me = ListenerState::new(id, config.backlog, config.max_half_open);
        me.early = config.manual_handshake;
        engine.shared().listeners.push(me);
        // Only listeners that dispatch by ALPN with rustls can share their port.
        if !own_driver {
            map.insert(engine.local_addr()?, Arc::downgrade(&engine));
        }
        Ok(Self::new(engine, id))
    }

    fn new(engine: Arc<Engine>, id: u64) -> Self {
        Self {
            engine,
            id,
            nonblocking: AtomicBool::new(false),
            poll_fd: std::sync::OnceLock::new(),
        }
    }

    /// This listener's state in the engine.
    fn mine<'a>(&self, st: &'a mut MutexGuard<'_, Shared>) -> &'a mut ListenerState {
        st.listeners
            .iter_mut()
            .find(|l| l.id == self.id)
            .expect("a listener's state lives as long as the listener")
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.engine.local_addr()?)
    }

    /// A descriptor that polls readable when `accept` would not block, for epoll, mio or
    /// tokio's `AsyncFd`. Only poll it. Made on the first call.
    pub fn pollable(&self) -> Result<BorrowedFd<'_>> {
        crate::readiness::lazily(&self.poll_fd, || {
            let mut st = self.engine.shared();
            let me = self.mine(&mut st);
            // Another thread may have made it meanwhile: share that one.
            if let Some(r) = me.readiness.as_ref() {
                return r.dup();
            }
            let mut r = Readiness::new()?;
            let dup = r.dup()?;
            r.set(!me.accept_queue.is_empty(), false);
            me.readiness = Some(r);
            Ok(dup)
        })
    }

    /// Sets or clears the listener's [`QuicPoll`](crate::QuicPoll) registration.
    pub(crate) fn set_registration(&self, r: Option<crate::poll::Registration>) {
        let mut st = self.engine.shared();
        self.mine(&mut st).poll = r;
    }

    /// Enables or disables one type of in-band event for the connections this listener
    /// accepts from now on (they inherit the listener's choice, as in Linux QUIC).
    pub fn set_event(&self, ty: crate::EventType, on: bool) {
        let mut st = self.engine.shared();
        let me = self.mine(&mut st);
        if on {
            me.event_mask |= ty.bit();
        } else {
            me.event_mask &= !ty.bit();
        }
    }

    /// Connections whose handshake completed (or, with a manual handshake, that arrived)
    /// and that wait for `accept` on this listener (at most the backlog).
    pub fn backlog_count(&self) -> usize {
        let mut st = self.engine.shared();
        self.mine(&mut st).accept_queue.len()
    }

    /// Handshakes in progress on the listener's UDP socket (at most `max_half_open`).
    pub fn handshake_count(&self) -> usize {
        self.engine.shared().endpoint.half_open()
    }

    /// Connections not yet accepted on this socket: in their handshake or waiting for
    /// `accept`.
    pub fn pending_count(&self) -> usize {
        let st = self.engine.shared();
        st.endpoint.connection_count().saturating_sub(st.attached)
    }

    /// Connections the socket's endpoint holds in any state, closing and draining ones
    /// included.
    pub fn connection_count(&self) -> usize {
        self.engine.shared().endpoint.connection_count()
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
        let mut st = self.engine.shared();
        loop {
            self.engine.check()?;
            while let Some(h) = self.mine(&mut st).take() {
                let Some(slot) = st.slot(h) else {
                    continue;
                };
                st.handles += 1;
                st.attached += 1;
                let me = self.mine(&mut st);
                let pending = !me.accept_queue.is_empty();
                if let Some(r) = me.readiness.as_mut() {
                    r.set(pending, false);
                }
                drop(st);
                let mut g = slot.lock();
                if g.removed {
                    // It drained between the queue and here: nobody will use it.
                    drop(g);
                    st = self.engine.shared();
                    st.handles -= 1;
                    st.attached -= 1;
                    continue;
                }
                g.cs.attached = true;
                drop(g);
                return Ok(QuicSocket::attach(self.engine.clone(), slot));
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
            let cond = self.mine(&mut st).accept_cond.clone();
            st = cond
                .wait_timeout(st, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
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
        let mut st = self.engine.shared();
        let i = st.listeners.iter().position(|l| l.id == self.id);
        let queued: Vec<_> = i
            .map(|i| st.listeners.remove(i))
            .map(|l| l.accept_queue.into_iter().chain(l.waiting).collect())
            .unwrap_or_default();
        st.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|l| l.id != self.id);
        // Its connections never accepted are closed; accepted ones live on. The last
        // listener also closes those still in their handshake.
        let last = st.listeners.is_empty();
        let close: Vec<_> = if last {
            st.all_slots()
        } else {
            queued.into_iter().filter_map(|h| st.slot(h)).collect()
        };
        drop(st);
        let now = clock::now();
        for slot in close {
            let mut g = slot.lock();
            if !g.cs.attached {
                g.conn
                    .close(now, quicsock_proto::VarInt::ZERO, b"listener closed");
                self.engine.transmit(&slot, g);
            }
        }
        self.engine.release();
    }
}
