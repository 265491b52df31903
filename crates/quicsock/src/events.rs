//! In-band events (reference §1.5): when enabled per type with
//! [`QuicSocket::set_event`](crate::QuicSocket::set_event), `recv` returns them before any
//! stream or datagram data, flagged [`Flags::NOTIFICATION`](crate::Flags::NOTIFICATION)
//! and [`Flags::EOR`](crate::Flags::EOR). The bytes follow Linux QUIC's layout: byte 0 is
//! the event type, the rest the matching member of `union quic_event` (x86_64 layout,
//! little endian), so a C program reads them as it would from the kernel.

use quicsock_proto::conn::{CloseCode, ConnectionError, Event};
use quicsock_proto::stream::StreamEvent;

/// The event types, with Linux QUIC's numbers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventType {
    /// A stream changed state.
    StreamUpdate = 1,
    /// The peer raised a stream's credit.
    StreamMaxData = 2,
    /// The peer allowed more streams.
    StreamMaxStream = 3,
    /// A connection ID was retired.
    ConnectionId = 4,
    /// The connection closed.
    ConnectionClose = 5,
    /// A path migration completed.
    ConnectionMigration = 6,
    /// The peer updated the 1-RTT keys.
    KeyUpdate = 7,
    /// The server sent a NEW_TOKEN (clients).
    NewToken = 8,
    /// A TLS NewSessionTicket arrived (clients).
    NewSessionTicket = 9,
}

impl EventType {
    /// Every type.
    pub const ALL: [Self; 9] = [
        Self::StreamUpdate,
        Self::StreamMaxData,
        Self::StreamMaxStream,
        Self::ConnectionId,
        Self::ConnectionClose,
        Self::ConnectionMigration,
        Self::KeyUpdate,
        Self::NewToken,
        Self::NewSessionTicket,
    ];

    pub(crate) fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

/// Stream states as Linux QUIC numbers them in [`QuicEvent::StreamUpdate`].
pub mod stream_state {
    /// Every byte and the FIN were acknowledged.
    pub const SEND_RECVD: u8 = 3;
    /// We reset the stream (after the peer's STOP_SENDING).
    pub const SEND_RESET_SENT: u8 = 4;
    /// The peer acknowledged our reset.
    pub const SEND_RESET_RECVD: u8 = 5;
    /// The first data arrived.
    pub const RECV_RECV: u8 = 6;
    /// The FIN arrived before all the data: the final size is known.
    pub const RECV_SIZE_KNOWN: u8 = 7;
    /// Every byte up to the final size arrived.
    pub const RECV_RECVD: u8 = 8;
    /// The peer reset the stream.
    pub const RECV_RESET_RECVD: u8 = 10;
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuicEvent {
    /// `QUIC_EVENT_STREAM_UPDATE`.
    StreamUpdate {
        /// The stream.
        id: i64,
        /// Its new state ([`stream_state`]).
        state: u8,
        /// The application error code of a reset.
        errcode: u32,
        /// The final size, where known.
        final_size: u64,
    },
    /// `QUIC_EVENT_STREAM_MAX_DATA`: the peer raised a stream's flow-control limit.
    StreamMaxData {
        /// The stream.
        id: i64,
        /// The new limit, an offset in the stream.
        max_data: u64,
    },
    /// `QUIC_EVENT_STREAM_MAX_STREAM`: the highest stream id now openable.
    StreamMaxStream(u64),
    /// `QUIC_EVENT_CONNECTION_ID`: connection IDs were retired.
    ConnectionId {
        /// Whether the peer's IDs (destination IDs) changed rather than ours.
        dest: bool,
        /// The sequence number of the ID in use.
        active: u32,
        /// The lowest sequence number still live.
        prior_to: u32,
    },
    /// `QUIC_EVENT_CONNECTION_MIGRATION`: a new path was validated and is in use.
    ConnectionMigration {
        /// 1 when our address changed, 0 when the peer's did.
        local: u8,
    },
    /// `QUIC_EVENT_CONNECTION_CLOSE`.
    ConnectionClose {
        /// The error code (0 for an idle timeout, 0x100 for a stateless reset).
        errcode: u32,
        /// The frame type that caused a transport error.
        frame: u8,
        /// The reason phrase (at most 64 bytes).
        phrase: Vec<u8>,
    },
    /// `QUIC_EVENT_KEY_UPDATE`: the key phase the peer moved to.
    KeyUpdate {
        /// The new key phase bit.
        phase: u8,
    },
    /// `QUIC_EVENT_NEW_TOKEN`: the token, for a later connection's Initial.
    NewToken(Vec<u8>),
    /// `QUIC_EVENT_NEW_SESSION_TICKET`: the raw TLS NewSessionTicket message (clients).
    NewSessionTicket(Vec<u8>),
}

impl QuicEvent {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::StreamUpdate { .. } => EventType::StreamUpdate,
            Self::StreamMaxData { .. } => EventType::StreamMaxData,
            Self::StreamMaxStream(_) => EventType::StreamMaxStream,
            Self::ConnectionId { .. } => EventType::ConnectionId,
            Self::ConnectionClose { .. } => EventType::ConnectionClose,
            Self::ConnectionMigration { .. } => EventType::ConnectionMigration,
            Self::KeyUpdate { .. } => EventType::KeyUpdate,
            Self::NewToken(_) => EventType::NewToken,
            Self::NewSessionTicket(_) => EventType::NewSessionTicket,
        }
    }

