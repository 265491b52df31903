//! A single-threaded owner of an [`Endpoint`] and its connections, for the simulator,
//! tests, fuzzers and benchmarks: the same shape a runtime gives them, without threads.
//!
//! Nothing here scans every connection. Each connection's next deadline sits in a
//! [`TimerQueue`], so [`Host::poll_timeout`] is O(1) and [`Host::handle_timeout`] visits
//! only connections whose deadlines passed. Connections that may have something to send
//! (they handled a datagram or a deadline, or the application touched them) wait in a
//! wake-up queue, and [`Host::poll_transmit`] visits only those, in turn. A connection
//! leaves the queue the first time it has nothing to send. [`Host::visits`] counts every
//! call made on a connection, so tests can assert that the work per event does not grow
//! with the number of connections.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::BytesMut;

use crate::conn::{
    Connection, ConnectionConfig, ConnectionError, Datagram, Ecn, HandshakeDriver, Transmit,
};
use crate::endpoint::{ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig};
use crate::rng::Random;
use crate::time::Timestamp;
use crate::timer_queue::TimerQueue;

/// An endpoint and every connection on it, driven from one thread.
pub struct Host {
    endpoint: Endpoint,
    /// Indexed by handle.
    conns: Vec<Option<Box<Connection>>>,
    timers: TimerQueue,
    /// Connections that may have something to send, and which of them are queued.
    ready: VecDeque<ConnectionHandle>,
    queued: Vec<bool>,
    /// Connections the application reached through [`connection`](Self::connection) since
    /// the last call: their deadlines and endpoint events are looked at next.
    touched: Vec<ConnectionHandle>,
    accept_queue: VecDeque<ConnectionHandle>,
    visits: u64,
    /// The latest `now` given to any call.
    now: Timestamp,
    /// Where [`poll_transmit`](Self::poll_transmit) builds a datagram before appending it
    /// to the caller's vector (initialised once).
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The largest UDP payload (RFC 9000 §18.2, max_udp_payload_size): room for any datagram.
const MAX_UDP_PAYLOAD: usize = 65_527;

impl Host {
    /// An endpoint drawing randomness from `rng`, with no connections.
    pub fn new(config: EndpointConfig, rng: Box<dyn Random>) -> Self {
        Self {
            endpoint: Endpoint::new(config, rng),
            conns: Vec::new(),
            timers: TimerQueue::new(),
            ready: VecDeque::new(),
            queued: Vec::new(),
            touched: Vec::new(),
            accept_queue: VecDeque::new(),
            visits: 0,
            now: Timestamp::ZERO,
            scratch: Vec::new(),
        }
    }

    /// The routing endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Calls made on connections so far (datagrams, deadlines, transmissions, deadline
    /// queries), the unit of work that must not grow with the number of connections.
    pub fn visits(&self) -> u64 {
        self.visits
    }

    /// The number of live connections.
    pub fn connection_count(&self) -> usize {
        self.endpoint.connection_count()
    }

    /// The connection behind `h`, for the application to act on; its deadline and
    /// transmissions are looked at again at the next call.
    pub fn connection(&mut self, h: ConnectionHandle) -> Option<&mut Connection> {
        let c = self.conns.get_mut(h.0)?.as_deref_mut()?;
        self.touched.push(h);
        Some(c)
    }

    /// The connection behind `h`, to look at.
    pub fn get(&self, h: ConnectionHandle) -> Option<&Connection> {
        self.conns.get(h.0)?.as_deref()
    }

    /// Handles of every live connection.
    pub fn handles(&self) -> Vec<ConnectionHandle> {
        (0..self.conns.len())
            .filter(|i| self.conns[*i].is_some())
            .map(ConnectionHandle)
            .collect()
    }

    /// The next connection a server accepted.
    pub fn accept(&mut self) -> Option<ConnectionHandle> {
        self.accept_queue.pop_front()
    }

