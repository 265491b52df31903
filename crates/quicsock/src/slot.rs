//! One connection's home in the engine: the protocol state ([`Connection`]) and what this
//! crate keeps beside it ([`ConnState`]), behind the connection's own lock.
//!
//! Everything done to a connection — reading its datagrams, TLS, building and sealing its
//! packets, its timers, the application's calls — happens under its [`Slot`]'s lock and
//! no other connection's. The lock order is a slot's lock, then the engine's shared lock
//! (routing and listeners), then the timer queue; nothing takes a slot's
//! lock while holding a lock after it in that order, and no thread holds two slots' locks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use quicsock_proto::conn::{Connection, Event};
use quicsock_proto::endpoint::ConnectionHandle;
use quicsock_proto::stream::StreamEvent;
use quicsock_proto::{StreamId, Timestamp, VarInt};
use quicsock_udp::Waker;

use crate::clock;
use crate::engine::Engine;
use crate::events::QuicEvent;
use crate::readiness::Readiness;

/// Notifications kept per connection for the application, at most (older ones give way).
pub(crate) const MAX_PENDING_EVENTS: usize = 1024;

/// What this crate keeps per connection, beside the protocol state.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Streams with something to read, in the order they became readable.
    pub(crate) readable: VecDeque<StreamId>,
    /// The stream `send` with stream id -1 uses (reference §1.3).
    pub(crate) active: Option<StreamId>,
    /// Events for the application (notifications of the enabled types), oldest first.
    pub(crate) events: VecDeque<QuicEvent>,
    /// The enabled event types, one bit per [`EventType`](crate::EventType).
    pub(crate) event_mask: u16,
    /// The last NEW_TOKEN the server sent (clients).
    pub(crate) token: Option<Vec<u8>>,
    /// The unread rest of an event or datagram a short `recv` buffer cut, and its kind.
    pub(crate) partial: Option<(Vec<u8>, crate::Flags)>,
    /// The listener a server connection belongs to, once known.
    pub(crate) listener: Option<u64>,
    /// Whether the engine looked for the listener of a server connection by the protocol
    /// its ClientHello asked for.
    pub(crate) dispatch_seen: bool,
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
    /// Its place in a [`QuicPoll`](crate::QuicPoll), if registered.
    pub(crate) poll: Option<crate::poll::Registration>,
    /// Streams with a pollable descriptor of their own
    /// ([`QuicSocket::stream_pollable`](crate::QuicSocket::stream_pollable)).
    pub(crate) stream_readiness: Vec<StreamReadiness>,
    /// The stream of the last `send` that found no room: the connection's descriptor is
    /// writable once that stream can take data (not only the active stream), so an
    /// edge-triggered writer of any stream is woken.
    pub(crate) blocked_write: Option<StreamId>,
    /// The stream a call waits to open (its direction and index) while the peer's stream
    /// limit is below it: the descriptor is writable once MAX_STREAMS allows it.
    pub(crate) blocked_open: Option<(quicsock_proto::Dir, u64)>,
}

/// One stream's pollable descriptor.
#[derive(Debug)]
pub(crate) struct StreamReadiness {
    pub(crate) id: StreamId,
    pub(crate) readiness: Readiness,
    /// Alive while the application holds the descriptor; the entry goes with it.
    pub(crate) owner: std::sync::Weak<()>,
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

/// The state behind a slot's lock.
pub(crate) struct SlotState {
    /// The protocol state.
    pub(crate) conn: Box<Connection>,
    /// This crate's state.
    pub(crate) cs: ConnState,
    /// The deadline this connection has in the engine's timer queue.
    pub(crate) armed: Option<Timestamp>,
    /// The engine forgot this connection (drained and not attached, or refused).
    pub(crate) removed: bool,
    /// Why the connection (or its whole engine) failed: every call returns
    /// [`Error::EngineFailed`](crate::Error::EngineFailed) with this.
    pub(crate) failed: Option<String>,
    /// The threads waiting for news of this connection.
    pub(crate) waiters: Waiters,
    /// The local IP address the peer's datagrams were sent to (IP_PKTINFO): the path's
    /// own address when the UDP socket is bound to a wildcard.
    pub(crate) local_ip: Option<std::net::IpAddr>,
    /// The local address a client sends from after it migrated (`QuicSocket::migrate`);
    /// `None`: the kernel's choice.
    pub(crate) source_ip: Option<std::net::IpAddr>,
    /// The source before a migration that is still being validated: restored if it
    /// fails.
    pub(crate) previous_source: Option<Option<std::net::IpAddr>>,
}

/// The threads waiting for news of one connection: on its condition variable, or as
/// guests of its engine ([`Slot::guest_wait`]) on a waker of their own.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// Threads in [`Slot::wait`]. Notifying a condition variable is a syscall even when
    /// nobody waits, so it is done only when somebody does.
    on_cond: usize,
    /// Guests' wakers.
    guests: Vec<Arc<Waker>>,
}

