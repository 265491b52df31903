//! Waiting for a socket: an eventfd [`Waker`] that other threads use to interrupt a wait,
//! and [`wait`], which sleeps until a socket is readable, the waker fires or a timeout
//! passes.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// An eventfd: [`wake`](Self::wake) makes it readable until [`reset`](Self::reset).
#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// A new, unsignalled waker.
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Signals the waker (from any thread).
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. A full counter (EAGAIN) is already
        // signalled, so the result does not matter.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Clears the signal.
    pub fn reset(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; EAGAIN means nothing to clear.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&raw mut v).cast(), 8) };
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What [`wait`] saw.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The socket is readable.
    pub socket: bool,
    /// The waker fired.
    pub woken: bool,
}

/// Sleeps until `socket` is readable, `waker` fires, or `timeout` passes (`None`: no
/// limit). Interrupted waits return with nothing ready.
pub fn wait(socket: &impl AsFd, waker: &Waker, timeout: Option<Duration>) -> io::Result<Ready> {
    let mut fds = [
        libc::pollfd {
            fd: socket.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: waker.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ms = match timeout {
        None => -1,
        // Round up so that a deadline is never woken for early and spun on.
        Some(t) => t.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int,
    };
    // SAFETY: `fds` is a live array of two pollfd and its length is passed with it.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(Ready::default());
        }
        return Err(e);
    }
    let hit = |f: &libc::pollfd| f.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
    Ok(Ready {
        socket: hit(&fds[0]),
        woken: hit(&fds[1]),
    })
}

/// Sleeps until `socket` can take more data or `timeout` passes.
pub fn wait_writable(socket: &impl AsFd, timeout: Duration) -> io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: socket.as_fd().as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: one live pollfd.
    let r = unsafe { libc::poll(&raw mut fd, 1, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(fd.revents & libc::POLLOUT != 0)
}

/// What `poll` says of any descriptor within `timeout`: (readable, writable).
pub fn poll_fd(fd: &impl AsFd, timeout: Duration) -> io::Result<(bool, bool)> {
    let mut p = libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one live pollfd.
    let r = unsafe { libc::poll(&raw mut p, 1, ms) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((
        p.revents & libc::POLLIN != 0,
        p.revents & libc::POLLOUT != 0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn wakes_times_out_and_sees_datagrams() {
        let sock = crate::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let waker = Waker::new().unwrap();
        let start = Instant::now();
        let r = wait(&sock, &waker, Some(Duration::from_millis(30))).unwrap();
        assert_eq!(r, Ready::default());
        assert!(start.elapsed() >= Duration::from_millis(30));
        waker.wake();
        waker.wake();
        assert_eq!(
            wait(&sock, &waker, None).unwrap(),
            Ready {
                socket: false,
                woken: true
            }
        );
        waker.reset();
        let r = wait(&sock, &waker, Some(Duration::ZERO)).unwrap();
        assert!(!r.woken, "reset clears the signal");
        let addr = sock.local_addr().unwrap();
        let t = crate::Transmit {
            destination: addr,
            ecn: None,
            contents: b"x",
            segment_size: None,
            src_ip: None,
        };
        sock.send(&t).unwrap();
        assert!(wait(&sock, &waker, None).unwrap().socket);
        assert!(wait_writable(&sock, Duration::from_millis(10)).unwrap());
    }
}
