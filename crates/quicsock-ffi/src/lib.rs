//! The Linux QUIC C interface on quicsock: Linux QUIC programs run unmodified on any
//! kernel.
//!
//! `include/linux/quic.h` is the socket interface of Linux's in-kernel QUIC
//! (IPPROTO_QUIC 261, SOL_QUIC 288, control messages, message flags, the fifteen socket
//! options, the nine events and their structures) and `include/netinet/quic.h` libquic's
//! API, written from the interface facts of the Linux QUIC uapi. [`uapi`] mirrors every
//! structure with `#[repr(C)]`, and the tests hold both to the same sizes, offsets and
//! constant values (`tests/header.rs` compiles a C program with `_Static_assert`s and
//! compares what it prints with the Rust side).
//!
//! The library this crate builds (`libquicsock_ffi.so`, `.a`) is both libquic (link it as
//! `-lquic`) and the socket layer: it exports `socket`, `connect`, `sendmsg` and the
//! other socket calls in place of libc's (`interpose`), so that a program linked with it,
//! or started with it in `LD_PRELOAD`, gets IPPROTO_QUIC sockets backed by quicsock.
//!
//! * `registry`: which descriptor numbers are QUIC sockets (lock-free for the others).
//! * `quic`: one QUIC socket's state and the options kept for it.
//! * `lifecycle`: socket, bind, listen, accept, connect, close, dup, fcntl, ioctl.
//! * `msg`: sendmsg and recvmsg with their control messages.
//! * `sockopt`, `params`: the options and their structures.
//! * `wait`: blocking calls wait in poll(2), so signals interrupt them (EINTR).
//! * `libquic`: libquic's functions; `gnutls_handshake` its GnuTLS-session ones, over
//!   GnuTLS loaded at run time (`gnutls`).
//! * `real`: libc's own calls, for everything that is not a QUIC socket.

mod addr;
mod errno;
mod gnutls;
pub mod gnutls_handshake;
pub mod interpose;
pub mod libquic;
mod lifecycle;
mod msg;
mod params;
mod quic;
mod real;
mod registry;
mod sockopt;
pub mod uapi;
mod wait;
