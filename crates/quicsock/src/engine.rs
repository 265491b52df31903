//! The engine: one per UDP socket, shared by the listeners and every connection on it.
//!
//! # Who owns what
//!
//! * Each connection lives in its own [`Slot`]: the protocol state and this crate's state
//!   behind the connection's lock. Its datagrams, its TLS, its packets, its timers and the
//!   application's calls on it all run under that lock and no other connection's.
//! * The **shared** lock guards routing only: the endpoint (connection IDs, stateless
//!   replies, admission), the table of slots and the listeners (each listener's accept
//!   queue has a leaf lock of its own). It is held for lookups and bookkeeping, never
//!   across protocol work, TLS or a syscall.
//! * The **timer queue** holds each connection's next deadline (one entry per connection,
//!   [`TimerQueue`]), a leaf lock.
//! * The **pass** state (receive buffers, the outgoing batch) belongs to whoever runs an
//!   engine pass — the engine thread or a guest — so passes of one engine never overlap.
//!
//! Lock order: the pass, then a slot's lock, then the shared lock, then the timer queue.
//! No thread holds two slots' locks, nobody waits for a slot's lock while holding the
//! shared lock, and nobody takes the pass holding a slot's lock. A thread waits for a
//! connection's send turn only holding that connection's lock, and a pass, which holds
//! turns while it builds its batch, never waits for the lock of a connection whose turn
//! it holds.
//!
//! # Threads
//!
//! * A server engine's **handshake worker** handles the datagrams of connections still in
//!   their handshake, and with them all TLS work ([`crate::handshakes`]).
//! * One **engine thread** per UDP socket sleeps in epoll ([`Sleeper`]) on the socket, an
//!   eventfd [`Waker`] and a timerfd armed for the timer queue's first deadline. A pass
//!   receives (`recvmmsg` with GRO), routes a whole batch under one hold of the shared
//!   lock, then handles each connection's datagrams under that connection's lock and sends
//!   what they call for; it visits only connections whose deadlines passed.
//! * An application thread about to wait (a blocking `recv` or `send`, `QuicPoll::wait`
//!   when asked) becomes a **guest** of the engine ([`Engine::guest_wait`]): it takes the socket and
//!   the timer out of the engine thread's epoll set without waking it, polls them itself
//!   and runs the passes, and gives them back when its wait ends (epoll then wakes the
//!   engine thread only if something arrived that nobody took). What a waiting thread
//!   waits for reaches it with no hop through the engine thread, and an engine thread
//!   runs only when no application thread is there to do its work.
//! * An **application thread** builds, seals and sends its own connection's packets
//!   (run-to-completion, like a kernel's process context); outside a guest's pass it does
//!   no other connection's work.
//! * Syscalls are made with no connection's state locked: a thread takes the
//!   connection's send turn before releasing its state, so its datagrams leave in the
//!   order they were numbered. The engine thread sends what one pass over its
//!   connections built as one batch ([`Outbox`]), holding their turns until then.
//! * The engine thread runs while a listener or socket refers to it or a connection is
//!   still closing or draining; then it exits and the UDP socket closes.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use crate::rx_buffers::RxBuffers;
use quicsock_proto::conn::{Connection, Datagram, EndpointEvent};
use quicsock_proto::endpoint::{ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig};
use quicsock_proto::rng::SystemRandom;
use quicsock_proto::timer_queue::TimerQueue;
use quicsock_proto::{Timestamp, VarInt};
use quicsock_udp::{
    EcnCodepoint, RecvMeta, Sleeper, Transmit, UdpSocket, Waker, Woken, BATCH_SIZE,
};

use crate::accept_queue::ListenerState;
use crate::clock;
use crate::handshake::dispatch::{self, ListenerTable};
use crate::handshakes::{Handshakes, Job};
use crate::slot::{ConnState, Slot, SlotState};
use crate::strays::{Stray, Strays};

/// Datagrams one transmit pass builds before it sends them.
const TX_BATCH: usize = 64;
/// `recvmmsg` calls per engine-loop turn before timers and transmissions get a turn.
const RX_ROUNDS: usize = 8;

/// Routing and listeners, behind the engine's shared lock.
pub(crate) struct Shared {
    pub(crate) endpoint: Endpoint,
    /// Every connection, by handle.
    slots: Vec<Option<Arc<Slot>>>,
    /// The listeners on this socket (several with disjoint ALPN lists, reference §2.1).
    pub(crate) listeners: Vec<ListenerState>,
    /// Their ALPN lists and TLS configurations, shared with the handshake drivers.
    pub(crate) table: ListenerTable,
    /// Listeners and sockets that refer to this engine.
    pub(crate) handles: usize,
    /// Connections a socket holds.
    pub(crate) attached: usize,
    /// This engine's index among its listener's shards (0 when not sharded).
    shard: usize,
    /// The engine thread exited (or is exiting): nothing new may use this engine.
    closed: bool,
}

impl Shared {
    /// The slot of connection `h`.
    pub(crate) fn slot(&self, h: ConnectionHandle) -> Option<Arc<Slot>> {
        self.slots.get(h.0)?.clone()
    }

    /// Every connection (for closing them all, never on the data path).
    pub(crate) fn all_slots(&self) -> Vec<Arc<Slot>> {
        self.slots.iter().flatten().cloned().collect()
    }

    fn insert(&mut self, h: ConnectionHandle, conn: Box<Connection>, cs: ConnState) -> Arc<Slot> {
        if self.slots.len() <= h.0 {
            self.slots.resize(h.0 + 1, None);
        }
        let slot = Arc::new(Slot::new(h, conn, cs));
        self.slots[h.0] = Some(slot.clone());
        slot
    }

    /// What a new server connection starts with: the events any listener asked for until
    /// its own is known.
    fn new_server_state(&self) -> ConnState {
        ConnState {
            event_mask: self.listeners.iter().fold(0, |m, l| m | l.event_mask),
            ..ConnState::default()
        }
    }

