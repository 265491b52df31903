//! What each sent packet carried that matters after it is acknowledged or lost.

use crate::common::{Dir, StreamId};

/// A frame we sent, as recovery needs to remember it: enough to mark data delivered when
/// the packet is acknowledged, or to send it (or its current value) again when lost
/// (RFC 9000 §13.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SentFrame {
    /// Stream data.
    Stream {
        id: StreamId,
        offset: u64,
        len: u64,
        fin: bool,
    },
    /// CRYPTO data in the packet's space.
    Crypto {
        offset: u64,
        len: u64,
    },
    /// An ACK frame, with the largest packet number it acknowledged: once this packet is
    /// acknowledged, ranges below it need not be sent again.
    Ack {
        largest: u64,
    },
    MaxData,
    MaxStreamData(StreamId),
    MaxStreams(Dir),
    DataBlocked,
    StreamDataBlocked(StreamId),
    StreamsBlocked(Dir),
    ResetStream(StreamId),
    StopSending(StreamId),
    NewConnectionId(u64),
    RetireConnectionId(u64),
    HandshakeDone,
    /// A NEW_TOKEN frame (its token is the connection's).
    NewToken,
    /// A PATH_CHALLENGE (its data is the connection's).
    PathChallenge,
    Ping,
    PathResponse,
    Datagram,
}
