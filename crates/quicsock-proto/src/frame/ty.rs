//! Frame types (RFC 9000 §19, §12.4 Table 3; RFC 9221 §4) and the rules of which packet
//! types may carry them.

use std::fmt;

use crate::packet::PacketType;

/// A frame type: the varint that starts every frame.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameType(pub u64);

impl FrameType {
    /// PADDING (§19.1).
    pub const PADDING: Self = Self(0x00);
    /// PING (§19.2).
    pub const PING: Self = Self(0x01);
    /// ACK (§19.3).
    pub const ACK: Self = Self(0x02);
    /// ACK with ECN counts (§19.3).
    pub const ACK_ECN: Self = Self(0x03);
    /// RESET_STREAM (§19.4).
    pub const RESET_STREAM: Self = Self(0x04);
    /// STOP_SENDING (§19.5).
    pub const STOP_SENDING: Self = Self(0x05);
    /// CRYPTO (§19.6).
    pub const CRYPTO: Self = Self(0x06);
    /// NEW_TOKEN (§19.7).
    pub const NEW_TOKEN: Self = Self(0x07);
    /// The first STREAM type (§19.8); 0x08..=0x0f carry the OFF, LEN and FIN bits.
    pub const STREAM: Self = Self(0x08);
    /// MAX_DATA (§19.9).
    pub const MAX_DATA: Self = Self(0x10);
    /// MAX_STREAM_DATA (§19.10).
    pub const MAX_STREAM_DATA: Self = Self(0x11);
    /// MAX_STREAMS for bidirectional streams (§19.11).
    pub const MAX_STREAMS_BIDI: Self = Self(0x12);
    /// MAX_STREAMS for unidirectional streams (§19.11).
    pub const MAX_STREAMS_UNI: Self = Self(0x13);
    /// DATA_BLOCKED (§19.12).
    pub const DATA_BLOCKED: Self = Self(0x14);
    /// STREAM_DATA_BLOCKED (§19.13).
    pub const STREAM_DATA_BLOCKED: Self = Self(0x15);
    /// STREAMS_BLOCKED for bidirectional streams (§19.14).
    pub const STREAMS_BLOCKED_BIDI: Self = Self(0x16);
    /// STREAMS_BLOCKED for unidirectional streams (§19.14).
    pub const STREAMS_BLOCKED_UNI: Self = Self(0x17);
    /// NEW_CONNECTION_ID (§19.15).
    pub const NEW_CONNECTION_ID: Self = Self(0x18);
    /// RETIRE_CONNECTION_ID (§19.16).
    pub const RETIRE_CONNECTION_ID: Self = Self(0x19);
    /// PATH_CHALLENGE (§19.17).
    pub const PATH_CHALLENGE: Self = Self(0x1a);
    /// PATH_RESPONSE (§19.18).
    pub const PATH_RESPONSE: Self = Self(0x1b);
    /// CONNECTION_CLOSE signalling a transport error (§19.19).
    pub const CONNECTION_CLOSE: Self = Self(0x1c);
    /// CONNECTION_CLOSE signalling an application error (§19.19).
    pub const CONNECTION_CLOSE_APP: Self = Self(0x1d);
    /// HANDSHAKE_DONE (§19.20).
    pub const HANDSHAKE_DONE: Self = Self(0x1e);
    /// IMMEDIATE_ACK (draft-ietf-quic-ack-frequency §5).
    pub const IMMEDIATE_ACK: Self = Self(0x1f);
    /// ACK_FREQUENCY (draft-ietf-quic-ack-frequency §4).
    pub const ACK_FREQUENCY: Self = Self(0xaf);
    /// DATAGRAM without a length (RFC 9221 §4).
    pub const DATAGRAM: Self = Self(0x30);
    /// DATAGRAM with a length (RFC 9221 §4).
    pub const DATAGRAM_LEN: Self = Self(0x31);

    /// Whether this is one of the eight STREAM types.
    pub const fn is_stream(self) -> bool {
        self.0 >= 0x08 && self.0 <= 0x0f
    }

    /// Whether this type is defined by RFC 9000, RFC 9221 or the ACK frequency draft.
    pub const fn is_known(self) -> bool {
        self.0 <= 0x1f || self.0 == 0x30 || self.0 == 0x31 || self.0 == 0xaf
    }

    /// Whether a packet of type `packet` may carry this frame (RFC 9000 §12.4 Table 3,
    /// RFC 9221 §4). Unknown types are allowed nowhere.
    pub const fn allowed_in(self, packet: PacketType) -> bool {
        // Columns: Initial, 0-RTT, Handshake, 1-RTT.
        let (i, z, h, o) = match self.0 {
            // PADDING, PING: IH01.
            0x00 | 0x01 => (true, true, true, true),
            // ACK, CRYPTO: IH_1.
            0x02 | 0x03 | 0x06 => (true, false, true, true),
            // NEW_TOKEN, PATH_RESPONSE, HANDSHAKE_DONE: ___1.
            0x07 | 0x1b | 0x1e => (false, false, false, true),
            // CONNECTION_CLOSE (transport): ih01.
            0x1c => (true, true, true, true),
            // RESET_STREAM, STOP_SENDING, STREAM, flow control, CIDs, PATH_CHALLENGE,
            // CONNECTION_CLOSE (application), DATAGRAM, IMMEDIATE_ACK, ACK_FREQUENCY: __01.
            0x04 | 0x05 | 0x08..=0x1a | 0x1d | 0x1f | 0x30 | 0x31 | 0xaf => {
                (false, true, false, true)
            }
            _ => (false, false, false, false),
        };
        match packet {
            PacketType::Initial => i,
            PacketType::ZeroRtt => z,
            PacketType::Handshake => h,
            PacketType::OneRtt => o,
        }
    }