    /// Offers a new server connection, kept after its first datagram (it carried a
    /// ClientHello), to the port's only listener if that listener's application drives
    /// the handshake: into its accept queue now, or refused when the queue is full. Only
    /// a connection that is kept is offered, so what `poll` shows in the queue is there
    /// for `accept` to take.
    fn offer_first(&mut self, h: ConnectionHandle, g: &mut SlotState) {
        let shard = self.shard;
        let [l] = &mut self.listeners[..] else {
            return;
        };
        if !l.early {
            return;
        }
        if l.queue.offer((shard, h)) {
            g.cs.listener = Some(l.id);
        } else {
            g.conn.refuse(clock::now());
        }
    }

    /// Offers a server connection whose protocol its ClientHello named, among several
    /// listeners, to the one serving it if that listener's application drives the
    /// handshake (into its accept queue now, as Linux QUIC's accept hands it out, or
    /// refused when the queue is full).
    fn offer_early(&mut self, h: ConnectionHandle, g: &mut SlotState) {
        if self.listeners.len() < 2 {
            return;
        }
        let owner = {
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            dispatch::owner(&table, g.conn.driver().and_then(|d| d.alpn()))
        };
        let shard = self.shard;
        let Some(l) = self
            .listeners
            .iter_mut()
            .find(|l| l.early && Some(l.id) == owner)
        else {
            return;
        };
        if l.queue.offer((shard, h)) {
            g.cs.listener = Some(l.id);
            g.cs.event_mask = l.event_mask;
        } else {
            g.conn.refuse(clock::now());
        }
    }

    /// Offers a server connection whose handshake completed to the listener serving its
    /// protocol: into its backlog, or to wait for room, or refused when both are full.
    fn offer(&mut self, h: ConnectionHandle, g: &mut SlotState) {
        // With one listener (or a driver of the application's) it is that listener's;
        // else the one serving the negotiated protocol.
        let owner = if self.listeners.len() == 1 {
            Some(self.listeners[0].id)
        } else {
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            dispatch::owner(&table, g.conn.driver().and_then(|d| d.alpn()))
        };
        let shard = self.shard;
        match self.listeners.iter_mut().find(|l| Some(l.id) == owner) {
            Some(l) => {
                if l.queue.offer((shard, h)) {
                    g.cs.listener = Some(l.id);
                    g.cs.event_mask = l.event_mask;
                } else {
                    g.conn.refuse(clock::now());
                }
            }
            // Its listener closed meanwhile.
            None => g.conn.close(clock::now(), VarInt::ZERO, b"listener closed"),
        }
    }
}

/// The timer queue and the deadline the engine's timer is armed for.
struct Timers {
    queue: TimerQueue,
    wake_at: Option<Timestamp>,
}

/// A pass that reads this many datagrams or more marks a busy engine ([`Engine::busy`]).
const BUSY_READ: usize = 8;

/// What one engine pass works with: the receive buffers and the thread's scratch state.
/// Whoever runs a pass (the engine thread, or a guest) holds it, so passes of one engine
/// never overlap.
struct Pass {
    storage: RxBuffers,
    meta: Vec<RecvMeta>,
    scratch: Scratch,
}

/// The duration until `t`, rounded up to a whole millisecond (the timer slack the engine
/// has always had), so that a deadline is never woken for early and spun on.
fn until(t: Timestamp) -> Duration {
    let d = t.saturating_duration_since(clock::now());
    Duration::from_millis(d.as_micros().div_ceil(1000).min(u64::MAX as u128) as u64)
}

/// Datagrams built and waiting for their syscalls, in order.
#[derive(Default)]
struct TxBatch {
    /// Initialised once and reused: a connection writes each datagram in place, leaving
    /// room for what sealing writes, so no byte is written only to be overwritten.
    buf: Vec<u8>,
    /// How much of `buf` the datagrams of the batch fill.
    filled: usize,
    /// Each datagram, in `buf` order.
    datagrams: Vec<TxDatagram>,
}

/// One datagram of a [`TxBatch`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct TxDatagram {
    start: usize,
    len: usize,
    destination: SocketAddr,
    ecn: Option<EcnCodepoint>,
    /// The local address to send from (a client that migrated); `None`: the kernel's
    /// choice.
    source: Option<std::net::IpAddr>,
}

