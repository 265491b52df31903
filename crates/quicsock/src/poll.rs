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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::listener::QuicListener;
use crate::socket::QuicSocket;

/// Tokens with news, shared by every registration of one [`QuicPoll`].
#[derive(Debug, Default)]
pub(crate) struct PollQueue {
    ready: Mutex<VecDeque<(u64, Arc<AtomicBool>)>>,
    cond: Condvar,
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
            let mut ready = self.queue.ready.lock().unwrap_or_else(|e| e.into_inner());
            ready.push_back((self.token, self.queued.clone()));
            drop(ready);
            self.queue.cond.notify_one();
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
        listener.set_registration(Some(r));
    }

    /// Waits until at least one token has news (or `timeout` passes), then moves up to
    /// `max` of them to `events`; returns how many. Several threads may wait at once; each
    /// token goes to one of them.
    pub fn wait(&self, events: &mut Vec<u64>, max: usize, timeout: Option<Duration>) -> usize {
        let mut ready = self.queue.ready.lock().unwrap_or_else(|e| e.into_inner());
        if ready.is_empty() {
            let wait = timeout.unwrap_or(Duration::from_secs(3600));
            ready = self
                .queue
                .cond
                .wait_timeout_while(ready, wait, |r| r.is_empty())
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        let n = ready.len().min(max);
        for (token, queued) in ready.drain(..n) {
            // Taken: news from now on queues it again.
            queued.store(false, Ordering::Release);
            events.push(token);
        }
        if !ready.is_empty() {
            self.queue.cond.notify_one();
        }
        n
    }
}
