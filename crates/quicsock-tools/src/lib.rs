//! Command-line tools for quicsock.
//!
//! * `quic-inspect` ([`inspect`]) — decodes a datagram: splits its coalesced packets,
//!   removes Initial protection with keys derived from the connection IDs, and prints the
//!   headers and frames.
#![forbid(unsafe_code)]

pub mod inspect;
