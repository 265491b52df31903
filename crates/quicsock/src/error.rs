//! Errors of the socket API, each with the errno Linux QUIC returns for it (reference
//! §1.4, §1.10), so that the C ABI can report the same.

use std::io;

use quicsock_proto::conn::ConnectionError;

use crate::handshake::TlsConfigError;

/// Why a socket operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Non-blocking, and the operation would have to wait (`EAGAIN`).
    #[error("operation would block")]
    WouldBlock,
    /// A send or receive timeout passed (`EAGAIN`, as SO_SNDTIMEO/SO_RCVTIMEO give).
    #[error("timed out")]
    TimedOut,
    /// The connection is closed; why (`EPIPE` on send, `ENOTCONN` on recv).
    #[error("connection closed: {0}")]
    Closed(ConnectionError),
    /// The handshake did not complete: the peer or the TLS layer refused it, or it timed
    /// out (`ECONNREFUSED` / `ETIMEDOUT`).
    #[error("handshake failed: {0}")]
    Handshake(ConnectionError),
    /// An argument or the stream's state does not allow the call (`EINVAL`).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The stream was closed and freed (`ENOSTR`).
    #[error("stream {0} is closed")]
    StreamClosed(i64),
    /// The peer reset the stream with this application error code (`ECONNRESET`).
    #[error("stream {0} reset by peer with code {1}")]
    StreamReset(i64, u64),
    /// The peer asked us to stop sending on the stream, with this code (`EPIPE`).
    #[error("stream {0} stopped by peer with code {1}")]
    StreamStopped(i64, u64),
    /// A datagram larger than one packet or the peer's limit, or an empty send without
    /// FIN (`EMSGSIZE`).
    #[error("message too large or empty: at most {0} bytes")]
    MessageSize(usize),
    /// The peer did not enable what the call needs, such as DATAGRAM frames (`EINVAL`).
    #[error("not supported by the peer: {0}")]
    Unsupported(&'static str),
    /// The socket's engine failed (a bug: its thread panicked, or another thread panicked
    /// holding its state); every connection on that UDP socket was closed.
    #[error("the socket's engine failed, closing its connections: {0}")]
    EngineFailed(String),
    /// A migration cannot start (`EINVAL`; `EBUSY` while one is being validated).
    #[error("cannot migrate: {0}")]
    Migration(#[from] quicsock_proto::conn::MigrationError),
    /// The TLS configuration cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
    /// The operating system refused a socket call.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// The errno Linux QUIC returns for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Self::WouldBlock | Self::TimedOut => 11,           // EAGAIN
            Self::Closed(_) => 32,                             // EPIPE
            Self::Handshake(ConnectionError::TimedOut) => 110, // ETIMEDOUT
            Self::Handshake(_) => 111,                         // ECONNREFUSED
            Self::InvalidArgument(_) | Self::Unsupported(_) | Self::Tls(_) => 22, // EINVAL
            Self::StreamClosed(_) => 60,                       // ENOSTR
            Self::StreamReset(..) => 104,                      // ECONNRESET
            Self::StreamStopped(..) => 32,                     // EPIPE
            Self::MessageSize(_) => 90,                        // EMSGSIZE
            Self::EngineFailed(_) => 5,                        // EIO
            Self::Migration(quicsock_proto::conn::MigrationError::InProgress) => 16, // EBUSY
            Self::Migration(_) => 22,                          // EINVAL
            Self::Io(e) => e.raw_os_error().unwrap_or(5),      // EIO
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::WouldBlock => io::ErrorKind::WouldBlock,
            Error::TimedOut => io::ErrorKind::TimedOut,
            Error::Closed(_) | Error::StreamStopped(..) => io::ErrorKind::BrokenPipe,
            Error::StreamReset(..) => io::ErrorKind::ConnectionReset,
            Error::Handshake(_) => io::ErrorKind::ConnectionRefused,
            Error::InvalidArgument(_)
            | Error::MessageSize(_)
            | Error::Unsupported(_)
            | Error::Migration(_)
            | Error::Tls(_) => io::ErrorKind::InvalidInput,
            Error::StreamClosed(_) => io::ErrorKind::NotConnected,
            Error::EngineFailed(_) => io::ErrorKind::Other,
            Error::Io(e) => return Self::new(e.kind(), e.to_string()),
        };
        Self::new(kind, e)
    }
}

/// The result of a socket operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