    /// Whether a packet carrying this frame must be acknowledged (RFC 9000 §13.2; the "N"
    /// column of Table 3 lists the exceptions).
    pub const fn is_ack_eliciting(self) -> bool {
        !matches!(self.0, 0x00 | 0x02 | 0x03 | 0x1c | 0x1d)
    }

    /// Whether the frame is a probing frame (RFC 9000 §9.1, the "P" column).
    pub const fn is_probing(self) -> bool {
        matches!(self.0, 0x00 | 0x18 | 0x1a | 0x1b)
    }

    /// Whether bytes of this frame count toward congestion control (the "C" column lists
    /// ACK as the exception).
    pub const fn is_congestion_controlled(self) -> bool {
        !matches!(self.0, 0x02 | 0x03)
    }

    /// The RFC name of the frame type.
    pub const fn name(self) -> &'static str {
        match self.0 {
            0x00 => "PADDING",
            0x01 => "PING",
            0x02 | 0x03 => "ACK",
            0x04 => "RESET_STREAM",
            0x05 => "STOP_SENDING",
            0x06 => "CRYPTO",
            0x07 => "NEW_TOKEN",
            0x08..=0x0f => "STREAM",
            0x10 => "MAX_DATA",
            0x11 => "MAX_STREAM_DATA",
            0x12 | 0x13 => "MAX_STREAMS",
            0x14 => "DATA_BLOCKED",
            0x15 => "STREAM_DATA_BLOCKED",
            0x16 | 0x17 => "STREAMS_BLOCKED",
            0x18 => "NEW_CONNECTION_ID",
            0x19 => "RETIRE_CONNECTION_ID",
            0x1a => "PATH_CHALLENGE",
            0x1b => "PATH_RESPONSE",
            0x1c | 0x1d => "CONNECTION_CLOSE",
            0x1e => "HANDSHAKE_DONE",
            0x1f => "IMMEDIATE_ACK",
            0xaf => "ACK_FREQUENCY",
            0x30 | 0x31 => "DATAGRAM",
            _ => "unknown",
        }
    }
}

impl fmt::Debug for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:#x})", self.name(), self.0)
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_known() {
            f.write_str(self.name())
        } else {
            write!(f, "unknown frame type {:#x}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9000_12_4_frame_permissions() {
        use PacketType::*;
        let row = |ty: FrameType| [Initial, ZeroRtt, Handshake, OneRtt].map(|p| ty.allowed_in(p));
        assert_eq!(row(FrameType::PADDING), [true, true, true, true]);
        assert_eq!(row(FrameType::ACK), [true, false, true, true]);
        assert_eq!(row(FrameType::CRYPTO), [true, false, true, true]);
        assert_eq!(row(FrameType::NEW_TOKEN), [false, false, false, true]);
        assert_eq!(row(FrameType(0x0f)), [false, true, false, true]);
        assert_eq!(
            row(FrameType::RETIRE_CONNECTION_ID),
            [false, true, false, true]
        );
        assert_eq!(row(FrameType::PATH_RESPONSE), [false, false, false, true]);
        assert_eq!(row(FrameType::CONNECTION_CLOSE), [true, true, true, true]);
        assert_eq!(
            row(FrameType::CONNECTION_CLOSE_APP),
            [false, true, false, true]
        );
        assert_eq!(row(FrameType::HANDSHAKE_DONE), [false, false, false, true]);
        assert_eq!(row(FrameType::DATAGRAM_LEN), [false, true, false, true]);
        assert_eq!(row(FrameType::IMMEDIATE_ACK), [false, true, false, true]);
        assert_eq!(row(FrameType::ACK_FREQUENCY), [false, true, false, true]);
        assert_eq!(row(FrameType(0x20)), [false; 4]);
        assert_eq!(row(FrameType(0x21)), [false; 4]);
    }

    #[test]
    fn rfc9000_12_4_flags() {
        assert!(!FrameType::ACK.is_ack_eliciting());
        assert!(!FrameType::PADDING.is_ack_eliciting());
        assert!(!FrameType::CONNECTION_CLOSE_APP.is_ack_eliciting());
        assert!(FrameType::PING.is_ack_eliciting());
        assert!(FrameType::PATH_CHALLENGE.is_probing());
        assert!(!FrameType::STREAM.is_probing());
        assert!(!FrameType::ACK_ECN.is_congestion_controlled());
    }
}
