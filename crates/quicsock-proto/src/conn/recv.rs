//! Datagrams in: splitting coalesced packets (RFC 9000 §12.2), removing protection
//! (RFC 9001 §5), key phases (§6), duplicate detection, and the frames of each packet
//! (RFC 9000 §19) dispatched to their owners.
//!
//! Passes over a received byte: the AEAD opens it in place (one pass); a packet of a
//! [`Datagram::Shared`] is then frozen so that its streams can keep their in-order data as
//! slices of it, and the application's read copies it once. Data of a borrowed datagram,
//! or data the stream cannot keep, is copied into the stream's ring first.

use std::net::SocketAddr;
use std::time::Duration;

use super::close::CloseCode;
use super::{
    space_index, Connection, ConnectionError, Ecn, Event, Phase, MAX_BUFFERED_BYTES,
    MAX_BUFFERED_PACKETS, MAX_DATAGRAMS_IN, MAX_PATH_RESPONSES,
};
use crate::crypto::{open, read_packet_number, remove_header_protection, verify_retry};
use crate::frame::{Ack, CloseReason, Frame, FrameType, Frames};
use crate::packet::{
    Header, PacketNumber, PacketType, ParsedPacket, SpaceId, Version, LONG_RESERVED_BITS,
    SHORT_RESERVED_BITS,
};
use crate::path::ecn::EcnVerdict;
use crate::recovery::{
    is_persistent_congestion, SentFrame, SentPacket, PERSISTENT_CONGESTION_THRESHOLD,
};
use crate::stream::Share;
use crate::time::Timestamp;
use crate::{ConnectionId, Side, TransportError, TransportErrorCode};
use bytes::BytesMut;

/// What the header of a packet told us, copied out so the packet can be decrypted in place.
struct Info {
    ty: PacketType,
    scid: Option<ConnectionId>,
    dcid: ConnectionId,
    pn_offset: usize,
    long: bool,
    /// The spin bit of a short header.
    spin: bool,
}

/// The losses of a congestion event at most, for it to be undone when they prove spurious.
const MAX_UNDO_LOSSES: usize = 256;

/// How to undo the last congestion event.
pub(crate) struct CongestionUndo {
    /// Its lost packets not yet acknowledged after all.
    lost: Vec<(SpaceId, u64)>,
    /// The controller before the event.
    before: Box<dyn crate::cong::Controller>,
}

/// Why a packet's payload did not open.
enum OpenFailure {
    /// The AEAD tag did not verify: dropped, and counted against the integrity limit.
    Auth,
    /// The packet authenticated but its key phase breaks RFC 9001 §6.
    KeyUpdate(&'static str),
}

/// Where a received datagram's bytes live while it is handled ([`Connection::handle`]).
#[derive(Debug)]
pub enum Datagram<'a> {
    /// Memory the caller keeps: stream data is copied out of it.
    Borrowed(&'a mut [u8]),
    /// A part of a shared receive buffer, with the buffer's pin: the datagrams of one
    /// buffer share a pin, and different buffers have different ones. Streams may keep
    /// slices of its packets instead of copying their data.
    Shared(BytesMut, u64),
}

impl<'a> Datagram<'a> {
    /// The datagram's bytes.
    pub(crate) fn bytes(&mut self) -> &mut [u8] {
        match self {
            Datagram::Borrowed(b) => b,
            Datagram::Shared(b, _) => b,
        }
    }

    /// Splits off the first `len` bytes (one packet).
    fn take(&mut self, len: usize) -> Self {
        match self {
            Datagram::Borrowed(b) => {
                let (head, tail) = std::mem::take(b).split_at_mut(len);
                *b = tail;
                Datagram::Borrowed(head)
            }
            // The last packet (most datagrams hold one) takes the rest as it is: a split
            // costs two atomic operations on the buffer's count.
            Datagram::Shared(b, pin) if len == b.len() => Datagram::Shared(std::mem::take(b), *pin),
            Datagram::Shared(b, pin) => Datagram::Shared(b.split_to(len), *pin),
        }
    }
}

impl Connection {
    /// Processes one datagram from `remote`. `data` is decrypted in place, and stream data
    /// is copied out of it.
    pub fn handle_datagram(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        data: &mut [u8],
    ) {
        self.handle(now, remote, ecn, Datagram::Borrowed(data));
    }

    /// Processes one datagram from `remote`, wherever its bytes live. They are decrypted
    /// in place. In-order stream data of a [`Datagram::Shared`] one is kept as slices of
    /// it rather than copied, so the application's read is its only copy (DESIGN.md, "Data
    /// path and copy budget"); a slice holds the whole receive buffer until it is read, and
    /// a connection pins at most [`MAX_PINNED_BUFFERS`](crate::stream::MAX_PINNED_BUFFERS)
    /// buffers and copies beyond that.
    pub fn handle(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        mut data: Datagram<'_>,
    ) {
        self.last_now = self.last_now.max(now);
        self.packet_ecn = ecn;
        match self.phase {
            Phase::Drained | Phase::Draining(_) => return,
            Phase::Closing(_) => {
                // Answer with CONNECTION_CLOSE again (RFC 9000 §10.2.1), rate-limited: to
                // the 1st, 2nd, 4th, 8th… datagram received while closing, so a flood of
                // N datagrams draws about log2(N) replies.
                self.closing_received += 1;
                if self.closing_received.is_power_of_two() {
                    self.close_due = true;
                }
                return;
            }
            _ => {}
        }
        if remote != self.path.remote {
            if self.is_probed_address(remote) {
                // The preferred address answering our probe (RFC 9000 §9.6.1).
                self.handle_packets(now, remote, data);
                self.run_driver(now);
                return;
            }
            self.on_new_address(now, remote, data);
            return;
        }
        self.path.on_received(data.bytes().len());
        self.handle_packets(now, remote, data);
        self.run_driver(now);
    }

