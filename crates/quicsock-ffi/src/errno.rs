//! errno: what a failed call leaves for the C program (reference §1.4, §1.10).

use libc::c_int;

/// Sets errno.
pub(crate) fn set(e: c_int) {
    // SAFETY: __errno_location returns this thread's errno, valid for the thread's life.
    unsafe { *libc::__errno_location() = e };
}

/// This thread's errno.
pub(crate) fn get() -> c_int {
    // SAFETY: as in `set`.
    unsafe { *libc::__errno_location() }
}

/// A failed call: errno `e`, and -1 of the call's return type.
pub(crate) fn fail<T: From<i8>>(e: c_int) -> T {
    set(e);
    T::from(-1)
}

/// The errno Linux QUIC gives a failed call of the kind `call` for `err`.
pub(crate) fn of(err: &quicsock::Error, call: Call) -> c_int {
    use quicsock::Error;
    match (err, call) {
        // A receive on a closed connection with nothing left (§1.10).
        (Error::Closed(_), Call::Recv) => libc::ENOTCONN,
        // SO_RCVTIMEO / SO_SNDTIMEO ran out.
        (Error::TimedOut, _) => libc::EAGAIN,
        _ => err.errno(),
    }
}

/// What kind of call failed, where the errno depends on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// sendmsg and the calls made of it.
    Send,
    /// recvmsg and the calls made of it.
    Recv,
}
