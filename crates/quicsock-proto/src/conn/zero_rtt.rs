//! 0-RTT (RFC 9001 §4.6, RFC 9000 §7.4.1): a resuming client sends application data
//! before the handshake completes, within the transport parameters it remembered from
//! the session it resumes; a server that accepts early data opens those packets.
//!
//! Client: the driver installs the early write secret (TLS offers early data with the
//! ticket) and hands over the remembered parameters
//! ([`set_zero_rtt_params`](Connection::set_zero_rtt_params)); streams and datagrams then
//! go out in 0-RTT packets, in the application data space, until 1-RTT keys exist, when
//! the 0-RTT keys are discarded (RFC 9001 §4.9.3). Once TLS knows, the driver reports
//! whether the server accepted ([`zero_rtt_outcome`](Connection::zero_rtt_outcome)). On
//! rejection everything the 0-RTT packets carried is sent again in 1-RTT packets (their
//! loss is not congestion): the application only sees the event. The server's new
//! parameters must not lower a limit the 0-RTT data relied on (§7.4.1; for a rejection
//! too, since the data is sent again under them).
//!
//! Server: 0-RTT packets are opened once the driver installed the early read secret,
//! which it does only when TLS accepted early data; until the server's first flight
//! exists they wait with the packets whose keys may come later, afterwards they are
//! dropped. A 1-RTT packet from the client ends 0-RTT: its keys are discarded.

use super::{Connection, Event};
use crate::packet::SpaceId;
use crate::transport_params::TransportParameters;
use crate::{Side, TransportError, TransportErrorCode};

/// Where 0-RTT stands on a connection.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ZeroRttState {
    /// Not attempted (no ticket allowing early data, or the server did not accept).
    #[default]
    None,
    /// Client: early data is being sent; the server's answer is not known yet.
    Attempted,
    /// The server accepted early data (a server: it opens 0-RTT packets).
    Accepted,
    /// Client: the server rejected early data; it was sent again in 1-RTT packets.
    Rejected,
}

impl Connection {
    /// Whether the next application-data packet goes out as 0-RTT: a client with early
    /// keys and no 1-RTT keys yet.
    pub(crate) fn sends_zero_rtt(&self) -> bool {
        self.side == Side::Client && self.keys.zero_rtt.is_some() && self.keys.one_rtt.is_none()
    }

    /// Where 0-RTT stands.
    pub fn zero_rtt(&self) -> ZeroRttState {
        self.zero_rtt
    }

    /// A resuming client's remembered server transport parameters (RFC 9000 §7.4.1), the
    /// limits its 0-RTT data stays within: stream counts, flow-control windows, the
    /// DATAGRAM frame size. The server's own parameters replace them when they arrive.
    pub fn set_zero_rtt_params(&mut self, body: &[u8]) -> Result<(), TransportError> {
        if self.side != Side::Client || self.peer_params.is_some() {
            return Ok(());
        }
        let p = TransportParameters::decode(body, Side::Server)?;
        self.streams.set_peer_params(&p);
        self.remembered = Some(Box::new(p));
        Ok(())
    }

    /// The client learnt from TLS whether the server accepted its early data. A rejection
    /// sends everything the 0-RTT packets carried again in 1-RTT packets; either way the
    /// application hears of it ([`Event::ZeroRtt`]).
    pub fn zero_rtt_outcome(&mut self, accepted: bool) {
        if self.side != Side::Client || self.zero_rtt != ZeroRttState::Attempted {
            return;
        }
        self.keys.zero_rtt = None;
        if accepted {
            self.zero_rtt = ZeroRttState::Accepted;
        } else {
            self.zero_rtt = ZeroRttState::Rejected;
            // Every application-data packet so far was 0-RTT: none reached the
            // application, so all of it goes again, and none of it counts as congestion.
            let i = super::space_index(SpaceId::Data);
            let packets = self.spaces[i].recovery.discard();
            let mut frames = Vec::new();
            for p in packets {
                if p.in_flight {
                    self.bytes_in_flight -= u64::from(p.size);
                }
                frames.extend(p.frames);
            }
            for f in &frames {
                self.on_frame_lost(SpaceId::Data, f);
            }
        }
        tracing::debug!(accepted, "0-RTT outcome");
        self.events.push_back(Event::ZeroRtt { accepted });
    }

    /// An early secret was installed: a client starts 0-RTT, a server accepted it.
    pub(crate) fn on_zero_rtt_key(&mut self) {
        if self.zero_rtt == ZeroRttState::None {
            self.zero_rtt = match self.side {
                Side::Client => ZeroRttState::Attempted,
                Side::Server => ZeroRttState::Accepted,
            };
        }
    }

    /// RFC 9000 §7.4.1: a server's parameters after 0-RTT lower none of the limits the
    /// client's 0-RTT data relied on.
    pub(crate) fn check_remembered(&self, p: &TransportParameters) -> Result<(), TransportError> {
        let Some(r) = self.remembered.as_deref() else {
            return Ok(());
        };
        if self.zero_rtt == ZeroRttState::None {
            return Ok(());
        }
        let lowered = p.initial_max_data < r.initial_max_data
            || p.initial_max_stream_data_bidi_local < r.initial_max_stream_data_bidi_local
            || p.initial_max_stream_data_bidi_remote < r.initial_max_stream_data_bidi_remote
            || p.initial_max_stream_data_uni < r.initial_max_stream_data_uni
            || p.initial_max_streams_bidi < r.initial_max_streams_bidi
            || p.initial_max_streams_uni < r.initial_max_streams_uni
            || p.active_connection_id_limit < r.active_connection_id_limit
            || p.max_datagram_frame_size < r.max_datagram_frame_size;
        if lowered {
            return Err(TransportError::new(
                TransportErrorCode::PROTOCOL_VIOLATION,
                "the server lowered a limit the 0-RTT data relied on",
            ));
        }
        Ok(())
    }
}