    /// A datagram from another address than the peer's (RFC 9000 §9). A server whose
    /// handshake is confirmed follows the client there when the datagram holds the newest
    /// non-probing packet (NAT rebinding, §9.3): the new address is validated with
    /// PATH_CHALLENGE and, until then, gets at most three times what it sent (§8.1, §9.3.1);
    /// a new IP address resets congestion control and the RTT estimate (§9.4). Anything
    /// else from another address is dropped.
    fn on_new_address(&mut self, now: Timestamp, remote: SocketAddr, mut data: Datagram<'_>) {
        if self.side == Side::Client || !self.handshake_confirmed {
            return;
        }
        let before = self.nonprobing_largest;
        let len = data.bytes().len();
        self.handle_packets(now, remote, data);
        if self.nonprobing_largest <= before || self.is_closed() {
            // Probing only, or old or undecryptable packets: the path stays.
            return;
        }
        let mut challenge = [0u8; 8];
        self.rng.fill(&mut challenge);
        // RFC 9000 §9.5: a new ID for the new path, when the client gave us a spare.
        self.remote_cids.rotate();
        if self.path.migrate(remote, len, challenge, self.config.ecn) {
            self.reset_congestion();
        }
        // Answers to challenges that came on the old path go to the new one.
        self.run_driver(now);
    }

    pub(crate) fn handle_packets(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        mut data: Datagram<'_>,
    ) {
        self.packet_remote = remote;
        self.packet_datagram_len = data.bytes().len();
        let mut first_dcid: Option<ConnectionId> = None;
        while !data.bytes().is_empty() && !self.is_closed() {
            let rest = data.bytes();
            let parsed = match ParsedPacket::parse(rest, self.config.cid_len) {
                Ok(p) => p,
                Err(_) => return,
            };
            let len = parsed.len;
            let quic_bit = parsed.fixed_bit();
            let dcid = parsed.header.dcid().copied();
            // RFC 9000 §12.2: coalesced packets with another DCID are dropped.
            if let (Some(first), Some(d)) = (first_dcid, dcid) {
                if first != d {
                    data.take(len);
                    continue;
                }
            }
            first_dcid = first_dcid.or(dcid);
            let info = match &parsed.header {
                Header::VersionNegotiation(vn) => {
                    if self.side == Side::Client
                        && self.on_probe_answer(now, vn.scid, vn.versions().collect())
                    {
                        return;
                    }
                    // RFC 9000 §6.2: one that lists our version, or comes after any other
                    // packet (an earlier Version Negotiation included), is discarded.
                    let ours = vn.versions().any(|v| v == self.version);
                    if self.side == Side::Client
                        && !self.received_any
                        && self.probed_version.is_none()
                        && !ours
                    {
                        let offered = vn.versions().collect();
                        self.drain_now(ConnectionError::VersionMismatch(offered));
                    }
                    return;
                }
                Header::Retry(retry) => {
                    let scid = retry.scid;
                    let token = retry.token.to_vec();
                    let packet = rest[..len].to_vec();
                    self.on_retry(scid, token, &packet);
                    return;
                }
                Header::Unsupported(_) => return,
                Header::Initial(h) | Header::Handshake(h) | Header::ZeroRtt(h) => {
                    if h.version != self.version
                        && !self.follow_server_version(h.version, &parsed.header)
                    {
                        return;
                    }
                    Info {
                        ty: parsed.header.packet_type().expect("long packet"),
                        scid: Some(h.scid),
                        dcid: h.dcid,
                        pn_offset: parsed.pn_offset.expect("has a packet number"),
                        long: true,
                        spin: false,
                    }
                }
                Header::Short(h) => Info {
                    ty: PacketType::OneRtt,
                    scid: None,
                    dcid: h.dcid,
                    pn_offset: parsed.pn_offset.expect("has a packet number"),
                    long: false,
                    spin: h.spin,
                },
            };
            // RFC 9000 §17.2: a packet with the QUIC bit cleared is discarded, unless we
            // advertised grease_quic_bit (RFC 9287 §3).
            if !quic_bit && !self.local_params.grease_quic_bit {
                data.take(len);
                continue;
            }
            let packet = data.take(len);
            self.handle_packet(now, info, packet);
        }
    }

    /// A client whose server answered in another version (compatible version
    /// negotiation, RFC 9368 §2.3): follows it when an Initial of a version we offered in
    /// version_information, and compatible with ours, comes before any of the server's
    /// handshake data (the server may have acknowledged the first packets of a long
    /// ClientHello in the original version before it chose). The server's transport
    /// parameters must then name it chosen.
    fn follow_server_version(&mut self, version: Version, header: &Header<'_>) -> bool {
        let offered = self
            .local_params
            .version_information
            .as_ref()
            .is_some_and(|i| i.available.contains(&version));
        let crypto = &self.spaces[0].crypto_recv;
        self.side == Side::Client
            && crypto.read_offset() == 0
            && crypto.buffered() == 0
            && !self.keys.can_receive(SpaceId::Handshake)
            && matches!(header, Header::Initial(_))
            && offered
            && self.version.is_compatible_with(version)
            && self.switch_version(version).is_ok()
    }

