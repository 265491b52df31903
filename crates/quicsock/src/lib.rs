//! QUIC as a socket.
//!
//! `quicsock` will hold the user-facing API with the semantics of the Linux in-kernel QUIC
//! socket: listeners that share a UDP port and dispatch by ALPN, connections with stream-id
//! aware `send`/`recv`, options and in-band events. Today it re-exports the protocol core,
//! whose wire formats and packet protection are complete.
#![forbid(unsafe_code)]

pub use quicsock_proto as proto;
