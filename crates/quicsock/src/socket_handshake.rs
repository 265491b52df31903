//! libquic's `quic_client_handshake` / `quic_server_handshake` in Rust: rustls driven
//! over a socket's handshake calls (reference §1.8, §1.9). The socket was made without a
//! handshake ([`QuicSocket::connect_without_handshake`], or a listener with
//! [`ServerConfig::manual_handshake`](crate::ServerConfig::manual_handshake)); these
//! functions exchange the TLS messages with `recv_handshake` / `send_handshake`, hand the
//! transport parameters over with `transport_param_ext`, install secrets with
//! `set_crypto_secret` and finish with `complete_handshake`, exactly what a C program with
//! another TLS library does through the same calls.

use std::sync::Arc;
use std::time::Duration;

use quicsock_proto::conn::{Connection, Direction, HandshakeDriver, Level};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::packet::Version;
use quicsock_proto::{Timestamp, TransportError, TransportErrorCode};

use crate::handshake::{Boundary, RustlsDriver};
use crate::{Error, QuicSocket, Result};

/// TLS handshake message type of a NewSessionTicket (RFC 8446 §4.6.1).
const NEW_SESSION_TICKET: u8 = 4;

/// The most 1-RTT handshake bytes a client holds while a message is incomplete.
const MAX_TICKET_BYTES: usize = 64 * 1024;

/// The driver of a connection whose application drives the handshake. The handshake is
/// the application's; once it is complete, a client's driver takes the server's
/// NewSessionTicket messages from the 1-RTT level and keeps the last one (Linux QUIC's
/// SESSION_TICKET option, client get; the NEW_SESSION_TICKET event), since the
/// application's TLS library is done with the connection by then.
#[derive(Debug, Default)]
pub(crate) struct ManualDriver {
    /// 1-RTT handshake bytes not yet a whole message.
    pending: Vec<u8>,
    /// The last whole NewSessionTicket, raw.
    ticket: Option<Vec<u8>>,
}

impl HandshakeDriver for ManualDriver {
    fn drive(&mut self, conn: &mut Connection, _now: Timestamp) -> Result<(), TransportError> {
        if !conn.is_handshake_complete() || conn.side() != quicsock_proto::Side::Client {
            return Ok(());
        }
        while let Some(chunk) = conn.read_handshake_at(Level::OneRtt) {
            if self.pending.len() + chunk.len() > MAX_TICKET_BYTES {
                return Err(TransportError::new(
                    TransportErrorCode::CRYPTO_BUFFER_EXCEEDED,
                    "a 1-RTT handshake message beyond 64 KiB",
                ));
            }
            self.pending.extend_from_slice(&chunk);
            while self.pending.len() >= 4 {
                let len = u32::from_be_bytes([0, self.pending[1], self.pending[2], self.pending[3]])
                    as usize;
                if self.pending.len() < 4 + len {
                    break;
                }
                let message: Vec<u8> = self.pending.drain(..4 + len).collect();
                if message[0] != NEW_SESSION_TICKET {
                    // The only post-handshake message a QUIC server sends (RFC 9001 §4.1.3).
                    return Err(TransportError::new(
                        TransportErrorCode::crypto(10),
                        "an unexpected post-handshake message",
                    ));
                }
                self.ticket = Some(message);
            }
        }
        Ok(())
    }

    fn session_ticket(&self) -> Option<&[u8]> {
        self.ticket.as_deref()
    }
}

/// The socket's handshake calls as the boundary a TLS driver uses.
struct SocketBoundary<'a> {
    sock: &'a QuicSocket,
    /// The first failure of a call that cannot return one.
    failed: Option<Error>,
}

fn transport(e: Error) -> TransportError {
    let _ = e;
    TransportError::new(
        TransportErrorCode::INTERNAL_ERROR,
        "the socket refused a handshake call",
    )
}