    fn on_retry(&mut self, scid: ConnectionId, token: Vec<u8>, packet: &[u8]) {
        // RFC 9000 §17.2.5.2: one Retry, before anything else, with a valid tag and a
        // non-empty token.
        if self.side != Side::Client
            || self.received_any
            || self.retry_scid.is_some()
            || token.is_empty()
        {
            return;
        }
        // RFC 9000 §17.2.5.2: a Retry whose source ID is our original destination ID is
        // discarded.
        if scid == self.original_dcid || !verify_retry(self.version, &self.original_dcid, packet) {
            return;
        }
        self.retry_scid = Some(scid);
        self.token = token;
        self.remote_cids.set_initial(scid);
        if self
            .keys
            .set_initial(self.version, &scid, Side::Client)
            .is_err()
        {
            return;
        }
        // Everything sent in Initial packets goes again under the new keys.
        let s = &mut self.spaces[0];
        for p in s.recovery.discard() {
            if p.in_flight {
                self.bytes_in_flight -= u64::from(p.size);
            }
        }
        let end = s.crypto_send.end();
        s.crypto_send.on_lost(0..end);
    }

    fn handle_packet(&mut self, now: Timestamp, info: Info, mut input: Datagram<'_>) {
        let packet = input.bytes();
        let space = info.ty.space();
        let zero_rtt = info.ty == PacketType::ZeroRtt;
        if zero_rtt && self.side == Side::Client {
            return; // RFC 9000 §17.2.3: only clients send 0-RTT.
        }
        // RFC 9001 §5.7: a server does not process 1-RTT packets before the handshake
        // completes; they wait with the packets whose keys are not there yet. 0-RTT
        // packets are opened as soon as their key is there.
        let early_one_rtt = !zero_rtt
            && self.side == Side::Server
            && space == SpaceId::Data
            && !self.handshake_complete;
        let keys = if zero_rtt {
            self.keys.zero_rtt.is_some()
        } else {
            self.keys.can_receive(space)
        };
        if !keys || early_one_rtt {
            // Keys may come later (RFC 9001 §5.7): keep a bounded number of packets. A
            // server knows whether it takes 0-RTT once its first flight exists.
            let later = match space {
                SpaceId::Initial => false,
                SpaceId::Data if zero_rtt => {
                    !self.keys.can_send(SpaceId::Handshake) && !self.handshake_complete
                }
                SpaceId::Handshake | SpaceId::Data => !self.handshake_complete,
            };
            let held: usize = self.buffered.iter().map(Vec::len).sum();
            if later
                && self.buffered.len() < MAX_BUFFERED_PACKETS
                && held + packet.len() <= MAX_BUFFERED_BYTES
            {
                self.buffered.push_back(packet.to_vec());
            }
            return;
        }
        let largest = self.spaces[space_index(space)]
            .largest_received()
            .map(PacketNumber);
        let plaintext = space == SpaceId::Data && self.plaintext_1rtt;
        let truncated = if plaintext {
            read_packet_number(packet, info.pn_offset)
        } else {
            let hp: &dyn crate::crypto::HeaderProtect = match space {
                SpaceId::Initial => &self.keys.initial.as_ref().expect("checked").1.header,
                SpaceId::Handshake => &self.keys.handshake_remote.as_ref().expect("checked").header,
                SpaceId::Data if zero_rtt => &self.keys.zero_rtt.as_ref().expect("checked").header,
                SpaceId::Data => &self.keys.one_rtt.as_ref().expect("checked").remote_hp,
            };
            remove_header_protection(packet, info.pn_offset, hp)
        };
        let Ok(truncated) = truncated else {
            return;
        };
        let pn = PacketNumber::expand(truncated.value(), truncated.len(), largest);
        let header_len = info.pn_offset + truncated.len();
        let first = packet[0];
        if plaintext {
            // Nothing authenticates the packet: a stateless reset is told apart by its
            // token before its bytes are read as frames.
            self.check_stateless_reset(packet);
            if self.is_drained() {
                return;
            }
        }
        let opened = if plaintext {
            Ok(packet.len() - header_len)
        } else if zero_rtt {
            let key = &self.keys.zero_rtt.as_ref().expect("checked").packet;
            open(packet, header_len, pn, key)
                .map(|p| p.len())
                .map_err(|_| OpenFailure::Auth)
        } else {
            self.open_payload(now, space, first, pn, header_len, packet)
        };
        let payload_len = match opened {
            Ok(len) => len,
            Err(OpenFailure::KeyUpdate(why)) => {
                let e = TransportError::new(TransportErrorCode::KEY_UPDATE_ERROR, why);
                self.close_with_error(now, e);
                return;
            }
            Err(OpenFailure::Auth) => {
                if space != SpaceId::Initial {
                    self.on_auth_failure(now);
                }
                if !info.long {
                    self.check_stateless_reset(packet);
                }
                return;
            }
        };
        // RFC 9000 §17.2 / §17.3.1: reserved bits must be zero once protection is off.
        let reserved = if info.long {
            LONG_RESERVED_BITS
        } else {
            SHORT_RESERVED_BITS
        };
        if first & reserved != 0 {
            self.close_with_error(
                now,
                TransportError::protocol_violation("reserved header bits set"),
            );
            return;
        }
        if self.spaces[space_index(space)].is_duplicate(pn.0) {
            return;
        }
        // The peer's connection ID, from its first authenticated packet (RFC 9000 §7.2).
        if !self.received_any {
            if let Some(scid) = info.scid {
                self.remote_cids.set_initial(scid);
            }
        }
        self.packet_dcid = info.dcid;
        self.received_any = true;
        self.counters.packets_received += 1;
        self.counters.bytes_received += packet.len() as u64;
        let packet_len = packet.len();
        let payload = header_len..header_len + payload_len;
        let frozen;
        let (payload, share) = match input {
            Datagram::Borrowed(b) => (&b[payload], None),
            Datagram::Shared(b, pin) => {
                frozen = b.freeze();
                let share = Share {
                    owner: &frozen,
                    pin,
                };
                (&frozen[payload], Some(share))
            }
        };
        // Logged before its frames act: a CONNECTION_CLOSE in it ends the trace.
        if self.qlogging() {
            self.qlog_packet_received(now, info.ty, pn.0, packet_len, payload);
        }
        let ack_eliciting = match self.process_frames(now, info.ty, payload, share) {
            Ok(e) => e,
            Err(e) => {
                self.close_with_error(now, e);
                return;
            }
        };
        if space == SpaceId::Data && !self.last_packet_probing {
            self.nonprobing_largest = self.nonprobing_largest.max(Some(pn.0));
        }
        // A 1-RTT packet from the client: it sends no more 0-RTT (RFC 9001 §4.9.3 lets a
        // server keep the keys a while for reordered ones; what they carried is
        // retransmitted if they are lost).
        if space == SpaceId::Data && !zero_rtt && self.side == Side::Server {
            self.keys.zero_rtt = None;
        }
        // RFC 9000 §17.4: the spin follows the peer's packet with the largest number.
        if !info.long && largest.is_none_or(|l| pn.0 > l.0) {
            self.first_byte.on_largest(self.side, info.spin);
        }
        // RFC 9000 §13.2.1: Initial and Handshake packets are acknowledged at once. So is a
        // packet that asks for nothing but an acknowledgment (PING: a keep-alive, or a
        // probe whose sender waits on it to recover from loss, RFC 9002 §6.2.4): there is
        // nothing to wait for, and no ACK timer to run for it.
        // IMMEDIATE_ACK asks for the same (draft-ietf-quic-ack-frequency §5).
        // RFC 9000 §13.4.1: each packet counts its datagram's ECN codepoint in its space;
        // §13.2.1: one marked CE is acknowledged at once.
        if let Some(e) = self.packet_ecn {
            let c = &mut self.spaces[space_index(space)].ecn;
            let n = match e {
                Ecn::Ect0 => &mut c.ect0,
                Ecn::Ect1 => &mut c.ect1,
                Ecn::Ce => &mut c.ce,
            };
            *n = crate::VarInt::saturating(n.into_inner() + 1);
        }
        let immediate = space != SpaceId::Data
            || self.packet_immediate_ack
            || self.packet_ecn == Some(Ecn::Ce)
            || (ack_eliciting && self.last_packet_ping_only);
        let policy = match space {
            SpaceId::Data => self.ack_policy(),
            _ => crate::pnspace::AckPolicy::rfc9000(self.local_max_ack_delay()),
        };
        self.spaces[space_index(space)].on_received(now, pn.0, ack_eliciting, &policy, immediate);
        if ack_eliciting {
            self.received_since_send = true;
        }
        self.arm_idle(now);
        self.arm_handshake_timeout(now);
        // RFC 9000 §8.1: a Handshake packet from the client proves its address; the server
        // then discards its Initial keys (RFC 9001 §4.9.1).
        if self.side == Side::Server && space == SpaceId::Handshake {
            self.path.validate();
            self.discard_space(SpaceId::Initial);
        }
        // What a packet can change of the loss timer without an ACK frame (which re-arms
        // it itself): the handshake's progress, address validation and the
        // anti-amplification allowance. Once all are settled, a 1-RTT packet leaves it be.
        let settled = space == SpaceId::Data
            && self.handshake_confirmed
            && self.path.is_validated()
            && self.peer_validated_us;
        if !settled {
            self.set_loss_timer(now);
        }
    }

