//! Frames (RFC 9000 §19, RFC 9221 §4, and ACK_FREQUENCY and IMMEDIATE_ACK of
//! draft-ietf-quic-ack-frequency): one type per frame, each with decode, encode and
//! encoded length, and the iterator that walks a packet payload.
//!
//! Decoding borrows from the packet: STREAM, CRYPTO, DATAGRAM, NEW_TOKEN and
//! CONNECTION_CLOSE frames point into the decrypted payload, with no copy. A decoded frame
//! is valid as far as its own bytes can tell (parse, don't validate); what needs connection
//! state (stream limits, flow control, final sizes) is for the connection to check.
//!
//! Errors: a truncated or malformed frame, an unknown or reserved frame type, and the field
//! constraints of §19 give FRAME_ENCODING_ERROR; a frame type not in its shortest encoding
//! gives PROTOCOL_VIOLATION (§12.4); a frame in a packet type that forbids it gives
//! PROTOCOL_VIOLATION (§12.4); so does a packet with no frames.

mod ack;
mod close;
mod connection_id;
mod display;
mod stream;
mod ty;

use bytes::BufMut;

pub use ack::{
    ack_encoded_len, ack_ranges_encoded_len, encode_ack, encode_ack_ranges, Ack, AckRanges,
    EcnCounts, InvalidAckRanges,
};
pub use close::{CloseReason, ConnectionClose};
pub use connection_id::{NewConnectionId, RESET_TOKEN_LEN};
pub use stream::{Crypto, ResetStream, StopSending, Stream};
pub use ty::FrameType;

use crate::common::{Dir, Reader, StreamId, VarInt};
use crate::packet::PacketType;
use crate::{TransportError, TransportErrorCode};

/// The largest count MAX_STREAMS and STREAMS_BLOCKED may carry (RFC 9000 §19.11, §19.14).
pub const MAX_STREAM_COUNT: u64 = 1 << 60;

