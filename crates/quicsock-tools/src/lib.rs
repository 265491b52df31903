//! Command-line tools for quicsock.
//!
//! * `quicperf` ([`perf`]) — goodput and request/response latency over QUIC, with plain
//!   TCP and TLS over TCP measured the same way; with no arguments, the loopback
//!   self-test.
//! * `quic-server` and `quic-client` ([`hq`]) — HTTP/0.9 over QUIC (ALPN `hq-interop`),
//!   the protocol of the QUIC Interop Runner: serve a directory, download URLs.
//! * `quicperf load` ([`load`]) — many idle connections from one client endpoint: handshakes
//!   per second, the server's memory and CPU per connection, latency with them open.
//! * [`serve`]: every connection of a listener served from one thread per CPU through a
//!   `QuicPoll`, the shape of quic-server and quicperf's servers.
//! * `quic-inspect` ([`inspect`]) — decodes a datagram: splits its coalesced packets,
//!   removes Initial protection with keys derived from the connection IDs, and prints the
//!   headers and frames.
//! * `quic-runner` ([`runner`], feature `runner`) — the QUIC Interop Runner's cases on
//!   this machine, through a relay that reproduces its networks, against aioquic, quinn
//!   (`quinn-hq`) and quicsock itself; prints the matrix.
#![forbid(unsafe_code)]

pub mod certs;
pub mod hq;
pub mod hq_args;
pub mod inspect;
pub mod load;
pub mod perf;
#[cfg(feature = "runner")]
pub mod runner;
pub mod serve;
