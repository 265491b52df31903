//! The engine: one per UDP socket, shared by the listener and every connection on it.
//!
//! # Threads and locks
//!
//! * One **engine thread** per UDP socket receives (`recvmmsg` with GRO), runs timers,
//!   and transmits what nobody else did (ACKs, retransmissions, pacing-released packets,
//!   handshake flights). It sleeps in `poll` on the socket and an eventfd [`Waker`] with
//!   the endpoint's next deadline as timeout.
//! * An **application thread** that sends builds and seals its own packets and sends them
//!   (run-to-completion, like a kernel's process context), so a bulk sender and the
//!   receive path run on different cores. A reader sends the flow-control credit its read
//!   released the same way.
//! * One mutex guards the protocol state (the endpoint and what this crate keeps per
//!   connection). Each connection has its own condition variable, on which its blocked
//!   readers and writers wait. A second mutex, the **send lock**, orders transmissions:
//!   a thread takes it before releasing the state lock, then makes its syscalls with only
//!   the send lock held, so datagrams leave in the order they were numbered while the
//!   engine thread can already take the state lock to process what arrived.
//! * The engine thread runs while a listener or socket refers to it or a connection is
//!   still closing or draining; then it exits and the UDP socket closes.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use quicsock_proto::conn::{Connection, Event};
use quicsock_proto::endpoint::{ConnectionHandle, EndpointConfig};
use quicsock_proto::host::Host;
use quicsock_proto::rng::SystemRandom;
use quicsock_proto::stream::StreamEvent;
use quicsock_proto::{StreamId, Timestamp, VarInt};
use quicsock_udp::{
    EcnCodepoint, RecvMeta, Transmit, UdpSocket, Waker, BATCH_SIZE, GRO_BUFFER_SIZE,
};

use crate::clock;
use crate::events::QuicEvent;
use crate::handshake::dispatch::{self, ListenerTable};
use crate::readiness::Readiness;

/// Datagrams one transmit pass builds before it sends them.
const TX_BATCH: usize = 64;
/// `recvmmsg` calls per engine-loop turn before timers and transmissions get a turn.
const RX_ROUNDS: usize = 8;
/// Notifications kept per connection for the application, at most (older ones give way).
pub(crate) const MAX_PENDING_EVENTS: usize = 1024;

/// What this crate keeps per connection, beside the protocol state.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Readers and writers of this connection wait here.
    pub(crate) cond: Arc<Condvar>,
    /// Streams with something to read, in the order they became readable.
    pub(crate) readable: VecDeque<StreamId>,
    /// The stream `send` with stream id -1 uses (reference §1.3).
    pub(crate) active: Option<StreamId>,
    /// Events for the application (notifications of the enabled types), oldest first.
    pub(crate) events: VecDeque<QuicEvent>,
    /// The enabled event types, one bit per [`EventType`].
    pub(crate) event_mask: u16,
    /// The last NEW_TOKEN the server sent (clients).
    pub(crate) token: Option<Vec<u8>>,
    /// The unread rest of an event or datagram a short `recv` buffer cut, and its kind.
    pub(crate) partial: Option<(Vec<u8>, crate::Flags)>,
    /// The listener a server connection belongs to, once its handshake completed.
    pub(crate) listener: Option<u64>,
    /// The last session ticket reported as an event.
    pub(crate) last_ticket: Option<Vec<u8>>,
    /// A `QuicSocket` owns this connection.
    pub(crate) attached: bool,
    /// The handshake completed.
    pub(crate) established: bool,
    /// Close once everything sent is acknowledged, or at this deadline.
    pub(crate) linger: Option<Linger>,
    /// Bytes written since the application's thread last transmitted.
    pub(crate) unflushed: usize,
    /// The pollable descriptor, once someone asked for it.
    pub(crate) readiness: Option<Readiness>,
}

impl ConnState {
    pub(crate) fn new(attached: bool) -> Self {
        Self {
            cond: Arc::new(Condvar::new()),
            readable: VecDeque::new(),
            active: None,
            events: VecDeque::new(),
            event_mask: 0,
            token: None,
            partial: None,
            listener: None,
            last_ticket: None,
            attached,
            established: false,
            linger: None,
            unflushed: 0,
            readiness: None,
        }
    }
}

/// A close waiting for the connection's data to be acknowledged.
#[derive(Debug)]
pub(crate) struct Linger {
    /// Close anyway at this time.
    pub(crate) deadline: Timestamp,
    /// The application error code.
    pub(crate) code: u64,
    /// The reason phrase.
    pub(crate) phrase: Vec<u8>,
}