    /// The bytes `recv` returns: the type, then the Linux QUIC struct.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![self.event_type() as u8];
        match self {
            Self::StreamUpdate {
                id,
                state,
                errcode,
                final_size,
            } => {
                b.extend_from_slice(&id.to_le_bytes());
                b.extend_from_slice(&[*state, 0, 0, 0]);
                b.extend_from_slice(&errcode.to_le_bytes());
                b.extend_from_slice(&final_size.to_le_bytes());
            }
            Self::StreamMaxData { id, max_data } => {
                b.extend_from_slice(&id.to_le_bytes());
                b.extend_from_slice(&max_data.to_le_bytes());
            }
            Self::StreamMaxStream(id) => b.extend_from_slice(&id.to_le_bytes()),
            Self::ConnectionId {
                dest,
                active,
                prior_to,
            } => {
                // struct quic_connection_id_info { u8 dest; u8 rsv[3]; u32 active; u32 prior_to }
                b.extend_from_slice(&[u8::from(*dest), 0, 0, 0]);
                b.extend_from_slice(&active.to_le_bytes());
                b.extend_from_slice(&prior_to.to_le_bytes());
            }
            Self::ConnectionClose {
                errcode,
                frame,
                phrase,
            } => {
                b.extend_from_slice(&errcode.to_le_bytes());
                b.extend_from_slice(&[*frame, 0, 0, 0]);
                b.extend_from_slice(&phrase[..phrase.len().min(64)]);
            }
            Self::KeyUpdate { phase } => b.push(*phase),
            Self::ConnectionMigration { local } => b.push(*local),
            Self::NewToken(t) | Self::NewSessionTicket(t) => b.extend_from_slice(t),
        }
        b
    }

    /// Parses what [`to_bytes`](Self::to_bytes) wrote.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let (&ty, p) = b.split_first()?;
        let u32_at = |o: usize| Some(u32::from_le_bytes(p.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_le_bytes(p.get(o..o + 8)?.try_into().ok()?));
        Some(match ty {
            1 => Self::StreamUpdate {
                id: u64_at(0)? as i64,
                state: *p.get(8)?,
                errcode: u32_at(12)?,
                final_size: u64_at(16)?,
            },
            2 => Self::StreamMaxData {
                id: u64_at(0)? as i64,
                max_data: u64_at(8)?,
            },
            3 => Self::StreamMaxStream(u64_at(0)?),
            4 => Self::ConnectionId {
                dest: *p.first()? != 0,
                active: u32_at(4)?,
                prior_to: u32_at(8)?,
            },
            5 => Self::ConnectionClose {
                errcode: u32_at(0)?,
                frame: *p.get(4)?,
                phrase: p.get(8..)?.to_vec(),
            },
            6 => Self::ConnectionMigration { local: *p.first()? },
            7 => Self::KeyUpdate { phase: *p.first()? },
            8 => Self::NewToken(p.to_vec()),
            9 => Self::NewSessionTicket(p.to_vec()),
            _ => return None,
        })
    }

    /// The event a protocol-core event becomes, if any.
    pub(crate) fn from_core(
        e: &Event,
        key_phase: Option<bool>,
        max_stream: impl Fn(quicsock_proto::Dir) -> u64,
    ) -> Option<Self> {
        let sid = |id: quicsock_proto::StreamId| id.into_inner() as i64;
        Some(match e {
            Event::Stream(StreamEvent::Opened(id)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::RECV_RECV,
                errcode: 0,
                final_size: 0,
            },
            Event::Stream(StreamEvent::Finished(id)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::SEND_RECVD,
                errcode: 0,
                final_size: 0,
            },
            Event::Stream(StreamEvent::Stopped(id, code)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::SEND_RESET_SENT,
                errcode: *code as u32,
                final_size: 0,
            },
            Event::Stream(StreamEvent::Reset(id, code, final_size)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::RECV_RESET_RECVD,
                errcode: *code as u32,
                final_size: *final_size,
            },
            Event::Stream(StreamEvent::SizeKnown(id, final_size)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::RECV_SIZE_KNOWN,
                errcode: 0,
                final_size: *final_size,
            },
            Event::Stream(StreamEvent::AllReceived(id, final_size)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::RECV_RECVD,
                errcode: 0,
                final_size: *final_size,
            },
            Event::Stream(StreamEvent::ResetAcked(id)) => Self::StreamUpdate {
                id: sid(*id),
                state: stream_state::SEND_RESET_RECVD,
                errcode: 0,
                final_size: 0,
            },
            Event::Stream(StreamEvent::Available(dir)) => Self::StreamMaxStream(max_stream(*dir)),
            Event::Stream(StreamEvent::MaxData(id, max)) => Self::StreamMaxData {
                id: sid(*id),
                max_data: *max,
            },
            Event::ConnectionIdRetired {
                dest,
                active,
                prior_to,
            } => Self::ConnectionId {
                dest: *dest,
                active: *active as u32,
                prior_to: *prior_to as u32,
            },
            Event::PathMigrated { local } => Self::ConnectionMigration {
                local: u8::from(*local),
            },
            Event::KeyUpdate => Self::KeyUpdate {
                phase: u8::from(key_phase.unwrap_or(false)),
            },
            Event::NewToken(t) => Self::NewToken(t.clone()),
            Event::Closed(err) => {
                let (errcode, frame, phrase) = match err {
                    ConnectionError::Peer(c) | ConnectionError::Local(c) => match c {
                        CloseCode::Transport {
                            code,
                            frame_type,
                            reason,
                        } => (
                            code.0 as u32,
                            frame_type.map_or(0, |f| f.0 as u8),
                            reason.as_bytes().to_vec(),
                        ),
                        CloseCode::Application { code, reason } => {
                            (*code as u32, 0, reason.as_bytes().to_vec())
                        }
                    },
                    ConnectionError::Reset => (0x100, 0, Vec::new()),
                    _ => (0, 0, Vec::new()),
                };
                Self::ConnectionClose {
                    errcode,
                    frame,
                    phrase,
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_layout_round_trips() {
        let e = QuicEvent::StreamUpdate {
            id: 4,
            state: stream_state::RECV_RESET_RECVD,
            errcode: 7,
            final_size: 1000,
        };
        let b = e.to_bytes();
        assert_eq!(b.len(), 1 + 24, "type byte + struct quic_stream_update");
        assert_eq!((b[0], b[1], b[9], b[13]), (1, 4, 10, 7));
        assert_eq!(QuicEvent::from_bytes(&b), Some(e));
        let c = QuicEvent::ConnectionClose {
            errcode: 42,
            frame: 0,
            phrase: b"bye".to_vec(),
        };
        assert_eq!(c.to_bytes()[..5], [5, 42, 0, 0, 0]);
        assert_eq!(QuicEvent::from_bytes(&c.to_bytes()), Some(c));
        for e in [
            QuicEvent::StreamMaxStream(401),
            QuicEvent::StreamMaxData {
                id: 8,
                max_data: 1 << 20,
            },
            QuicEvent::KeyUpdate { phase: 1 },
            QuicEvent::NewToken(vec![1, 2]),
            QuicEvent::NewSessionTicket(vec![4, 0, 0, 1, 9]),
            QuicEvent::ConnectionId {
                dest: true,
                active: 3,
                prior_to: 2,
            },
            QuicEvent::ConnectionMigration { local: 0 },
        ] {
            assert_eq!(QuicEvent::from_bytes(&e.to_bytes()), Some(e));
        }
        assert_eq!(QuicEvent::from_bytes(&[]), None);
        assert_eq!(QuicEvent::from_bytes(&[1, 2, 3]), None, "short");
        assert_eq!(QuicEvent::from_bytes(&[99]), None, "unknown type");
    }
}
