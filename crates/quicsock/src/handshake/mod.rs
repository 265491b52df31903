//! Handshake drivers: TLS 1.3 over the connection's handshake boundary (DESIGN.md).
//!
//! * [`RustlsDriver`] — rustls 0.23's QUIC API. rustls hands out packet keys, not secrets;
//!   the driver takes the secrets from rustls's key-log interface instead
//!   ([`secrets::SecretCapture`]), so the transport derives its own keys as the boundary
//!   requires.
//! * The fixed-secret test driver lives in the protocol core
//!   ([`quicsock_proto::conn::FixedSecretDriver`]).

pub(crate) mod client_hello;
pub(crate) mod dispatch;
mod rustls_driver;
mod secrets;
#[cfg(test)]
mod tests;

pub use rustls_driver::{RustlsDriver, TlsConfigError};

use quicsock_proto::conn::{Connection, Direction, Level};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::packet::Version;
use quicsock_proto::TransportError;

/// The handshake boundary as a TLS driver sees it: the connection itself (inside the
/// engine), or a socket whose application drives the handshake through socket calls
/// (`socket_handshake`), as libquic drives GnuTLS over a Linux QUIC socket.
pub(crate) trait Boundary {
    fn version(&self) -> Version;
    fn local_transport_params(&self) -> Vec<u8>;
    fn read_handshake(&mut self) -> Option<(Level, Vec<u8>)>;
    fn write_handshake(&mut self, level: Level, data: &[u8]);
    fn install_secret(
        &mut self,
        level: Level,
        dir: Direction,
        suite: CipherSuite,
        secret: &[u8],
    ) -> Result<(), TransportError>;
    fn set_peer_transport_params(&mut self, body: &[u8]) -> Result<(), TransportError>;
    fn handshake_complete(&mut self) -> Result<(), TransportError>;
    fn set_zero_rtt_params(&mut self, body: &[u8]) -> Result<(), TransportError>;
    fn zero_rtt_outcome(&mut self, accepted: bool);
}

impl Boundary for Connection {
    fn version(&self) -> Version {
        Self::version(self)
    }
    fn local_transport_params(&self) -> Vec<u8> {
        Self::local_transport_params(self)
    }
    fn read_handshake(&mut self) -> Option<(Level, Vec<u8>)> {
        Self::read_handshake(self)
    }
    fn write_handshake(&mut self, level: Level, data: &[u8]) {
        Self::write_handshake(self, level, data);
    }
    fn install_secret(
        &mut self,
        level: Level,
        dir: Direction,
        suite: CipherSuite,
        secret: &[u8],
    ) -> Result<(), TransportError> {
        Self::install_secret(self, level, dir, suite, secret)
    }
    fn set_peer_transport_params(&mut self, body: &[u8]) -> Result<(), TransportError> {
        Self::set_peer_transport_params(self, body)
    }
    fn handshake_complete(&mut self) -> Result<(), TransportError> {
        Self::handshake_complete(self)
    }
    fn set_zero_rtt_params(&mut self, body: &[u8]) -> Result<(), TransportError> {
        Self::set_zero_rtt_params(self, body)
    }
    fn zero_rtt_outcome(&mut self, accepted: bool) {
        Self::zero_rtt_outcome(self, accepted);
    }
}
pub use secrets::SecretCapture;
