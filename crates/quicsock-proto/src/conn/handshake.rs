//! The handshake boundary (DESIGN.md; Linux QUIC's handshake interface, reference §1.9):
//! handshake bytes in and out per level, the raw transport-parameters extension body, and
//! secrets, from which the connection derives its keys. Completion, confirmation and key
//! discard follow RFC 9001 §4.1.2 and §4.9; packets that arrive before their keys wait in
//! a bounded buffer (§5.7).

use super::{space_index, Connection, EndpointEvent, Event};
use crate::crypto::{CipherSuite, CryptoError};
use crate::frame::FrameType;
use crate::packet::{SpaceId, Version};
use crate::time::Timestamp;
use crate::transport_params::TransportParameters;
use crate::{Side, TransportError, TransportErrorCode};

/// An encryption level (RFC 9001 §4.1.4).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Initial.
    Initial,
    /// 0-RTT (early data).
    ZeroRtt,
    /// Handshake.
    Handshake,
    /// 1-RTT (application data).
    OneRtt,
}

impl Level {
    pub(crate) fn space(self) -> SpaceId {
        match self {
            Self::Initial => SpaceId::Initial,
            Self::Handshake => SpaceId::Handshake,
            Self::ZeroRtt | Self::OneRtt => SpaceId::Data,
        }
    }

    pub(crate) fn of_space(space: SpaceId) -> Self {
        match space {
            SpaceId::Initial => Self::Initial,
            SpaceId::Handshake => Self::Handshake,
            SpaceId::Data => Self::OneRtt,
        }
    }
}

/// Which way a secret protects packets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Packets we receive.
    Read,
    /// Packets we send.
    Write,
}

/// A TLS handshake driven over a connection's handshake boundary.
///
/// The connection calls [`drive`](Self::drive) when it is created (a client produces its
/// first flight) and after every datagram. The driver reads what arrived with
/// [`Connection::read_handshake`], feeds its TLS engine, and hands back what TLS produced
/// through the other boundary methods. Errors close the connection with their code: a
/// TLS alert maps to CRYPTO_ERROR (0x100 + alert, RFC 9001 §4.8).
pub trait HandshakeDriver: Send {
    /// Advances the handshake as far as the bytes received allow.
    fn drive(&mut self, conn: &mut Connection, now: Timestamp) -> Result<(), TransportError>;

    /// The negotiated application protocol, once known.
    fn alpn(&self) -> Option<&[u8]> {
        None
    }

    /// The server name the client asked for (servers), once known.
    fn server_name(&self) -> Option<&str> {
        None
    }

    /// Whether the handshake resumed an earlier session, once known.
    fn is_resumed(&self) -> Option<bool> {
        None
    }

    /// The last session ticket the server sent (clients), as the raw TLS message.
    fn session_ticket(&self) -> Option<&[u8]> {
        None
    }
}

impl Connection {
    /// The next run of handshake bytes received in order, with its level.
    pub fn read_handshake(&mut self) -> Option<(Level, Vec<u8>)> {
        if let Some(front) = self.handshake_front.take() {
            return Some(front);
        }
        for space in super::SPACES {
            let i = space_index(space);
            if let Some(chunk) = self.spaces[i].crypto_recv.read_chunk() {
                return Some((Level::of_space(space), chunk));
            }
            self.handshake_unread[i] = false;
        }
        None
    }

    /// The next run of handshake bytes received in order at `level` only (after the
    /// handshake, a client's NewSessionTicket at the 1-RTT level).
    pub fn read_handshake_at(&mut self, level: Level) -> Option<Vec<u8>> {
        if self
            .handshake_front
            .as_ref()
            .is_some_and(|(l, _)| *l == level)
        {
            return self.handshake_front.take().map(|(_, bytes)| bytes);
        }
        let i = space_index(level.space());
        let chunk = self.spaces[i].crypto_recv.read_chunk();
        if chunk.is_none() {
            self.handshake_unread[i] = false;
        }
        chunk
    }

    /// Queues handshake bytes to send at `level` in CRYPTO frames.
    pub fn write_handshake(&mut self, level: Level, data: &[u8]) {
        let space = level.space();
        self.space(space).crypto_send.write(data);
    }

    /// Our quic_transport_parameters extension body.
    pub fn local_transport_params(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.local_params.encode(&mut out);
        out
    }

