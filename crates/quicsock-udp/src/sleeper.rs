//! Where an engine thread sleeps, and how another thread takes its place.
//!
//! A [`Sleeper`] is an epoll set holding a socket, a [`Waker`] and a timerfd. The thread
//! that owns it sleeps in [`Sleeper::wait`] until a datagram arrives, the waker fires or
//! the timer expires. Another thread that is going to wait anyway (an application thread
//! blocked in a receive, say) can [`park`](Sleeper::park) the socket: the sleeper is then
//! woken by its waker and its timer only, and the guest watches the socket itself
//! ([`wait_any`]), handling what arrives on its own thread without waking anyone.
//! [`unpark`](Sleeper::unpark) gives it back; epoll looks at its state as it does so, so a
//! datagram nobody took wakes the sleeper then, and one that was taken costs nothing. The
//! timer stays with the sleeper: it rarely fires (a deadline that moves later is left to
//! expire early once), and a park or an unpark is then one `epoll_ctl`, not two.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::wake::Waker;

/// What a wait saw.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Woken {
    /// The socket is readable.
    pub socket: bool,
    /// The timer expired.
    pub timer: bool,
    /// The waker fired.
    pub waker: bool,
}

const SOCKET: u64 = 0;
const TIMER: u64 = 1;
const WAKER: u64 = 2;

/// An engine thread's epoll set: its socket, its waker and its timer.
#[derive(Debug)]
pub struct Sleeper {
    epoll: OwnedFd,
    timer: OwnedFd,
    socket: RawFd,
}

impl Sleeper {
    /// A sleeper on `socket` and `waker`, with its timer disarmed. Both must outlive it.
    pub fn new(socket: &impl AsFd, waker: &Waker) -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new descriptor.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `epoll` was just created and is owned by nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        let flags = libc::TFD_CLOEXEC | libc::TFD_NONBLOCK;
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a descriptor.
        let timer = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, flags) };
        if timer < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `timer` was just created and is owned by nobody else.
        let timer = unsafe { OwnedFd::from_raw_fd(timer) };
        let s = Self {
            epoll,
            socket: socket.as_fd().as_raw_fd(),
            timer,
        };
        s.ctl(libc::EPOLL_CTL_ADD, s.socket, SOCKET, true)?;
        s.ctl(libc::EPOLL_CTL_ADD, s.timer.as_raw_fd(), TIMER, true)?;
        s.ctl(libc::EPOLL_CTL_ADD, waker.as_fd().as_raw_fd(), WAKER, true)?;
        Ok(s)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, tag: u64, on: bool) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: if on { libc::EPOLLIN as u32 } else { 0 },
            u64: tag,
        };
        // SAFETY: `ev` is a live epoll_event; the descriptors are open (the caller's
        // socket and waker outlive the sleeper, the timer is ours).
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &raw mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sleeps until the socket is readable, the timer expired or the waker fired (the
    /// socket counts only while not parked). Interrupted waits return with
    /// nothing seen.
    pub fn wait(&self) -> io::Result<Woken> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 3];
        // SAFETY: `evs` is a live array of three epoll_event and its length goes with it.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), evs.as_mut_ptr(), 3, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(Woken::default());
            }
            return Err(e);
        }
        let mut w = Woken::default();
        for ev in &evs[..n as usize] {
            match ev.u64 {
                SOCKET => w.socket = true,
                TIMER => w.timer = true,
                _ => w.waker = true,
            }
        }
        Ok(w)
    }

    /// Arms the timer to expire after `after` (`None` disarms it). Re-arming clears an
    /// expiry nobody handled.
    pub fn set_timer(&self, after: Option<Duration>) {
        let value = match after {
            // A zero value would disarm: expire as soon as possible instead.
            Some(d) => libc::timespec {
                tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(d.subsec_nanos().max(u32::from(d.is_zero()))),
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is a live itimerspec; no old value is asked for.
        let _ = unsafe {
            libc::timerfd_settime(
                self.timer.as_raw_fd(),
                0,
                &raw const spec,
                std::ptr::null_mut(),
            )
        };
    }

    /// Stops the socket from waking the sleeper (a guest watches it).
    pub fn park(&self) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, self.socket, SOCKET, false)
    }

    /// Lets the socket wake the sleeper again; if it is readable now, it is woken at once.
    pub fn unpark(&self) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, self.socket, SOCKET, true)
    }
}

/// Sleeps until one of `fds` is readable or `timeout` passes (`None`: no limit); returns
/// one bit per descriptor, in order (at most 64). Interrupted waits return nothing.
pub fn wait_any(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<u64> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .take(64)
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = match timeout {
        None => -1,
        // Round up so that a deadline is never woken for early and spun on.
        Some(t) => t.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int,
    };
    // SAFETY: `pfds` is a live array of pollfd and its length is passed with it.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    let hit = libc::POLLIN | libc::POLLERR | libc::POLLHUP;
    Ok(pfds
        .iter()
        .enumerate()
        .filter(|(_, p)| p.revents & hit != 0)
        .fold(0, |bits, (i, _)| bits | 1 << i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Transmit, UdpSocket};

    fn send_to_self(sock: &UdpSocket) {
        let t = Transmit {
            destination: sock.local_addr().unwrap(),
            ecn: None,
            contents: b"x",
            segment_size: None,
            src_ip: None,
        };
        sock.send(&t).unwrap();
    }

    /// The sleeper sees its socket, timer and waker; parked, the waker and the timer
    /// only; and an unpark with a datagram waiting reports it.
    #[test]
    fn parks_and_unparks_the_socket_and_timer() {
        let sock = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let waker = Waker::new().unwrap();
        let s = Sleeper::new(&sock, &waker).unwrap();
        // The waker alone wakes it, and is cleared.
        let only_the_waker = || {
            waker.wake();
            let w = s.wait().unwrap();
            waker.reset();
            w == Woken {
                waker: true,
                ..Woken::default()
            }
        };
        assert!(only_the_waker());
        s.set_timer(Some(Duration::ZERO));
        assert!(s.wait().unwrap().timer);
        s.set_timer(None);
        s.park().unwrap();
        send_to_self(&sock);
        // Parked: the guest sees the socket, the sleeper its waker and its timer.
        let bits = wait_any(&[sock.as_fd()], None).unwrap();
        assert_eq!(bits, 0b1);
        assert!(only_the_waker());
        s.set_timer(Some(Duration::ZERO));
        let w = s.wait().unwrap();
        assert!(w.timer && !w.socket, "{w:?}");
        // Re-arming clears the expiry.
        s.set_timer(Some(Duration::from_secs(60)));
        s.unpark().unwrap();
        let w = s.wait().unwrap();
        assert!(w.socket && !w.timer && !w.waker, "{w:?}");
    }
}
