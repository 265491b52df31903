//! CONNECTION_CLOSE frames (RFC 9000 §19.19).
//!
//! ```text
//! CONNECTION_CLOSE Frame {
//!   Type (i) = 0x1c..0x1d,
//!   Error Code (i),
//!   [Frame Type (i)],
//!   Reason Phrase Length (i),
//!   Reason Phrase (..),
//! }
//! ```

use bytes::BufMut;

use super::FrameType;
use crate::common::{Reader, VarInt};
use crate::{TransportError, TransportErrorCode};

/// Who is closing, and why.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// A transport error (type 0x1c), with the type of the frame that triggered it (0 when
    /// unknown).
    Transport {
        /// The transport error code.
        code: TransportErrorCode,
        /// The frame type that triggered the error.
        frame_type: VarInt,
    },
    /// An application error (type 0x1d).
    Application {
        /// The application's error code.
        code: VarInt,
    },
}

/// A CONNECTION_CLOSE frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionClose<'a> {
    /// The error.
    pub reason: CloseReason,
    /// The reason phrase, meant to be UTF-8 but not guaranteed to be.
    pub phrase: &'a [u8],
}

impl<'a> ConnectionClose<'a> {
    pub(super) fn decode(ty: FrameType, r: &mut Reader<'a>) -> Result<Self, TransportError> {
        let truncated = |_| TransportError::frame_encoding(ty, "truncated CONNECTION_CLOSE frame");
        let code = r.varint().map_err(truncated)?;
        let reason = if ty == FrameType::CONNECTION_CLOSE {
            let frame_type = r.varint().map_err(truncated)?;
            CloseReason::Transport {
                code: TransportErrorCode(code.into_inner()),
                frame_type,
            }
        } else {
            CloseReason::Application { code }
        };
        let phrase = r.varint_prefixed().map_err(truncated)?;
        Ok(Self { reason, phrase })
    }

    /// The frame type this frame is sent as.
    pub const fn ty(&self) -> FrameType {
        match self.reason {
            CloseReason::Transport { .. } => FrameType::CONNECTION_CLOSE,
            CloseReason::Application { .. } => FrameType::CONNECTION_CLOSE_APP,
        }
    }

    pub(super) fn encode<B: BufMut>(&self, out: &mut B) {
        VarInt::from_u32(self.ty().0 as u32).encode(out);
        match self.reason {
            CloseReason::Transport { code, frame_type } => {
                VarInt::saturating(code.0).encode(out);
                frame_type.encode(out);
            }
            CloseReason::Application { code } => code.encode(out),
        }
        VarInt::saturating(self.phrase.len() as u64).encode(out);
        out.put_slice(self.phrase);
    }

    pub(super) const fn encoded_len(&self) -> usize {
        let codes = match self.reason {
            CloseReason::Transport { code, frame_type } => {
                VarInt::size_of(code.0) + frame_type.size()
            }
            CloseReason::Application { code } => code.size(),
        };
        1 + codes + VarInt::size_of(self.phrase.len() as u64) + self.phrase.len()
    }
}