thread_local! {
    /// Each thread builds its datagrams here: buffers belong to threads, not connections.
    static TX: RefCell<TxBatch> = RefCell::default();
    /// What wakes this thread when it waits as a guest ([`Engine::guest_wait`]); `None`
    /// if no eventfd could be had (the thread then waits on condition variables).
    static GUEST_WAKER: Option<Arc<Waker>> = Waker::new().ok().map(Arc::new);
    /// This thread, running a pass as a guest, woke itself: its wait is over.
    static SELF_WOKEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The waker of this thread's wait as a guest, while it waits (its address).
    static WAITING_ON: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// This thread's guest waker.
pub(crate) fn thread_waker() -> Option<Arc<Waker>> {
    GUEST_WAKER.with(|w| w.clone())
}

/// Wakes a guest waiting on `w`. A guest that wakes itself (news it waits for came in
/// through its own pass) only notes it: no syscall.
pub(crate) fn wake_guest(w: &Arc<Waker>) {
    // (Compared by address: a thread that never waits makes no eventfd of its own.)
    let own = WAITING_ON.with(|on| on.get() == Arc::as_ptr(w) as usize);
    if own {
        SELF_WOKEN.with(|s| s.set(true));
    } else {
        w.wake();
    }
}

impl TxBatch {
    fn clear(&mut self) {
        self.filled = 0;
        self.datagrams.clear();
    }

    /// Appends what `conn` has to send until the batch holds [`TX_BATCH`] datagrams;
    /// returns whether it filled up.
    fn fill(
        &mut self,
        conn: &mut quicsock_proto::conn::Connection,
        source: Option<std::net::IpAddr>,
    ) -> bool {
        let now = clock::now();
        while self.datagrams.len() < TX_BATCH {
            let start = self.filled;
            // Grown (and zeroed) only when a connection's datagrams need more room than
            // any before: the steady state writes into memory it already has.
            let need = start + conn.udp_payload_size();
            if self.buf.len() < need {
                self.buf.resize(need, 0);
            }
            let Some(t) = conn.poll_transmit(now, &mut self.buf[start..need]) else {
                break;
            };
            self.filled += t.size;
            self.datagrams.push(TxDatagram {
                start,
                len: t.size,
                destination: t.destination,
                ecn: t.ecn.map(ecn_out),
                source,
            });
        }
        self.datagrams.len() == TX_BATCH
    }
}

/// The largest UDP payload the local interface carries to `remote` (the route's MTU,
/// asked of the kernel once per connection), the ceiling of the connection's PMTU search;
/// `None` when the kernel cannot say, and the search finds out by probing.
fn interface_limit(remote: SocketAddr) -> Option<u16> {
    let max = quicsock_udp::max_udp_payload(remote).ok()?;
    Some(u16::try_from(max).unwrap_or(u16::MAX))
}

/// The engine thread's outgoing batch: datagrams of every connection it visited since the
/// last send, with those connections' send turns. A burst of ACKs for many connections to
/// one peer address leaves in a few GSO sends instead of one `sendmsg` each.
///
/// Deadlock freedom: a thread waiting for a connection's turn holds that connection's
/// lock, so the engine never locks a connection whose turn it holds: it sends the batch
/// first ([`Outbox::holds`]).
#[derive(Default)]
struct Outbox {
    tx: TxBatch,
    turns: Vec<Arc<Slot>>,
}

/// An engine thread unwinding gives back the turns it held (its connections are then
/// failed, which sends on them).
impl Drop for Outbox {
    fn drop(&mut self) {
        for slot in self.turns.drain(..) {
            slot.turn.give();
        }
    }
}

impl Outbox {
    /// Whether the batch holds `slot`'s turn.
    fn holds(&self, slot: &Arc<Slot>) -> bool {
        self.turns.iter().any(|s| Arc::ptr_eq(s, slot))
    }
}

/// The engine thread's own state: its outgoing batch and reusable buffers for handling
/// received datagrams.
#[derive(Default)]
struct Scratch {
    out: Outbox,
    /// (buffer, offset, length, route) of each datagram of the batch.
    routes: Vec<(usize, usize, usize, Route)>,
    replies: Vec<(SocketAddr, Vec<u8>)>,
    /// Shards this batch handed datagrams to (woken once each).
    handed: Vec<usize>,
    strays: Vec<Stray>,
}

/// What a routed datagram goes to.
enum Route {
    Known(Arc<Slot>),
    /// A new server connection.
    New(Arc<Slot>),
    Reset(Arc<Slot>),
}

/// One UDP socket, its endpoint and its engine thread.
pub(crate) struct Engine {
    pub(crate) udp: UdpSocket,
    waker: Waker,
    /// Where the engine thread sleeps: the socket, the waker and the timer.
    sleeper: Sleeper,
    /// The state of an engine pass, held by whoever runs one.
    pass: Mutex<Pass>,
    /// A guest ([`Engine::guest_wait`]) watches the socket: the engine thread sleeps on
    /// its waker and its timer meanwhile.
    guest: std::sync::atomic::AtomicBool,
    /// The guest's waker, while there is one.
    guest_waker: Mutex<Option<Arc<Waker>>>,
    /// Datagrams the latest pass that read any took from the socket.
    last_read: std::sync::atomic::AtomicUsize,
    /// The engine thread exited (`Shared::closed`, readable without the shared lock, which
    /// a waiter in `QuicPoll` may not take).
    exited: std::sync::atomic::AtomicBool,
    shared: Mutex<Shared>,
    timers: Mutex<Timers>,
    /// Why the engine failed, once it did.
    failed: OnceLock<String>,
    /// A server's handshake worker (TLS off the engine thread).
    handshakes: Option<Arc<Handshakes>>,
    /// Every shard of this engine's listener, this one included, by index: where a
    /// datagram steered elsewhere goes (set once the listener has bound them all).
    pub(crate) siblings: OnceLock<Vec<Weak<Self>>>,
    /// Where the qlog traces of this listener's connections go (`qlog_file`).
    pub(crate) qlog_dir: OnceLock<std::path::PathBuf>,
    /// Datagrams the other shards handed to this one.
    strays: Strays,
    /// Makes the engine thread panic at its next turn (tests of the failure path).
    #[cfg(test)]
    pub(crate) fault: std::sync::atomic::AtomicBool,
    /// Passes that read the socket on the engine thread, and passes run by guests.
    #[cfg(test)]
    pub(crate) passes: [std::sync::atomic::AtomicUsize; 2],
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("udp", &self.udp)
            .finish_non_exhaustive()
    }
}

/// What a panic said, as text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// The ECN codepoint of the datagram layer for the protocol's.
fn ecn_out(e: quicsock_proto::conn::Ecn) -> EcnCodepoint {
    match e {
        quicsock_proto::conn::Ecn::Ect0 => EcnCodepoint::Ect0,
        quicsock_proto::conn::Ecn::Ect1 => EcnCodepoint::Ect1,
        quicsock_proto::conn::Ecn::Ce => EcnCodepoint::Ce,
    }
}

/// The protocol's ECN codepoint for the datagram layer's.
fn ecn_in(e: EcnCodepoint) -> quicsock_proto::conn::Ecn {
    match e {
        EcnCodepoint::Ect0 => quicsock_proto::conn::Ecn::Ect0,
        EcnCodepoint::Ect1 => quicsock_proto::conn::Ecn::Ect1,
        EcnCodepoint::Ce => quicsock_proto::conn::Ecn::Ce,
    }
}

impl Engine {
    /// An engine on `udp` with its thread started.
    pub(crate) fn start(
        udp: UdpSocket,
        config: EndpointConfig,
        table: ListenerTable,
    ) -> io::Result<Arc<Self>> {
        Self::start_shard(udp, config, table, 0)
    }

