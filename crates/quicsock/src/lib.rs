//! QUIC as a socket.
//!
//! `quicsock` will hold the user-facing API with the semantics of the Linux in-kernel QUIC
//! socket: listeners that share a UDP port and dispatch by ALPN, connections with stream-id
//! aware `send`/`recv`, options and in-band events. Today it holds the TLS handshake driver
//! ([`handshake::RustlsDriver`]) and re-exports the protocol core.
#![forbid(unsafe_code)]

pub mod handshake;

pub use quicsock_proto as proto;