    /// Opens the payload in place; returns the plaintext length.
    fn open_payload(
        &mut self,
        now: Timestamp,
        space: SpaceId,
        first: u8,
        pn: PacketNumber,
        header_len: usize,
        packet: &mut [u8],
    ) -> Result<usize, OpenFailure> {
        match space {
            SpaceId::Initial => {
                let key = &self.keys.initial.as_ref().expect("checked").1.packet;
                Ok(open(packet, header_len, pn, key)
                    .map_err(|_| OpenFailure::Auth)?
                    .len())
            }
            SpaceId::Handshake => {
                let key = &self.keys.handshake_remote.as_ref().expect("checked").packet;
                Ok(open(packet, header_len, pn, key)
                    .map_err(|_| OpenFailure::Auth)?
                    .len())
            }
            SpaceId::Data => {
                let phase = first & 0x04 != 0;
                let version = self.version;
                let pto3 = self.pto_period() * 3;
                let confirmed = self.handshake_confirmed;
                let keys = self.keys.one_rtt.as_mut().expect("checked");
                if phase == keys.phase {
                    let len = open(packet, header_len, pn, &keys.remote)
                        .map_err(|_| OpenFailure::Auth)?
                        .len();
                    let first = keys.first_recv_in_phase.get_or_insert(pn.0);
                    *first = (*first).min(pn.0);
                    return Ok(len);
                }
                // The other phase: a reordered packet from before the current keys, or the
                // peer's key update (RFC 9001 §6.3).
                let older = keys.first_recv_in_phase.is_none_or(|f| pn.0 < f);
                if let Some((prev, _)) = keys.prev_remote.as_ref().filter(|_| older) {
                    return Ok(open(packet, header_len, pn, prev)
                        .map_err(|_| OpenFailure::Auth)?
                        .len());
                }
                // Above the current phase's first packet only the next keys may be used;
                // the old ones there are KEY_UPDATE_ERROR (§6.4). Opening destroys the
                // packet on failure, so keep a copy for that check.
                let backup = keys.prev_remote.is_some().then(|| packet.to_vec());
                let next = keys.next_remote(version).map_err(|_| OpenFailure::Auth)?;
                let Ok(opened) = open(packet, header_len, pn, next) else {
                    if let (Some(mut copy), Some((prev, _))) = (backup, &keys.prev_remote) {
                        if open(&mut copy, header_len, pn, prev).is_ok() {
                            return Err(OpenFailure::KeyUpdate(
                                "a packet under the old keys numbered above the new key phase",
                            ));
                        }
                    }
                    return Err(OpenFailure::Auth);
                };
                let len = opened.len();
                if !confirmed {
                    return Err(OpenFailure::KeyUpdate(
                        "key update before the handshake was confirmed",
                    ));
                }
                // §6.2: the peer may update again only after it saw an acknowledgment in
                // a packet under the current keys, so we must have sent one.
                if keys.first_sent_in_phase.is_none() {
                    return Err(OpenFailure::KeyUpdate(
                        "a second key update before the first was acknowledged",
                    ));
                }
                keys.update(version, now + pto3)
                    .map_err(|_| OpenFailure::Auth)?;
                keys.first_recv_in_phase = Some(pn.0);
                self.events.push_back(Event::KeyUpdate);
                Ok(len)
            }
        }
    }