    /// An engine on `udp` as shard `shard` of a listener, with its thread started.
    pub(crate) fn start_shard(
        udp: UdpSocket,
        config: EndpointConfig,
        table: ListenerTable,
        shard: usize,
    ) -> io::Result<Arc<Self>> {
        udp.set_nonblocking(true)?;
        let handshakes = config
            .server
            .is_some()
            .then(|| Arc::new(Handshakes::default()));
        let waker = Waker::new()?;
        let sleeper = Sleeper::new(&udp, &waker)?;
        let engine = Arc::new(Self {
            udp,
            waker,
            sleeper,
            pass: Mutex::new(Pass {
                storage: RxBuffers::default(),
                meta: vec![RecvMeta::default(); BATCH_SIZE],
                scratch: Scratch::default(),
            }),
            guest: std::sync::atomic::AtomicBool::new(false),
            guest_waker: Mutex::new(None),
            last_read: std::sync::atomic::AtomicUsize::new(0),
            exited: std::sync::atomic::AtomicBool::new(false),
            shared: Mutex::new(Shared {
                endpoint: Endpoint::new(config, Box::new(SystemRandom)),
                slots: Vec::new(),
                listeners: Vec::new(),
                table,
                handles: 1,
                attached: 0,
                shard,
                closed: false,
            }),
            timers: Mutex::new(Timers {
                queue: TimerQueue::new(),
                wake_at: None,
            }),
            failed: OnceLock::new(),
            handshakes: handshakes.clone(),
            siblings: OnceLock::new(),
            qlog_dir: OnceLock::new(),
            strays: Strays::default(),
            #[cfg(test)]
            fault: std::sync::atomic::AtomicBool::new(false),
            #[cfg(test)]
            passes: Default::default(),
        });
        if let Some(hs) = handshakes {
            let e = Arc::downgrade(&engine);
            std::thread::Builder::new()
                .name("quicsock-handshake".into())
                .spawn(move || hs.run(e))?;
        }
        let e = engine.clone();
        let started = std::thread::Builder::new()
            .name("quicsock-engine".into())
            .spawn(move || e.run());
        if let Err(err) = started {
            if let Some(hs) = &engine.handshakes {
                hs.close();
            }
            return Err(err);
        }
        Ok(engine)
    }