/// One listener of the socket.
#[derive(Debug)]
pub(crate) struct ListenerState {
    /// Which listener.
    pub(crate) id: u64,
    /// Its connections whose handshake completed, waiting for `accept`.
    pub(crate) accept_queue: VecDeque<ConnectionHandle>,
    /// Connections that completed while `accept_queue` was full, oldest first: they enter
    /// it as `accept` makes room (as a SYN queue holds connections while listen(2)'s
    /// queue is full), at most `max_waiting` of them.
    pub(crate) waiting: VecDeque<ConnectionHandle>,
    pub(crate) max_waiting: usize,
    /// Woken when `accept_queue` grows.
    pub(crate) accept_cond: Arc<Condvar>,
    /// The event types its connections start with.
    pub(crate) event_mask: u16,
    /// Connections waiting in `accept_queue`, at most (listen(2)'s backlog).
    pub(crate) backlog: usize,
    /// Its pollable descriptor, once someone asked for it.
    pub(crate) readiness: Option<Readiness>,
    /// `accept` hands out connections before their handshake, which the application
    /// drives (`server_handshake`).
    pub(crate) early: bool,
}

impl ListenerState {
    /// Takes a connection for `accept`: into the accept queue if the backlog has room,
    /// else to wait for room; false when both are full (the caller refuses it).
    pub(crate) fn offer(&mut self, h: ConnectionHandle) -> bool {
        if self.accept_queue.len() < self.backlog {
            self.accept_queue.push_back(h);
            self.accept_cond.notify_all();
        } else if self.waiting.len() < self.max_waiting {
            self.waiting.push_back(h);
        } else {
            return false;
        }
        true
    }

    /// The next connection for `accept`, letting a waiting one into the queue.
    pub(crate) fn take(&mut self) -> Option<ConnectionHandle> {
        let h = self.accept_queue.pop_front()?;
        self.refill();
        Some(h)
    }

    /// Forgets a connection that will never be accepted.
    pub(crate) fn forget(&mut self, h: ConnectionHandle) {
        self.accept_queue.retain(|x| *x != h);
        self.waiting.retain(|x| *x != h);
        self.refill();
    }

    /// Lets waiting connections into the accept queue while the backlog has room.
    fn refill(&mut self) {
        while self.accept_queue.len() < self.backlog {
            let Some(w) = self.waiting.pop_front() else {
                break;
            };
            self.accept_queue.push_back(w);
        }
    }

    pub(crate) fn new(id: u64, backlog: usize, max_waiting: usize) -> Self {
        Self {
            id,
            accept_queue: VecDeque::new(),
            waiting: VecDeque::new(),
            max_waiting,
            accept_cond: Arc::new(Condvar::new()),
            event_mask: 0,
            backlog,
            readiness: None,
            early: false,
        }
    }
}

/// The protocol state behind the engine's lock.
pub(crate) struct State {
    pub(crate) endpoint: Host,
    pub(crate) conns: HashMap<ConnectionHandle, ConnState>,
    /// The listeners on this socket (several with disjoint ALPN lists, reference §2.1).
    pub(crate) listeners: Vec<ListenerState>,
    /// Their ALPN lists and TLS configurations, shared with the handshake drivers.
    pub(crate) table: ListenerTable,
    /// Listeners and sockets that refer to this engine.
    pub(crate) handles: usize,
    /// When the engine thread will wake by itself, so that others wake it earlier.
    wake_at: Option<Timestamp>,
    /// Connections that may have news.
    dirty: Vec<ConnectionHandle>,
    /// Why the engine failed, once it did: every call on its sockets returns
    /// [`Error::EngineFailed`](crate::Error::EngineFailed) with this.
    pub(crate) failed: Option<String>,
}

/// Datagrams built and waiting for their syscalls, in order.
#[derive(Default)]
struct TxBatch {
    buf: Vec<u8>,
    /// (start, len, destination, ecn)
    datagrams: Vec<(usize, usize, SocketAddr, Option<EcnCodepoint>)>,
}

