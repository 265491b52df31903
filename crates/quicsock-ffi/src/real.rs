//! libc's own socket calls, found past this library with `dlsym(RTLD_NEXT)`: the calls
//! this library interposes hand every descriptor that is not a QUIC socket to these, and
//! the QUIC sockets' own descriptors (placeholders, pollable ends) go through them too.
//!
//! Each function is looked up on its first use and kept; a libc without one of them
//! cannot run the program at all, so a failed lookup aborts with the symbol's name.

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{c_int, c_ulong, c_void, msghdr, size_t, sockaddr, socklen_t, ssize_t};

/// The address of libc's `name`.
fn lookup(name: &CStr, cache: &AtomicUsize) -> usize {
    let known = cache.load(Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    // SAFETY: RTLD_NEXT with a NUL-terminated symbol name is dlsym's documented use.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
    if found == 0 {
        let msg = b"quicsock: libc has no ";
        // SAFETY: writing bytes of live buffers to stderr.
        unsafe {
            libc::syscall(libc::SYS_write, 2, msg.as_ptr(), msg.len());
            libc::syscall(libc::SYS_write, 2, name.as_ptr(), name.to_bytes().len());
            libc::abort();
        }
    }
    cache.store(found, Ordering::Relaxed);
    found
}

macro_rules! libc_calls {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        /// As libc's function of the same name.
        pub(crate) unsafe fn $name($($arg: $ty),*) -> $ret {
            static CACHE: AtomicUsize = AtomicUsize::new(0);
            let at = lookup(
                // SAFETY: the literal ends with its NUL.
                unsafe { CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes()) },
                &CACHE,
            );
            // SAFETY: `at` is libc's function of this name, whose C signature this is.
            let f: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { std::mem::transmute(at) };
            // SAFETY: the caller upholds the function's contract.
            unsafe { f($($arg),*) }
        }
    )*};
}

libc_calls! {
    /// socket(2).
    fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    /// close(2).
    fn close(fd: c_int) -> c_int;
    /// bind(2).
    fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    /// listen(2).
    fn listen(fd: c_int, backlog: c_int) -> c_int;
    /// accept(2).
    fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    /// accept4(2).
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    /// connect(2).
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    /// setsockopt(2).
    fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: socklen_t) -> c_int;
    /// getsockopt(2).
    fn getsockopt(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut socklen_t) -> c_int;
    /// sendmsg(2).
    fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    /// recvmsg(2).
    fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    /// send(2).
    fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    /// recv(2).
    fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    /// sendto(2).
    fn sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, alen: socklen_t) -> ssize_t;
    /// recvfrom(2).
    fn recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, alen: *mut socklen_t) -> ssize_t;
    /// read(2).
    fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t;
    /// write(2).
    fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t;
    /// getsockname(2).
    fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    /// getpeername(2).
    fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    /// shutdown(2).
    fn shutdown(fd: c_int, how: c_int) -> c_int;
    /// dup(2).
    fn dup(fd: c_int) -> c_int;
    /// dup2(2).
    fn dup2(fd: c_int, to: c_int) -> c_int;
    /// dup3(2).
    fn dup3(fd: c_int, to: c_int, flags: c_int) -> c_int;
    /// fcntl(2) with an integer argument (every command this library looks at takes one).
    fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
    /// fcntl64: glibc's name for fcntl(2) in programs built with 64-bit file offsets.
    fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
    /// ioctl(2) with a pointer or integer argument.
    fn ioctl(fd: c_int, request: c_ulong, arg: c_ulong) -> c_int;
}

// fcntl and ioctl are variadic in C. On the ABIs below a variadic callee finds its one
// integer or pointer argument where a non-variadic call puts it, so both the calls above
// and this library's own fcntl and ioctl take it as a plain third argument.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!(
    "quicsock-ffi interposes fcntl and ioctl with the x86_64 and aarch64 Linux calling conventions"
);