    /// Compatible version negotiation on a server (RFC 9368 §2.3): given the client's
    /// quic_transport_parameters from its ClientHello, switches the connection to the
    /// first version in the client's available_versions (its order of preference) that
    /// this server speaks and that is compatible with the client's first flight, unless
    /// the current one comes first. Only before the server's first flight: a driver calls
    /// it before it takes [`local_transport_params`](Self::local_transport_params), whose
    /// version_information then names the version chosen (rustls wants our parameters
    /// before it reads the ClientHello, so its driver calls this itself;
    /// [`set_peer_transport_params`](Self::set_peer_transport_params) calls it too, for
    /// drivers that hand over the peer's parameters first). Returns the version in use.
    pub fn negotiate_version(&mut self, client_params: &[u8]) -> Result<Version, TransportError> {
        if self.side != Side::Server || !self.can_change_version() {
            return Ok(self.version);
        }
        let p = TransportParameters::decode(client_params, Side::Client)?;
        let Some(info) = p.version_information else {
            return Ok(self.version);
        };
        let ours = self
            .local_params
            .version_information
            .as_ref()
            .map_or(&[][..], |i| &i.available[..]);
        let pick = info.available.iter().copied().find(|v| {
            *v == self.version || ours.contains(v) && self.original_version.is_compatible_with(*v)
        });
        if let Some(v) = pick.filter(|v| *v != self.version) {
            self.switch_version(v).map_err(|_| {
                TransportError::new(TransportErrorCode::INTERNAL_ERROR, "initial keys")
            })?;
        }
        Ok(self.version)
    }

    /// Whether the version may still change: nothing of the server's first flight, or
    /// of the handshake after it, exists yet.
    fn can_change_version(&self) -> bool {
        self.spaces[0].crypto_send.end() == 0
            && !self.keys.can_send(SpaceId::Handshake)
            && !self.keys.can_receive(SpaceId::Handshake)
    }

    /// Switches to `version` (compatible version negotiation): the Initial keys are
    /// derived again with its salt (RFC 9369 §3.3.1) from the same connection ID, and
    /// our version_information names it chosen.
    pub(crate) fn switch_version(&mut self, version: Version) -> Result<(), CryptoError> {
        let dcid = self.retry_scid.unwrap_or(self.original_dcid);
        self.keys.set_initial(version, &dcid, self.side)?;
        self.version = version;
        if let Some(info) = self.local_params.version_information.as_mut() {
            info.chosen = version;
            info.available.retain(|v| *v != version);
            info.available.insert(0, version);
        }
        Ok(())
    }

    /// The peer's quic_transport_parameters extension body: decoded, checked against the
    /// connection IDs seen on the wire (RFC 9000 §7.3), and applied.
    pub fn set_peer_transport_params(&mut self, body: &[u8]) -> Result<(), TransportError> {
        let peer_side = match self.side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        if self.side == Side::Server {
            self.negotiate_version(body)?;
        }
        let p = TransportParameters::decode(body, peer_side)?;
        let bad =
            |reason| TransportError::new(TransportErrorCode::TRANSPORT_PARAMETER_ERROR, reason);
        let peer_initial = self.remote_cids.active.get(&0).map(|(c, _)| *c);
        if p.initial_source_connection_id.is_none()
            || p.initial_source_connection_id != peer_initial
        {
            return Err(bad(
                "initial_source_connection_id does not match the packets",
            ));
        }
        if self.side == Side::Client {
            if p.original_destination_connection_id != Some(self.original_dcid) {
                return Err(bad("original_destination_connection_id does not match"));
            }
            if p.retry_source_connection_id != self.retry_scid {
                return Err(bad("retry_source_connection_id does not match the Retry"));
            }
            if let Some(token) = p.stateless_reset_token {
                self.remote_cids.set_initial_token(token);
            }
            // The preferred address's connection ID is sequence 1 (RFC 9000 §5.1.1).
            if let Some(pa) = &p.preferred_address {
                self.remote_cids
                    .active
                    .insert(1, (pa.connection_id, Some(pa.stateless_reset_token)));
            }
        }
        // RFC 9368 §4, §5: a client's chosen version is that of its first flight; a
        // server's is the version the connection uses, and a server that switched the
        // connection must say so.
        let expected = match self.side {
            Side::Server => self.original_version,
            Side::Client => self.version,
        };
        let negotiation_error =
            |reason| TransportError::new(TransportErrorCode::VERSION_NEGOTIATION_ERROR, reason);
        match &p.version_information {
            Some(v) if v.chosen != expected => {
                return Err(negotiation_error(
                    "version_information names another version than the connection's",
                ));
            }
            None if self.version != self.original_version => {
                return Err(negotiation_error(
                    "the server switched versions without version_information",
                ));
            }
            // RFC 9368 §4: a server that lists the version its Version Negotiation
            // refused did not send that Version Negotiation.
            Some(v)
                if self
                    .probed_version
                    .is_some_and(|probed| v.available.contains(&probed)) =>
            {
                return Err(negotiation_error(
                    "the server speaks the version its Version Negotiation denied",
                ));
            }
            _ => {}
        }
        self.check_remembered(&p)?;
        self.streams.set_peer_params(&p);
        let peer_idle = std::time::Duration::from_millis(p.max_idle_timeout.into_inner());
        if !peer_idle.is_zero() {
            self.idle_timeout = Some(self.idle_timeout.map_or(peer_idle, |l| l.min(peer_idle)));
        }
        self.local_cids.peer_limit = p.active_connection_id_limit.into_inner();
        let peer_max = p.max_udp_payload_size.into_inner().min(65527) as u16;
        self.path.mtu.set_limit(peer_max);
        self.on_datagram_size_changed();
        // Only when both sent it; one side alone changes nothing.
        self.plaintext_1rtt =
            self.local_params.disable_1rtt_encryption && p.disable_1rtt_encryption;
        // The peer takes ACK_FREQUENCY frames (draft-ietf-quic-ack-frequency §3).
        self.ack_request.peer_min = p
            .min_ack_delay
            .map(|m| std::time::Duration::from_micros(m.into_inner()));
        // RFC 9287 §3.1: the QUIC bit may be greased from now on.
        self.first_byte.set_peer_grease(p.grease_quic_bit);
        self.peer_params = Some(Box::new(p));
        self.qlog_peer_params(self.last_now);
        Ok(())
    }