impl Waiters {
    /// Wakes every waiting thread.
    pub(crate) fn notify(&self, cond: &Condvar) {
        if self.on_cond > 0 {
            cond.notify_all();
        }
        for w in &self.guests {
            crate::engine::wake_guest(w);
        }
    }
}

impl std::fmt::Debug for SlotState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotState")
            .field("cs", &self.cs)
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

/// The right to send a connection's datagrams next. Unlike a mutex guard it is not tied
/// to a scope: the engine thread holds the turns of every connection whose datagrams sit
/// in its outgoing batch until the batch is sent.
#[derive(Debug, Default)]
pub(crate) struct SendTurn {
    taken: AtomicBool,
    /// Threads waiting for the turn; giving it back costs a wake-up only when there are.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    free: Condvar,
}

impl SendTurn {
    /// Waits for the turn and takes it.
    pub(crate) fn take(&self) {
        if self.try_take() {
            return;
        }
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        while !self.try_take() {
            g = self.free.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }

    fn try_take(&self) -> bool {
        self.taken
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
    }

    /// Gives the turn back. (A waiter counts itself before it last looks at the turn, and
    /// the giver frees the turn before it looks at the count: one of them sees the other.)
    pub(crate) fn give(&self) {
        self.taken.store(false, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.free.notify_all();
        }
    }
}

/// One connection and its lock.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Its handle in the engine's endpoint.
    pub(crate) h: ConnectionHandle,
    state: Mutex<SlotState>,
    /// Its blocked readers and writers wait here.
    pub(crate) cond: Condvar,
    /// Orders this connection's datagrams: a thread takes the turn before it releases
    /// `state` and makes its `sendmsg` calls holding only it, so datagrams leave in the
    /// order they were numbered while the connection is free for the next caller.
    pub(crate) turn: SendTurn,
    /// A server connection still in its handshake: its datagrams go to the handshake
    /// worker.
    pub(crate) handshaking: AtomicBool,
}

impl Slot {
    pub(crate) fn new(h: ConnectionHandle, conn: Box<Connection>, cs: ConnState) -> Self {
        Self {
            h,
            state: Mutex::new(SlotState {
                conn,
                cs,
                armed: None,
                removed: false,
                failed: None,
                waiters: Waiters::default(),
                local_ip: None,
                source_ip: None,
                previous_source: None,
            }),
            cond: Condvar::new(),
            turn: SendTurn::default(),
            handshaking: AtomicBool::new(false),
        }
    }

    /// The connection. If a thread panicked while holding it, nothing about it can be
    /// trusted: it fails (closed with INTERNAL_ERROR, every call told why), alone.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                if g.failed.is_none() {
                    g.fail("a thread panicked while it held this connection".into());
                }
                self.cond.notify_all();
                g.waiters.notify(&self.cond);
                g
            }
        }
    }

    /// Waits on the connection's condition variable for at most `timeout`.
    pub(crate) fn wait<'a>(
        &self,
        mut g: MutexGuard<'a, SlotState>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, SlotState> {
        g.waiters.on_cond += 1;
        let mut g = self
            .cond
            .wait_timeout(g, timeout)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
        g.waiters.on_cond -= 1;
        g
    }

    /// Waits for news of the connection for at most `timeout` as a guest of its engine
    /// ([`Engine::guest_wait`]): the waiting thread takes in what arrives itself.
    pub(crate) fn guest_wait<'a>(
        &'a self,
        engine: &Arc<Engine>,
        mut g: MutexGuard<'a, SlotState>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, SlotState> {
        let Some(w) = crate::engine::thread_waker() else {
            return self.wait(g, timeout);
        };
        // (A wake-up left over from an earlier wait ends this one early: the caller looks
        // and waits again.)
        g.waiters.guests.push(w.clone());
        drop(g);
        Engine::guest_wait(std::slice::from_ref(engine), &w, timeout);
        let mut g = self.lock();
        g.waiters.guests.retain(|x| !Arc::ptr_eq(x, &w));
        g
    }
}