impl Boundary for SocketBoundary<'_> {
    fn version(&self) -> Version {
        self.sock.version()
    }

    fn local_transport_params(&self) -> Vec<u8> {
        self.sock.transport_param_ext().unwrap_or_default()
    }

    fn read_handshake(&mut self) -> Option<(Level, Vec<u8>)> {
        self.sock.try_recv_handshake()
    }

    fn write_handshake(&mut self, level: Level, data: &[u8]) {
        if let Err(e) = self.sock.send_handshake(level, data) {
            self.failed.get_or_insert(e);
        }
    }

    fn install_secret(
        &mut self,
        level: Level,
        dir: Direction,
        suite: CipherSuite,
        secret: &[u8],
    ) -> Result<(), TransportError> {
        self.sock
            .set_crypto_secret(level, dir, suite, secret)
            .map_err(transport)
    }

    fn set_peer_transport_params(&mut self, body: &[u8]) -> Result<(), TransportError> {
        self.sock.set_transport_param_ext(body).map_err(transport)
    }

    fn handshake_complete(&mut self) -> Result<(), TransportError> {
        self.sock.complete_handshake().map_err(transport)
    }

    fn set_zero_rtt_params(&mut self, body: &[u8]) -> Result<(), TransportError> {
        self.sock.set_zero_rtt_params(body).map_err(transport)
    }

    fn zero_rtt_outcome(&mut self, accepted: bool) {
        if let Err(e) = self.sock.set_zero_rtt_outcome(accepted) {
            self.failed.get_or_insert(e);
        }
    }
}

/// Runs rustls as a client over `sock`'s handshake calls until the handshake completes
/// (like libquic's `quic_client_handshake`). A TLS failure closes the connection with
/// CRYPTO_ERROR and the alert, and is returned.
pub fn client_handshake(
    sock: &QuicSocket,
    tls: Arc<rustls::ClientConfig>,
    server_name: &str,
    timeout: Duration,
) -> Result<()> {
    run(sock, RustlsDriver::client(tls, server_name)?, timeout)
}

/// Runs rustls as a server over `sock`'s handshake calls (like libquic's
/// `quic_server_handshake`); `sock` came from a listener with manual handshakes.
pub fn server_handshake(
    sock: &QuicSocket,
    tls: Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> Result<()> {
    run(sock, RustlsDriver::server(tls), timeout)
}

#[allow(clippy::disallowed_methods)]
fn run(sock: &QuicSocket, mut driver: RustlsDriver, timeout: Duration) -> Result<()> {
    let end = std::time::Instant::now() + timeout;
    let restore = sock.read_timeout();
    let result = loop {
        let mut b = SocketBoundary { sock, failed: None };
        if let Err(e) = driver.drive_with(&mut b, &[]) {
            sock.close_transport(e.clone());
            break Err(Error::Handshake(
                quicsock_proto::conn::ConnectionError::Local(e.into()),
            ));
        }
        if let Some(e) = b.failed {
            break Err(e);
        }
        if sock.is_established() {
            break Ok(());
        }
        // Wait for the peer's next flight.
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            sock.close_transport(TransportError::new(
                TransportErrorCode::APPLICATION_ERROR,
                "handshake timeout",
            ));
            break Err(Error::Handshake(
                quicsock_proto::conn::ConnectionError::TimedOut,
            ));
        }
        sock.set_read_timeout(Some(left));
        match sock.recv_handshake() {
            Ok((_, data)) => {
                // Hand it to TLS on the next turn.
                let mut b = SocketBoundary { sock, failed: None };
                if let Err(e) = driver.drive_with(&mut b, &data) {
                    sock.close_transport(e.clone());
                    break Err(Error::Handshake(
                        quicsock_proto::conn::ConnectionError::Local(e.into()),
                    ));
                }
            }
            Err(Error::TimedOut) => continue,
            Err(e) => break Err(e),
        }
    };
    sock.set_read_timeout(restore);
    // A connection that closed during its handshake failed the handshake.
    result.map_err(|e| match e {
        Error::Closed(c) => Error::Handshake(c),
        e => e,
    })
}