    /// The routing state. A panic while it was held (the endpoint broke on some input)
    /// fails the engine.
    pub(crate) fn shared(&self) -> MutexGuard<'_, Shared> {
        match self.shared.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let g = poisoned.into_inner();
                if self.failed.get().is_none() {
                    let _ = self
                        .failed
                        .set("a thread panicked while it held this socket's routing".into());
                    self.wake();
                }
                g
            }
        }
    }

    fn timers(&self) -> MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`Error::EngineFailed`](crate::Error::EngineFailed) once the engine failed.
    pub(crate) fn check(&self) -> crate::Result<()> {
        match self.failed.get() {
            Some(why) => Err(crate::Error::EngineFailed(why.clone())),
            None => Ok(()),
        }
    }

    /// Wakes the engine thread.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// A new listener, socket or endpoint refers to the engine; false if its thread
    /// exited already (the caller makes another engine).
    pub(crate) fn acquire(&self) -> bool {
        let mut sh = self.shared();
        if sh.closed || self.failed.get().is_some() {
            return false;
        }
        sh.handles += 1;
        true
    }

    /// A listener or socket stopped referring to the engine.
    pub(crate) fn release(&self) {
        self.shared().handles -= 1;
        self.wake();
    }

    /// Opens a client connection on this engine; the caller holds it as attached.
    pub(crate) fn connect(
        &self,
        remote: SocketAddr,
        config: quicsock_proto::conn::ConnectionConfig,
        driver: Box<dyn quicsock_proto::conn::HandshakeDriver>,
    ) -> Result<Arc<Slot>, quicsock_proto::conn::ConnectionError> {
        let limit = interface_limit(remote);
        let mut sh = self.shared();
        let (h, mut conn) = sh.endpoint.connect(clock::now(), remote, config, driver)?;
        if let Some(max) = limit {
            conn.limit_datagram_size(max);
        }
        sh.attached += 1;
        let cs = ConnState {
            attached: true,
            ..ConnState::default()
        };
        Ok(sh.insert(h, conn, cs))
    }

    /// A socket let go of its connection (under the connection's lock).
    pub(crate) fn detach(&self, slot: &Slot, g: &mut SlotState) {
        self.shared().attached -= 1;
        let _ = self.after(slot, g);
    }

    /// Everything that follows a call on a connection, under its lock: the endpoint
    /// learns its routing changes, a lingering close proceeds, its events reach the
    /// application, a completed server handshake goes to its listener, a drained
    /// connection nobody holds is forgotten, and its deadline moves in the timer queue.
    /// Returns whether it gave the connection something new to send (a refusal, a close).
    pub(crate) fn after(&self, slot: &Slot, g: &mut SlotState) -> bool {
        if g.removed {
            return false;
        }
        let now = clock::now();
        g.linger(now);
        let out = g.process(&slot.cond);
        if g.cs.established || g.conn.is_closed() {
            slot.handshaking
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        let mut events: Vec<EndpointEvent> = Vec::new();
        while let Some(e) = g.conn.poll_endpoint_event() {
            events.push(e);
        }
        if !events.is_empty() || out.established || out.forget || out.dispatched {
            let mut sh = self.shared();
            for e in events {
                if let Some(answer) = sh.endpoint.handle_event(slot.h, now, e) {
                    g.conn.handle_event(answer);
                }
            }
            if out.dispatched {
                sh.offer_early(slot.h, g);
            }
            if out.established {
                sh.offer(slot.h, g);
            }
            if out.forget {
                self.forget(&mut sh, slot.h, g);
                return false;
            }
        }
        self.reschedule(slot.h, g);
        // An offer the listener could not take closed the connection.
        out.established && g.conn.is_closed()
    }

    /// Removes a connection nobody will use again from the routing, the listeners' queues
    /// and the timer queue (under its lock and the shared lock, so its handle is not
    /// reused before it is gone from everything).
    fn forget(&self, sh: &mut Shared, h: ConnectionHandle, g: &mut SlotState) {
        g.removed = true;
        for l in &sh.listeners {
            l.queue.forget((sh.shard, h));
        }
        if let Some(s) = sh.slots.get_mut(h.0) {
            *s = None;
        }
        sh.endpoint.remove(h);
        self.timers().queue.set(h.0, None);
        g.armed = None;
    }

    /// Puts the connection's next deadline in the timer queue, waking the engine thread if
    /// it would sleep past it. A deadline that only moved later (the idle timer, pushed
    /// back by every packet) leaves the earlier entry in place: it fires, the connection
    /// finds nothing due and arms its real deadline then. So a busy connection costs the
    /// queue one operation per idle period rather than one per packet.
    fn reschedule(&self, h: ConnectionHandle, g: &mut SlotState) {
        let t = g.deadline();
        let later = match (g.armed, t) {
            (Some(armed), Some(t)) => t >= armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if t == g.armed || later {
            return;
        }
        g.armed = t;
        let mut timers = self.timers();
        timers.queue.set(h.0, t);
        // An earlier deadline re-arms the engine's timer; nobody is woken for it.
        if let Some(t) = t.filter(|t| timers.wake_at.is_none_or(|w| *t < w)) {
            timers.wake_at = Some(t);
            self.sleeper.set_timer(Some(until(t)));
        }
    }

    /// The engine thread: its loop, and if that panics, the failure of every connection
    /// and listener of the engine (their blocked and later calls learn of it).
    fn run(self: Arc<Self>) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_loop()));
        if let Err(panic) = run {
            let why = panic_message(&*panic);
            let _ = self
                .failed
                .set(format!("the engine thread panicked: {why}"));
        }
        if let Some(why) = self.failed.get() {
            // The peers are told: each connection's CONNECTION_CLOSE goes out once.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.fail_all(why);
            }));
        }
    }

    /// Fails every connection and wakes every blocked caller; each connection's
    /// CONNECTION_CLOSE goes out once.
    fn fail_all(&self, why: &str) {
        let slots: Vec<Arc<Slot>> = {
            let sh = self.shared();
            for l in &sh.listeners {
                l.queue.wake_all();
            }
            sh.all_slots()
        };
        for slot in slots {
            let mut g = slot.lock();
            if g.failed.is_none() {
                g.fail(why.to_owned());
            }
            slot.cond.notify_all();
            g.waiters.notify(&slot.cond);
            self.transmit(&slot, g);
        }
    }

    fn run_loop(&self) {
        self.arm_timer(true);
        loop {
            #[cfg(test)]
            if self.fault.load(std::sync::atomic::Ordering::Relaxed) {
                panic!("fault injected by a test");
            }
            {
                let mut sh = self.shared();
                if self.failed.get().is_some()
                    || sh.handles == 0 && sh.endpoint.connection_count() == 0
                {
                    sh.closed = true;
                    self.exited
                        .store(true, std::sync::atomic::Ordering::Release);
                    drop(sh);
                    if let Some(w) = &*self.guest_waker.lock().unwrap_or_else(|p| p.into_inner()) {
                        w.wake();
                    }
                    return;
                }
            }
            let woken = match self.sleeper.wait() {
                Ok(w) => w,
                Err(_) => {
                    // epoll itself failing leaves nothing to wait on; do not spin.
                    std::thread::sleep(Duration::from_millis(1));
                    Woken {
                        socket: true,
                        timer: true,
                        waker: true,
                    }
                }
            };
            let _running = running();
            let _reads = self.run_pass(woken);
            #[cfg(test)]
            if _reads > 0 {
                self.passes[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// One engine pass: datagrams handed over by other shards (when woken), the socket's
    /// (when readable) and the timers that are due; then the timer is armed for the next
    /// deadline. Returns how many socket reads brought datagrams.
    fn run_pass(&self, woken: Woken) -> usize {
        let mut p = self.pass.lock().unwrap_or_else(|e| e.into_inner());
        let Pass {
            storage,
            meta,
            scratch,
        } = &mut *p;
        if woken.waker {
            self.waker.reset();
            self.receive_strays(storage, meta, scratch);
        }
        let reads = if woken.socket {
            self.receive(storage, meta, scratch)
        } else {
            0
        };
        self.run_timers(&mut scratch.out);
        self.arm_timer(woken.timer);
        reads
    }

    /// Arms the timer for the timer queue's first deadline, if that moved earlier or the
    /// timer fired (an expiry stays readable until re-armed).
    ///
    /// A first deadline that moved later (a PTO pushed back by each ACK, each request of
    /// a request/response exchange) leaves the timer as it is: its early expiry finds
    /// nothing due and re-arms it then. One spurious expiry per old deadline costs less
    /// than a `timerfd_settime` per pass.
    fn arm_timer(&self, fired: bool) {
        let mut timers = self.timers();
        let next = timers.queue.next().map(|(t, _)| t);
        let earlier = match (next, timers.wake_at) {
            (Some(n), Some(w)) => n < w,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if fired || earlier {
            timers.wake_at = next;
            self.sleeper.set_timer(next.map(until));
        }
    }

    /// Waits on an application thread until `waker` fires or `timeout` passes, doing the
    /// engine thread's work meanwhile for each of `engines` that no other guest serves:
    /// this thread watches their sockets and timers and runs their passes itself, and
    /// their engine threads sleep on. A thread that would wait anyway thus takes in what
    /// arrives (the response it waits for, the ACKs that make room for its data) with no
    /// hop through another thread, the way a kernel's receive path runs in whatever
    /// context is there.
    pub(crate) fn guest_wait(engines: &[Arc<Self>], waker: &Arc<Waker>, timeout: Duration) {
        use std::sync::atomic::Ordering;
        let led: Vec<&Arc<Self>> = engines
            .iter()
            .filter(|e| {
                e.serving()
                    && e.guest
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
            })
            .filter(|e| {
                let parked = e.sleeper.park().is_ok();
                if !parked {
                    e.guest.store(false, Ordering::Release);
                }
                parked
            })
            .collect();
        let mut fds = vec![waker.as_fd()];
        for e in &led {
            fds.push(e.udp.as_fd());
        }
        let deadline = clock::now() + timeout;
        SELF_WOKEN.with(|s| s.set(false));
        WAITING_ON.with(|on| on.set(Arc::as_ptr(waker) as usize));
        for e in &led {
            // The engine thread wakes its guest when it exits, so that nobody waits on the
            // socket of an engine that is gone.
            *e.guest_waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(waker.clone());
        }
        loop {
            let left = deadline.saturating_duration_since(clock::now());
            let bits = match quicsock_udp::wait_any(&fds, Some(left)) {
                Ok(bits) => bits,
                Err(_) => break,
            };
            if bits & 1 != 0 {
                waker.reset();
                break;
            }
            for (k, e) in led.iter().enumerate() {
                if bits & 1 << (1 + k) != 0 {
                    e.guest_pass(Woken {
                        socket: true,
                        ..Woken::default()
                    });
                }
            }
            if SELF_WOKEN.with(|s| s.replace(false)) || clock::now() >= deadline {
                break;
            }
        }
        WAITING_ON.with(|on| on.set(0));
        for e in led {
            *e.guest_waker.lock().unwrap_or_else(|p| p.into_inner()) = None;
            // Given back: what arrived since the last pass wakes the engine thread now.
            if e.sleeper.unpark().is_err() {
                e.wake();
            }
            e.guest.store(false, Ordering::Release);
        }
    }

    /// Whether the latest pass that read the socket took [`BUSY_READ`] datagrams or more:
    /// a bulk flow, which the engine thread takes in better than a poll thread's guest
    /// waits.
    pub(crate) fn busy(&self) -> bool {
        self.last_read.load(std::sync::atomic::Ordering::Relaxed) >= BUSY_READ
    }

    /// Whether the engine still runs: not failed, its thread not gone. Takes no lock.
    pub(crate) fn serving(&self) -> bool {
        self.failed.get().is_none() && !self.exited.load(std::sync::atomic::Ordering::Acquire)
    }

    /// An engine pass on a guest's thread. A panic in it fails the engine as one on the
    /// engine thread would (the engine thread then closes every connection); the
    /// application's call returns and finds out.
    fn guest_pass(&self, woken: Woken) {
        if !self.serving() {
            // Its thread exited meanwhile: nothing of it runs any more.
            return;
        }
        #[cfg(test)]
        self.passes[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_pass(woken);
        }));
        if let Err(panic) = run {
            let why = panic_message(&*panic);
            let _ = self.failed.set(format!("an engine pass panicked: {why}"));
            self.wake();
        }
    }

    /// Visits the connections whose deadlines passed, and only those.
    fn run_timers(&self, out: &mut Outbox) {
        let now = clock::now();
        let due: Vec<usize> = {
            let mut timers = self.timers();
            std::iter::from_fn(|| timers.queue.pop_due(now)).collect()
        };
        for k in due {
            let Some(slot) = self.shared().slot(ConnectionHandle(k)) else {
                continue;
            };
            let mut g = self.lock_staged(&slot, out);
            // Popped from the queue: whatever it needs next is armed afresh.
            g.armed = None;
            if !g.removed {
                g.conn.handle_timeout(now);
            }
            self.stage(&slot, g, out);
        }
        self.flush(out);
    }

    /// Takes in what the socket has, a bounded number of batches, and handles each
    /// ([`handle_batch`](Self::handle_batch)).
    /// Returns how many reads brought datagrams.
    fn receive(
        &self,
        storage: &mut RxBuffers,
        meta: &mut [RecvMeta],
        scratch: &mut Scratch,
    ) -> usize {
        let mut got = 0;
        let rounds = self.receive_rounds(storage, meta, scratch, &mut got);
        if got > 0 {
            self.last_read
                .store(got, std::sync::atomic::Ordering::Relaxed);
        }
        rounds
    }

    /// [`receive`](Self::receive)'s reads; counts the datagrams in `got`.
    fn receive_rounds(
        &self,
        storage: &mut RxBuffers,
        meta: &mut [RecvMeta],
        scratch: &mut Scratch,
        got: &mut usize,
    ) -> usize {
        for round in 0..RX_ROUNDS {
            storage.refill();
            let n = match self.udp.recv_into(storage.bufs(), meta) {
                Ok(n) => n,
                Err(_) => return round,
            };
            *got += meta[..n]
                .iter()
                .map(|m| m.len.div_ceil(m.stride.max(1)))
                .sum::<usize>();
            self.handle_batch(storage, &meta[..n], scratch, false);
            if n < BATCH_SIZE {
                return round + 1;
            }
        }
        RX_ROUNDS
    }

    /// Handles the datagrams other shards handed to this one ([`crate::strays`]), a
    /// batch at a time, as if the socket had received them.
    fn receive_strays(
        &self,
        storage: &mut RxBuffers,
        meta: &mut [RecvMeta],
        scratch: &mut Scratch,
    ) {
        loop {
            scratch.strays.clear();
            self.strays.take(BATCH_SIZE, &mut scratch.strays);
            if scratch.strays.is_empty() {
                return;
            }
            let n = scratch.strays.len();
            storage.refill();
            for (i, s) in scratch.strays.iter().enumerate() {
                storage.put(i, &s.data);
                meta[i] = RecvMeta {
                    addr: s.from,
                    len: s.data.len(),
                    stride: s.data.len().max(1),
                    ecn: s.ecn,
                    dst_ip: s.dst_ip,
                    ifindex: None,
                };
            }
            self.handle_batch(storage, &meta[..n], scratch, true);
        }
    }

    /// Handles one batch of received datagrams: routed under one hold of the shared lock;
    /// then each connection's datagrams are handled under its own lock, and what they call
    /// for is sent. A datagram steered to another shard is handed to it, unless it was
    /// handed here (`strays`).
    fn handle_batch(
        &self,
        storage: &mut RxBuffers,
        meta: &[RecvMeta],
        scratch: &mut Scratch,
        strays: bool,
    ) {
        let Scratch {
            out,
            routes,
            replies,
            handed,
            ..
        } = scratch;
        let now = clock::now();
        routes.clear();
        handed.clear();
        let siblings = self.siblings.get().filter(|s| s.len() > 1 && !strays);
        {
            let mut sh = self.shared();
            for (i, m) in meta.iter().enumerate() {
                let mut off = 0;
                while off < m.len {
                    let len = m.stride.min(m.len - off);
                    let d = storage.at(i, off, len);
                    off += len;
                    if let Some(siblings) = siblings {
                        let k = quicsock_udp::steered_socket(d, siblings.len() as u8);
                        if k != sh.shard {
                            if self.hand_on(&siblings[k], m, d) && !handed.contains(&k) {
                                handed.push(k);
                            }
                            continue;
                        }
                    }
                    if let Some(r) = self.route(&mut sh, now, m.addr, d) {
                        routes.push((i, off - len, len, r));
                    }
                }
            }
            // Replies to datagrams no connection took, made while routing.
            let mut buf = Vec::new();
            while let Some(t) = sh.endpoint.poll_transmit(&mut buf) {
                replies.push((t.destination, std::mem::take(&mut buf)));
            }
        }
        for k in handed.iter() {
            if let Some(e) = siblings.and_then(|s| s[*k].upgrade()) {
                e.waker.wake();
            }
        }
        let mut k = 0;
        while k < routes.len() {
            if self.offload(&routes[k], storage, meta) {
                k += 1;
                continue;
            }
            // Consecutive datagrams of one connection (a GRO batch) under one hold.
            let slot = match &routes[k].3 {
                Route::Known(s) | Route::New(s) | Route::Reset(s) => s.clone(),
            };
            let mut g = self.lock_staged(&slot, out);
            let first = k;
            while k < routes.len() {
                let (i, off, len, r) = &routes[k];
                let (s, new) = match r {
                    Route::Known(s) => (s, false),
                    Route::New(s) => (s, true),
                    Route::Reset(s) => {
                        if !Arc::ptr_eq(s, &slot) {
                            break;
                        }
                        g.conn.handle_stateless_reset(meta[*i].addr);
                        k += 1;
                        continue;
                    }
                };
                if !Arc::ptr_eq(s, &slot)
                    || s.handshaking.load(std::sync::atomic::Ordering::Relaxed)
                        && self.handshakes.is_some()
                {
                    break;
                }
                let m = &meta[*i];
                if k > first
                    && m.dst_ip.is_some()
                    && m.dst_ip != g.local_ip
                    && g.conn.offers_preferred_address()
                {
                    // A server with a preferred address answers from the address it was
                    // asked on (`SlotState::send_from`): what the datagrams so far call
                    // for (the PATH_RESPONSE to a probe of the preferred address) leaves
                    // before a datagram that came to the other address is read.
                    break;
                }
                if m.dst_ip.is_some() {
                    g.local_ip = m.dst_ip;
                }
                let (d, pin) = storage.take(*i, *off, *len);
                self.deliver(
                    &slot,
                    &mut g,
                    now,
                    m.addr,
                    m.ecn.map(ecn_in),
                    Datagram::Shared(d, pin),
                    new,
                );
                k += 1;
            }
            self.stage(&slot, g, out);
        }
        self.flush(out);
        self.send_stateless(replies);
        replies.clear();
    }

    /// Queues a datagram this shard's socket received for the shard it is steered to;
    /// false when that shard is gone or its queue is full (the datagram is dropped).
    fn hand_on(&self, to: &Weak<Self>, m: &RecvMeta, d: &[u8]) -> bool {
        to.upgrade().is_some_and(|to| {
            to.strays.push(Stray {
                from: m.addr,
                ecn: m.ecn,
                dst_ip: m.dst_ip,
                data: d.to_vec(),
            })
        })
    }

    /// Hands a datagram of a connection in its handshake to the handshake worker; false
    /// when this engine has none or the connection is established.
    fn offload(
        &self,
        route: &(usize, usize, usize, Route),
        storage: &RxBuffers,
        meta: &[RecvMeta],
    ) -> bool {
        let Some(hs) = &self.handshakes else {
            return false;
        };
        let (i, off, len, r) = route;
        let (slot, new) = match r {
            Route::New(s) => (s, true),
            Route::Known(s) if s.handshaking.load(std::sync::atomic::Ordering::Relaxed) => {
                (s, false)
            }
            _ => return false,
        };
        let m = &meta[*i];
        let job = Job {
            slot: slot.clone(),
            data: storage.at(*i, *off, *len).to_vec(),
            remote: m.addr,
            ecn: m.ecn.map(ecn_in),
            dst_ip: m.dst_ip,
            new,
        };
        if !hs.push(job) && new {
            // The worker is swamped: the client's Initial is dropped, and no state kept
            // for it (the client sends it again).
            let mut g = slot.lock();
            let mut sh = self.shared();
            self.forget(&mut sh, slot.h, &mut g);
        }
        true
    }

    /// One datagram into a connection, under its lock: a new server connection without a
    /// ClientHello is forgotten; one kept goes to a lone application-driven listener's
    /// accept queue, or is refused when that queue is full.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &self,
        slot: &Slot,
        g: &mut SlotState,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<quicsock_proto::conn::Ecn>,
        d: Datagram<'_>,
        new: bool,
    ) {
        if !g.removed {
            g.conn.handle(now, remote, ecn, d);
        }
        if new && !g.conn.has_client_hello() {
            // Nothing in it authenticated, or no ClientHello in it: no state is kept.
            let mut sh = self.shared();
            self.forget(&mut sh, slot.h, g);
            return;
        }
        if new {
            // A connection kept: its PMTU search stays within what the interface carries.
            if let Some(max) = interface_limit(remote) {
                g.conn.limit_datagram_size(max);
            }
            if let Some(dir) = self.qlog_dir.get() {
                crate::qlog_file::attach(&mut g.conn, dir, now);
            }
            self.shared().offer_first(slot.h, g);
        }
    }

    /// A datagram the handshake worker took (on the worker's thread).
    pub(crate) fn deliver_handshake<'a>(&self, mut job: Job, mut g: MutexGuard<'a, SlotState>) {
        let now = clock::now();
        let slot = job.slot.clone();
        if job.dst_ip.is_some() {
            g.local_ip = job.dst_ip;
        }
        self.deliver(
            &slot,
            &mut g,
            now,
            job.remote,
            job.ecn,
            Datagram::Borrowed(&mut job.data),
            job.new,
        );
        self.transmit(&slot, g);
    }

    /// Where one datagram goes, under the shared lock: a new server connection gets its
    /// slot here, so the next datagram for it finds it.
    fn route(
        &self,
        sh: &mut Shared,
        now: Timestamp,
        remote: SocketAddr,
        d: &[u8],
    ) -> Option<Route> {
        let r = match sh.endpoint.handle(now, remote, d) {
            Some(DatagramEvent::Known(h)) => Route::Known(sh.slot(h)?),
            Some(DatagramEvent::Reset(h)) => Route::Reset(sh.slot(h)?),
            Some(DatagramEvent::New(h, conn)) => {
                let cs = sh.new_server_state();
                let slot = sh.insert(h, conn, cs);
                slot.handshaking
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Route::New(slot)
            }
            None => None?,
        };
        Some(r)
    }

    /// Builds and sends every datagram the connection has now, then does what follows a
    /// call on it ([`after`](Self::after)) and releases it; its syscalls are made with
    /// only its send turn held.
    pub(crate) fn transmit<'a>(&self, slot: &'a Slot, mut g: MutexGuard<'a, SlotState>) {
        loop {
            if g.removed {
                // Forgotten (no ClientHello, say): nothing of it goes out.
                return;
            }
            // A close that lingered may be due: its CONNECTION_CLOSE goes in this batch.
            g.linger(clock::now());
            let full = TX.with(|tx| {
                let mut tx = tx.borrow_mut();
                tx.clear();
                let source = g.send_from();
                tx.fill(&mut g.conn, source)
            });
            let more = self.after(slot, &mut g);
            slot.turn.take();
            drop(g);
            TX.with(|tx| self.send_batch(&tx.borrow()));
            slot.turn.give();
            if !full && !more {
                return;
            }
            g = slot.lock();
        }
    }

    /// [`transmit`](Self::transmit) on the engine thread: the datagrams join `out`, sent
    /// with those of the other connections visited when [`flush`](Self::flush) comes.
    fn stage<'a>(&self, slot: &'a Arc<Slot>, mut g: MutexGuard<'a, SlotState>, out: &mut Outbox) {
        loop {
            if g.removed {
                return;
            }
            g.linger(clock::now());
            let before = out.tx.datagrams.len();
            let source = g.send_from();
            let full = out.tx.fill(&mut g.conn, source);
            let more = self.after(slot, &mut g);
            if out.tx.datagrams.len() > before && !out.holds(slot) {
                slot.turn.take();
                out.turns.push(slot.clone());
            }
            drop(g);
            if !full && !more {
                return;
            }
            self.flush(out);
            g = slot.lock();
        }
    }

    /// Locks `slot` for the engine thread, sending the batch first if it holds the
    /// slot's turn (see [`Outbox`]).
    fn lock_staged<'a>(&self, slot: &'a Arc<Slot>, out: &mut Outbox) -> MutexGuard<'a, SlotState> {
        if out.holds(slot) {
            self.flush(out);
        }
        slot.lock()
    }

    /// Sends the engine's batch and gives back its turns.
    fn flush(&self, out: &mut Outbox) {
        if !out.tx.datagrams.is_empty() {
            self.send_batch(&out.tx);
            out.tx.clear();
        }
        for slot in out.turns.drain(..) {
            slot.turn.give();
        }
    }

    /// Sends stateless replies (Version Negotiation, Retry, refusals, stateless resets).
    fn send_stateless(&self, replies: &[(SocketAddr, Vec<u8>)]) {
        for (dest, d) in replies {
            self.send_all(&Transmit {
                destination: *dest,
                ecn: None,
                contents: d,
                segment_size: None,
                src_ip: None,
            });
        }
    }

    /// Sends a batch, runs of equal-sized datagrams to one destination as one GSO send.
    fn send_batch(&self, tx: &TxBatch) {
        let d = &tx.datagrams;
        let mut i = 0;
        while i < d.len() {
            let first = d[i];
            let size = first.len;
            let mut j = i + 1;
            let mut end = first.start + size;
            // A run: same destination, source, ECN and size, contiguous; the last may be
            // shorter.
            while j < d.len()
                && d[j].destination == first.destination
                && d[j].source == first.source
                && d[j].ecn == first.ecn
                && d[j].start == end
                && d[j].len <= size
            {
                end += d[j].len;
                j += 1;
                if d[j - 1].len < size {
                    break;
                }
            }
            let t = Transmit {
                destination: first.destination,
                ecn: first.ecn,
                contents: &tx.buf[first.start..end],
                segment_size: (j - i > 1).then_some(size),
                src_ip: first.source,
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

/// Held shared by every engine pass and handshake job; [`quiesce`] takes it for good.
static RUNNING: RwLock<()> = RwLock::new(());

/// A pass of an engine or handshake thread: none starts after [`quiesce`].
pub(crate) fn running() -> RwLockReadGuard<'static, ()> {
    RUNNING.read().unwrap_or_else(|e| e.into_inner())
}

/// Stops every engine and handshake thread of the process for good, once the passes
/// under way end: for a process that is about to exit, whose library destructors (the
/// crypto library's among them) run while the threads still would. Sockets stop
/// sending and receiving; nothing is closed or freed.
pub fn quiesce() {
    std::mem::forget(RUNNING.write().unwrap_or_else(|e| e.into_inner()));
}