    /// Installs a secret for `level` in `dir`; the connection derives key, IV and
    /// header-protection key with the version's labels (RFC 9001 §5.1, RFC 9369 §3.3.2).
    pub fn install_secret(
        &mut self,
        level: Level,
        dir: Direction,
        suite: CipherSuite,
        secret: &[u8],
    ) -> Result<(), TransportError> {
        self.keys
            .install(self.version, level, dir, suite, secret)
            .map_err(|_| {
                TransportError::new(
                    TransportErrorCode::INTERNAL_ERROR,
                    "bad secret for the cipher suite",
                )
            })?;
        if level == Level::ZeroRtt {
            self.on_zero_rtt_key();
        }
        // RFC 9001 §4.9.3: a client discards its 0-RTT keys once it has 1-RTT keys.
        if self.side == Side::Client && self.keys.one_rtt.is_some() {
            self.keys.zero_rtt = None;
        }
        self.keys_changed = true;
        Ok(())
    }

    /// The TLS handshake completed (RFC 9001 §4.1.1). A server's handshake is then also
    /// confirmed: it sends HANDSHAKE_DONE and discards its Handshake keys (§4.9.2).
    pub fn handshake_complete(&mut self) -> Result<(), TransportError> {
        if self.handshake_complete {
            return Ok(());
        }
        if self.peer_params.is_none() {
            return Err(TransportError::new(
                TransportErrorCode::crypto(109), // missing_extension
                "handshake completed without the peer's transport parameters",
            ));
        }
        if !self.keys.can_send(SpaceId::Data) {
            return Err(TransportError::new(
                TransportErrorCode::INTERNAL_ERROR,
                "handshake completed without 1-RTT keys",
            ));
        }
        self.handshake_complete = true;
        self.timers.stop(super::timer::Timer::Handshake);
        // Early 1-RTT packets a server held may now be processed.
        self.keys_changed = true;
        self.phase = super::Phase::Established;
        self.events.push_back(Event::HandshakeComplete);
        self.endpoint_events.push_back(EndpointEvent::Established);
        if self.handshake_done_early {
            self.confirm_handshake();
        }
        if self.side == Side::Server {
            self.handshake_done_pending = true;
            self.confirm_handshake();
        }
        self.issue_cids();
        Ok(())
    }

    /// The handshake is confirmed: discard the Handshake keys (RFC 9001 §4.9.2).
    pub(crate) fn confirm_handshake(&mut self) {
        if self.handshake_confirmed {
            return;
        }
        self.handshake_confirmed = true;
        tracing::debug!(side = ?self.side, version = %self.version, "handshake confirmed");
        self.peer_validated_us = true;
        self.start_preferred_probe(self.last_now);
        // DPLPMTUD probes are 1-RTT packets, sent once the handshake is confirmed.
        self.path.mtu.start();
        self.discard_space(SpaceId::Handshake);
        self.events.push_back(Event::HandshakeConfirmed);
    }