    /// Routes the endpoint holds.
    pub fn route_count(&self) -> usize {
        self.endpoint.route_count()
    }

    /// Connection IDs the endpoint keeps to forget when their connections drain.
    pub fn tracked_cids(&self) -> usize {
        self.endpoint.tracked_cids()
    }

    /// Peers' reset tokens remembered.
    pub fn peer_tokens(&self) -> usize {
        self.endpoint.peer_tokens()
    }

    /// Server handshakes in progress.
    pub fn half_open(&self) -> usize {
        self.endpoint.half_open()
    }

    /// Opens a client connection to `remote`.
    pub fn connect(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        config: ConnectionConfig,
        driver: Box<dyn HandshakeDriver>,
    ) -> Result<ConnectionHandle, ConnectionError> {
        let (h, conn) = self.endpoint.connect(now, remote, config, driver)?;
        self.store(h, conn);
        self.visit(h, now);
        Ok(h)
    }

    fn store(&mut self, h: ConnectionHandle, conn: Box<Connection>) {
        if self.conns.len() <= h.0 {
            self.conns.resize_with(h.0 + 1, || None);
            self.queued.resize(h.0 + 1, false);
        }
        self.conns[h.0] = Some(conn);
    }

    /// After a call on `h`: its endpoint events, its deadline, and a place in the wake-up
    /// queue.
    fn visit(&mut self, h: ConnectionHandle, now: Timestamp) {
        let Some(conn) = self.conns.get_mut(h.0).and_then(Option::as_deref_mut) else {
            return;
        };
        self.endpoint.sync(h, now, conn);
        self.timers.set(h.0, conn.poll_timeout());
        self.visits += 1;
        if !self.queued[h.0] {
            self.queued[h.0] = true;
            self.ready.push_back(h);
        }
    }

    fn flush_touched(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        let now = self.now;
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for h in touched.drain(..) {
            self.visit(h, now);
        }
        self.touched = touched;
    }

    /// Handles one datagram from `remote`; `data` is decrypted in place. Returns the
    /// connection it went to, if any.
    pub fn handle(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        data: &mut [u8],
    ) -> Option<ConnectionHandle> {
        self.handle_input(now, remote, ecn, Datagram::Borrowed(data))
    }

    /// As [`handle`](Self::handle), for a datagram in a shared receive buffer named by
    /// `pin`: stream data may be kept as slices of it
    /// ([`Connection::handle`]).
    pub fn handle_shared(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        data: BytesMut,
        pin: u64,
    ) -> Option<ConnectionHandle> {
        self.handle_input(now, remote, ecn, Datagram::Shared(data, pin))
    }

    fn handle_input(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        mut data: Datagram<'_>,
    ) -> Option<ConnectionHandle> {
        self.flush_touched(now);
        let h = match self.endpoint.handle(now, remote, data.bytes())? {
            DatagramEvent::Known(h) => {
                self.conns
                    .get_mut(h.0)?
                    .as_mut()?
                    .handle(now, remote, ecn, data);
                h
            }
            DatagramEvent::New(h, mut conn) => {
                conn.handle(now, remote, ecn, data);
                if !conn.has_client_hello() {
                    // Nothing in it authenticated, or no ClientHello in it: no state kept.
                    self.endpoint.remove(h);
                    return None;
                }
                self.store(h, conn);
                self.accept_queue.push_back(h);
                h
            }
            DatagramEvent::Reset(h) => {
                self.conns
                    .get_mut(h.0)?
                    .as_mut()?
                    .handle_stateless_reset(remote);
                h
            }
        };
        self.visits += 1;
        self.visit(h, now);
        Some(h)
    }

    /// Gives server connection `h` a fresh address-validation token now, in a NEW_TOKEN
    /// frame (the endpoint already gives one after each handshake).
    pub fn send_new_token(
        &mut self,
        h: ConnectionHandle,
        now: Timestamp,
    ) -> Result<(), crate::conn::NewTokenError> {
        let conn = self
            .conns
            .get_mut(h.0)
            .and_then(Option::as_deref_mut)
            .ok_or(crate::conn::NewTokenError::NotEstablished)?;
        let token = self.endpoint.mint_token(conn.remote_address().ip(), now);
        conn.send_new_token(token)?;
        self.touched.push(h);
        Ok(())
    }

