//! The fixed-secret handshake driver, the "fake handshake" of Linux QUIC's selftest
//! (reference §3.3): no TLS, fixed secrets per level and direction, and TLS-framed fake
//! messages that carry the transport parameters. It exercises the whole handshake
//! boundary (bytes per level, transport parameters, secrets, completion) so the transport
//! can be tested without a TLS library.
//!
//! Flight by flight:
//! * client Initial: ClientHello (type 1) whose body is the transport parameters;
//! * server Initial: ServerHello (type 2, empty, or one byte 1 when the server accepts
//!   0-RTT); server Handshake: EncryptedExtensions (type 8) whose body is the transport
//!   parameters, then Finished (type 20);
//! * client Handshake: Finished (type 20).
//!
//! 0-RTT, as TLS resumption would allow it: a client given remembered server parameters
//! ([`FixedSecretDriver::with_early_data`]) installs the fixed early secret before its
//! ClientHello; a server set to accept ([`FixedSecretDriver::accepting_early_data`])
//! installs it when the ClientHello comes and says so in its ServerHello.

use super::{Connection, Direction, HandshakeDriver, Level};
use crate::crypto::CipherSuite;
use crate::time::Timestamp;
use crate::{Side, TransportError, TransportErrorCode};

const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const ENCRYPTED_EXTENSIONS: u8 = 8;
const FINISHED: u8 = 20;
/// TLS alert unexpected_message.
const UNEXPECTED_MESSAGE: u8 = 10;
/// Messages larger than this are refused (the transport parameters are far smaller).
const MAX_MESSAGE: usize = 16 * 1024;

/// The fixed secret for a level and the side that writes with it.
pub fn fixed_secret(level: Level, writer: Side, suite: CipherSuite) -> Vec<u8> {
    let base = match level {
        Level::ZeroRtt => 0x30,
        Level::Handshake => 0x10,
        _ => 0x20,
    };
    let side = if writer == Side::Client { 1 } else { 2 };
    vec![base + side; suite.hash_len()]
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Start,
    WaitServerHello,
    WaitExtensions,
    WaitFinished,
    Done,
}

/// The fixed-secret handshake driver.
#[derive(Debug)]
pub struct FixedSecretDriver {
    side: Side,
    suite: CipherSuite,
    state: State,
    /// Partial messages per level (Initial, Handshake).
    pending: [Vec<u8>; 2],
    /// Client: the remembered server parameters 0-RTT data goes out within. Server:
    /// whether early data is accepted (any value).
    early: Option<Vec<u8>>,
}

impl FixedSecretDriver {
    /// A driver for `side` that installs secrets for `suite`.
    pub fn new(side: Side, suite: CipherSuite) -> Self {
        Self {
            side,
            suite,
            state: State::Start,
            pending: [Vec::new(), Vec::new()],
            early: None,
        }
    }

    /// A client that sends 0-RTT data within `remembered`, the server's transport
    /// parameters from an earlier connection.
    pub fn with_early_data(mut self, remembered: Vec<u8>) -> Self {
        self.early = Some(remembered);
        self
    }

    /// A server that accepts 0-RTT data.
    pub fn accepting_early_data(mut self) -> Self {
        self.early = Some(Vec::new());
        self
    }

    /// Installs the early secret in the direction `side` uses it.
    fn install_early(&self, conn: &mut Connection) -> Result<(), TransportError> {
        let dir = match self.side {
            Side::Client => Direction::Write,
            Side::Server => Direction::Read,
        };
        let secret = fixed_secret(Level::ZeroRtt, Side::Client, self.suite);
        conn.install_secret(Level::ZeroRtt, dir, self.suite, &secret)
    }

    fn install(&self, conn: &mut Connection, level: Level) -> Result<(), TransportError> {
        let peer = match self.side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        conn.install_secret(
            level,
            Direction::Write,
            self.suite,
            &fixed_secret(level, self.side, self.suite),
        )?;
        conn.install_secret(
            level,
            Direction::Read,
            self.suite,
            &fixed_secret(level, peer, self.suite),
        )
    }

