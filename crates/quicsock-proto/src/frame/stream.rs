//! Frames that carry or end stream data: STREAM (RFC 9000 §19.8), CRYPTO (§19.6),
//! RESET_STREAM (§19.4) and STOP_SENDING (§19.5).

use bytes::BufMut;

use super::FrameType;
use crate::common::{Reader, StreamId, VarInt};
use crate::TransportError;

const OFF_BIT: u64 = 0x04;
const LEN_BIT: u64 = 0x02;
const FIN_BIT: u64 = 0x01;

/// A STREAM frame.
///
/// ```text
/// STREAM Frame {
///   Type (i) = 0x08..0x0f,
///   Stream ID (i),
///   [Offset (i)],
///   [Length (i)],
///   Stream Data (..),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream<'a> {
    /// The stream.
    pub id: StreamId,
    /// The offset of the first byte of `data` in the stream.
    pub offset: VarInt,
    /// Whether this frame ends the stream.
    pub fin: bool,
    /// Whether the frame carries a Length field; without one it runs to the packet's end.
    pub explicit_len: bool,
    /// The stream bytes.
    pub data: &'a [u8],
}

impl<'a> Stream<'a> {
    pub(super) fn decode(ty: FrameType, r: &mut Reader<'a>) -> Result<Self, TransportError> {
        let truncated = |_| TransportError::frame_encoding(ty, "truncated STREAM frame");
        let id = StreamId::from(r.varint().map_err(truncated)?);
        let offset = if ty.0 & OFF_BIT != 0 {
            r.varint().map_err(truncated)?
        } else {
            VarInt::ZERO
        };
        let explicit_len = ty.0 & LEN_BIT != 0;
        let data = if explicit_len {
            r.varint_prefixed().map_err(truncated)?
        } else {
            r.take_rest()
        };
        // §19.8: the end of the data must be representable as a varint.
        if offset.into_inner() + data.len() as u64 > VarInt::MAX.into_inner() {
            return Err(TransportError::frame_encoding(
                ty,
                "stream data beyond offset 2^62-1",
            ));
        }
        Ok(Self {
            id,
            offset,
            fin: ty.0 & FIN_BIT != 0,
            explicit_len,
            data,
        })
    }

    /// The frame type this frame is sent as.
    pub const fn ty(&self) -> FrameType {
        Self::type_for(self.offset, self.explicit_len, self.fin)
    }

    const fn type_for(offset: VarInt, explicit_len: bool, fin: bool) -> FrameType {
        let mut ty = FrameType::STREAM.0;
        if offset.into_inner() != 0 {
            ty |= OFF_BIT;
        }
        if explicit_len {
            ty |= LEN_BIT;
        }
        if fin {
            ty |= FIN_BIT;
        }
        FrameType(ty)
    }

    /// Writes the frame header only: type, stream ID, offset and (if `explicit_len`) the
    /// length of `data_len` bytes that the caller writes, or seals, straight after it.
    pub fn encode_header<B: BufMut>(
        out: &mut B,
        id: StreamId,
        offset: VarInt,
        data_len: usize,
        fin: bool,
        explicit_len: bool,
    ) {
        VarInt::from_u32(Self::type_for(offset, explicit_len, fin).0 as u32).encode(out);
        id.as_varint().encode(out);
        if offset.into_inner() != 0 {
            offset.encode(out);
        }
        if explicit_len {
            VarInt::saturating(data_len as u64).encode(out);
        }
    }

    /// The length of the header [`Stream::encode_header`] writes.
    pub const fn header_len(
        id: StreamId,
        offset: VarInt,
        data_len: usize,
        explicit_len: bool,
    ) -> usize {
        1 + id.as_varint().size()
            + if offset.into_inner() != 0 {
                offset.size()
            } else {
                0
            }
            + if explicit_len {
                VarInt::size_of(data_len as u64)
            } else {
                0
            }
    }

    pub(super) fn encode<B: BufMut>(&self, out: &mut B) {
        Self::encode_header(
            out,
            self.id,
            self.offset,
            self.data.len(),
            self.fin,
            self.explicit_len,
        );
        out.put_slice(self.data);
    }

    pub(super) const fn encoded_len(&self) -> usize {
        Self::header_len(self.id, self.offset, self.data.len(), self.explicit_len) + self.data.len()
    }
}

/// A CRYPTO frame: handshake bytes at an offset of the level's crypto stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crypto<'a> {
    /// The offset of `data` in the crypto stream of this encryption level.
    pub offset: VarInt,
    /// The handshake bytes.
    pub data: &'a [u8],
}

impl<'a> Crypto<'a> {
    pub(super) fn decode(r: &mut Reader<'a>) -> Result<Self, TransportError> {
        let ty = FrameType::CRYPTO;
        let truncated = |_| TransportError::frame_encoding(ty, "truncated CRYPTO frame");
        let offset = r.varint().map_err(truncated)?;
        let data = r.varint_prefixed().map_err(truncated)?;
        if offset.into_inner() + data.len() as u64 > VarInt::MAX.into_inner() {
            return Err(TransportError::frame_encoding(
                ty,
                "crypto data beyond offset 2^62-1",
            ));
        }
        Ok(Self { offset, data })
    }

    pub(super) fn encode<B: BufMut>(&self, out: &mut B) {
        VarInt::from_u32(FrameType::CRYPTO.0 as u32).encode(out);
        self.offset.encode(out);
        VarInt::saturating(self.data.len() as u64).encode(out);
        out.put_slice(self.data);
    }

    pub(super) const fn encoded_len(&self) -> usize {
        1 + self.offset.size() + VarInt::size_of(self.data.len() as u64) + self.data.len()
    }
}

/// A RESET_STREAM frame: the sender abandons the stream at `final_size`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ResetStream {
    /// The stream.
    pub id: StreamId,
    /// The application error code.
    pub error_code: VarInt,
    /// The final size of the stream.
    pub final_size: VarInt,
}

/// A STOP_SENDING frame: the receiver asks the sender to stop.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StopSending {
    /// The stream.
    pub id: StreamId,
    /// The application error code.
    pub error_code: VarInt,
}