    /// Removes a connection (drained, or dropped silently).
    pub fn remove(&mut self, h: ConnectionHandle) -> Option<Box<Connection>> {
        let conn = self.conns.get_mut(h.0)?.take()?;
        self.endpoint.remove(h);
        self.timers.set(h.0, None);
        Some(conn)
    }

    /// The next datagram to send, appended to `buf`: stateless responses first, then the
    /// connections in the wake-up queue in turn. (Built in a buffer of the host's and
    /// copied: [`poll_transmit_into`](Self::poll_transmit_into) writes in place.)
    pub fn poll_transmit(
        &mut self,
        now: Timestamp,
        buf: &mut Vec<u8>,
    ) -> Option<(Option<ConnectionHandle>, Transmit)> {
        let mut scratch = std::mem::take(&mut self.scratch);
        if scratch.len() < MAX_UDP_PAYLOAD {
            scratch.resize(MAX_UDP_PAYLOAD, 0);
        }
        let sent = self.poll_transmit_into(now, &mut scratch);
        if let Some((_, t)) = &sent {
            buf.extend_from_slice(&scratch[..t.size]);
        }
        self.scratch = scratch;
        sent
    }

    /// The next datagram to send, written at the start of `buf` (its size in the
    /// [`Transmit`]): stateless responses first, then the connections in the wake-up queue
    /// in turn. A connection's datagram is at most `buf.len()` bytes; a stateless response
    /// that does not fit is dropped.
    pub fn poll_transmit_into(
        &mut self,
        now: Timestamp,
        buf: &mut [u8],
    ) -> Option<(Option<ConnectionHandle>, Transmit)> {
        self.flush_touched(now);
        let mut stateless = Vec::new();
        while let Some(t) = self.endpoint.poll_transmit(&mut stateless) {
            if let Some(out) = buf.get_mut(..t.size) {
                out.copy_from_slice(&stateless);
                return Some((None, t));
            }
            stateless.clear();
        }
        while let Some(h) = self.ready.pop_front() {
            let Some(conn) = self.conns[h.0].as_deref_mut() else {
                self.queued[h.0] = false;
                continue;
            };
            self.visits += 1;
            let sent = conn.poll_transmit(now, buf);
            self.endpoint.sync(h, now, conn);
            self.timers.set(h.0, conn.poll_timeout());
            match sent {
                Some(t) => {
                    // Round-robin: it goes to the back, still ready.
                    self.ready.push_back(h);
                    return Some((Some(h), t));
                }
                None => self.queued[h.0] = false,
            }
        }
        None
    }

    /// The earliest deadline of any connection.
    pub fn poll_timeout(&mut self) -> Option<Timestamp> {
        self.flush_touched(self.now);
        self.timers.next().map(|(t, _)| t)
    }

    /// Handles the deadlines that passed, visiting only their connections.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.handle_timeout_into(now, &mut Vec::new());
    }

    /// As [`handle_timeout`](Self::handle_timeout), adding the connections whose deadlines
    /// passed to `touched`, so that the owner looks only at those.
    pub fn handle_timeout_into(&mut self, now: Timestamp, touched: &mut Vec<ConnectionHandle>) {
        self.flush_touched(now);
        // One pass: a connection that re-arms at or before `now` waits for the next call.
        let due: Vec<usize> = std::iter::from_fn(|| self.timers.pop_due(now)).collect();
        for k in due {
            let h = ConnectionHandle(k);
            if let Some(conn) = self.conns[k].as_deref_mut() {
                self.visits += 1;
                conn.handle_timeout(now);
                self.visit(h, now);
                touched.push(h);
            }
        }
    }
}