/// What [`SlotState::process`] found that the engine must act on.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// A server connection completed its handshake and belongs to a listener now.
    pub(crate) established: bool,
    /// The connection drained and nobody holds it: the engine forgets it.
    pub(crate) forget: bool,
    /// A server connection's protocol is known now, before its handshake completed: a
    /// listener whose application drives handshakes takes it into its accept queue.
    pub(crate) dispatched: bool,
}

impl SlotState {
    /// The connection failed: closed with INTERNAL_ERROR (its CONNECTION_CLOSE goes out at
    /// the next transmission), every blocked and later call told why.
    pub(crate) fn fail(&mut self, why: String) {
        self.failed = Some(why);
        let conn = &mut self.conn;
        // The protocol state may be what broke: closing must not take the caller down too.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.close_transport(
                clock::now(),
                quicsock_proto::TransportError::new(
                    quicsock_proto::TransportErrorCode::INTERNAL_ERROR,
                    "the socket's engine failed",
                ),
            );
        }));
        if let Some(r) = self.cs.readiness.as_mut() {
            r.set(true, true);
        }
        if let Some(r) = &self.cs.poll {
            r.signal();
        }
    }

    /// [`Error::EngineFailed`](crate::Error::EngineFailed) once the connection failed.
    pub(crate) fn check(&self) -> crate::Result<()> {
        match &self.failed {
            Some(why) => Err(crate::Error::EngineFailed(why.clone())),
            None => Ok(()),
        }
    }

    /// The next time the engine must act on this connection: its protocol deadline or
    /// the end of its linger time.
    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        let linger = self.cs.linger.as_ref().map(|l| l.deadline);
        [self.conn.poll_timeout(), linger]
            .into_iter()
            .flatten()
            .min()
    }

    /// Closes a connection whose owner closed it once its data is acknowledged or its
    /// linger time ran out.
    pub(crate) fn linger(&mut self, now: Timestamp) {
        let Some(deadline) = self.cs.linger.as_ref().map(|l| l.deadline) else {
            return;
        };
        if self.conn.is_closed() || self.conn.streams().all_acked() || now >= deadline {
            if let Some(l) = self.cs.linger.take() {
                let code = VarInt::from_u64(l.code).unwrap_or(VarInt::ZERO);
                self.conn.close(now, code, &l.phrase);
            }
        }
    }

    /// The local address this connection's datagrams leave from: where a migrated client
    /// moved to; for a server that announced a preferred address, the address the client
    /// last sent to (so it answers on the path it was asked on, RFC 9000 §9.6); otherwise
    /// the kernel's choice.
    pub(crate) fn send_from(&self) -> Option<std::net::IpAddr> {
        self.source_ip.or_else(|| {
            self.conn
                .offers_preferred_address()
                .then_some(self.local_ip)
                .flatten()
        })
    }

    /// Moves what the connection reported to where the application finds it. Server
    /// connections completing their handshake are offered to a listener by the caller
    /// (`Outcome::established`).
    pub(crate) fn process(&mut self, cond: &Condvar) -> Outcome {
        let mut out = Outcome::default();
        let conn = &mut *self.conn;
        let cs = &mut self.cs;
        let mut notify = false;
        while let Some(e) = conn.poll_event() {
            notify = true;
            match &e {
                Event::HandshakeComplete => {
                    cs.established = true;
                    out.established = !cs.attached
                        && cs.listener.is_none()
                        && conn.side() == quicsock_proto::Side::Server;
                }
                // A reset is read too: `recv` reports it as the stream's end.
                Event::Stream(StreamEvent::Readable(id) | StreamEvent::Reset(id, _, _))
                    if !cs.readable.contains(id) =>
                {
                    cs.readable.push_back(*id);
                }
                // A peer-initiated bidirectional stream becomes the active one, so a server
                // can answer with a plain send (reference §1.3).
                Event::Stream(StreamEvent::Opened(id)) if id.dir() == quicsock_proto::Dir::Bi => {
                    cs.active = Some(*id);
                }
                // A migration's path was validated; or it failed and we go back.
                Event::PathMigrated { local: true } => self.previous_source = None,
                Event::MigrationFailed => {
                    if let Some(prev) = self.previous_source.take() {
                        self.source_ip = prev;
                    }
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
        if !cs.dispatch_seen
            && cs.listener.is_none()
            && !cs.attached
            && conn.side() == quicsock_proto::Side::Server
            && conn.driver().and_then(|d| d.alpn()).is_some()
        {
            cs.dispatch_seen = true;
            out.dispatched = true;
        }
        let drained = conn.is_drained();
        // A handshake driven through socket calls waits for the peer's flights.
        if drained || conn.is_closed() || conn.has_handshake_data() {
            notify = true;
        }
        if notify {
            self.waiters.notify(cond);
            if let Some(r) = &cs.poll {
                r.signal();
            }
        }
        out.forget = drained && !cs.attached;
        self.refresh_readiness();
        out
    }

    /// Makes the connection's pollable descriptor and its streams' descriptors, where
    /// there are any, show whether `recv` and `send` would block now.
    pub(crate) fn refresh_readiness(&mut self) {
        if self.cs.readiness.is_none() && self.cs.stream_readiness.is_empty() {
            return;
        }
        let c = &mut *self.conn;
        let cs = &mut self.cs;
        // A closed connection answers at once, with its error.
        let gone = c.is_closed() || self.removed;
        let credit = c.streams().connection_send_credit() > 0;
        if cs.readiness.is_some() {
            let (readable, writable) = if gone {
                (true, true)
            } else {
                // Handshake messages wait for a program that drives the handshake itself
                // (after it, App-level CRYPTO is the TLS driver's, not the program's).
                let handshake = c.has_handshake_data() && !c.is_handshake_complete();
                let readable = cs.partial.is_some()
                    || handshake
                    || !cs.events.is_empty()
                    || c.has_datagram()
                    || cs.readable.iter().any(|id| c.streams().has_readable(*id));
                let stream = cs.blocked_write.or(cs.active);
                let writable = credit
                    && match cs.blocked_open {
                        Some((dir, index)) => c.streams().local_counts(dir).1 > index,
                        None => stream.is_none_or(|id| c.streams().can_write(id)),
                    };
                (readable, writable)
            };
            if let Some(r) = cs.readiness.as_mut() {
                r.set(readable, writable);
            }
        }
        cs.stream_readiness.retain(|s| s.owner.strong_count() > 0);
        for s in &mut cs.stream_readiness {
            // Readable and writable mean a call would not wait: it returns data, room, the
            // stream's end or its error.
            let streams = c.streams();
            let readable = gone || !streams.read_would_block(s.id);
            let writable = gone || !streams.write_would_block(s.id);
            s.readiness.set(readable, writable);
        }
    }

    /// A call found nothing to read (`read`) or no room to write, on `stream` if it was
    /// for one: the descriptors show that until the next refresh, which then makes the
    /// change back an edge.
    pub(crate) fn would_block(&mut self, read: bool, stream: Option<StreamId>) {
        let show = |r: &mut Readiness| {
            let (readable, writable) = r.state();
            if read {
                r.set(false, writable);
            } else {
                r.set(readable, false);
            }
        };
        if let Some(r) = self.cs.readiness.as_mut() {
            show(r);
        }
        if let Some(id) = stream {
            if !read {
                // The latest reason to wait is the one the descriptor shows.
                self.cs.blocked_write = Some(id);
                self.cs.blocked_open = None;
            }
            for s in self.cs.stream_readiness.iter_mut().filter(|s| s.id == id) {
                show(&mut s.readiness);
            }
        }
        if read && stream.is_none() {
            // What this call found nothing of is not all there is to read: handshake
            // messages a call for stream data does not take, say. Whatever else waits
            // shows at once, as a fresh edge.
            self.refresh_readiness();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SendTurn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Threads that take the turn take it one at a time, and each waiter gets it.
    #[test]
    fn send_turn_is_held_by_one_thread_at_a_time() {
        let turn = Arc::new(SendTurn::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (turn, inside, most) = (turn.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        turn.take();
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        turn.give();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(turn.waiters.load(Ordering::SeqCst), 0);
        // Free again: a take does not wait.
        turn.take();
        turn.give();
    }
}
