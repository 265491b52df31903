//! The Linux UDP datapath of quicsock.
//!
//! This crate will own every syscall of the stack and all of its `unsafe`: UDP GSO and GRO,
//! `sendmmsg`/`recvmmsg`, ECN codepoints and the local address of each datagram, detected at
//! run time with clean fallbacks (see DESIGN.md). It holds no code yet; the protocol core in
//! `quicsock-proto` comes first.
