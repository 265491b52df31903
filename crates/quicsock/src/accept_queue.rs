//! A listener's accept queue: completed connections waiting for `accept` (listen(2)'s
//! backlog) and those waiting for room in it (as a SYN queue holds connections while
//! listen(2)'s queue is full).
//!
//! One queue serves a listener across all its shards: each shard's engine offers the
//! connections it completed, tagged with the shard, and `accept` takes them in order. Its
//! lock is a leaf, taken after a shard's shared lock and never on the data path.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use quicsock_proto::endpoint::ConnectionHandle;

use crate::readiness::Readiness;

/// A connection of some shard.
pub(crate) type Queued = (usize, ConnectionHandle);

/// What the queue's lock guards.
#[derive(Debug)]
pub(crate) struct Queue {
    /// Connections whose handshake completed, waiting for `accept`.
    pub(crate) ready: VecDeque<Queued>,
    /// Connections that completed while `ready` was full, oldest first: they enter it as
    /// `accept` makes room, at most `max_waiting` of them.
    waiting: VecDeque<Queued>,
    max_waiting: usize,
    /// Connections waiting in `ready`, at most (listen(2)'s backlog).
    backlog: usize,
    /// The listener's pollable descriptor, once someone asked for it.
    pub(crate) readiness: Option<Readiness>,
    /// Its place in a [`QuicPoll`](crate::QuicPoll), if registered.
    pub(crate) poll: Option<crate::poll::Registration>,
    /// The listener closed: nothing enters any more.
    pub(crate) closed: bool,
}

/// A listener's accept queue, shared by its shards.
#[derive(Debug)]
pub(crate) struct AcceptQueue {
    queue: Mutex<Queue>,
    /// Woken when `ready` grows (or the engine fails).
    pub(crate) cond: Condvar,
}

impl AcceptQueue {
    pub(crate) fn new(backlog: usize, max_waiting: usize) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(Queue {
                ready: VecDeque::new(),
                waiting: VecDeque::new(),
                max_waiting,
                backlog,
                readiness: None,
                poll: None,
                closed: false,
            }),
            cond: Condvar::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a connection for `accept`: into the queue if the backlog has room, else to
    /// wait for room; false when both are full or the listener closed (the caller refuses
    /// it).
    pub(crate) fn offer(&self, c: Queued) -> bool {
        let mut q = self.lock();
        if q.closed {
            return false;
        }
        if q.ready.len() < q.backlog {
            q.ready.push_back(c);
            q.changed();
            self.cond.notify_all();
        } else if q.waiting.len() < q.max_waiting {
            q.waiting.push_back(c);
        } else {
            return false;
        }
        true
    }

    /// Forgets a connection that will never be accepted.
    pub(crate) fn forget(&self, c: Queued) {
        let mut q = self.lock();
        q.ready.retain(|x| *x != c);
        q.waiting.retain(|x| *x != c);
        q.refill();
        q.changed();
    }

    /// Wakes every waiter (the engine failed).
    pub(crate) fn wake_all(&self) {
        let mut q = self.lock();
        if let Some(r) = q.readiness.as_mut() {
            r.set(true, false);
        }
        if let Some(r) = &q.poll {
            r.signal();
        }
        drop(q);
        self.cond.notify_all();
    }
}

impl Queue {
    /// The next connection for `accept`, letting a waiting one into the queue.
    pub(crate) fn take(&mut self) -> Option<Queued> {
        let c = self.ready.pop_front()?;
        self.refill();
        self.changed();
        Some(c)
    }

    /// Everything queued or waiting, for the listener to close as it goes.
    pub(crate) fn drain(&mut self) -> Vec<Queued> {
        self.closed = true;
        let all = self.ready.drain(..).chain(self.waiting.drain(..)).collect();
        self.changed();
        all
    }

    /// Lets waiting connections into the queue while the backlog has room.
    fn refill(&mut self) {
        while self.ready.len() < self.backlog {
            let Some(w) = self.waiting.pop_front() else {
                break;
            };
            self.ready.push_back(w);
        }
    }

    /// Shows the queue on the pollable descriptor and reports it to a `QuicPoll`.
    fn changed(&mut self) {
        let pending = !self.ready.is_empty();
        if let Some(r) = self.readiness.as_mut() {
            r.set(pending, false);
        }
        if pending {
            if let Some(r) = &self.poll {
                r.signal();
            }
        }
    }
}

/// One listener as a shard's engine sees it.
#[derive(Debug)]
pub(crate) struct ListenerState {
    /// Which listener.
    pub(crate) id: u64,
    /// Its accept queue, shared with its other shards.
    pub(crate) queue: Arc<AcceptQueue>,
    /// The event types its connections start with.
    pub(crate) event_mask: u16,
    /// `accept` hands out connections before their handshake, which the application
    /// drives (`server_handshake`).
    pub(crate) early: bool,
}