/// One UDP socket, its endpoint and its engine thread.
pub(crate) struct Engine {
    pub(crate) udp: UdpSocket,
    waker: Waker,
    pub(crate) state: Mutex<State>,
    tx: Mutex<TxBatch>,
    /// Makes the engine thread panic at its next turn (tests of the failure path).
    #[cfg(test)]
    pub(crate) fault: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("udp", &self.udp)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine on `udp` with its thread started.
    pub(crate) fn start(
        udp: UdpSocket,
        config: EndpointConfig,
        table: ListenerTable,
    ) -> io::Result<Arc<Self>> {
        udp.set_nonblocking(true)?;
        let engine = Arc::new(Self {
            udp,
            waker: Waker::new()?,
            state: Mutex::new(State {
                endpoint: Host::new(config, Box::new(SystemRandom)),
                conns: HashMap::new(),
                listeners: Vec::new(),
                table,
                handles: 1,
                wake_at: None,
                dirty: Vec::new(),
                failed: None,
            }),
            #[cfg(test)]
            fault: std::sync::atomic::AtomicBool::new(false),
            tx: Mutex::new(TxBatch::default()),
        });
        let e = engine.clone();
        std::thread::Builder::new()
            .name("quicsock-engine".into())
            .spawn(move || e.run())?;
        Ok(engine)
    }

    /// The state. If a thread panicked while holding it, nothing about it can be trusted:
    /// the engine fails (every connection closed, every call told why), once.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(st) => st,
            Err(poisoned) => {
                let mut st = poisoned.into_inner();
                if st.failed.is_none() {
                    st.fail("a thread panicked while it held this socket's state".into());
                    self.wake();
                }
                st
            }
        }
    }

    /// Wakes the engine thread.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// A listener or socket stopped referring to the engine.
    pub(crate) fn release(&self) {
        self.lock().handles -= 1;
        self.wake();
    }

    /// The engine thread: its loop, and if that panics, the failure of every connection
    /// and listener of the engine (their blocked and later calls learn of it).
    fn run(self: Arc<Self>) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_loop()));
        if let Err(panic) = run {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            self.lock()
                .fail(format!("the engine thread panicked: {why}"));
        }
        if self.lock().failed.is_some() {
            // The peers are told: each connection's CONNECTION_CLOSE goes out once.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.transmit(self.lock());
            }));
        }
    }

    fn run_loop(&self) {
        let mut storage = vec![vec![0u8; GRO_BUFFER_SIZE]; BATCH_SIZE];
        let mut meta = [RecvMeta::default(); BATCH_SIZE];
        loop {
            #[cfg(test)]
            if self.fault.load(std::sync::atomic::Ordering::Relaxed) {
                panic!("fault injected by a test");
            }
            let timeout = {
                let mut st = self.lock();
                if st.failed.is_some()
                    || st.handles == 0 && st.conns.is_empty() && st.endpoint.connection_count() == 0
                {
                    return;
                }
                let next = st.next_deadline();
                st.wake_at = next;
                next.map(|t| t.saturating_duration_since(clock::now()))
            };
            let ready = match quicsock_udp::wait(&self.udp, &self.waker, timeout) {
                Ok(r) => r,
                Err(_) => {
                    // poll itself failing leaves nothing to wait on; do not spin.
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            };
            if ready.woken {
                self.waker.reset();
            }
            if ready.socket {
                self.receive(&mut storage, &mut meta);
            }
            let mut st = self.lock();
            let now = clock::now();
            let mut touched = std::mem::take(&mut st.dirty);
            st.endpoint.handle_timeout_into(now, &mut touched);
            st.dirty = touched;
            st.lingering(now);
            self.transmit(st);
        }
    }

    /// Takes in what the socket has, a bounded number of batches.
    fn receive(&self, storage: &mut [Vec<u8>], meta: &mut [RecvMeta]) {
        for _ in 0..RX_ROUNDS {
            let mut bufs: Vec<IoSliceMut<'_>> =
                storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            let n = match self.udp.recv(&mut bufs, meta) {
                Ok(n) => n,
                Err(_) => return,
            };
            let mut st = self.lock();
            let now = clock::now();
            for (buf, m) in storage.iter_mut().zip(meta.iter()).take(n) {
                let ecn = m.ecn.map(|e| match e {
                    EcnCodepoint::Ect0 => quicsock_proto::conn::Ecn::Ect0,
                    EcnCodepoint::Ect1 => quicsock_proto::conn::Ecn::Ect1,
                    EcnCodepoint::Ce => quicsock_proto::conn::Ecn::Ce,
                });
                for d in buf[..m.len].chunks_mut(m.stride) {
                    if let Some(h) = st.endpoint.handle(now, m.addr, ecn, d) {
                        st.dirty.push(h);
                    }
                }
            }
            st.process();
            drop(st);
            if n < BATCH_SIZE {
                return;
            }
        }
    }

    /// Builds and sends every datagram the endpoint has now, then releases the state.
    pub(crate) fn transmit<'a>(&'a self, mut st: MutexGuard<'a, State>) {
        loop {
            let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            tx.buf.clear();
            tx.datagrams.clear();
            let now = clock::now();
            while tx.datagrams.len() < TX_BATCH {
                let start = tx.buf.len();
                let Some((h, t)) = st.endpoint.poll_transmit(now, &mut tx.buf) else {
                    break;
                };
                if let Some(h) = h {
                    st.dirty.push(h);
                }
                let ecn = t.ecn.map(|e| match e {
                    quicsock_proto::conn::Ecn::Ect0 => EcnCodepoint::Ect0,
                    quicsock_proto::conn::Ecn::Ect1 => EcnCodepoint::Ect1,
                    quicsock_proto::conn::Ecn::Ce => EcnCodepoint::Ce,
                });
                tx.datagrams.push((start, t.size, t.destination, ecn));
            }
            let full = tx.datagrams.len() == TX_BATCH;
            st.process();
            // Someone else's data may have a deadline (pacing) earlier than the engine's.
            let next = st.next_deadline();
            if next.is_some() && (st.wake_at.is_none() || next < st.wake_at) {
                self.wake();
            }
            drop(st);
            self.send_batch(&tx);
            drop(tx);
            if !full {
                return;
            }
            st = self.lock();
        }
    }

    /// Sends a batch, runs of equal-sized datagrams to one destination as one GSO send.
    fn send_batch(&self, tx: &TxBatch) {
        let d = &tx.datagrams;
        let mut i = 0;
        while i < d.len() {
            let (start, size, dest, ecn) = d[i];
            let mut j = i + 1;
            let mut end = start + size;
            // A run: same destination, ECN and size, contiguous; the last may be shorter.
            while j < d.len() && d[j].2 == dest && d[j].3 == ecn && d[j].0 == end && d[j].1 <= size
            {
                end += d[j].1;
                j += 1;
                if d[j - 1].1 < size {
                    break;
                }
            }
            let t = Transmit {
                destination: dest,
                ecn,
                contents: &tx.buf[start..end],
                segment_size: (j - i > 1).then_some(size),
                src_ip: None,
            };
            self.send_all(&t);
            i = j;
        }
    }

    /// Sends one burst, waiting for room in the socket buffer rather than dropping what
    /// the connection already numbered (a drop would only cost a retransmission).
    fn send_all(&self, t: &Transmit<'_>) {
        let mut off = 0;
        let mut tries = 0;
        while off < t.contents.len() && tries < 100 {
            let part = Transmit {
                contents: &t.contents[off..],
                ..t.clone()
            };
            match self.udp.send(&part) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tries += 1;
                    let _ = quicsock_udp::wait_writable(&self.udp, Duration::from_millis(10));
                }
                // The network refused it (unreachable, no route): as good as lost.
                Err(_) => return,
            }
        }
    }

    /// The UDP socket's address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

