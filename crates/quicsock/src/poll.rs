//! [`QuicPoll`]: readiness of many sockets and listeners through one waiter, without a
//! descriptor per connection — what epoll is to kernel sockets, for a server that holds
//! thousands of connections on a few threads.
//!
//! A registered socket or listener is reported by its token whenever something happened
//! that may let a call succeed that would have blocked: data or a FIN arrived, a stream
//! became writable, an event or datagram is waiting, the connection closed, or (for a
//! listener) a connection is ready for `accept`. Reports are edge-triggered like
//! `EPOLLET`: a token is queued at most once until a waiter takes it, and the
//! application then makes its non-blocking calls until they return
//! [`Error::WouldBlock`](crate::Error::WouldBlock). News that arrives after the token was
//! taken queues it again, so nothing is lost, and one token may be reported to a second
//! thread while the first still works on it (keep per-connection state behind a lock).
//! A token may still be reported once after its socket was dropped.
//!
//! A thread waiting in [`QuicPoll::wait`] is a guest of the engines of what is registered
//! ([`Engine::guest_wait`]) while their traffic is light: it takes in their datagrams itself
//! while it waits, so the news it waits for reaches it with no hop through an engine
//! thread. An engine whose latest socket read brought 8 datagrams or more (a bulk flow) is
//! left to its own thread: a poll thread gives the socket back at the end of every wait,
//! under a bulk upload datagrams are waiting each time, and the engine thread would wake
//! anyway and contend with it. Measured on loopback (medians of 5): as a guest always,
//! request/response p50 27.9 against 32.7 µs, but a 64 KiB upload 7.50 against 9.35 Gbit/s.
//! [`QuicPoll::set_guest`] forces either way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use quicsock_udp::Waker;

use crate::clock;
use crate::engine::Engine;
use crate::listener::QuicListener;
use crate::socket::QuicSocket;

/// Waiters are guests of engines whose traffic is light ([`Engine::busy`]).
const GUEST_LIGHT: u8 = 0;
/// Waiters are guests of every engine.
const GUEST_ALWAYS: u8 = 1;
/// Waiters are guests of none.
const GUEST_NEVER: u8 = 2;

/// Tokens with news, shared by every registration of one [`QuicPoll`].
#[derive(Debug, Default)]
pub(crate) struct PollQueue {
    state: Mutex<PollState>,
    /// Where a thread without a waker of its own waits.
    cond: Condvar,
    /// The engines of the registered sockets and listeners, each once.
    engines: Mutex<Vec<Weak<Engine>>>,
    /// When waiters are guests of those engines: [`GUEST_LIGHT`] (the default),
    /// [`GUEST_ALWAYS`] or [`GUEST_NEVER`] ([`QuicPoll::set_guest`]).
    guest: AtomicU8,
}

/// The queue's tokens and its waiting threads.
#[derive(Debug, Default)]
struct PollState {
    ready: VecDeque<(u64, Arc<AtomicBool>)>,
    /// Each waiting thread's waker, in the order they came.
    waiters: VecDeque<Arc<Waker>>,
    /// Threads waiting on the condition variable instead.
    on_cond: usize,
}

impl PollQueue {
    fn state(&self) -> MutexGuard<'_, PollState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watches `engine` too, once.
    fn watch(&self, engine: &Arc<Engine>) {
        let mut engines = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        engines.retain(|e| e.strong_count() > 0);
        if !engines
            .iter()
            .any(|e| std::ptr::eq(e.as_ptr(), Arc::as_ptr(engine)))
        {
            engines.push(Arc::downgrade(engine));
        }
    }
}

impl PollState {
    /// Wakes the longest-waiting guest (which leaves the queue of waiters), or a thread
    /// on the condition variable.
    fn wake_one(&mut self, cond: &Condvar) {
        if let Some(w) = self.waiters.pop_front() {
            crate::engine::wake_guest(&w);
        } else if self.on_cond > 0 {
            cond.notify_one();
        }
    }
}

