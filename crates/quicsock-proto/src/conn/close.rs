//! Closing a connection (RFC 9000 §10): idle timeout, immediate close with
//! CONNECTION_CLOSE, and the closing and draining periods of §10.2.

use std::fmt;

use super::{Connection, EndpointEvent, Event, Phase};
use crate::frame::{CloseReason, FrameType};
use crate::time::Timestamp;
use crate::{TransportError, TransportErrorCode, VarInt};

/// The code a connection was closed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseCode {
    /// A transport error (CONNECTION_CLOSE type 0x1c).
    Transport {
        /// The error code.
        code: TransportErrorCode,
        /// The frame type that caused it, if known.
        frame_type: Option<FrameType>,
        /// The reason phrase.
        reason: String,
    },
    /// An application error (CONNECTION_CLOSE type 0x1d).
    Application {
        /// The application's error code.
        code: u64,
        /// The reason phrase.
        reason: String,
    },
}

impl CloseCode {
    pub(crate) fn internal(reason: &str) -> Self {
        Self::Transport {
            code: TransportErrorCode::INTERNAL_ERROR,
            frame_type: None,
            reason: reason.into(),
        }
    }

    /// The transport error code, if this is a transport close.
    pub fn transport_code(&self) -> Option<TransportErrorCode> {
        match self {
            Self::Transport { code, .. } => Some(*code),
            Self::Application { .. } => None,
        }
    }
}

impl From<TransportError> for CloseCode {
    fn from(e: TransportError) -> Self {
        Self::Transport {
            code: e.code,
            frame_type: e.frame_type,
            reason: e.reason.into(),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport {
                code,
                frame_type,
                reason,
            } => {
                write!(f, "{code}")?;
                if let Some(ty) = frame_type {
                    write!(f, " in {ty}")?;
                }
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
            Self::Application { code, reason } => {
                write!(f, "application error {code}")?;
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer closed the connection.
    #[error("closed by peer: {0}")]
    Peer(CloseCode),
    /// This side closed the connection (the application, or an error it detected).
    #[error("closed locally: {0}")]
    Local(CloseCode),
    /// Nothing arrived within the idle timeout.
    #[error("idle timeout")]
    TimedOut,
    /// The peer sent a stateless reset.
    #[error("reset by peer (stateless reset)")]
    Reset,
    /// The server answered with Version Negotiation (RFC 9000 §6.2) listing these
    /// versions, none of them the one we used. A client that speaks one of them may start
    /// again with it (RFC 9368 §4; `QuicSocket::connect` does).
    #[error("the server does not speak our QUIC version; it offers {0:?}")]
    VersionMismatch(Vec<crate::packet::Version>),
}

/// What we send while closing.
#[derive(Clone, Debug)]
pub(crate) struct Closing {
    pub(crate) reason: CloseReason,
    pub(crate) phrase: Vec<u8>,
}

impl Connection {
    /// Closes the connection with an application error code and reason (RFC 9000
    /// §10.2): CONNECTION_CLOSE goes out at the next `poll_transmit`, then the connection
    /// stays in the closing state for three PTOs.
    pub fn close(&mut self, now: Timestamp, code: VarInt, reason: &[u8]) {
        if self.is_closed() {
            return;
        }
        let close = CloseCode::Application {
            code: code.into_inner(),
            reason: String::from_utf8_lossy(reason).into_owned(),
        };
        self.start_closing(
            now,
            CloseReason::Application { code },
            reason.to_vec(),
            ConnectionError::Local(close),
        );
    }

    /// Closes the connection with a transport error, such as the CRYPTO_ERROR of a TLS
    /// alert from a handshake driven outside the connection.
    pub fn close_transport(&mut self, now: Timestamp, e: TransportError) {
        self.close_with_error(now, e);
    }

    /// Refuses the connection: CONNECTION_CLOSE with CONNECTION_REFUSED (RFC 9000 §20.1),
    /// as a server does when it cannot take more connections.
    pub fn refuse(&mut self, now: Timestamp) {
        self.close_with_error(
            now,
            TransportError::new(TransportErrorCode::CONNECTION_REFUSED, "server busy"),
        );
    }

    /// Closes the connection for a transport error we detected.
    pub(crate) fn close_with_error(&mut self, now: Timestamp, e: TransportError) {
        if self.is_closed() {
            return;
        }
        let reason = CloseReason::Transport {
            code: e.code,
            frame_type: VarInt::saturating(e.frame_type.map_or(0, |t| t.0)),
        };
        let phrase = e.reason.as_bytes().to_vec();
        self.start_closing(now, reason, phrase, ConnectionError::Local(e.into()));
    }

    fn start_closing(
        &mut self,
        now: Timestamp,
        reason: CloseReason,
        phrase: Vec<u8>,
        error: ConnectionError,
    ) {
        self.close = Some(Closing { reason, phrase });
        self.close_due = true;
        self.phase = Phase::Closing(now + self.pto_period() * 3);
        self.finish(error);
    }

    /// The peer's CONNECTION_CLOSE arrived: drain (RFC 9000 §10.2.2).
    pub(crate) fn on_peer_close(&mut self, now: Timestamp, code: CloseCode) {
        if matches!(self.phase, Phase::Draining(_) | Phase::Drained) {
            return;
        }
        self.phase = Phase::Draining(now + self.pto_period() * 3);
        self.finish(ConnectionError::Peer(code));
    }

    /// Ends the connection at once, sending nothing (idle timeout, stateless reset,
    /// version mismatch).
    pub(crate) fn drain_now(&mut self, error: ConnectionError) {
        if self.phase == Phase::Drained {
            return;
        }
        self.finish(error);
        self.phase = Phase::Drained;
        self.endpoint_events.push_back(EndpointEvent::Drained);
    }

    fn finish(&mut self, error: ConnectionError) {
        if self.error.is_none() {
            tracing::debug!(side = ?self.side, %error, "connection closed");
            self.qlog_closed(&error);
            self.error = Some(error.clone());
            self.events.push_back(Event::Closed(error));
            self.endpoint_events.push_back(EndpointEvent::Closed);
        }
        self.timers.stop(super::timer::Timer::Loss);
        self.timers.stop(super::timer::Timer::Pace);
        self.timers.stop(super::timer::Timer::KeepAlive);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_display() {
        let c: CloseCode = TransportError::in_frame(
            TransportErrorCode::FLOW_CONTROL_ERROR,
            FrameType::STREAM,
            "too much",
        )
        .into();
        assert_eq!(c.to_string(), "FLOW_CONTROL_ERROR in STREAM: too much");
        let a = CloseCode::Application {
            code: 7,
            reason: String::new(),
        };
        assert_eq!(a.to_string(), "application error 7");
    }
}
