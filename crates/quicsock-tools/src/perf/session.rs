//! quicperf's exchange on the server side of a QUIC connection, as a [`Session`] driven by
//! [`crate::serve`]: every connection served from a few threads, not one thread each.
//! The exchange is the one the module docs of [`super`] describe, on stream 0.

use std::net::SocketAddr;

use quicsock::{Error, Flags, QuicSocket};

use super::tally::Tally;
use super::Proto;
use crate::serve::Session;

/// The client's stream.
const STREAM: i64 = 0;

/// Where one connection's exchange stands.
pub(crate) struct PerfSession {
    header: [u8; 8],
    header_len: usize,
    /// Bulk: bytes counted so far, and the streams that ended.
    total: u64,
    ended: usize,
    /// Request/response: the message being read, and how much of it arrived.
    msg: Vec<u8>,
    filled: usize,
    /// Bytes to send (an echo, or the final count with FIN), from `sent` on.
    out: Vec<u8>,
    sent: usize,
    /// Send FIN after `out`.
    fin_after: bool,
    done: bool,
    /// The client, for the report; the report's JSON form.
    peer: Option<SocketAddr>,
    json: bool,
    /// The exchange's counts, from the header on (reported when the session ends).
    tally: Option<Tally>,
}

impl PerfSession {
    pub(crate) fn new(peer: Option<SocketAddr>, json: bool) -> Self {
        Self {
            peer,
            json,
            tally: None,
            header: [0; 8],
            header_len: 0,
            total: 0,
            ended: 0,
            msg: Vec::new(),
            filled: 0,
            out: Vec::new(),
            sent: 0,
            fin_after: false,
            done: false,
        }
    }

    /// The mode and message length, once the header arrived.
    fn mode(&self) -> Option<(u8, usize)> {
        (self.header_len == 8).then(|| {
            let len = u32::from_le_bytes(self.header[4..8].try_into().expect("4 bytes"));
            (self.header[0], len as usize)
        })
    }

    fn count(&mut self, n: usize) {
        if let Some(t) = &mut self.tally {
            t.add(n as u64);
        }
    }

    /// Sends what is queued; Ok(false) when the stream takes no more for now.
    fn flush(&mut self, sock: &QuicSocket) -> Result<bool, Error> {
        while self.sent < self.out.len() || self.fin_after {
            let flags = if self.fin_after {
                Flags::STREAM_FIN
            } else {
                Flags::NONE
            };
            match sock.send(&self.out[self.sent..], STREAM, flags) {
                Ok(n) => {
                    self.sent += n;
                    if self.sent == self.out.len() {
                        self.out.clear();
                        self.sent = 0;
                        if self.fin_after {
                            self.fin_after = false;
                            self.done = true;
                        }
                    }
                }
                Err(Error::WouldBlock) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn step(&mut self, sock: &QuicSocket, buf: &mut [u8]) -> Result<bool, Error> {
        loop {
            if !self.flush(sock)? {
                return Ok(true);
            }
            if self.done {
                // Answered: the socket closes once the answer is acknowledged.
                return Ok(false);
            }
            let Some((mode, len)) = self.mode() else {
                let (n, fin) =
                    sock.recv_stream(STREAM, &mut self.header[self.header_len..], Flags::NONE)?;
                self.header_len += n;
                if fin && self.header_len < 8 {
                    return Ok(false);
                }
                if let Some((mode, len)) = self.mode() {
                    if len == 0 || len > super::MAX_MSG_LEN || mode > 3 {
                        return Ok(false);
                    }
                    self.tally = self
                        .peer
                        .map(|peer| Tally::new(peer, Proto::Quic, mode, self.json));
                }
                continue;
            };
            match mode {
                0 => {
                    // From any of the client's streams (stream 0 and `-P` more); the count
                    // goes back once every one of them ended.
                    let (n, _, flags) = sock.recv(buf, Flags::NONE)?;
                    self.total += n as u64;
                    self.count(n);
                    if flags.contains(Flags::STREAM_FIN) {
                        self.ended += 1;
                    }
                    if self.ended == 1 + usize::from(self.header[1]) {
                        self.out.extend_from_slice(&self.total.to_le_bytes());
                        self.fin_after = true;
                    }
                }
                1 => {
                    if self.msg.len() != len {
                        self.msg = vec![0; len];
                    }
                    let (n, fin) =
                        sock.recv_stream(STREAM, &mut self.msg[self.filled..], Flags::NONE)?;
                    self.filled += n;
                    if self.filled == len {
                        // Echo the request.
                        self.out.extend_from_slice(&self.msg);
                        self.count(2 * len);
                        self.filled = 0;
                    } else if fin {
                        // A clean end of stream ends the exchange.
                        self.fin_after = self.filled == 0;
                        if !self.fin_after {
                            return Ok(false);
                        }
                    }
                }
                2 => {
                    // Reverse bulk: send until the client closes the connection (a send
                    // then fails and the session ends).
                    self.out.resize(len, 0x5a);
                    self.count(len);
                    if !self.flush(sock)? {
                        return Ok(true);
                    }
                }
                3 => {
                    // Both ways: count what the client sends and send until it ends its
                    // direction; then end ours.
                    loop {
                        match sock.recv_stream(STREAM, buf, Flags::NONE) {
                            Ok((n, fin)) => {
                                self.count(n);
                                if fin {
                                    self.fin_after = true;
                                    break;
                                }
                                if n == 0 {
                                    break;
                                }
                            }
                            Err(Error::WouldBlock) => break,
                            Err(e) => return Err(e),
                        }
                    }
                    if !self.fin_after && self.out.is_empty() {
                        self.out.resize(len, 0x5a);
                        self.count(len);
                    }
                    if !self.flush(sock)? {
                        return Ok(true);
                    }
                }
                _ => return Ok(false),
            }
        }
    }
}

thread_local! {
    /// Where bulk data is read into and counted: one per serving thread, not per connection.
    static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 256 * 1024]);
}

impl Session for PerfSession {
    fn drive(&mut self, sock: &QuicSocket) -> bool {
        BUF.with(|buf| match self.step(sock, &mut buf.borrow_mut()) {
            Ok(more) => more,
            Err(Error::WouldBlock) => true,
            Err(_) => false,
        })
    }
}
