//! A listener's accept queue inside the engine: completed connections waiting for
//! `accept` (listen(2)'s backlog) and those waiting for room in it (as a SYN queue holds
//! connections while listen(2)'s queue is full).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar};

use quicsock_proto::endpoint::ConnectionHandle;

use crate::readiness::Readiness;

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
    /// Its place in a [`QuicPoll`](crate::QuicPoll), if registered.
    pub(crate) poll: Option<crate::poll::Registration>,
}

impl ListenerState {
    /// Takes a connection for `accept`: into the accept queue if the backlog has room,
    /// else to wait for room; false when both are full (the caller refuses it).
    pub(crate) fn offer(&mut self, h: ConnectionHandle) -> bool {
        if self.accept_queue.len() < self.backlog {
            self.accept_queue.push_back(h);
            self.accept_cond.notify_all();
            if let Some(r) = &self.poll {
                r.signal();
            }
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
            if let Some(r) = &self.poll {
                r.signal();
            }
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
            poll: None,
        }
    }
}