    /// RFC 9001 §6.6: packets failing authentication are counted over the connection's
    /// life, across all keys; past the integrity limit the connection closes with
    /// AEAD_LIMIT_REACHED and processes nothing more. Initial packets do not count: their
    /// keys are public, so failures there prove nothing about ours.
    fn on_auth_failure(&mut self, now: Timestamp) {
        self.auth_failures += 1;
        if self.auth_failures > self.aead_limits().1 {
            let e = TransportError::new(
                TransportErrorCode::AEAD_LIMIT_REACHED,
                "too many packets failed authentication",
            );
            self.close_with_error(now, e);
        }
    }

    /// A short-header packet that failed to open may be a stateless reset (RFC 9000
    /// §10.3.1): its last 16 bytes are a reset token of one of the peer's IDs.
    fn check_stateless_reset(&mut self, packet: &[u8]) {
        if packet.len() < 21 {
            return;
        }
        let token = &packet[packet.len() - 16..];
        if self.remote_cids.is_reset_token(token) {
            self.drain_now(ConnectionError::Reset);
        }
    }

    /// The frames of one packet's payload (which `share` holds, if anything does) to their
    /// owners; returns whether the packet was ack-eliciting.
    pub(crate) fn process_frames(
        &mut self,
        now: Timestamp,
        ty: PacketType,
        payload: &[u8],
        share: Option<Share<'_>>,
    ) -> Result<bool, TransportError> {
        let space = ty.space();
        let mut ack_eliciting = false;
        self.last_packet_probing = true;
        self.last_packet_ping_only = true;
        self.packet_immediate_ack = false;
        for frame in Frames::new(payload, ty) {
            let frame = frame?;
            ack_eliciting |= frame.is_ack_eliciting();
            if frame.is_ack_eliciting() && !matches!(frame, Frame::Ping) {
                self.last_packet_ping_only = false;
            }
            if !frame.ty().is_probing() {
                self.last_packet_probing = false;
            }
            match frame {
                Frame::Padding { .. } | Frame::Ping => {}
                Frame::ImmediateAck => self.packet_immediate_ack = true,
                Frame::AckFrequency(f) => self.on_ack_frequency(&f)?,
                Frame::Ack(ack) => self.on_ack_frame(now, space, &ack)?,
                Frame::Crypto(c) => self.on_crypto(space, c.offset.into_inner(), c.data)?,
                Frame::Stream(s) => self.streams.on_stream_shared(&s, share)?,
                Frame::ResetStream(r) => self.streams.on_reset_stream(&r)?,
                Frame::StopSending(s) => self.streams.on_stop_sending(&s)?,
                Frame::MaxData(m) => self.streams.on_max_data(m),
                Frame::MaxStreamData { id, max } => self.streams.on_max_stream_data(id, max)?,
                Frame::MaxStreams { dir, count } => self.streams.on_max_streams(dir, count),
                Frame::DataBlocked(_) | Frame::StreamsBlocked { .. } => {}
                Frame::StreamDataBlocked { id, .. } => self.streams.on_stream_data_blocked(id)?,
                Frame::NewConnectionId(f) => {
                    let empty = self.remote_cids.current().is_empty();
                    let before = self.remote_cids.retire_prior_to;
                    self.remote_cids.on_new(&f, empty)?;
                    if self.remote_cids.retire_prior_to > before {
                        self.events.push_back(Event::ConnectionIdRetired {
                            dest: true,
                            active: self.remote_cids.current,
                            prior_to: self.remote_cids.retire_prior_to,
                        });
                    }
                }
                Frame::RetireConnectionId { sequence } => {
                    // RFC 9000 §19.16: not the ID this very packet was sent to.
                    let current = self.packet_dcid;
                    if let Some(cid) = self.local_cids.on_retire(sequence.into_inner(), &current)? {
                        self.emit_retired(cid);
                        self.issue_cids();
                        let ids = &self.local_cids.active;
                        let active = ids
                            .iter()
                            .find(|(_, (c, _))| *c == current)
                            .map_or(0, |(s, _)| *s);
                        let prior_to = ids.keys().next().copied().unwrap_or(0);
                        self.events.push_back(Event::ConnectionIdRetired {
                            dest: false,
                            active,
                            prior_to,
                        });
                    }
                }
                Frame::PathChallenge(data) => {
                    // Answered on the path it came on (RFC 9000 §8.2.2); a flood keeps
                    // at most MAX_PATH_RESPONSES answers waiting.
                    if self.path_responses.len() < MAX_PATH_RESPONSES {
                        let from = (self.packet_remote, self.packet_datagram_len);
                        self.path_responses.push_back((data, from.0, from.1));
                    }
                }
                Frame::PathResponse(data) => {
                    // The new path is validated (RFC 9000 §8.2.3).
                    if self.on_preferred_response(data) {
                        // Moved to the server's preferred address.
                    } else if let Some(local) = self.path.on_response(data) {
                        if local {
                            self.timers.stop(super::timer::Timer::PathValidation);
                        }
                        self.events.push_back(Event::PathMigrated { local });
                    }
                }
                Frame::NewToken { token } => {
                    if self.side == Side::Server {
                        return Err(TransportError::in_frame(
                            TransportErrorCode::PROTOCOL_VIOLATION,
                            FrameType::NEW_TOKEN,
                            "NEW_TOKEN sent by a client",
                        ));
                    }
                    self.events.push_back(Event::NewToken(token.to_vec()));
                }
                Frame::ConnectionClose(c) => {
                    let reason = String::from_utf8_lossy(c.phrase).into_owned();
                    let code = match c.reason {
                        CloseReason::Transport { code, frame_type } => CloseCode::Transport {
                            code,
                            frame_type: (frame_type.into_inner() != 0)
                                .then_some(FrameType(frame_type.into_inner())),
                            reason,
                        },
                        CloseReason::Application { code } => CloseCode::Application {
                            code: code.into_inner(),
                            reason,
                        },
                    };
                    self.on_peer_close(now, code);
                    return Ok(ack_eliciting);
                }
                Frame::HandshakeDone => {
                    if self.side == Side::Server {
                        return Err(TransportError::in_frame(
                            TransportErrorCode::PROTOCOL_VIOLATION,
                            FrameType::HANDSHAKE_DONE,
                            "HANDSHAKE_DONE sent by a client",
                        ));
                    }
                    // It can only arrive in 1-RTT packets, so TLS has finished here; an
                    // application that drives the handshake itself may not have said so
                    // yet (`handshake_complete`): the handshake is confirmed then.
                    if self.handshake_complete {
                        self.confirm_handshake();
                    } else {
                        self.handshake_done_early = true;
                    }
                }
                Frame::Datagram { data, .. } => {
                    let max = self
                        .local_params
                        .max_datagram_frame_size
                        .map(|m| m.into_inner());
                    let Some(max) = max else {
                        return Err(TransportError::in_frame(
                            TransportErrorCode::PROTOCOL_VIOLATION,
                            FrameType::DATAGRAM,
                            "DATAGRAM frame not negotiated",
                        ));
                    };
                    // The frame's size (type byte and payload; the length field is not held
                    // against the peer) may not exceed the limit (RFC 9221 §3).
                    if data.len() as u64 + 1 > max {
                        return Err(TransportError::in_frame(
                            TransportErrorCode::PROTOCOL_VIOLATION,
                            FrameType::DATAGRAM,
                            "DATAGRAM frame larger than max_datagram_frame_size",
                        ));
                    }
                    if self.datagrams_in.len() >= MAX_DATAGRAMS_IN {
                        // Unreliable by design: the oldest unread datagram gives way.
                        self.datagrams_in.pop_front();
                    }
                    self.datagrams_in.push_back(data.to_vec());
                    self.events.push_back(Event::DatagramReceived);
                    if self.events.len() > 4 * MAX_DATAGRAMS_IN {
                        self.events.retain(|e| *e != Event::DatagramReceived);
                        self.events.push_back(Event::DatagramReceived);
                    }
                }
            }
        }
        Ok(ack_eliciting)
    }