impl State {
    /// The engine failed: every connection is closed with INTERNAL_ERROR (a
    /// CONNECTION_CLOSE goes out if another thread still transmits), and every blocked
    /// reader, writer and acceptor wakes to [`Error::EngineFailed`](crate::Error::EngineFailed).
    pub(crate) fn fail(&mut self, why: String) {
        self.failed = Some(why);
        let now = clock::now();
        // The protocol state may be what broke: closing must not take the caller down too.
        let endpoint = &mut self.endpoint;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for h in endpoint.handles() {
                if let Some(c) = endpoint.connection(h) {
                    c.close_transport(
                        now,
                        quicsock_proto::TransportError::new(
                            quicsock_proto::TransportErrorCode::INTERNAL_ERROR,
                            "the socket's engine failed",
                        ),
                    );
                }
            }
        }));
        for cs in self.conns.values_mut() {
            cs.cond.notify_all();
            if let Some(r) = cs.readiness.as_mut() {
                r.set(true, true);
            }
        }
        for l in &mut self.listeners {
            l.accept_cond.notify_all();
            if let Some(r) = l.readiness.as_mut() {
                r.set(true, false);
            }
        }
    }

    /// [`Error::EngineFailed`](crate::Error::EngineFailed) once the engine failed.
    pub(crate) fn check(&self) -> crate::Result<()> {
        match &self.failed {
            Some(why) => Err(crate::Error::EngineFailed(why.clone())),
            None => Ok(()),
        }
    }

    /// The next time the engine must act.
    fn next_deadline(&mut self) -> Option<Timestamp> {
        let linger = self
            .conns
            .values()
            .filter_map(|c| c.linger.as_ref().map(|l| l.deadline))
            .min();
        [self.endpoint.poll_timeout(), linger]
            .into_iter()
            .flatten()
            .min()
    }

    /// Closes connections whose owner closed them once their data is acknowledged or
    /// their linger time ran out.
    fn lingering(&mut self, now: Timestamp) {
        let handles: Vec<ConnectionHandle> = self
            .conns
            .iter()
            .filter(|(_, c)| c.linger.is_some())
            .map(|(h, _)| *h)
            .collect();
        for h in handles {
            let Some(conn) = self.endpoint.connection(h) else {
                continue;
            };
            let Some(cs) = self.conns.get_mut(&h) else {
                continue;
            };
            let deadline = cs.linger.as_ref().map_or(now, |l| l.deadline);
            if conn.is_closed() || conn.streams().all_acked() || now >= deadline {
                if let Some(l) = cs.linger.take() {
                    let code = VarInt::from_u64(l.code).unwrap_or(VarInt::ZERO);
                    conn.close(now, code, &l.phrase);
                }
                self.dirty.push(h);
            }
        }
    }

    /// Moves what connections reported to where the application finds it, accepts
    /// completed handshakes and forgets drained connections nobody holds.
    pub(crate) fn process(&mut self) {
        // New server connections. The endpoint bounds handshakes in progress (refusing or
        // sending Retry before any TLS work); the backlog bounds completed connections
        // nobody accepted yet, with room for as many again as handshakes may be in
        // progress to wait beyond it (`ListenerState::offer`, when a handshake completes).
        while let Some(h) = self.endpoint.accept() {
            // Which listener it belongs to is known once its ClientHello is read; until
            // then it reports what any listener asked for.
            let mut cs = ConnState::new(false);
            cs.event_mask = self.listeners.iter().fold(0, |m, l| m | l.event_mask);
            if let [l] = &mut self.listeners[..] {
                if l.early {
                    // Its application drives the handshake: accept hands it out now, with
                    // the ClientHello waiting (as Linux QUIC's accept does); the backlog
                    // bounds those waiting.
                    if !l.offer(h) {
                        if let Some(conn) = self.endpoint.connection(h) {
                            conn.refuse(clock::now());
                        }
                        continue;
                    }
                    cs.listener = Some(l.id);
                }
            }
            self.conns.insert(h, cs);
            self.dirty.push(h);
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for h in dirty {
            self.process_conn(h);
            self.refresh_readiness(h);
        }
        for l in &mut self.listeners {
            let pending = !l.accept_queue.is_empty();
            if let Some(r) = l.readiness.as_mut() {
                r.set(pending, false);
            }
        }
    }

    /// Makes the connection's pollable descriptor, if it has one, show whether `recv` and
    /// `send` would block now.
    pub(crate) fn refresh_readiness(&mut self, h: ConnectionHandle) {
        let Some(cs) = self.conns.get_mut(&h) else {
            return;
        };
        let Some(r) = cs.readiness.as_mut() else {
            return;
        };
        let (readable, writable) = match self.endpoint.connection(h) {
            // A closed connection answers at once, with its error.
            None => (true, true),
            Some(c) if c.is_closed() => (true, true),
            Some(c) => {
                let readable = cs.partial.is_some()
                    || !cs.events.is_empty()
                    || c.has_datagram()
                    || cs.readable.iter().any(|id| c.streams().has_readable(*id));
                let credit = c.streams().connection_send_credit() > 0;
                let writable = credit && cs.active.is_none_or(|id| c.streams().can_write(id));
                (readable, writable)
            }
        };
        r.set(readable, writable);
    }

    fn process_conn(&mut self, h: ConnectionHandle) {
        let Some(cs) = self.conns.get_mut(&h) else {
            // A connection this crate does not track (refused, or before accept).
            if self.endpoint.connection(h).is_some_and(|c| c.is_drained()) {
                self.endpoint.remove(h);
            }
            return;
        };
        let Some(conn) = self.endpoint.connection(h) else {
            return;
        };
        let mut notify = false;
        while let Some(e) = conn.poll_event() {
            notify = true;
            match &e {
                Event::HandshakeComplete => {
                    cs.established = true;
                    if !cs.attached
                        && cs.listener.is_none()
                        && conn.side() == quicsock_proto::Side::Server
                    {
                        // The listener serving the negotiated protocol takes it.
                        // With one listener (or a driver of the application's) it is
                        // that listener's; else the one serving the negotiated protocol.
                        let owner = if self.listeners.len() == 1 {
                            Some(self.listeners[0].id)
                        } else {
                            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
                            dispatch::owner(&table, conn.driver().and_then(|d| d.alpn()))
                        };
                        match self.listeners.iter_mut().find(|l| Some(l.id) == owner) {
                            // listen(2)'s backlog, and room to wait beyond it.
                            Some(l) => {
                                if l.offer(h) {
                                    cs.listener = Some(l.id);
                                    cs.event_mask = l.event_mask;
                                } else {
                                    conn.refuse(clock::now());
                                }
                            }
                            // Its listener closed meanwhile.
                            None => conn.close(clock::now(), VarInt::ZERO, b"listener closed"),
                        }
                    }
                }
                // A reset is read too: `recv` reports it as the stream's end.
                Event::Stream(StreamEvent::Readable(id) | StreamEvent::Reset(id, _))
                    if !cs.readable.contains(id) =>
                {
                    cs.readable.push_back(*id);
                }
                // A peer-initiated bidirectional stream becomes the active one, so a server
                // can answer with a plain send (reference §1.3).
                Event::Stream(StreamEvent::Opened(id)) if id.dir() == quicsock_proto::Dir::Bi => {
                    cs.active = Some(*id);
                }
                _ => {}
            }
            if let Event::NewToken(t) = &e {
                cs.token = Some(t.clone());
            }
            if cs.event_mask != 0 {
                let side = conn.side();
                let key_phase = conn.key_phase();
                let streams = conn.streams();
                let max_stream = |dir| {
                    let (_, max) = streams.local_counts(dir);
                    quicsock_proto::StreamId::new(side, dir, max.saturating_sub(1))
                        .map_or(0, |id| id.into_inner())
                };
                let ev = QuicEvent::from_core(&e, key_phase, max_stream);
                if let Some(ev) = ev.filter(|ev| cs.event_mask & ev.event_type().bit() != 0) {
                    // Like a full receive buffer in Linux QUIC, a full queue drops the new one.
                    if cs.events.len() < MAX_PENDING_EVENTS {
                        cs.events.push_back(ev);
                    }
                }
            }
        }
        // A new session ticket (clients), when asked for.
        let ticket_bit = crate::events::EventType::NewSessionTicket.bit();
        if cs.event_mask & ticket_bit != 0 && cs.events.len() < MAX_PENDING_EVENTS {
            if let Some(t) = conn.driver().and_then(|d| d.session_ticket()) {
                if cs.last_ticket.as_deref() != Some(t) {
                    cs.last_ticket = Some(t.to_vec());
                    cs.events.push_back(QuicEvent::NewSessionTicket(t.to_vec()));
                    notify = true;
                }
            }
        }
        let drained = conn.is_drained();
        // A handshake driven through socket calls waits for the peer's flights.
        if drained || conn.is_closed() || conn.has_handshake_data() {
            notify = true;
        }
        if notify {
            cs.cond.notify_all();
        }
        if drained && !cs.attached {
            // Nobody will accept a connection that is gone: it leaves the accept queue and
            // stops counting against the backlog.
            for l in &mut self.listeners {
                l.forget(h);
            }
            self.conns.remove(&h);
            self.endpoint.remove(h);
        }
    }

    /// A call found nothing to read (`read`) or no room to write: the descriptor shows
    /// that until the engine's next refresh, which then makes the change back an edge.
    pub(crate) fn would_block(&mut self, h: ConnectionHandle, read: bool) {
        if let Some(r) = self.conns.get_mut(&h).and_then(|c| c.readiness.as_mut()) {
            let (readable, writable) = r.state();
            if read {
                r.set(false, writable);
            } else {
                r.set(readable, false);
            }
        }
        self.dirty.push(h);
    }

    /// Marks a connection for processing at the next transmit.
    pub(crate) fn dirty_push(&mut self, h: ConnectionHandle) {
        self.dirty.push(h);
    }

    /// The connection behind `h`.
    pub(crate) fn conn(&mut self, h: ConnectionHandle) -> Option<&mut Connection> {
        self.endpoint.connection(h)
    }
}
