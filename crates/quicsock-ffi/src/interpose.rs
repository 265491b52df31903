//! The socket calls this library exports in place of libc's (reference §1.1): each asks
//! the [registry](crate::registry) whether its descriptor is a QUIC socket, hands every
//! other to libc unchanged, and for a QUIC socket does what Linux QUIC's socket does.
//!
//! A program gets these when it links with this library before libc (`-lquic`) or runs
//! with it in `LD_PRELOAD`. `poll`, `select` and `epoll` are not interposed: a QUIC
//! socket's descriptor is a real one whose readiness quicsock keeps equal to the
//! socket's.

#![allow(clippy::missing_safety_doc)] // each function's contract is its libc namesake's

use libc::{c_int, c_ulong, c_void, msghdr, size_t, sockaddr, socklen_t, ssize_t};

use crate::errno::fail;
use crate::registry::{lookup, Found};
use crate::sockopt::{Out, Value};
use crate::{addr, lifecycle, msg, real, sockopt, uapi};

/// Runs `quic` with the QUIC socket `fd` names, or `other` when it names none; EBADF for
/// a socket inherited across fork.
macro_rules! dispatch {
    ($fd:expr, |$q:ident| $quic:expr, $other:expr) => {
        match lookup($fd) {
            Found::Other => $other,
            Found::Inherited => fail(libc::EBADF),
            Found::Quic($q) => $quic,
        }
    };
}

/// `Ok(v)` as `v`, `Err(e)` as errno `e` and -1.
fn ret<T: From<i8>>(r: Result<T, c_int>) -> T {
    r.unwrap_or_else(fail)
}

/// A count as `ssize_t`.
fn count(r: Result<usize, c_int>) -> ssize_t {
    ret(r.map(|n| n as ssize_t))
}

/// socket(2): IPPROTO_QUIC makes a QUIC socket.
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    if protocol != uapi::IPPROTO_QUIC {
        // SAFETY: libc's socket with the caller's arguments.
        return unsafe { real::socket(domain, ty, protocol) };
    }
    ret(lifecycle::socket(domain, ty))
}

/// bind(2).
#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, a: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's arguments, for libc's bind or read as its address.
    dispatch!(
        fd,
        |q| ret(unsafe { addr::read(a, len) }
            .and_then(|a| lifecycle::bind(&q, a))
            .map(|()| 0)),
        unsafe { real::bind(fd, a, len) }
    )
}

/// listen(2).
#[no_mangle]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    // SAFETY: libc's listen with the caller's arguments.
    dispatch!(
        fd,
        |q| ret(lifecycle::listen(fd, &q, backlog).map(|()| 0)),
        unsafe { real::listen(fd, backlog) }
    )
}

/// accept(2).
#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, a: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: the caller's arguments.
    dispatch!(
        fd,
        |q| ret(unsafe { lifecycle::accept(&q, a, len, 0) }),
        unsafe { real::accept(fd, a, len) }
    )
}

/// accept4(2).
#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    a: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments.
    dispatch!(
        fd,
        |q| ret(unsafe { lifecycle::accept(&q, a, len, flags) }),
        unsafe { real::accept4(fd, a, len, flags) }
    )
}

/// connect(2).
#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, a: *const sockaddr, len: socklen_t) -> c_int {
    dispatch!(
        fd,
        |q| {
            // SAFETY: the caller's address.
            let remote = unsafe { addr::read(a, len) };
            ret(match remote {
                // Disconnecting (AF_UNSPEC) is not supported, as in Linux QUIC.
                Err(libc::EAFNOSUPPORT) => Err(libc::EOPNOTSUPP),
                r => r.and_then(|r| lifecycle::connect(fd, &q, r)).map(|()| 0),
            })
        },
        // SAFETY: libc's connect with the caller's arguments.
        unsafe { real::connect(fd, a, len) }
    )
}

/// close(2).
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    // The socket looked up is let go before the close: the last reference to it is what
    // closes the connection (and waits for its CONNECTION_CLOSE to leave).
    if matches!(lookup(fd), Found::Other) {
        // SAFETY: libc's close of the caller's descriptor.
        unsafe { real::close(fd) }
    } else {
        lifecycle::close(fd)
    }
}

/// shutdown(2).
#[no_mangle]
pub unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    // SAFETY: libc's shutdown with the caller's arguments.
    dispatch!(
        fd,
        |q| ret(lifecycle::shutdown(&q, how).map(|()| 0)),
        unsafe { real::shutdown(fd, how) }
    )
}

/// dup(2).
#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: libc's dup of the caller's descriptor.
    dispatch!(
        fd,
        |q| lifecycle::dup(Some(q), || unsafe { real::dup(fd) }, None),
        unsafe { real::dup(fd) }
    )
}

