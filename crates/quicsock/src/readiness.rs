//! A descriptor whose `poll` readiness mirrors a socket's: readable when `recv` (or
//! `accept`) would not block, writable when `send` would not block. It lets a
//! `QuicSocket` or `QuicListener` sit in epoll, mio or tokio's `AsyncFd` like a kernel
//! socket.
//!
//! It is one end of a Unix stream pair. The engine makes it readable by writing a byte
//! from the other end and not readable by draining it; it makes it not writable by filling
//! its (minimal) send buffer and writable again by draining the other end. The descriptor
//! only signals: reading or writing it from outside breaks the signal, nothing else.
//! It is made on the first request, so sockets nobody polls pay nothing.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
#[cfg(test)]
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// The pair and the readiness it shows now.
#[derive(Debug)]
pub(crate) struct Readiness {
    user: UnixStream,
    peer: UnixStream,
    readable: bool,
    writable: bool,
}

impl Readiness {
    /// A new pair: not readable, writable.
    pub(crate) fn new() -> io::Result<Self> {
        let (user, peer) = UnixStream::pair()?;
        user.set_nonblocking(true)?;
        peer.set_nonblocking(true)?;
        // The kernel rounds this up to its minimum: filling it takes a few writes.
        socket2::SockRef::from(&user).set_send_buffer_size(1)?;
        Ok(Self {
            user,
            peer,
            readable: false,
            writable: true,
        })
    }

    /// What it shows now: (readable, writable).
    pub(crate) fn state(&self) -> (bool, bool) {
        (self.readable, self.writable)
    }

    /// Shows `readable` and `writable`; a syscall or two only when they change.
    pub(crate) fn set(&mut self, readable: bool, writable: bool) {
        if readable != self.readable {
            self.readable = readable;
            if readable {
                let _ = (&self.peer).write(&[1]);
            } else {
                drain(&self.user);
            }
        }
        if writable != self.writable {
            self.writable = writable;
            if writable {
                drain(&self.peer);
            } else {
                let fill = [0u8; 4096];
                while (&self.user).write(&fill).is_ok() {}
            }
        }
    }

    /// The descriptor to poll.
    #[cfg(test)]
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.user.as_fd()
    }

    /// A duplicate of the descriptor to poll, for the socket to hand out.
    pub(crate) fn dup(&self) -> io::Result<OwnedFd> {
        Ok(self.user.try_clone()?.into())
    }
}

/// The descriptor in `cell`, made by `make` on the first call (once, even when several
/// threads ask at the same time: `make` runs under the engine's lock).
pub(crate) fn lazily(
    cell: &std::sync::OnceLock<OwnedFd>,
    make: impl FnOnce() -> io::Result<OwnedFd>,
) -> crate::Result<std::os::fd::BorrowedFd<'_>> {
    use std::os::fd::AsFd;
    if let Some(fd) = cell.get() {
        return Ok(fd.as_fd());
    }
    let fd = make()?;
    // A thread that lost the race drops its duplicate; the first one stands.
    let _ = cell.set(fd);
    Ok(cell.get().expect("set above").as_fd())
}

fn drain(mut s: &UnixStream) {
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn polled(r: &Readiness) -> (bool, bool) {
        quicsock_udp::poll_fd(&r.fd(), Duration::ZERO).unwrap()
    }

    #[test]
    fn shows_every_combination() {
        let mut r = Readiness::new().unwrap();
        assert_eq!(polled(&r), (false, true));
        for state in [
            (true, true),
            (true, false),
            (false, false),
            (false, true),
            (true, false),
            (false, true),
        ] {
            r.set(state.0, state.1);
            assert_eq!(polled(&r), state);
            r.set(state.0, state.1);
            assert_eq!(
                polled(&r),
                state,
                "setting the same state again changes nothing"
            );
        }
    }
}
