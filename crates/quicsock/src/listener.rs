//! [`QuicListener`]: bind, listen, accept (reference §1.1). New connections complete
//! their handshake in the background; `accept` hands out those that did, in order.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use quicsock_proto::endpoint::{EndpointConfig, ServerConfig as EndpointServer};
use quicsock_udp::UdpSocket;

use crate::clock;
use crate::config::ServerConfig;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::handshake::RustlsDriver;
use crate::readiness::Readiness;
use crate::socket::QuicSocket;

/// Accepts QUIC connections on one UDP address.
#[derive(Debug)]
pub struct QuicListener {
    engine: Arc<Engine>,
    nonblocking: std::sync::atomic::AtomicBool,
    poll_fd: std::sync::OnceLock<OwnedFd>,
}

impl QuicListener {
    /// Binds `addr` and listens (an IPv6 wildcard address takes IPv4 clients too).
    pub fn bind(addr: SocketAddr, config: &ServerConfig) -> Result<Self> {
        let udp = UdpSocket::bind_with(addr, &config.socket)?;
        let tls = config.tls.clone();
        let server = EndpointServer {
            connection: config.transport.clone(),
            driver: Arc::new(move || Box::new(RustlsDriver::server(tls.clone()))),
            backlog: config.backlog,
            max_connections: config.max_connections,
        };
        let endpoint = EndpointConfig {
            server: Some(server),
            ..EndpointConfig::default()
        };
        let engine = Engine::start(udp, endpoint)?;
        {
            let mut st = engine.lock();
            st.listening = true;
            st.backlog = config.backlog;
        }
        Ok(Self {
            engine,
            nonblocking: Default::default(),
            poll_fd: std::sync::OnceLock::new(),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.engine.local_addr()?)
    }

    /// A descriptor that polls readable when `accept` would not block, for epoll, mio or
    /// tokio's `AsyncFd`. Only poll it. Made on the first call.
    pub fn pollable(&self) -> Result<BorrowedFd<'_>> {
        if let Some(fd) = self.poll_fd.get() {
            return Ok(fd.as_fd());
        }
        let mut st = self.engine.lock();
        if self.poll_fd.get().is_none() {
            let mut r = Readiness::new()?;
            r.set(!st.accept_queue.is_empty(), false);
            let dup = r.dup()?;
            st.listener_readiness = Some(r);
            let _ = self.poll_fd.set(dup);
        }
        drop(st);
        Ok(self.poll_fd.get().expect("set above").as_fd())
    }

    /// Enables or disables one type of in-band event for the connections this listener
    /// accepts from now on (they inherit the listener's choice, as in Linux QUIC).
    pub fn set_event(&self, ty: crate::EventType, on: bool) {
        let mut st = self.engine.lock();
        if on {
            st.listener_event_mask |= ty.bit();
        } else {
            st.listener_event_mask &= !ty.bit();
        }
    }

    /// Connections not yet accepted: in their handshake or waiting for `accept` (at most
    /// the backlog).
    pub fn pending_count(&self) -> usize {
        self.engine
            .lock()
            .conns
            .values()
            .filter(|c| !c.attached)
            .count()
    }

    /// Connections the endpoint holds in any state, closing and draining ones included.
    pub fn connection_count(&self) -> usize {
        self.engine.lock().endpoint.connection_count()
    }

    /// Makes `accept` return [`Error::WouldBlock`] instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking
            .store(nonblocking, std::sync::atomic::Ordering::Relaxed);
    }

    /// The next connection whose handshake completed.
    pub fn accept(&self) -> Result<QuicSocket> {
        self.accept_timeout(None)
    }

    /// As [`accept`](Self::accept), waiting at most `timeout`.
    pub fn accept_timeout(&self, timeout: Option<Duration>) -> Result<QuicSocket> {
        let deadline = timeout.map(|t| clock::now() + t);
        let mut st = self.engine.lock();
        loop {
            while let Some(h) = st.accept_queue.pop_front() {
                let Some(cs) = st.conns.get_mut(&h) else {
                    continue;
                };
                cs.attached = true;
                let cond = cs.cond.clone();
                st.handles += 1;
                let pending = !st.accept_queue.is_empty();
                if let Some(r) = st.listener_readiness.as_mut() {
                    r.set(pending, false);
                }
                drop(st);
                return Ok(QuicSocket::attach(self.engine.clone(), h, cond));
            }
            if self.nonblocking.load(std::sync::atomic::Ordering::Relaxed) {
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
            let cond = st.accept_cond.clone();
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
        let mut st = self.engine.lock();
        st.listening = false;
        // Connections never accepted are closed; accepted ones live on.
        let now = clock::now();
        let queued: Vec<_> = st.accept_queue.drain(..).collect();
        let unattached: Vec<_> = st
            .conns
            .iter()
            .filter(|(_, c)| !c.attached)
            .map(|(h, _)| *h)
            .chain(queued)
            .collect();
        for h in unattached {
            if let Some(c) = st.conn(h) {
                c.close(now, quicsock_proto::VarInt::ZERO, b"listener closed");
            }
        }
        drop(st);
        self.engine.release();
    }
}
