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
pub use secrets::SecretCapture;