/// The QUIC socket `fd` names, `Ok(None)` for another descriptor, EBADF for one inherited.
fn quic_or_none(fd: c_int) -> Result<Option<std::sync::Arc<crate::quic::Quic>>, c_int> {
    match lookup(fd) {
        Found::Other => Ok(None),
        Found::Quic(q) => Ok(Some(q)),
        Found::Inherited => Err(libc::EBADF),
    }
}

/// dup2(2).
#[no_mangle]
pub unsafe extern "C" fn dup2(fd: c_int, to: c_int) -> c_int {
    if fd == to {
        // SAFETY: libc's dup2, which only checks the descriptor.
        return unsafe { real::dup2(fd, to) };
    }
    match quic_or_none(fd) {
        // SAFETY: libc's dup2 with the caller's arguments.
        Ok(q) => lifecycle::dup(q, || unsafe { real::dup2(fd, to) }, Some(to)),
        Err(e) => fail(e),
    }
}

/// dup3(2).
#[no_mangle]
pub unsafe extern "C" fn dup3(fd: c_int, to: c_int, flags: c_int) -> c_int {
    if fd == to {
        // SAFETY: libc's dup3, which refuses equal numbers.
        return unsafe { real::dup3(fd, to, flags) };
    }
    match quic_or_none(fd) {
        // SAFETY: libc's dup3 with the caller's arguments.
        Ok(q) => lifecycle::dup(q, || unsafe { real::dup3(fd, to, flags) }, Some(to)),
        Err(e) => fail(e),
    }
}

/// fcntl(2).
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    // SAFETY: libc's fcntl with the caller's arguments.
    dispatch!(fd, |q| lifecycle::fcntl(fd, q, cmd, arg), unsafe {
        real::fcntl(fd, cmd, arg)
    })
}

/// fcntl64: fcntl(2) in programs built with 64-bit file offsets.
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    // SAFETY: libc's fcntl64 with the caller's arguments.
    dispatch!(fd, |q| lifecycle::fcntl(fd, q, cmd, arg), unsafe {
        real::fcntl64(fd, cmd, arg)
    })
}

/// ioctl(2).
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: c_ulong) -> c_int {
    // SAFETY: the caller's arguments, for libc's ioctl or read as the request's.
    dispatch!(
        fd,
        |q| ret(unsafe { lifecycle::ioctl(&q, request, arg) }.map(|()| 0)),
        unsafe { real::ioctl(fd, request, arg) }
    )
}

/// setsockopt(2).
#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    dispatch!(
        fd,
        |q| ret((|| {
            // SAFETY: the caller's option buffer.
            let v = unsafe { Value::new(val, len) }?;
            if level == uapi::SOL_QUIC {
                sockopt::set_quic(&q, name, &v)
            } else {
                sockopt::set_socket(&q, level, name, &v)
            }
        })()
        .map(|()| 0)),
        // SAFETY: libc's setsockopt with the caller's arguments.
        unsafe { real::setsockopt(fd, level, name, val, len) }
    )
}

/// getsockopt(2).
#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    dispatch!(
        fd,
        |q| ret((|| {
            // SAFETY: the caller's option buffer.
            let out = unsafe { Out::new(val, len) }?;
            if level == uapi::SOL_QUIC {
                sockopt::get_quic(&q, name, &out)
            } else {
                sockopt::get_socket(&q, level, name, &out)
            }
        })()
        .map(|()| 0)),
        // SAFETY: libc's getsockopt with the caller's arguments.
        unsafe { real::getsockopt(fd, level, name, val, len) }
    )
}

/// sendmsg(2).
#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, m: *const msghdr, flags: c_int) -> ssize_t {
    dispatch!(
        fd,
        |q| {
            if m.is_null() {
                return fail(libc::EFAULT);
            }
            // SAFETY: the caller's msghdr.
            count(unsafe { msg::sendmsg(&q, &*m, flags) })
        },
        // SAFETY: libc's sendmsg with the caller's arguments.
        unsafe { real::sendmsg(fd, m, flags) }
    )
}

/// recvmsg(2).
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, m: *mut msghdr, flags: c_int) -> ssize_t {
    dispatch!(
        fd,
        |q| {
            if m.is_null() {
                return fail(libc::EFAULT);
            }
            // SAFETY: the caller's msghdr.
            count(unsafe { msg::recvmsg(&q, &mut *m, flags) })
        },
        // SAFETY: libc's recvmsg with the caller's arguments.
        unsafe { real::recvmsg(fd, m, flags) }
    )
}

