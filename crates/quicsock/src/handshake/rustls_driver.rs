//! The rustls handshake driver (RFC 9001 §4 over rustls 0.23's QUIC API).
//!
//! Each connection gets its own copy of the application's rustls configuration with a
//! [`SecretCapture`] as key log, so secrets go to the transport and nowhere else (lines
//! are still forwarded to the configured key log). TLS messages cross the boundary per
//! level; the bytes `write_hs` produces belong to the level in force before it reports a
//! key change. TLS failures close the connection with CRYPTO_ERROR carrying the alert
//! (RFC 9001 §4.8), for example `bad_certificate` (42) or `unknown_ca` (48) when the
//! server's certificate does not verify and `no_application_protocol` (120) when no ALPN
//! matches.

use std::sync::Arc;

use quicsock_proto::conn::{Connection, HandshakeDriver, Level};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::packet::Version;
use quicsock_proto::{Side, Timestamp, TransportError, TransportErrorCode};
use rustls::pki_types::ServerName;
use rustls::quic;

use super::secrets::SecretCapture;
use super::Boundary;

/// TLS alert internal_error.
const INTERNAL_ERROR: u8 = 80;
/// TLS alert handshake_failure.
const HANDSHAKE_FAILURE: u8 = 40;
/// TLS alert unexpected_message.
const UNEXPECTED_MESSAGE: u8 = 10;

/// The rustls configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The server name is not a valid DNS name or IP address.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// The certificate chain or key was refused.
    #[error("certificate or key refused: {0}")]
    Certificate(String),
}

enum Role {
    Client {
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    },
    Server {
        config: Arc<rustls::ServerConfig>,
    },
    /// A server whose handshake completed: TLS has nothing more to do (a QUIC client
    /// sends no TLS message after its Finished, RFC 9001 §4.1.3), so its state is gone and
    /// only what the application may still ask about is kept.
    ServerDone(Box<Negotiated>),
}

/// What a completed server handshake negotiated.
#[derive(Debug)]
struct Negotiated {
    alpn: Option<Vec<u8>>,
    resumed: Option<bool>,
    server_name: Option<String>,
    suite: Option<CipherSuite>,
}

/// Drives a TLS 1.3 handshake with rustls over a connection's handshake boundary.
///
/// A server's TLS state (over two kilobytes) is dropped once its handshake completes.
pub struct RustlsDriver {
    role: Role,
    tls: Option<Box<quic::Connection>>,
    capture: Arc<SecretCapture>,
    write_level: Level,
    peer_params_set: bool,
    complete: bool,
    last_error: Option<String>,
    /// 1-RTT handshake bytes (NewSessionTicket messages) not yet a whole message.
    ticket_buf: Vec<u8>,
    /// The last whole NewSessionTicket message (clients).
    ticket: Option<Vec<u8>>,
    /// A client sent early data; whether the server took it is not reported yet.
    early_data: bool,
}

impl std::fmt::Debug for RustlsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsDriver")
            .field("write_level", &self.write_level)
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