/// The fields of an ACK_FREQUENCY frame (draft-ietf-quic-ack-frequency §4).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AckFrequency {
    /// Orders the frames: a receiver acts only on one with a higher sequence number.
    pub sequence: VarInt,
    /// Ack-eliciting packets the receiver may take in before it must acknowledge.
    pub ack_eliciting_threshold: VarInt,
    /// The receiver's new max_ack_delay, in microseconds.
    pub request_max_ack_delay: VarInt,
    /// Packets received above a missing one before that gap is acknowledged at once (0:
    /// reordering alone never makes an ACK immediate).
    pub reordering_threshold: VarInt,
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// A run of PADDING bytes (§19.1), decoded as one frame.
    Padding {
        /// How many bytes of padding.
        len: usize,
    },
    /// PING (§19.2).
    Ping,
    /// ACK (§19.3).
    Ack(Ack<'a>),
    /// RESET_STREAM (§19.4).
    ResetStream(ResetStream),
    /// STOP_SENDING (§19.5).
    StopSending(StopSending),
    /// CRYPTO (§19.6).
    Crypto(Crypto<'a>),
    /// NEW_TOKEN (§19.7), carrying a non-empty token.
    NewToken {
        /// The address-validation token.
        token: &'a [u8],
    },
    /// STREAM (§19.8).
    Stream(Stream<'a>),
    /// MAX_DATA (§19.9).
    MaxData(VarInt),
    /// MAX_STREAM_DATA (§19.10).
    MaxStreamData {
        /// The stream.
        id: StreamId,
        /// The new limit on the stream's data, in bytes.
        max: VarInt,
    },
    /// MAX_STREAMS (§19.11).
    MaxStreams {
        /// Which kind of stream.
        dir: Dir,
        /// The cumulative number of streams the peer may open, at most 2^60.
        count: VarInt,
    },
    /// DATA_BLOCKED (§19.12).
    DataBlocked(VarInt),
    /// STREAM_DATA_BLOCKED (§19.13).
    StreamDataBlocked {
        /// The stream.
        id: StreamId,
        /// The limit at which the sender is blocked.
        limit: VarInt,
    },
    /// STREAMS_BLOCKED (§19.14).
    StreamsBlocked {
        /// Which kind of stream.
        dir: Dir,
        /// The stream limit at which the sender is blocked, at most 2^60.
        limit: VarInt,
    },
    /// NEW_CONNECTION_ID (§19.15).
    NewConnectionId(NewConnectionId),
    /// RETIRE_CONNECTION_ID (§19.16).
    RetireConnectionId {
        /// The sequence number of the connection ID being retired.
        sequence: VarInt,
    },
    /// PATH_CHALLENGE (§19.17).
    PathChallenge([u8; 8]),
    /// PATH_RESPONSE (§19.18).
    PathResponse([u8; 8]),
    /// CONNECTION_CLOSE (§19.19).
    ConnectionClose(ConnectionClose<'a>),
    /// HANDSHAKE_DONE (§19.20).
    HandshakeDone,
    /// IMMEDIATE_ACK (draft-ietf-quic-ack-frequency §5): acknowledge this packet at once.
    ImmediateAck,
    /// ACK_FREQUENCY (draft-ietf-quic-ack-frequency §4): how the sender wants its packets
    /// acknowledged.
    AckFrequency(AckFrequency),
    /// DATAGRAM (RFC 9221 §4).
    Datagram {
        /// Whether the frame carries a Length field (type 0x31).
        explicit_len: bool,
        /// The application payload.
        data: &'a [u8],
    },
}

impl<'a> Frame<'a> {
    /// Decodes one frame from the front of `r`.
    pub fn decode(r: &mut Reader<'a>) -> Result<Self, TransportError> {
        let (ty, minimal) = VarInt::decode_with_minimality(r).map_err(|_| {
            TransportError::frame_encoding(FrameType::PADDING, "truncated frame type")
        })?;
        let ty = FrameType(ty.into_inner());
        if !minimal {
            return Err(TransportError {
                code: TransportErrorCode::PROTOCOL_VIOLATION,
                frame_type: Some(ty),
                reason: "frame type not in its shortest encoding",
            });
        }
        let truncated = |_| TransportError::frame_encoding(ty, "truncated frame");
        let dir = |ty: FrameType| if ty.0 & 1 == 0 { Dir::Bi } else { Dir::Uni };
        let stream_id = |r: &mut Reader<'a>| r.varint().map(StreamId::from).map_err(truncated);
        let varint = |r: &mut Reader<'a>| r.varint().map_err(truncated);
        let count = |r: &mut Reader<'a>| {
            let v = r.varint().map_err(truncated)?;
            if v.into_inner() > MAX_STREAM_COUNT {
                return Err(TransportError::frame_encoding(
                    ty,
                    "stream count above 2^60",
                ));
            }
            Ok(v)
        };
        Ok(match ty.0 {
            0x00 => {
                let zeros = r.peek_rest().iter().take_while(|&&b| b == 0).count();
                let _ = r.bytes(zeros);
                Self::Padding { len: 1 + zeros }
            }
            0x01 => Self::Ping,
            0x02 | 0x03 => Self::Ack(Ack::decode(ty, r)?),
            0x04 => Self::ResetStream(ResetStream {
                id: stream_id(r)?,
                error_code: varint(r)?,
                final_size: varint(r)?,
            }),
            0x05 => Self::StopSending(StopSending {
                id: stream_id(r)?,
                error_code: varint(r)?,
            }),
            0x06 => Self::Crypto(Crypto::decode(r)?),
            0x07 => {
                let token = r.varint_prefixed().map_err(truncated)?;
                if token.is_empty() {
                    return Err(TransportError::frame_encoding(ty, "empty NEW_TOKEN token"));
                }
                Self::NewToken { token }
            }
            0x08..=0x0f => Self::Stream(Stream::decode(ty, r)?),
            0x10 => Self::MaxData(varint(r)?),
            0x11 => Self::MaxStreamData {
                id: stream_id(r)?,
                max: varint(r)?,
            },
            0x12 | 0x13 => Self::MaxStreams {
                dir: dir(ty),
                count: count(r)?,
            },
            0x14 => Self::DataBlocked(varint(r)?),
            0x15 => Self::StreamDataBlocked {
                id: stream_id(r)?,
                limit: varint(r)?,
            },
            0x16 | 0x17 => Self::StreamsBlocked {
                dir: dir(ty),
                limit: count(r)?,
            },
            0x18 => Self::NewConnectionId(NewConnectionId::decode(r)?),
            0x19 => Self::RetireConnectionId {
                sequence: varint(r)?,
            },
            0x1a => Self::PathChallenge(r.array().map_err(truncated)?),
            0x1b => Self::PathResponse(r.array().map_err(truncated)?),
            0x1c | 0x1d => Self::ConnectionClose(ConnectionClose::decode(ty, r)?),
            0x1e => Self::HandshakeDone,
            0x1f => Self::ImmediateAck,
            0xaf => Self::AckFrequency(AckFrequency {
                sequence: varint(r)?,
                ack_eliciting_threshold: varint(r)?,
                request_max_ack_delay: varint(r)?,
                reordering_threshold: varint(r)?,
            }),
            0x30 => Self::Datagram {
                explicit_len: false,
                data: r.take_rest(),
            },
            0x31 => Self::Datagram {
                explicit_len: true,
                data: r.varint_prefixed().map_err(truncated)?,
            },
            _ => return Err(TransportError::frame_encoding(ty, "unknown frame type")),
        })
    }

    /// The frame's type.
    pub const fn ty(&self) -> FrameType {
        match self {
            Self::Padding { .. } => FrameType::PADDING,
            Self::Ping => FrameType::PING,
            Self::Ack(ack) => ack.ty(),
            Self::ResetStream(_) => FrameType::RESET_STREAM,
            Self::StopSending(_) => FrameType::STOP_SENDING,
            Self::Crypto(_) => FrameType::CRYPTO,
            Self::NewToken { .. } => FrameType::NEW_TOKEN,
            Self::Stream(s) => s.ty(),
            Self::MaxData(_) => FrameType::MAX_DATA,
            Self::MaxStreamData { .. } => FrameType::MAX_STREAM_DATA,
            Self::MaxStreams { dir: Dir::Bi, .. } => FrameType::MAX_STREAMS_BIDI,
            Self::MaxStreams { dir: Dir::Uni, .. } => FrameType::MAX_STREAMS_UNI,
            Self::DataBlocked(_) => FrameType::DATA_BLOCKED,
            Self::StreamDataBlocked { .. } => FrameType::STREAM_DATA_BLOCKED,
            Self::StreamsBlocked { dir: Dir::Bi, .. } => FrameType::STREAMS_BLOCKED_BIDI,
            Self::StreamsBlocked { dir: Dir::Uni, .. } => FrameType::STREAMS_BLOCKED_UNI,
            Self::NewConnectionId(_) => FrameType::NEW_CONNECTION_ID,
            Self::RetireConnectionId { .. } => FrameType::RETIRE_CONNECTION_ID,
            Self::PathChallenge(_) => FrameType::PATH_CHALLENGE,
            Self::PathResponse(_) => FrameType::PATH_RESPONSE,
            Self::ConnectionClose(c) => c.ty(),
            Self::HandshakeDone => FrameType::HANDSHAKE_DONE,
            Self::ImmediateAck => FrameType::IMMEDIATE_ACK,
            Self::AckFrequency(_) => FrameType::ACK_FREQUENCY,
            Self::Datagram {
                explicit_len: false,
                ..
            } => FrameType::DATAGRAM,
            Self::Datagram {
                explicit_len: true, ..
            } => FrameType::DATAGRAM_LEN,
        }
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, out: &mut B) {
        let ty = VarInt::from_u32(self.ty().0 as u32);
        match self {
            Self::Padding { len } => out.put_bytes(0, *len),
            Self::Ack(ack) => ack.encode(out),
            Self::Crypto(c) => c.encode(out),
            Self::Stream(s) => s.encode(out),
            Self::NewConnectionId(n) => n.encode(out),
            Self::ConnectionClose(c) => c.encode(out),
            _ => {
                ty.encode(out);
                match self {
                    Self::ResetStream(f) => {
                        f.id.as_varint().encode(out);
                        f.error_code.encode(out);
                        f.final_size.encode(out);
                    }
                    Self::StopSending(f) => {
                        f.id.as_varint().encode(out);
                        f.error_code.encode(out);
                    }
                    Self::NewToken { token } => put_varint_prefixed(out, token),
                    Self::MaxData(v) | Self::DataBlocked(v) => v.encode(out),
                    Self::MaxStreams { count: v, .. }
                    | Self::StreamsBlocked { limit: v, .. }
                    | Self::RetireConnectionId { sequence: v } => v.encode(out),
                    Self::MaxStreamData { id, max: v }
                    | Self::StreamDataBlocked { id, limit: v } => {
                        id.as_varint().encode(out);
                        v.encode(out);
                    }
                    Self::PathChallenge(data) | Self::PathResponse(data) => out.put_slice(data),
                    Self::AckFrequency(a) => {
                        a.sequence.encode(out);
                        a.ack_eliciting_threshold.encode(out);
                        a.request_max_ack_delay.encode(out);
                        a.reordering_threshold.encode(out);
                    }
                    Self::Datagram {
                        explicit_len: true,
                        data,
                    } => put_varint_prefixed(out, data),
                    Self::Datagram {
                        explicit_len: false,
                        data,
                    } => out.put_slice(data),
                    _ => {}
                }
            }
        }
    }

    /// The number of bytes [`Frame::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let prefixed = |len: usize| VarInt::size_of(len as u64) + len;
        match self {
            Self::Padding { len } => *len,
            Self::Ack(ack) => ack.encoded_len(),
            Self::Crypto(c) => c.encoded_len(),
            Self::Stream(s) => s.encoded_len(),
            Self::NewConnectionId(n) => n.encoded_len(),
            Self::ConnectionClose(c) => c.encoded_len(),
            Self::Ping | Self::HandshakeDone | Self::ImmediateAck => 1,
            Self::AckFrequency(a) => {
                2 + a.sequence.size()
                    + a.ack_eliciting_threshold.size()
                    + a.request_max_ack_delay.size()
                    + a.reordering_threshold.size()
            }
            Self::ResetStream(f) => {
                1 + f.id.as_varint().size() + f.error_code.size() + f.final_size.size()
            }
            Self::StopSending(f) => 1 + f.id.as_varint().size() + f.error_code.size(),
            Self::NewToken { token } => 1 + prefixed(token.len()),
            Self::MaxData(v)
            | Self::DataBlocked(v)
            | Self::MaxStreams { count: v, .. }
            | Self::StreamsBlocked { limit: v, .. }
            | Self::RetireConnectionId { sequence: v } => 1 + v.size(),
            Self::MaxStreamData { id, max: v } | Self::StreamDataBlocked { id, limit: v } => {
                1 + id.as_varint().size() + v.size()
            }
            Self::PathChallenge(_) | Self::PathResponse(_) => 9,
            Self::Datagram {
                explicit_len: true,
                data,
            } => 1 + prefixed(data.len()),
            Self::Datagram {
                explicit_len: false,
                data,
            } => 1 + data.len(),
        }
    }

    /// Whether a packet carrying this frame must be acknowledged (RFC 9000 §13.2).
    pub const fn is_ack_eliciting(&self) -> bool {
        self.ty().is_ack_eliciting()
    }
}

fn put_varint_prefixed<B: BufMut>(out: &mut B, bytes: &[u8]) {
    VarInt::saturating(bytes.len() as u64).encode(out);
    out.put_slice(bytes);
}

/// The frames of a decrypted packet payload, checked against the packet type
/// (RFC 9000 §12.4). Iteration ends after the first error.
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    reader: Reader<'a>,
    packet: PacketType,
    started: bool,
    failed: bool,
}

impl<'a> Frames<'a> {
    /// The frames of `payload`, a packet of type `packet`.
    pub const fn new(payload: &'a [u8], packet: PacketType) -> Self {
        Self {
            reader: Reader::new(payload),
            packet,
            started: false,
            failed: false,
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, TransportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.reader.is_empty() {
            if self.started {
                return None;
            }
            self.failed = true;
            return Some(Err(TransportError::protocol_violation(
                "packet without frames",
            )));
        }
        self.started = true;
        let result = Frame::decode(&mut self.reader).and_then(|frame| {
            let ty = frame.ty();
            if ty.allowed_in(self.packet) {
                Ok(frame)
            } else {
                Err(TransportError {
                    code: TransportErrorCode::PROTOCOL_VIOLATION,
                    frame_type: Some(ty),
                    reason: "frame not allowed in this packet type",
                })
            }
        });
        self.failed = result.is_err();
        Some(result)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