    /// An ACK frame (RFC 9002 §6, Appendix A.7).
    fn on_ack_frame(
        &mut self,
        now: Timestamp,
        space: SpaceId,
        ack: &Ack<'_>,
    ) -> Result<(), TransportError> {
        let mut acked = std::mem::take(&mut self.acked);
        let result = self.on_ack_ranges(now, space, ack, &mut acked);
        let i = space_index(space);
        let recovery = &mut self.spaces[i].recovery;
        // Quiet for now after a flight that carried more than PINGs (a keep-alive holds
        // nothing): what drained is given back if it stays so (`release_idle`).
        let drained = recovery.ack_eliciting_in_flight == 0
            && acked.iter().any(|(_, p)| {
                p.frames.iter().any(|f| {
                    !matches!(
                        f,
                        crate::recovery::SentFrame::Ping | crate::recovery::SentFrame::PmtuProbe(_)
                    )
                })
            });
        recovery.recycle(acked.drain(..).map(|(_, p)| p));
        if drained {
            let at = now + self.pto_period();
            self.timers.set(super::timer::Timer::Release, at);
        }
        self.acked = acked;
        // The window and the RTT move only here: what we ask of the peer's ACKs follows.
        if space == SpaceId::Data {
            self.update_ack_request();
        }
        result
    }