impl RustlsDriver {
    /// A client driver that connects to `server_name` (checked against the server's
    /// certificate and sent as SNI).
    pub fn client(
        config: Arc<rustls::ClientConfig>,
        server_name: &str,
    ) -> Result<Self, TlsConfigError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsConfigError::ServerName(server_name.into()))?;
        let capture = Arc::new(SecretCapture::new(config.key_log.clone()));
        let mut config = (*config).clone();
        config.key_log = capture.clone();
        Ok(Self::new(
            Role::Client {
                config: Arc::new(config),
                name,
            },
            capture,
        ))
    }

    /// A server driver.
    pub fn server(config: Arc<rustls::ServerConfig>) -> Self {
        let capture = Arc::new(SecretCapture::new(config.key_log.clone()));
        let mut config = (*config).clone();
        config.key_log = capture.clone();
        Self::new(
            Role::Server {
                config: Arc::new(config),
            },
            capture,
        )
    }

    fn new(role: Role, capture: Arc<SecretCapture>) -> Self {
        Self {
            role,
            tls: None,
            capture,
            write_level: Level::Initial,
            peer_params_set: false,
            complete: false,
            last_error: None,
            ticket_buf: Vec::new(),
            ticket: None,
            early_data: false,
        }
    }

    /// rustls's description of the last failure, for logs.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The negotiated cipher suite, once known.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        if let Role::ServerDone(n) = &self.role {
            return n.suite;
        }
        let suite = self.tls.as_ref()?.negotiated_cipher_suite()?;
        CipherSuite::from_tls_id(u16::from(suite.suite()))
    }

    fn side(&self) -> Side {
        match self.role {
            Role::Client { .. } => Side::Client,
            Role::Server { .. } | Role::ServerDone(_) => Side::Server,
        }
    }

    /// A server's handshake completed: keep what it negotiated, drop the TLS state and
    /// this connection's copy of the configuration.
    fn release_server(&mut self) {
        let Some(tls) = self.tls.take() else {
            return;
        };
        let negotiated = Negotiated {
            alpn: tls.alpn_protocol().map(<[u8]>::to_vec),
            resumed: tls
                .handshake_kind()
                .map(|k| k == rustls::HandshakeKind::Resumed),
            server_name: match &*tls {
                quic::Connection::Server(s) => s.server_name().map(str::to_owned),
                quic::Connection::Client(_) => None,
            },
            suite: tls
                .negotiated_cipher_suite()
                .and_then(|s| CipherSuite::from_tls_id(u16::from(s.suite()))),
        };
        self.role = Role::ServerDone(Box::new(negotiated));
        self.ticket_buf = Vec::new();
    }

    fn start(&mut self, conn: &impl Boundary) -> Result<(), TransportError> {
        let version = if conn.version() == Version::V2 {
            quic::Version::V2
        } else {
            quic::Version::V1
        };
        let params = conn.local_transport_params();
        let tls = match &self.role {
            Role::Client { config, name } => {
                quic::ClientConnection::new(config.clone(), version, name.clone(), params)
                    .map(quic::Connection::from)
            }
            Role::Server { config } => quic::ServerConnection::new(config.clone(), version, params)
                .map(quic::Connection::from),
            Role::ServerDone(_) => unreachable!("a completed handshake does not start again"),
        };
        match tls {
            Ok(tls) => {
                self.tls = Some(Box::new(tls));
                Ok(())
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                Err(TransportError::new(
                    TransportErrorCode::crypto(INTERNAL_ERROR),
                    "TLS configuration cannot be used for QUIC",
                ))
            }
        }
    }

    /// Moves what TLS wants to send, and the secrets it derived, to the connection.
    fn flush(&mut self, conn: &mut impl Boundary) -> Result<(), TransportError> {
        let side = self.side();
        let tls = self.tls.as_mut().expect("started");
        loop {
            let mut out = Vec::new();
            let change = tls.write_hs(&mut out);
            if !out.is_empty() {
                conn.write_handshake(self.write_level, &out);
            }
            match change {
                Some(quic::KeyChange::Handshake { .. }) => self.write_level = Level::Handshake,
                Some(quic::KeyChange::OneRtt { .. }) => self.write_level = Level::OneRtt,
                None if out.is_empty() => break,
                None => {}
            }
        }
        let secrets = self.capture.take();
        if !secrets.is_empty() {
            let suite = tls
                .negotiated_cipher_suite()
                .and_then(|s| CipherSuite::from_tls_id(u16::from(s.suite())))
                .ok_or(TransportError::new(
                    TransportErrorCode::crypto(HANDSHAKE_FAILURE),
                    "negotiated a cipher suite QUIC cannot use",
                ))?;
            for s in secrets {
                if s.level == Level::ZeroRtt {
                    // rustls logs the early secret of every resumption, also one whose
                    // early data it refuses (a server) or does not send (a client); it
                    // has 0-RTT keys only when early data goes ahead.
                    if tls.zero_rtt_keys().is_none() {
                        continue;
                    }
                    // Resuming, a client's rustls reports the remembered server
                    // parameters until the server's arrive.
                    let client = matches!(**tls, quic::Connection::Client(_));
                    if let (true, Some(p)) = (client, tls.quic_transport_parameters()) {
                        conn.set_zero_rtt_params(p)?;
                        self.early_data = true;
                    }
                }
                conn.install_secret(s.level, s.direction(side), suite, &s.secret)?;
            }
        }
        Ok(())
    }

    fn take_peer_params(&mut self, conn: &mut impl Boundary) -> Result<(), TransportError> {
        if self.peer_params_set {
            return Ok(());
        }
        let tls = self.tls.as_ref().expect("started");
        if let Some(params) = tls.quic_transport_parameters() {
            let params = params.to_vec();
            self.peer_params_set = true;
            conn.set_peer_transport_params(&params)?;
        }
        Ok(())
    }

    /// Advances the handshake with `pending` (handshake bytes already taken from the
    /// connection, such as a ClientHello read to pick a listener) and what arrived since.
    pub(crate) fn drive_with(
        &mut self,
        conn: &mut impl Boundary,
        pending: &[u8],
    ) -> Result<(), TransportError> {
        if matches!(self.role, Role::ServerDone(_)) {
            // RFC 9001 §4.1.3: nothing follows the client's Finished.
            if conn.read_handshake().is_some() {
                return Err(TransportError::new(
                    TransportErrorCode::crypto(UNEXPECTED_MESSAGE),
                    "TLS message from the client after the handshake",
                ));
            }
            return Ok(());
        }
        if self.tls.is_none() {
            self.start(conn)?;
        }
        if !pending.is_empty() {
            self.absorb(conn, pending)?;
        }
        while let Some((level, data)) = conn.read_handshake() {
            if level == Level::OneRtt && matches!(self.role, Role::Client { .. }) {
                self.keep_ticket(&data);
            }
            self.absorb(conn, &data)?;
        }
        if !self.tls.as_ref().expect("started").is_handshaking() {
            if std::mem::take(&mut self.early_data) {
                if let quic::Connection::Client(c) = &**self.tls.as_ref().expect("started") {
                    conn.zero_rtt_outcome(c.is_early_data_accepted());
                }
            }
            self.take_peer_params(conn)?;
        }
        self.flush(conn)?;
        let tls = self.tls.as_ref().expect("started");
        if !self.complete && !tls.is_handshaking() {
            self.complete = true;
            conn.handshake_complete()?;
            if matches!(self.role, Role::Server { .. }) {
                self.release_server();
            }
        }
        Ok(())
    }

    /// Hands received handshake bytes to TLS.
    fn absorb(&mut self, conn: &mut impl Boundary, data: &[u8]) -> Result<(), TransportError> {
        let tls = self.tls.as_mut().expect("started");
        if let Err(e) = tls.read_hs(data) {
            // Whatever TLS wrote (its alert is carried by CRYPTO_ERROR instead) is moot.
            return Err(self.tls_error(e));
        }
        // A server has the client's parameters once it read the ClientHello. A client
        // waits for the end of the handshake: when it resumes a session, rustls reports
        // the parameters remembered from that session until EncryptedExtensions arrive.
        if matches!(self.role, Role::Server { .. }) {
            self.take_peer_params(conn)?;
        }
        Ok(())
    }

    /// Keeps a copy of each whole NewSessionTicket message (TLS handshake type 4) the
    /// server sends after the handshake, for the application (Linux QUIC's SESSION_TICKET).
    fn keep_ticket(&mut self, data: &[u8]) {
        const NEW_SESSION_TICKET: u8 = 4;
        const MAX_TICKET: usize = 4096;
        self.ticket_buf.extend_from_slice(data);
        while self.ticket_buf.len() >= 4 {
            let len = usize::from(self.ticket_buf[1]) << 16
                | usize::from(self.ticket_buf[2]) << 8
                | usize::from(self.ticket_buf[3]);
            if len + 4 > MAX_TICKET {
                // Not a message this copy keeps; rustls judges it anyway.
                self.ticket_buf.clear();
                return;
            }
            if self.ticket_buf.len() < len + 4 {
                return;
            }
            let msg: Vec<u8> = self.ticket_buf.drain(..len + 4).collect();
            if msg[0] == NEW_SESSION_TICKET {
                self.ticket = Some(msg);
            }
        }
    }

    fn tls_error(&mut self, e: rustls::Error) -> TransportError {
        let alert = self
            .tls
            .as_ref()
            .and_then(|t| t.alert())
            .map_or(INTERNAL_ERROR, u8::from);
        self.last_error = Some(e.to_string());
        let reason = match alert {
            42 => "TLS: bad certificate",
            43 => "TLS: unsupported certificate",
            45 => "TLS: certificate expired",
            46 => "TLS: certificate unknown",
            48 => "TLS: unknown certificate authority",
            40 => "TLS: handshake failure",
            109 => "TLS: missing extension",
            120 => "TLS: no application protocol",
            _ => "TLS handshake failed",
        };
        TransportError::new(TransportErrorCode::crypto(alert), reason)
    }
}

impl HandshakeDriver for RustlsDriver {
    fn drive(&mut self, conn: &mut Connection, _now: Timestamp) -> Result<(), TransportError> {
        self.drive_with(conn, &[])
    }

    fn alpn(&self) -> Option<&[u8]> {
        if let Role::ServerDone(n) = &self.role {
            return n.alpn.as_deref();
        }
        self.tls.as_ref()?.alpn_protocol()
    }

    /// Whether the handshake resumed an earlier session (a PSK handshake, RFC 8446 §2.2),
    /// once known.
    fn is_resumed(&self) -> Option<bool> {
        if let Role::ServerDone(n) = &self.role {
            return n.resumed;
        }
        let kind = self.tls.as_ref()?.handshake_kind()?;
        Some(kind == rustls::HandshakeKind::Resumed)
    }

    fn session_ticket(&self) -> Option<&[u8]> {
        self.ticket.as_deref()
    }

    fn server_name(&self) -> Option<&str> {
        if let Role::ServerDone(n) = &self.role {
            return n.server_name.as_deref();
        }
        match &**self.tls.as_ref()? {
            quic::Connection::Server(s) => s.server_name(),
            quic::Connection::Client(_) => None,
        }
    }
}