/// One socket's or listener's place in a [`QuicPoll`].
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    queue: Arc<PollQueue>,
    token: u64,
    /// Queued and not yet taken by a waiter.
    queued: Arc<AtomicBool>,
}

impl Registration {
    /// Reports the token, unless it is queued already.
    pub(crate) fn signal(&self) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            let mut st = self.queue.state();
            st.ready.push_back((self.token, self.queued.clone()));
            st.wake_one(&self.queue.cond);
        }
    }
}

/// Waits for news on many [`QuicSocket`]s and [`QuicListener`]s at once.
#[derive(Debug, Default, Clone)]
pub struct QuicPoll {
    queue: Arc<PollQueue>,
}

impl QuicPoll {
    /// A poller with nothing registered.
    pub fn new() -> Self {
        Self::default()
    }

    fn registration(&self, token: u64) -> Registration {
        Registration {
            queue: self.queue.clone(),
            token,
            queued: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Reports `sock` as `token` from now on (replacing an earlier registration); it is
    /// reported once at once, so that what arrived before is not missed.
    pub fn register(&self, sock: &QuicSocket, token: u64) {
        let r = self.registration(token);
        r.signal();
        self.queue.watch(sock.engine());
        sock.set_registration(Some(r));
    }

    /// Stops reporting `sock`.
    pub fn deregister(&self, sock: &QuicSocket) {
        sock.set_registration(None);
    }

    /// Reports `listener` as `token` whenever a connection is ready for `accept`.
    pub fn register_listener(&self, listener: &QuicListener, token: u64) {
        let r = self.registration(token);
        r.signal();
        for engine in listener.engines() {
            self.queue.watch(engine);
        }
        listener.set_registration(Some(r));
    }

    /// Makes the threads waiting in [`wait`](Self::wait) take in the datagrams of the
    /// registered sockets and listeners themselves always (`true`) or never (`false`),
    /// instead of only while their traffic is light (the default; see the module docs).
    pub fn set_guest(&self, on: bool) {
        let mode = if on { GUEST_ALWAYS } else { GUEST_NEVER };
        self.queue.guest.store(mode, Ordering::Relaxed);
    }

    /// Waits until at least one token has news (or `timeout` passes), then moves up to
    /// `max` of them to `events`; returns how many. Several threads may wait at once; each
    /// token goes to one of them.
    pub fn wait(&self, events: &mut Vec<u64>, max: usize, timeout: Option<Duration>) -> usize {
        let deadline = clock::now() + timeout.unwrap_or(Duration::from_secs(3600));
        let waker = crate::engine::thread_waker();
        let mut st = self.queue.state();
        while st.ready.is_empty() {
            let left = deadline.saturating_duration_since(clock::now());
            if left.is_zero() {
                return 0;
            }
            let mode = self.queue.guest.load(Ordering::Relaxed);
            let engines: Vec<Arc<Engine>> = if mode == GUEST_NEVER {
                Vec::new()
            } else {
                let engines = self.queue.engines.lock().unwrap_or_else(|e| e.into_inner());
                engines
                    .iter()
                    .filter_map(Weak::upgrade)
                    .filter(|e| e.serving() && (mode != GUEST_LIGHT || !e.busy()))
                    .collect()
            };
            match &waker {
                Some(w) => {
                    // (A wake-up left over from an earlier wait ends this one early.)
                    st.waiters.push_back(w.clone());
                    drop(st);
                    Engine::guest_wait(&engines, w, left);
                    st = self.queue.state();
                    st.waiters.retain(|x| !Arc::ptr_eq(x, w));
                }
                // No eventfd for this thread: it waits on the condition variable.
                None => {
                    st.on_cond += 1;
                    st = self
                        .queue
                        .cond
                        .wait_timeout(st, left)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                    st.on_cond -= 1;
                }
            }
        }
        let n = st.ready.len().min(max);
        for (token, queued) in st.ready.drain(..n) {
            // Taken: news from now on queues it again.
            queued.store(false, Ordering::Release);
            events.push(token);
        }
        if !st.ready.is_empty() {
            st.wake_one(&self.queue.cond);
        }
        n
    }
}
