//! Datagrams that reached a shard other than the one their connection ID steers to.
//!
//! The kernel steers a GSO burst or a GRO batch once, by its first datagram
//! (`quicsock_udp::steered_socket`): datagrams of several connections that one client
//! address sent back to back can reach one shard's socket together. The shard that
//! receives one steered elsewhere copies it into the other shard's [`Strays`] queue and
//! wakes that engine, which handles it as if its own socket had received it. Only such
//! datagrams pay for the copy; the queue is bounded, and beyond [`MAX_STRAYS`] a stray is
//! dropped as a full socket buffer would drop it.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use quicsock_udp::EcnCodepoint;

/// The most datagrams waiting in one engine's queue.
pub(crate) const MAX_STRAYS: usize = 1024;

/// One datagram handed from another shard.
#[derive(Debug)]
pub(crate) struct Stray {
    pub(crate) from: SocketAddr,
    pub(crate) ecn: Option<EcnCodepoint>,
    pub(crate) dst_ip: Option<IpAddr>,
    pub(crate) data: Vec<u8>,
}

/// An engine's queue of datagrams handed to it by the other shards of its listener.
#[derive(Debug, Default)]
pub(crate) struct Strays {
    queue: Mutex<VecDeque<Stray>>,
}

impl Strays {
    /// Queues `s`; false (and dropped) when the queue is full.
    pub(crate) fn push(&self, s: Stray) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= MAX_STRAYS {
            return false;
        }
        q.push_back(s);
        true
    }

    /// Takes up to `max` datagrams, oldest first.
    pub(crate) fn take(&self, max: usize, into: &mut Vec<Stray>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.len().min(max);
        into.extend(q.drain(..n));
    }

    /// Datagrams waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stray(i: u8) -> Stray {
        Stray {
            from: "127.0.0.1:1".parse().unwrap(),
            ecn: None,
            dst_ip: None,
            data: vec![i],
        }
    }

    #[test]
    fn strays_are_capped_and_taken_in_order() {
        let q = Strays::default();
        for i in 0..MAX_STRAYS {
            assert!(q.push(stray(i as u8)));
        }
        assert!(!q.push(stray(0)), "one beyond the cap is dropped");
        assert_eq!(q.len(), 1024);
        let mut got = Vec::new();
        q.take(3, &mut got);
        assert_eq!(got.iter().map(|s| s.data[0]).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(q.len(), MAX_STRAYS - 3);
    }
}
