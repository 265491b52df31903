//! How a blocking call waits: in poll(2) on the socket's pollable descriptor, so that a
//! signal with a handler interrupts it with EINTR as the kernel's calls are, and
//! SO_RCVTIMEO / SO_SNDTIMEO end it with EAGAIN (reference §1.1).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use libc::c_int;

/// When a wait ends.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// `timeout` from now; `None` waits for ever.
    #[allow(clippy::disallowed_methods)] // the C program's timeouts run on the wall clock
    pub(crate) fn after(timeout: Option<Duration>) -> Self {
        Self(timeout.map(|t| Instant::now() + t))
    }

    /// Milliseconds left for poll(2): -1 for ever, 0 when passed (rounded up, so that a
    /// wait never ends before its deadline).
    #[allow(clippy::disallowed_methods)]
    fn poll_timeout(&self) -> Option<c_int> {
        let Some(end) = self.0 else { return Some(-1) };
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        Some(left.as_micros().div_ceil(1000).min(c_int::MAX as u128) as c_int)
    }
}

/// How long one wait lasts at most before the caller looks again: the descriptor's
/// readiness is the engine's signal, and a call that looks again after a while also
/// recovers from a signal that went astray. No result depends on it.
const LOOK_AGAIN_MS: c_int = 250;

/// Waits until `fd` is readable (`write` false) or writable, or a while has passed (the
/// caller then tries its call again); Err(EAGAIN) when the deadline passed, Err(EINTR)
/// when a signal came.
pub(crate) fn until(fd: RawFd, write: bool, deadline: Deadline) -> Result<(), c_int> {
    let Some(ms) = deadline.poll_timeout() else {
        return Err(libc::EAGAIN);
    };
    let ms = if ms < 0 {
        LOOK_AGAIN_MS
    } else {
        ms.min(LOOK_AGAIN_MS)
    };
    let mut p = libc::pollfd {
        fd,
        events: if write { libc::POLLOUT } else { libc::POLLIN },
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    if r < 0 {
        return Err(crate::errno::get());
    }
    if r == 0 && deadline.poll_timeout().is_none() {
        return Err(libc::EAGAIN);
    }
    Ok(())
}
