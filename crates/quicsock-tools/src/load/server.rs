//! The load server: each request stream is answered with as many bytes as it carried,
//! then FIN; every connection is served from a few threads ([`crate::serve`]).

use std::collections::HashMap;

use quicsock::{Error, Flags, QuicListener, QuicSocket};

use crate::serve::Session;

/// Bytes one request may carry at most.
const MAX_REQUEST: usize = 1 << 20;

/// One connection's requests.
#[derive(Default)]
struct Echo {
    /// Bytes received on each request stream not yet answered.
    received: HashMap<i64, usize>,
    /// Answers not yet fully sent: (stream, bytes left).
    answers: Vec<(i64, usize)>,
}

/// Serves `listener` from `threads` threads until the process is killed.
pub fn serve(listener: QuicListener, threads: usize) -> ! {
    crate::serve::serve(listener, threads, |_| Echo::default())
}

impl Session for Echo {
    fn drive(&mut self, sock: &QuicSocket) -> bool {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if !self.send_answers(sock) {
                return false;
            }
            match sock.recv(&mut buf, Flags::NONE) {
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
}

impl Echo {
    /// Sends what the answers have room for; false once the connection ended.
    fn send_answers(&mut self, sock: &QuicSocket) -> bool {
        const ZEROS: [u8; 16 * 1024] = [0x5a; 16 * 1024];
        while let Some(&mut (id, ref mut left)) = self.answers.first_mut() {
            let n = (*left).min(ZEROS.len());
            let flags = if n == *left {
                Flags::STREAM_FIN
            } else {
                Flags::NONE
            };
            match sock.send(&ZEROS[..n], id, flags) {
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
