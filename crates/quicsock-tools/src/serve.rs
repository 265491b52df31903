//! Serving every connection of a listener from a few threads (one per CPU by default)
//! through one [`QuicPoll`], not a thread per connection: the shape quicperf's load server
//! and quic-server share. Each connection's protocol is a [`Session`]: driven whenever its
//! socket has news, it makes non-blocking calls until they would block.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use quicsock::{Error, QuicListener, QuicPoll, QuicSocket};

/// The listener's token.
const LISTENER: u64 = 0;

/// One connection's protocol, driven by the serving threads.
pub trait Session: Send + 'static {
    /// Makes progress with non-blocking calls on `sock` until they would block; false once
    /// the connection is done with (closed, failed), when it is dropped.
    fn drive(&mut self, sock: &QuicSocket) -> bool;
}

/// A connection and its session.
struct Peer<S> {
    sock: QuicSocket,
    session: S,
}

/// Every connection, by token.
struct Served<S, F> {
    listener: QuicListener,
    poll: QuicPoll,
    peers: RwLock<HashMap<u64, Arc<Mutex<Peer<S>>>>>,
    next: AtomicU64,
    make: F,
}

/// Serves `listener` from `threads` threads until the process is killed; `make` starts the
/// session of each accepted connection.
pub fn serve<S, F>(listener: QuicListener, threads: usize, make: F) -> !
where
    S: Session,
    F: Fn(&QuicSocket) -> S + Send + Sync + 'static,
{
    listener.set_nonblocking(true);
    let poll = QuicPoll::new();
    poll.register_listener(&listener, LISTENER);
    let served = Arc::new(Served {
        listener,
        poll,
        peers: RwLock::default(),
        next: AtomicU64::new(LISTENER + 1),
        make,
    });
    for _ in 1..threads.max(1) {
        let s = served.clone();
        std::thread::spawn(move || s.work());
    }
    served.work()
}

/// The serving threads a server uses by default: one per CPU the process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl<S: Session, F: Fn(&QuicSocket) -> S> Served<S, F> {
    fn work(&self) -> ! {
        let mut events = Vec::with_capacity(256);
        loop {
            events.clear();
            self.poll.wait(&mut events, 256, None);
            for &token in &events {
                if token == LISTENER {
                    self.accept();
                    continue;
                }
                let peer = self
                    .peers
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&token)
                    .cloned();
                let Some(peer) = peer else {
                    continue;
                };
                let mut p = peer.lock().unwrap_or_else(|e| e.into_inner());
                let Peer { sock, session } = &mut *p;
                if !session.drive(sock) {
                    drop(p);
                    self.peers
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&token);
                }
            }
        }
    }

    fn accept(&self) {
        loop {
            let sock = match self.listener.accept() {
                Ok(s) => s,
                Err(Error::WouldBlock) => return,
                // One client's failure concerns that client only.
                Err(_) => continue,
            };
            sock.set_nonblocking(true);
            let token = self.next.fetch_add(1, Ordering::Relaxed);
            let session = (self.make)(&sock);
            let peer = Arc::new(Mutex::new(Peer { sock, session }));
            let p = peer.clone();
            self.peers
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token, peer);
            self.poll
                .register(&p.lock().unwrap_or_else(|e| e.into_inner()).sock, token);
        }
    }
}