/// A msghdr of one buffer and no control messages.
fn plain(buf: *mut c_void, len: size_t, iov: &mut libc::iovec) -> msghdr {
    *iov = libc::iovec {
        iov_base: buf,
        iov_len: len,
    };
    // SAFETY: msghdr is plain data; all zeroes is a valid empty one.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = iov;
    m.msg_iovlen = 1;
    m
}

fn send_plain(q: &crate::quic::Quic, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    let mut iov = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let m = plain(buf.cast_mut(), len, &mut iov);
    // SAFETY: one buffer of the caller's.
    count(unsafe { msg::sendmsg(q, &m, flags) })
}

fn recv_plain(q: &crate::quic::Quic, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    let mut iov = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut m = plain(buf, len, &mut iov);
    // SAFETY: one buffer of the caller's.
    count(unsafe { msg::recvmsg(q, &mut m, flags) })
}

/// send(2).
#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: libc's send with the caller's arguments.
    dispatch!(fd, |q| send_plain(&q, buf, len, flags), unsafe {
        real::send(fd, buf, len, flags)
    })
}

/// recv(2).
#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: libc's recv with the caller's arguments.
    dispatch!(fd, |q| recv_plain(&q, buf, len, flags), unsafe {
        real::recv(fd, buf, len, flags)
    })
}

/// sendto(2): the address is ignored, as Linux QUIC ignores msg_name.
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    a: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    // SAFETY: libc's sendto with the caller's arguments.
    dispatch!(fd, |q| send_plain(&q, buf, len, flags), unsafe {
        real::sendto(fd, buf, len, flags, a, alen)
    })
}

/// recvfrom(2): no address is returned for a QUIC socket (`*alen` becomes 0).
#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    a: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    dispatch!(
        fd,
        |q| {
            if !alen.is_null() {
                // SAFETY: the caller's length.
                unsafe { *alen = 0 };
            }
            recv_plain(&q, buf, len, flags)
        },
        // SAFETY: libc's recvfrom with the caller's arguments.
        unsafe { real::recvfrom(fd, buf, len, flags, a, alen) }
    )
}

/// read(2).
#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    // SAFETY: libc's read with the caller's arguments.
    dispatch!(fd, |q| recv_plain(&q, buf, len, 0), unsafe {
        real::read(fd, buf, len)
    })
}

/// write(2).
#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    // SAFETY: libc's write with the caller's arguments.
    dispatch!(fd, |q| send_plain(&q, buf, len, 0), unsafe {
        real::write(fd, buf, len)
    })
}

/// The checked read of programs built with _FORTIFY_SOURCE.
#[no_mangle]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
) -> ssize_t {
    if len > room {
        // SAFETY: glibc's own answer to an overflowing read.
        unsafe { libc::abort() };
    }
    // SAFETY: the caller's arguments.
    unsafe { read(fd, buf, len) }
}

/// The checked recv of programs built with _FORTIFY_SOURCE.
#[no_mangle]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
    flags: c_int,
) -> ssize_t {
    if len > room {
        // SAFETY: as in __read_chk.
        unsafe { libc::abort() };
    }
    // SAFETY: the caller's arguments.
    unsafe { recv(fd, buf, len, flags) }
}

/// The checked recvfrom of programs built with _FORTIFY_SOURCE.
#[no_mangle]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
    flags: c_int,
    a: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if len > room {
        // SAFETY: as in __read_chk.
        unsafe { libc::abort() };
    }
    // SAFETY: the caller's arguments.
    unsafe { recvfrom(fd, buf, len, flags, a, alen) }
}

/// getsockname(2).
#[no_mangle]
pub unsafe extern "C" fn getsockname(fd: c_int, a: *mut sockaddr, len: *mut socklen_t) -> c_int {
    dispatch!(
        fd,
        // SAFETY: the caller's address buffer.
        |q| ret(lifecycle::local_addr(&q)
            .and_then(|l| unsafe { addr::write(l, q.family, a, len) })
            .map(|()| 0)),
        // SAFETY: libc's getsockname with the caller's arguments.
        unsafe { real::getsockname(fd, a, len) }
    )
}

/// getpeername(2).
#[no_mangle]
pub unsafe extern "C" fn getpeername(fd: c_int, a: *mut sockaddr, len: *mut socklen_t) -> c_int {
    dispatch!(
        fd,
        // SAFETY: the caller's address buffer.
        |q| ret(lifecycle::peer_addr(&q)
            .and_then(|p| unsafe { addr::write(p, q.family, a, len) })
            .map(|()| 0)),
        // SAFETY: libc's getpeername with the caller's arguments.
        unsafe { real::getpeername(fd, a, len) }
    )
}