    /// [`on_ack_frame`](Self::on_ack_frame), with the packets acknowledged left in `acked`.
    fn on_ack_ranges(
        &mut self,
        now: Timestamp,
        space: SpaceId,
        ack: &Ack<'_>,
        acked: &mut Vec<(u64, SentPacket)>,
    ) -> Result<(), TransportError> {
        let i = space_index(space);
        let next_pn = self.spaces[i].next_pn;
        self.spaces[i]
            .recovery
            .on_ack(ack.ranges(), next_pn, acked)
            .map_err(|_| {
                TransportError::in_frame(
                    TransportErrorCode::PROTOCOL_VIOLATION,
                    FrameType::ACK,
                    "ACK of a packet never sent",
                )
            })?;
        let spurious = std::mem::take(&mut self.spaces[i].recovery.newly_spurious);
        if !spurious.is_empty() {
            self.on_spurious_losses(space, &spurious);
        }
        let largest = ack.largest.into_inner();
        if space == SpaceId::Handshake {
            // RFC 9002 §6.2.2.1: an acknowledged Handshake packet tells the client the
            // server validated its address.
            self.peer_validated_us = true;
        }
        let rec = &mut self.spaces[i].recovery;
        let new_largest = rec.largest_acked.is_none_or(|l| largest > l);
        rec.largest_acked = Some(rec.largest_acked.map_or(largest, |l| l.max(largest)));
        // RFC 9000 §13.4.2.1: validate the peer's ECN counts; RFC 9002 §7.1: a CE count
        // that grows is a congestion event.
        let marked = acked.iter().filter(|(_, p)| p.ect).count() as u64;
        let verdict = if space == SpaceId::Data {
            self.path.ecn.on_ack(marked, ack.ecn.as_ref(), new_largest)
        } else {
            EcnVerdict::None
        };
        if verdict == EcnVerdict::Congestion {
            if let Some((_, p)) = acked.iter().find(|(pn, _)| *pn == largest) {
                self.cc.on_congestion_event(now, p.time, false);
                self.undo = None;
            }
        }
        if acked.is_empty() {
            return Ok(());
        }
        // An RTT sample when the largest acknowledged is newly acknowledged and something
        // acknowledged was ack-eliciting (RFC 9002 §5.1).
        if let Some((_, p)) = acked.iter().find(|(pn, _)| *pn == largest) {
            if acked.iter().any(|(_, p)| p.ack_eliciting) {
                let sample = now.saturating_duration_since(p.time);
                let exponent = self
                    .peer_params
                    .as_ref()
                    .map_or(3, |p| p.ack_delay_exponent.into_inner());
                let mut delay = Duration::from_micros(
                    ack.delay
                        .into_inner()
                        .checked_shl(exponent as u32)
                        .unwrap_or(u64::MAX),
                );
                if space != SpaceId::Data {
                    delay = Duration::ZERO;
                } else if self.handshake_confirmed {
                    let max = self
                        .peer_params
                        .as_ref()
                        .map_or(25, |p| p.max_ack_delay.into_inner());
                    delay = delay.min(Duration::from_millis(max));
                }
                self.rtt.update(sample, delay);
                self.first_rtt_sample.get_or_insert(now);
            }
        }
        let app_limited =
            self.bytes_in_flight + 2 * u64::from(self.path.mtu.current()) <= self.cc.window() / 2;
        for (pn, p) in acked.iter() {
            if p.in_flight {
                self.bytes_in_flight -= u64::from(p.size);
                self.cc
                    .on_ack(now, *pn, p.time, u64::from(p.size), &self.rtt, app_limited);
            }
            if let Some(largest) = p.ack {
                self.spaces[i].on_ack_acked(largest);
            }
            for f in &p.frames {
                self.on_frame_acked(space, f);
            }
            if space == SpaceId::Data {
                match p.frames.pmtu_probe() {
                    Some(size) => {
                        if self.path.mtu.on_probe_acked(size, now).is_some() {
                            self.on_datagram_size_changed();
                        }
                    }
                    None => self.path.mtu.on_acked(*pn, p.size),
                }
                if let Some(k) = &mut self.keys.one_rtt {
                    k.phase_acked = true;
                }
            }
        }
        // An acknowledged 1-RTT packet confirms the handshake (RFC 9001 §4.1.2); an
        // acknowledged 0-RTT packet does not (the server acknowledges those before our
        // Finished has even left).
        let one_rtt_acked = self
            .first_one_rtt_pn
            .is_some_and(|first| acked.iter().any(|(pn, _)| *pn >= first));
        if space == SpaceId::Data
            && self.side == Side::Client
            && !self.handshake_confirmed
            && self.handshake_complete
            && one_rtt_acked
        {
            self.confirm_handshake();
        }
        if self.peer_validated_us || space != SpaceId::Initial {
            self.pto_count = 0;
        }
        self.detect_lost(now, space);
        self.set_loss_timer(now);
        self.qlog_metrics(now);
        Ok(())
    }

    fn on_frame_acked(&mut self, space: SpaceId, f: &SentFrame) {
        match *f {
            SentFrame::Stream {
                id,
                offset,
                len,
                fin,
            } => self.streams.on_stream_acked(id, offset, len, fin),
            SentFrame::Crypto { offset, len } => self.spaces[space_index(space)]
                .crypto_send
                .on_ack(offset..offset + len),
            SentFrame::NewToken => {
                self.new_token_state = super::TokenState::Idle;
                self.new_token = None;
            }
            SentFrame::PathChallenge => {}
            SentFrame::NewConnectionId(_)
            | SentFrame::RetireConnectionId(_)
            | SentFrame::AckFrequency(_)
            | SentFrame::HandshakeDone
            | SentFrame::Ping
            | SentFrame::PmtuProbe(_)
            | SentFrame::PathResponse
            | SentFrame::Datagram => {}
            _ => self.streams.on_control_acked(f),
        }
    }

    /// Declares lost what the thresholds say (RFC 9002 §6.1) and reacts: frames go back
    /// in the queue, the congestion controller hears of it.
    pub(crate) fn detect_lost(&mut self, now: Timestamp, space: SpaceId) {
        let i = space_index(space);
        let mut lost = Vec::new();
        let delay = self.rtt.loss_delay();
        self.spaces[i].recovery.detect_lost(now, delay, &mut lost);
        if lost.is_empty() {
            return;
        }
        self.on_packets_lost(now, space, lost);
    }

