//! The load server: every connection served from a few threads (one per core) through one
//! [`QuicPoll`], not a thread per connection. Each request stream is answered with as
//! many bytes as it carried, then FIN.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use quicsock::{Error, Flags, QuicListener, QuicPoll, QuicSocket};

/// The listener's token.
const LISTENER: u64 = 0;
/// Bytes one request may carry at most.
const MAX_REQUEST: usize = 1 << 20;

/// One connection's state.
struct Peer {
    sock: QuicSocket,
    /// Bytes received on each request stream not yet answered.
    received: HashMap<i64, usize>,
    /// Answers not yet fully sent: (stream, bytes left).
    answers: Vec<(i64, usize)>,
}

/// Every connection, by token.
struct Served {
    listener: QuicListener,
    poll: QuicPoll,
    peers: RwLock<HashMap<u64, Arc<Mutex<Peer>>>>,
    next: AtomicU64,
}

/// Serves `listener` from `threads` threads until the process is killed.
pub fn serve(listener: QuicListener, threads: usize) -> ! {
    listener.set_nonblocking(true);
    let poll = QuicPoll::new();
    poll.register_listener(&listener, LISTENER);
    let served = Arc::new(Served {
        listener,
        poll,
        peers: RwLock::default(),
        next: AtomicU64::new(LISTENER + 1),
    });
    for _ in 1..threads.max(1) {
        let s = served.clone();
        std::thread::spawn(move || s.work());
    }
    served.work()
}

impl Served {
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
                if !p.drive() {
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
            let peer = Arc::new(Mutex::new(Peer {
                sock,
                received: HashMap::new(),
                answers: Vec::new(),
            }));
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

impl Peer {
    /// Reads what arrived and answers finished requests; false once the connection ended.
    fn drive(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if !self.send_answers() {
                return false;
            }
            match self.sock.recv(&mut buf, Flags::NONE) {
                Ok((n, id, flags)) => {
                    if flags.contains(Flags::NOTIFICATION) || flags.contains(Flags::DATAGRAM) {
                        continue;
                    }
                    let got = self.received.entry(id).or_default();
                    *got = (*got + n).min(MAX_REQUEST);
                    if flags.contains(Flags::STREAM_FIN) {
                        let len = self.received.remove(&id).unwrap_or(0);
                        self.answers.push((id, len));
                    }
                }
                Err(Error::WouldBlock) => return true,
                Err(Error::StreamReset(id, _)) => {
                    self.received.remove(&id);
                }
                Err(_) => return false,
            }
        }
    }

    /// Sends what the answers have room for; false once the connection ended.
    fn send_answers(&mut self) -> bool {
        const ZEROS: [u8; 16 * 1024] = [0x5a; 16 * 1024];
        while let Some(&mut (id, ref mut left)) = self.answers.first_mut() {
            let n = (*left).min(ZEROS.len());
            let flags = if n == *left {
                Flags::STREAM_FIN
            } else {
                Flags::NONE
            };
            match self.sock.send(&ZEROS[..n], id, flags) {
                Ok(sent) => {
                    *left -= sent;
                    if *left == 0 && sent == n {
                        self.answers.remove(0);
                    }
                }
                Err(Error::WouldBlock) => return true,
                Err(Error::StreamClosed(_) | Error::StreamStopped(..)) => {
                    self.answers.remove(0);
                }
                Err(_) => return false,
            }
        }
        true
    }
}