    /// Discards the keys and recovery state of a space (RFC 9001 §4.9, RFC 9002 §6.4).
    pub(crate) fn discard_space(&mut self, space: SpaceId) {
        if !self.keys.can_send(space) && !self.keys.can_receive(space) {
            return;
        }
        self.keys.discard(space);
        let s = &mut self.spaces[space_index(space)];
        for p in s.recovery.discard() {
            if p.in_flight {
                self.bytes_in_flight -= u64::from(p.size);
            }
        }
        s.discard();
        self.pto_count = 0;
    }

    /// Runs the handshake driver, then retries packets that waited for keys.
    pub(crate) fn run_driver(&mut self, now: Timestamp) {
        if self.version_probe.is_some() {
            // The first flight waits for the version (`version_probe`).
            return;
        }
        // Once the handshake completed, the driver only has work when handshake bytes
        // arrive (a NewSessionTicket, say): not on every datagram of a transfer.
        let idle = self.handshake_complete && !self.handshake_unread.iter().any(|u| *u);
        if !idle {
            if let Some(mut driver) = self.driver.take() {
                let result = driver.drive(self, now);
                self.driver = Some(driver);
                if let Err(e) = result {
                    self.close_with_error(now, e);
                    return;
                }
            }
        }
        if self.keys_changed && !self.buffered.is_empty() {
            self.keys_changed = false;
            let packets: Vec<Vec<u8>> = self.buffered.drain(..).collect();
            for mut p in packets {
                let remote = self.path.remote;
                self.handle_packets(now, remote, super::Datagram::Borrowed(&mut p));
            }
            // The replayed packets may carry more handshake data.
            if let Some(mut driver) = self.driver.take() {
                let result = driver.drive(self, now);
                self.driver = Some(driver);
                if let Err(e) = result {
                    self.close_with_error(now, e);
                }
            }
        }
        self.keys_changed = false;
    }

    /// Runs the handshake driver and processes the packets that waited for keys installed
    /// since: for an owner that drives the handshake itself through the boundary methods.
    pub fn drive_handshake(&mut self, now: Timestamp) {
        self.run_driver(now);
    }

    /// Whether handshake bytes arrived that were not read yet.
    pub fn has_handshake_data(&self) -> bool {
        self.handshake_front.is_some() || self.handshake_unread.iter().any(|u| *u)
    }

    /// Gives back handshake bytes a driver read (all it read, at `level`), for the next
    /// [`read_handshake`](Self::read_handshake) to return first: a driver that only looks
    /// at the ClientHello to choose who runs the handshake leaves it to them.
    pub fn unread_handshake(&mut self, level: Level, bytes: Vec<u8>) {
        debug_assert!(self.handshake_front.is_none(), "one give-back at a time");
        self.handshake_front = Some((level, bytes));
    }

    /// The driver, for its negotiated parameters (ALPN, server name).
    pub fn driver(&self) -> Option<&dyn HandshakeDriver> {
        self.driver.as_deref()
    }

    /// A CRYPTO frame arrived at `space`.
    pub(crate) fn on_crypto(
        &mut self,
        space: SpaceId,
        offset: u64,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let s = &mut self.spaces[space_index(space)];
        let end = offset + data.len() as u64;
        if end.saturating_sub(s.crypto_recv.read_offset()) > super::CRYPTO_BUFFER_LIMIT {
            return Err(TransportError::in_frame(
                TransportErrorCode::CRYPTO_BUFFER_EXCEEDED,
                FrameType::CRYPTO,
                "CRYPTO data beyond the buffering limit",
            ));
        }
        let stored = s
            .crypto_recv
            .insert_within(offset, data, crate::stream::CRYPTO_MAX_RANGES, None)
            .map_err(|_| {
                TransportError::in_frame(
                    TransportErrorCode::CRYPTO_BUFFER_EXCEEDED,
                    FrameType::CRYPTO,
                    "CRYPTO data split into too many out-of-order fragments",
                )
            })?;
        if stored > 0 {
            self.handshake_unread[space_index(space)] = true;
        }
        Ok(())
    }

    pub(crate) fn emit_retired(&mut self, cid: crate::ConnectionId) {
        self.endpoint_events
            .push_back(EndpointEvent::RetiredCid(cid));
    }
}