    pub(crate) fn on_packets_lost(
        &mut self,
        now: Timestamp,
        space: SpaceId,
        lost: Vec<(u64, SentPacket)>,
    ) {
        let mut latest: Option<Timestamp> = None;
        let marked = lost.iter().filter(|(_, p)| p.ect).count();
        if marked > 0 {
            self.path.ecn.on_marked_lost(marked);
        }
        let mut lost = lost;
        self.qlog_lost(now, space, &lost);
        if space == SpaceId::Data {
            self.on_pmtu_losses(now, &mut lost);
        }
        for (_, p) in &lost {
            self.counters.packets_lost += 1;
            self.counters.bytes_lost += u64::from(p.size);
            if p.in_flight {
                self.bytes_in_flight -= u64::from(p.size);
                latest = Some(latest.map_or(p.time, |l| l.max(p.time)));
            }
            for f in &p.frames {
                self.on_frame_lost(space, f);
            }
        }
        if let Some(sent) = latest {
            let duration =
                (self.rtt.pto_base() + self.peer_max_ack_delay()) * PERSISTENT_CONGESTION_THRESHOLD;
            let persistent = is_persistent_congestion(&lost, self.first_rtt_sample, duration);
            let before = self.cc.snapshot();
            let window = self.cc.window();
            self.cc.on_congestion_event(now, sent, persistent);
            self.qlog_congestion_state(now, "recovery");
            let lost_pns = lost
                .iter()
                .filter(|(_, p)| p.in_flight)
                .map(|(pn, _)| (space, *pn));
            if persistent {
                self.undo = None;
            } else if self.cc.window() != window || self.undo.is_none() {
                // A new reduction: remember how to undo it.
                self.undo = Some(CongestionUndo {
                    lost: lost_pns.collect(),
                    before,
                });
            } else if let Some(undo) = self.undo.as_mut() {
                // More losses in the same recovery period belong to the same event.
                undo.lost.extend(lost_pns);
            }
            if self
                .undo
                .as_ref()
                .is_some_and(|u| u.lost.len() > MAX_UNDO_LOSSES)
            {
                self.undo = None;
            }
        }
        self.spaces[space_index(space)]
            .recovery
            .recycle(lost.into_iter().map(|(_, p)| p));
    }

    /// What the losses of 1-RTT packets tell DPLPMTUD (RFC 8899 §4.3, §4.4): a lost probe
    /// leaves `lost`, out of flight and not congestion (RFC 9000 §14.4), and the others
    /// may reveal a black hole, which takes the datagram size back to the base.
    fn on_pmtu_losses(&mut self, now: Timestamp, lost: &mut Vec<(u64, SentPacket)>) {
        let mut probes = Vec::new();
        lost.retain(|(pn, p)| match p.frames.pmtu_probe() {
            Some(size) => {
                probes.push((size, p.size, p.in_flight));
                false
            }
            None => {
                self.path.mtu.on_lost(*pn, p.size);
                true
            }
        });
        // Not counted as packets lost: the stats count probes apart.
        for (probed, size, in_flight) in probes {
            if in_flight {
                self.bytes_in_flight -= u64::from(size);
            }
            self.path.mtu.on_probe_lost(probed, now);
        }
        if self.path.mtu.end_loss_burst(now).is_some() {
            self.on_datagram_size_changed();
        }
    }

    /// Packets declared lost were acknowledged after all. When every loss of the last
    /// congestion event proves spurious, the event is undone (RFC 9438 §4.9).
    fn on_spurious_losses(&mut self, space: SpaceId, pns: &[u64]) {
        let Some(undo) = self.undo.as_mut() else {
            return;
        };
        undo.lost
            .retain(|(s, pn)| !(*s == space && pns.contains(pn)));
        if undo.lost.is_empty() {
            let undo = self.undo.take().expect("checked");
            self.cc = undo.before;
            self.congestion_undos += 1;
        }
    }

    fn peer_max_ack_delay(&self) -> Duration {
        self.peer_params
            .as_ref()
            .map_or(Duration::from_millis(25), |p| {
                Duration::from_millis(p.max_ack_delay.into_inner())
            })
    }

    pub(crate) fn on_frame_lost(&mut self, space: SpaceId, f: &SentFrame) {
        match *f {
            SentFrame::Stream {
                id,
                offset,
                len,
                fin,
            } => self.streams.on_stream_lost(id, offset, len, fin),
            SentFrame::Crypto { offset, len } => self.spaces[space_index(space)]
                .crypto_send
                .on_lost(offset..offset + len),
            SentFrame::HandshakeDone => self.handshake_done_pending = true,
            SentFrame::AckFrequency(seq) => self.on_ack_frequency_lost(seq),
            // A lost challenge goes again while the path is not validated.
            SentFrame::PathChallenge => self.path.on_challenge_lost(),
            SentFrame::NewToken if self.new_token_state == super::TokenState::InFlight => {
                self.new_token_state = super::TokenState::Pending;
            }
            SentFrame::NewConnectionId(seq) => {
                if self.local_cids.active.contains_key(&seq) {
                    self.local_cids.pending.insert(seq);
                }
            }
            SentFrame::RetireConnectionId(seq) => {
                self.remote_cids.retire_pending.insert(seq);
            }
            // A probe's loss is its packet's (`on_packets_lost`); a PTO does not send it
            // again.
            SentFrame::Ping
            | SentFrame::PathResponse
            | SentFrame::Datagram
            | SentFrame::PmtuProbe(_) => {}
            _ => self.streams.on_control_lost(f),
        }
    }
}
