//! NEW_CONNECTION_ID frames (RFC 9000 §19.15).
//!
//! ```text
//! NEW_CONNECTION_ID Frame {
//!   Type (i) = 0x18,
//!   Sequence Number (i),
//!   Retire Prior To (i),
//!   Length (8),
//!   Connection ID (8..160),
//!   Stateless Reset Token (128),
//! }
//! ```

use bytes::BufMut;

use super::FrameType;
use crate::common::{ConnectionId, Reader, VarInt};
use crate::TransportError;

/// The length of a stateless reset token (RFC 9000 §10.3).
pub const RESET_TOKEN_LEN: usize = 16;

/// A NEW_CONNECTION_ID frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NewConnectionId {
    /// The sequence number of the connection ID.
    pub sequence: VarInt,
    /// Connection IDs with lower sequence numbers are to be retired.
    pub retire_prior_to: VarInt,
    /// The connection ID, 1 to 20 bytes.
    pub id: ConnectionId,
    /// The stateless reset token for this connection ID.
    pub reset_token: [u8; RESET_TOKEN_LEN],
}

impl NewConnectionId {
    pub(super) fn decode(r: &mut Reader<'_>) -> Result<Self, TransportError> {
        let err = |reason| TransportError::frame_encoding(FrameType::NEW_CONNECTION_ID, reason);
        let truncated = |_| err("truncated NEW_CONNECTION_ID frame");
        let sequence = r.varint().map_err(truncated)?;
        let retire_prior_to = r.varint().map_err(truncated)?;
        if retire_prior_to > sequence {
            return Err(err("retire_prior_to greater than the sequence number"));
        }
        let bytes = r.u8_prefixed().map_err(truncated)?;
        if bytes.is_empty() || bytes.len() > ConnectionId::MAX_LEN {
            return Err(err("connection ID length outside 1..=20"));
        }
        let id = ConnectionId::from_slice(bytes).map_err(|_| err("connection ID too long"))?;
        let reset_token = r.array().map_err(truncated)?;
        Ok(Self {
            sequence,
            retire_prior_to,
            id,
            reset_token,
        })
    }

    pub(super) fn encode<B: BufMut>(&self, out: &mut B) {
        VarInt::from_u32(FrameType::NEW_CONNECTION_ID.0 as u32).encode(out);
        self.sequence.encode(out);
        self.retire_prior_to.encode(out);
        out.put_u8(self.id.len() as u8);
        out.put_slice(&self.id);
        out.put_slice(&self.reset_token);
    }

    pub(super) const fn encoded_len(&self) -> usize {
        1 + self.sequence.size() + self.retire_prior_to.size() + 1 + self.id.len() + RESET_TOKEN_LEN
    }
}
