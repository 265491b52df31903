//! The sans-IO protocol core of quicsock.
//!
//! This crate holds everything about QUIC that does not need a socket, a thread or a clock:
//! the wire formats of RFC 9000 (varints, connection IDs, packet headers, frames, transport
//! parameters), QUIC version 2 (RFC 9369), the compatible version negotiation parameter
//! (RFC 9368), the grease bit (RFC 9287), DATAGRAM frames (RFC 9221), and packet protection
//! (RFC 9001 §5). Time, when a later layer needs it, is passed in; the crate never reads the
//! clock and performs no I/O.
//!
//! # Guarantees for network input
//!
//! Every decoder in this crate takes untrusted bytes and returns either a parsed value or a
//! typed error carrying the RFC transport error code ([`TransportErrorCode`]). No decoder
//! panics, loops without consuming input, or allocates more than the input length justifies:
//! an ACK frame that claims 2^62 ranges is rejected as soon as the bytes run out, with nothing
//! allocated. These properties are exercised by the property tests beside each module and by
//! the cargo-fuzz targets in `fuzz/`.
//!
//! # Layout
//!
//! * [`common`] — [`VarInt`], [`ConnectionId`], [`StreamId`], the byte [`Reader`].
//! * [`packet`] — packet numbers, versions, every header form, coalesced datagrams.
//! * [`frame`] — one type per frame of RFC 9000 §19 and RFC 9221, and the table of which
//!   frames each packet type may carry (RFC 9000 §12.4).
//! * [`transport_params`] — the quic_transport_parameters extension (RFC 9000 §18).
//! * [`crypto`] — Initial secrets, the key schedule, AEAD and header protection, key update,
//!   the Retry integrity tag and the AEAD usage limits.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods)]

pub mod common;
pub mod cong;
pub mod conn;
pub mod connid;
pub mod crypto;
pub mod endpoint;
mod error;
pub mod frame;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod host;
#[cfg(test)]
mod host_tests;
#[cfg(test)]
mod hostile_tests;
pub mod packet;
pub mod path;
pub mod pnspace;
pub mod qlog;
pub mod recovery;
pub mod reset;
pub mod rng;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod stateless;
pub mod stream;
pub mod time;
pub mod timer_queue;
pub mod token;
pub mod transport_params;

pub use common::{ConnectionId, Dir, Reader, Side, StreamId, VarInt, Writer};
pub use error::{TransportError, TransportErrorCode};
pub use time::Timestamp;
