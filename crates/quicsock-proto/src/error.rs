//! Transport errors: the codes of RFC 9000 §20.1 and the error every decoder returns.

use std::fmt;

use crate::frame::FrameType;

/// A QUIC transport error code (RFC 9000 §20.1), as carried by a CONNECTION_CLOSE frame of
/// type 0x1c.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportErrorCode(pub u64);

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr,)*) => {
        impl TransportErrorCode {
            $($(#[$doc])* pub const $name: Self = Self($value);)*

            /// The RFC name of the code, or `None` for codes this crate does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    0x100..=0x1ff => Some("CRYPTO_ERROR"),
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// The connection is being closed abruptly in the absence of any error.
    NO_ERROR = 0x00,
    /// The endpoint encountered an internal error and cannot continue.
    INTERNAL_ERROR = 0x01,
    /// The server refused to accept a new connection.
    CONNECTION_REFUSED = 0x02,
    /// Received more data than permitted by advertised data limits.
    FLOW_CONTROL_ERROR = 0x03,
    /// Received a frame for a stream identifier that exceeded the advertised limit.
    STREAM_LIMIT_ERROR = 0x04,
    /// Received a frame for a stream that was not in a state that permitted it.
    STREAM_STATE_ERROR = 0x05,
    /// Received a stream frame or RESET_STREAM that changed the final size.
    FINAL_SIZE_ERROR = 0x06,
    /// Received a frame that was badly formatted.
    FRAME_ENCODING_ERROR = 0x07,
    /// Received transport parameters that were badly formatted or invalid.
    TRANSPORT_PARAMETER_ERROR = 0x08,
    /// Received more connection IDs than the advertised active_connection_id_limit.
    CONNECTION_ID_LIMIT_ERROR = 0x09,
    /// Detected an error with protocol compliance not covered by a more specific code.
    PROTOCOL_VIOLATION = 0x0a,
    /// Received an invalid Retry or NEW_TOKEN token.
    INVALID_TOKEN = 0x0b,
    /// The application or application protocol caused the connection to be closed.
    APPLICATION_ERROR = 0x0c,
    /// Received more data in CRYPTO frames than can be buffered.
    CRYPTO_BUFFER_EXCEEDED = 0x0d,
    /// Detected errors in performing key updates.
    KEY_UPDATE_ERROR = 0x0e,
    /// Reached the confidentiality or integrity limit for the AEAD algorithm.
    AEAD_LIMIT_REACHED = 0x0f,
    /// No network path is able to support QUIC.
    NO_VIABLE_PATH = 0x10,
    /// Version negotiation failed or was tampered with (RFC 9368 §10.2).
    VERSION_NEGOTIATION_ERROR = 0x11,
}

impl TransportErrorCode {
    /// The CRYPTO_ERROR code carrying a TLS alert (RFC 9001 §4.8): 0x0100 + alert.
    pub const fn crypto(alert: u8) -> Self {
        Self(0x100 | alert as u64)
    }

    /// The TLS alert carried by a CRYPTO_ERROR code.
    pub const fn tls_alert(self) -> Option<u8> {
        if self.0 >= 0x100 && self.0 <= 0x1ff {
            Some((self.0 & 0xff) as u8)
        } else {
            None
        }
    }
}

impl fmt::Debug for TransportErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TransportErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.tls_alert(), self.name()) {
            (Some(alert), _) => write!(f, "CRYPTO_ERROR(alert {alert})"),
            (None, Some(name)) => f.write_str(name),
            (None, None) => write!(f, "unknown error {:#x}", self.0),
        }
    }
}

/// A transport-level error: the code to close the connection with, the type of the frame
/// that triggered it (if any), and a reason for logs and for the CONNECTION_CLOSE phrase.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}{}: {reason}", frame_suffix(.frame_type))]
pub struct TransportError {
    /// The RFC error code.
    pub code: TransportErrorCode,
    /// The frame type that caused the error, if one did.
    pub frame_type: Option<FrameType>,
    /// A short human-readable reason.
    pub reason: &'static str,
}

fn frame_suffix(frame_type: &Option<FrameType>) -> String {
    match frame_type {
        Some(ty) => format!(" in {ty}"),
        None => String::new(),
    }
}

impl TransportError {
    /// An error with the given code and reason, not tied to a frame.
    pub const fn new(code: TransportErrorCode, reason: &'static str) -> Self {
        Self {
            code,
            frame_type: None,
            reason,
        }
    }

    /// An error with the given code, caused by a frame of type `ty`.
    pub const fn in_frame(code: TransportErrorCode, ty: FrameType, reason: &'static str) -> Self {
        Self {
            code,
            frame_type: Some(ty),
            reason,
        }
    }

    /// FRAME_ENCODING_ERROR for a frame of type `ty`.
    pub const fn frame_encoding(ty: FrameType, reason: &'static str) -> Self {
        Self {
            code: TransportErrorCode::FRAME_ENCODING_ERROR,
            frame_type: Some(ty),
            reason,
        }
    }

    /// PROTOCOL_VIOLATION, not tied to a frame.
    pub const fn protocol_violation(reason: &'static str) -> Self {
        Self::new(TransportErrorCode::PROTOCOL_VIOLATION, reason)
    }

    /// TRANSPORT_PARAMETER_ERROR.
    pub const fn transport_parameter(reason: &'static str) -> Self {
        Self::new(TransportErrorCode::TRANSPORT_PARAMETER_ERROR, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_error_carries_the_alert() {
        let code = TransportErrorCode::crypto(120);
        assert_eq!(code.0, 0x178);
        assert_eq!(code.tls_alert(), Some(120));
        assert_eq!(code.to_string(), "CRYPTO_ERROR(alert 120)");
        assert_eq!(TransportErrorCode::FRAME_ENCODING_ERROR.tls_alert(), None);
    }

    #[test]
    fn display_names_codes() {
        assert_eq!(
            TransportErrorCode::PROTOCOL_VIOLATION.to_string(),
            "PROTOCOL_VIOLATION"
        );
        assert_eq!(
            TransportErrorCode(0x4242).to_string(),
            "unknown error 0x4242"
        );
        let err = TransportError::frame_encoding(FrameType::ACK, "range underflow");
        assert_eq!(
            err.to_string(),
            "FRAME_ENCODING_ERROR in ACK: range underflow"
        );
    }
}