    fn message(conn: &mut Connection, level: Level, ty: u8, body: &[u8]) {
        let len = body.len() as u32;
        let mut m = vec![ty, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        m.extend_from_slice(body);
        conn.write_handshake(level, &m);
    }

    fn on_message(
        &mut self,
        conn: &mut Connection,
        level: Level,
        ty: u8,
        body: &[u8],
    ) -> Result<(), TransportError> {
        let unexpected = || {
            TransportError::new(
                TransportErrorCode::crypto(UNEXPECTED_MESSAGE),
                "unexpected handshake message",
            )
        };
        match (self.side, self.state, level, ty) {
            (Side::Server, State::Start, Level::Initial, CLIENT_HELLO) => {
                conn.set_peer_transport_params(body)?;
                let accept = self.early.is_some();
                if accept {
                    self.install_early(conn)?;
                }
                Self::message(
                    conn,
                    Level::Initial,
                    SERVER_HELLO,
                    &[1][..usize::from(accept)],
                );
                self.install(conn, Level::Handshake)?;
                let tp = conn.local_transport_params();
                Self::message(conn, Level::Handshake, ENCRYPTED_EXTENSIONS, &tp);
                Self::message(conn, Level::Handshake, FINISHED, &[]);
                self.install(conn, Level::OneRtt)?;
                self.state = State::WaitFinished;
            }
            (Side::Server, State::WaitFinished, Level::Handshake, FINISHED) => {
                self.state = State::Done;
                conn.handshake_complete()?;
            }
            (Side::Client, State::WaitServerHello, Level::Initial, SERVER_HELLO) => {
                conn.zero_rtt_outcome(body == [1]);
                self.install(conn, Level::Handshake)?;
                self.state = State::WaitExtensions;
            }
            (Side::Client, State::WaitExtensions, Level::Handshake, ENCRYPTED_EXTENSIONS) => {
                conn.set_peer_transport_params(body)?;
                self.state = State::WaitFinished;
            }
            (Side::Client, State::WaitFinished, Level::Handshake, FINISHED) => {
                self.install(conn, Level::OneRtt)?;
                Self::message(conn, Level::Handshake, FINISHED, &[]);
                self.state = State::Done;
                conn.handshake_complete()?;
            }
            _ => return Err(unexpected()),
        }
        Ok(())
    }
}

impl HandshakeDriver for FixedSecretDriver {
    fn drive(&mut self, conn: &mut Connection, _now: Timestamp) -> Result<(), TransportError> {
        if self.side == Side::Client && self.state == State::Start {
            if let Some(remembered) = self.early.take() {
                conn.set_zero_rtt_params(&remembered)?;
                self.install_early(conn)?;
            }
            let tp = conn.local_transport_params();
            Self::message(conn, Level::Initial, CLIENT_HELLO, &tp);
            self.state = State::WaitServerHello;
        }
        while let Some((level, data)) = conn.read_handshake() {
            let i = match level {
                Level::Initial => 0,
                Level::Handshake => 1,
                _ => {
                    // Post-handshake messages (tickets) are not part of this handshake.
                    continue;
                }
            };
            self.pending[i].extend_from_slice(&data);
            loop {
                let buf = &self.pending[i];
                if buf.len() < 4 {
                    break;
                }
                let len =
                    usize::from(buf[1]) << 16 | usize::from(buf[2]) << 8 | usize::from(buf[3]);
                if len > MAX_MESSAGE {
                    return Err(TransportError::new(
                        TransportErrorCode::crypto(UNEXPECTED_MESSAGE),
                        "handshake message too large",
                    ));
                }
                if buf.len() < 4 + len {
                    break;
                }
                let ty = buf[0];
                let body: Vec<u8> = buf[4..4 + len].to_vec();
                self.pending[i].drain(..4 + len);
                self.on_message(conn, level, ty, &body)?;
            }
        }
        Ok(())
    }

    fn alpn(&self) -> Option<&[u8]> {
        Some(b"fake")
    }
}
