//! Command-line tools for quicsock.
//!
//! * `quicperf` ([`perf`]) — goodput and request/response latency over QUIC, with plain
//!   TCP and TLS over TCP measured the same way; with no arguments, the loopback
//!   self-test.
//! * `quic-inspect` ([`inspect`]) — decodes a datagram: splits its coalesced packets,
//!   removes Initial protection with keys derived from the connection IDs, and prints the
//!   headers and frames.
#![forbid(unsafe_code)]

pub mod inspect;
pub mod perf;
