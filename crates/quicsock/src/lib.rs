//! QUIC as a socket: the semantics of the Linux in-kernel QUIC socket (listen / accept /
//! connect, `send` and `recv` with a stream id and flags, datagrams, close with linger) as
//! a Rust library over a UDP datapath built for speed.
//!
//! ```no_run
//! use quicsock::{tls, ClientConfig, Flags, QuicSocket};
//! # fn main() -> Result<(), quicsock::Error> {
//! let tls = tls::insecure_client_config(&[b"perf"]);
//! let sock = QuicSocket::connect("127.0.0.1:4433".parse().unwrap(), &ClientConfig::new(tls, "localhost"))?;
//! sock.send(b"hello", -1, Flags::STREAM_FIN)?;
//! let mut buf = [0u8; 1024];
//! let (n, stream, flags) = sock.recv(&mut buf, Flags::NONE)?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! * [`QuicListener`] and [`QuicSocket`]: the verbs (`listener`, `socket`).
//! * [`Flags`]: the message flags, with Linux QUIC's values.
//! * [`events`]: the in-band events `recv` returns when enabled, in Linux QUIC's layout.
//! * [`Error`]: one error type with the errno of each case.
//! * [`handshake`]: the rustls driver over the protocol core's handshake boundary.
//! * [`tls`]: rustls configurations for QUIC.
//! * [`tokio_io`] (feature `tokio`): async connect, accept and streams for tokio.
//! * `engine`: the thread per UDP socket and the locking (its module docs say who runs
//!   receive, timers and transmit).
#![forbid(unsafe_code)]

mod clock;
mod config;
mod engine;
mod error;
pub mod events;
mod flags;
pub mod handshake;
mod listener;
mod readiness;
mod socket;
mod socket_handshake;
#[cfg(test)]
mod tests;
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio_io;

pub use config::{ClientConfig, ServerConfig, SocketConfig, TransportConfig};
pub use error::{Error, Result};
pub use events::{EventType, QuicEvent};
pub use flags::Flags;
pub use listener::QuicListener;
pub use socket::{QuicSocket, StreamHandle, DEFAULT_LINGER};
pub use socket_handshake::{client_handshake, server_handshake};

pub use quicsock_proto as proto;
