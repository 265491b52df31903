//! The Linux QUIC C interface on quicsock.
//!
//! `include/linux/quic.h` is the socket interface of Linux's in-kernel QUIC
//! (IPPROTO_QUIC 261, SOL_QUIC 288, control messages, message flags, the fifteen socket
//! options, the nine events and their structures) and `include/netinet/quic.h` libquic's
//! API, written from the interface facts of the Linux QUIC uapi. [`uapi`] mirrors every
//! structure with `#[repr(C)]`, and the tests hold both to the same sizes, offsets and
//! constant values (`tests/header.rs` compiles a C program with `_Static_assert`s and
//! compares what it prints with the Rust side).
//!
//! The library this crate builds (`libquicsock_ffi.so`, `.a`) is where libquic's functions
//! and the interposed socket calls are exported from.

pub mod uapi;
