//! The handshake worker of a server engine: datagrams of connections still in their
//! handshake — the ClientHello, the client's Handshake flight, and with them all the TLS
//! work — are handled on this thread, off the engine thread, so a flood of ClientHellos
//! delays only new connections, never the datagrams of established ones.
//!
//! The engine thread routes as usual and hands such datagrams over with a copy of their
//! bytes; the worker takes each connection's lock as the engine thread would. At most
//! [`MAX_QUEUED`] datagrams wait; beyond that new ones are dropped (a client retransmits
//! its Initial), which bounds the memory a flood can take.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, Weak};

use quicsock_proto::conn::Ecn;

use crate::engine::Engine;
use crate::slot::Slot;

/// Datagrams waiting for the handshake worker, at most.
pub(crate) const MAX_QUEUED: usize = 4096;

/// One datagram for a connection in its handshake.
pub(crate) struct Job {
    pub(crate) slot: Arc<Slot>,
    pub(crate) data: Vec<u8>,
    pub(crate) remote: SocketAddr,
    pub(crate) ecn: Option<Ecn>,
    /// The local address it was sent to (IP_PKTINFO).
    pub(crate) dst_ip: Option<std::net::IpAddr>,
    /// The connection's first datagram.
    pub(crate) new: bool,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// The queue between an engine thread and its handshake worker.
#[derive(Default)]
pub(crate) struct Handshakes {
    queue: Mutex<Queue>,
    cond: Condvar,
}

impl std::fmt::Debug for Handshakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handshakes")
    }
}

impl Handshakes {
    /// Queues a datagram; false (and it is dropped) when [`MAX_QUEUED`] are waiting.
    pub(crate) fn push(&self, job: Job) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed || q.jobs.len() >= MAX_QUEUED {
            return false;
        }
        q.jobs.push_back(job);
        drop(q);
        self.cond.notify_one();
        true
    }

    /// Datagrams waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .jobs
            .len()
    }

    /// The engine exits: the worker finishes what is queued and exits too.
    pub(crate) fn close(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.cond.notify_all();
    }

    fn next(&self) -> Option<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = q.jobs.pop_front() {
                return Some(job);
            }
            if q.closed {
                return None;
            }
            q = self.cond.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The worker: handles each datagram under its connection's lock and sends what it
    /// calls for. It holds the engine weakly, so the engine's end is not held up by it.
    pub(crate) fn run(self: Arc<Self>, engine: Weak<Engine>) {
        while let Some(job) = self.next() {
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let _running = crate::engine::running();
            let slot = job.slot.clone();
            engine.deliver_handshake(job, slot.lock());
        }
    }
}
