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
//! # From Linux QUIC
//!
//! | Linux QUIC | quicsock |
//! | --- | --- |
//! | `socket` + `bind` + `listen` | [`QuicListener::bind`] (listeners sharing an address split connections by ALPN) |
//! | `accept` | [`QuicListener::accept`] (after the handshake; with `manual_handshake`, before it) |
//! | `connect` + `quic_client_handshake` | [`QuicSocket::connect`], or [`QuicSocket::connect_without_handshake`] + [`client_handshake`] |
//! | `quic_server_handshake` | [`server_handshake`] on a socket from a `manual_handshake` listener |
//! | `sendmsg` / `recvmsg` with `quic_stream_info` | [`QuicSocket::send`] / [`QuicSocket::recv`] with a stream id and [`Flags`] |
//! | `QUIC_SOCKOPT_EVENT` | [`QuicSocket::set_event`], [`QuicListener::set_event`]; events in [`events`] |
//! | `STREAM_OPEN` / `STREAM_RESET` / `STREAM_STOP_SENDING` | [`QuicSocket::open_stream`] / [`QuicSocket::reset_stream`] / [`QuicSocket::stop_sending`] |
//! | `CONNECTION_CLOSE` | [`QuicSocket::set_close_info`], [`QuicSocket::close_reason`] |
//! | `KEY_UPDATE` | [`QuicSocket::update_key`] |
//! | `TRANSPORT_PARAM` | [`TransportConfig`] in [`ClientConfig`] / [`ServerConfig`]; [`QuicSocket::transport_params`] |
//! | `CONFIG` | [`QuicConfig`]: [`ClientConfig::quic_config`] / [`ClientConfig::set_quic_config`] (and the server's) before connect or listen; [`QuicSocket::quic_config`] as the connection runs, [`QuicSocket::set_quic_config`] for the socket's fields; [`QuicSocket::wait_session_ticket`] honours `receive_session_ticket` |
//! | `ALPN` | the rustls configuration's `alpn_protocols`; [`QuicSocket::alpn`] |
//! | `TOKEN` | client get [`QuicSocket::token`], client set [`ClientConfig::token`], server set [`QuicSocket::send_token`] |
//! | `SESSION_TICKET` | client get [`QuicSocket::session_ticket`] / [`QuicSocket::wait_session_ticket`]; server set and get: a [`tls::TicketKey`] given to [`tls::server_ticket_key`] (stateless tickets that servers sharing the key resume); client set: resumption through the rustls configuration's session store ([`QuicSocket::is_resumed`]), which takes no raw ticket |
//! | `CRYPTO_SECRET` / `TRANSPORT_PARAM_EXT` | [`QuicSocket::set_crypto_secret`] / [`QuicSocket::transport_param_ext`], [`QuicSocket::set_transport_param_ext`] |
//! | handshake messages with `QUIC_HANDSHAKE_INFO` | [`QuicSocket::recv_handshake`] / [`QuicSocket::send_handshake`] |
//! | `SO_RCVTIMEO` / `SO_SNDTIMEO` / `O_NONBLOCK` / `SO_LINGER` | `set_read_timeout` / `set_write_timeout` / `set_nonblocking` / `set_linger` |
//! | `shutdown` / `close` | [`QuicSocket::shutdown`] / [`QuicSocket::close`] (or drop, in the background) |
//! | `poll` / epoll | [`QuicSocket::pollable`], [`QuicListener::pollable`] (`AsFd`); [`QuicPoll`] for thousands of sockets without a descriptor each |
//! | errno | [`Error::errno`] |
//!
//! # Layout
//!
//! * [`QuicListener`] and [`QuicSocket`]: the verbs (`listener`, `socket`).
//! * [`QuicEndpoint`]: one UDP socket shared by many client connections (`endpoint`);
//!   `QuicSocket::connect` uses a process-wide default one.
//! * [`Flags`]: the message flags, with Linux QUIC's values.
//! * [`events`]: the in-band events `recv` returns when enabled, in Linux QUIC's layout.
//! * [`Error`]: one error type with the errno of each case.
//! * [`handshake`]: the rustls driver over the protocol core's handshake boundary.
//! * [`tls`]: rustls configurations for QUIC.
//! * [`tokio_io`] (feature `tokio`): async connect, accept and streams for tokio.
//! * `engine` and `slot`: the thread per UDP socket, the lock per connection (their
//!   module docs say who owns what and which thread does what).
#![forbid(unsafe_code)]

mod accept_queue;
mod clock;
mod config;
mod endpoint;
mod engine;
mod error;
pub mod events;
mod flags;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
#[cfg(test)]
mod guest_tests;
pub mod handshake;
mod handshakes;
mod listener;
mod poll;
mod qlog_file;
pub mod quic_config;
#[cfg(test)]
mod quic_config_tests;
mod readiness;
mod rx_buffers;
mod slot;
mod socket;
mod socket_handshake;
mod strays;
#[cfg(test)]
mod tests;
mod ticket_key;
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio_io;

pub use config::{ClientConfig, ServerConfig, SocketConfig, TransportConfig};
pub use endpoint::QuicEndpoint;
pub use engine::quiesce;
pub use error::{Error, Result};
pub use events::{EventType, QuicEvent};
pub use flags::Flags;
pub use listener::QuicListener;
pub use poll::QuicPoll;
pub use quic_config::{ConfigError, QuicConfig};
pub use socket::{QuicSocket, StreamHandle, StreamPoll, DEFAULT_LINGER, DEFAULT_TICKET_WAIT};
pub use socket_handshake::{client_handshake, server_handshake};

pub use quicsock_proto as proto;
pub use quicsock_proto::conn::ConnectionStats;
