//! Packets out: choosing what each packet-number space has to send, building packets and
//! coalescing them into one datagram (RFC 9000 §12.2), padding Initial datagrams to 1200
//! bytes (§14.1), the anti-amplification limit (§8.1), congestion control and pacing
//! (RFC 9002 §7), and the record each sent packet leaves for loss recovery.
//!
//! Passes over the data: a packet is written into the caller's datagram buffer with room
//! left for the data of its last STREAM frame; sealing reads that data from the stream's
//! send buffer and writes its ciphertext into the room (`PacketSeal::seal_scatter`): one
//! AEAD pass and no copy in the clear. The data of a STREAM frame that another frame
//! follows, of one shorter than `SCATTER_MIN`, and of a packet that is not encrypted
//! (disable_1rtt_encryption) is copied in instead (`Streams::settle_tail`). `StreamCopies`
//! counts both.

use super::{space_index, Connection, Ecn, Phase, Transmit, SPACES};
use crate::common::Writer;
use crate::crypto::{apply_header_protection, HeaderProtect, PacketSeal};
use crate::frame::{CloseReason, ConnectionClose, Frame, FrameType};
use crate::packet::{
    LongType, PacketNumber, PacketType, SpaceId, TruncatedPacketNumber, MIN_INITIAL_DATAGRAM_SIZE,
};
use crate::recovery::{FrameList, SentFrame, SentPacket};
use crate::stream::DataTail;
use crate::time::Timestamp;
use crate::{ConnectionId, Side, TransportErrorCode, VarInt};

/// Room below which a packet is not started.
const MIN_PACKET_ROOM: usize = 64;

/// Stream data shorter than this is copied into the packet and sealed in place with it:
/// sealing in two parts costs AWS-LC a partial-block pass and a second setup, more than a
/// short copy.
const SCATTER_MIN: usize = 512;

/// A packet written into the datagram buffer but not yet sealed.
pub(crate) struct Built {
    space: SpaceId,
    start: usize,
    /// Offset of the 2-byte Length field (long headers).
    length_at: Option<usize>,
    pn_offset: usize,
    pn: u64,
    pn_len: usize,
    pub(crate) ack_eliciting: bool,
    /// The largest packet number its ACK frame acknowledges.
    ack: Option<u64>,
    pub(crate) frames: FrameList,
    /// Stream data at the end of its plaintext, left for the AEAD pass.
    tail: Option<DataTail>,
    /// A 0-RTT packet (application data before the client has 1-RTT keys).
    zero_rtt: bool,
}

/// The packets of one datagram, at most one per packet-number space (RFC 9000 §12.2),
/// held without allocating.
#[derive(Default)]
struct Coalesced {
    packets: [Option<Built>; 3],
    len: usize,
}

impl Coalesced {
    /// A datagram of one packet.
    fn one(b: Built) -> Self {
        let mut c = Self::default();
        c.push(b);
        c
    }

    /// Adds the next packet (each space builds at most one per datagram).
    fn push(&mut self, b: Built) {
        debug_assert!(self.len < self.packets.len(), "one packet per space");
        if let Some(slot) = self.packets.get_mut(self.len) {
            *slot = Some(b);
            self.len += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl Iterator<Item = &Built> + '_ {
        self.packets.iter().flatten()
    }

    /// The packet that ends the datagram.
    fn last_mut(&mut self) -> Option<&mut Built> {
        self.packets.iter_mut().flatten().last()
    }

    /// Where each packet ends in the buffer: where the next begins, the last at `end`.
    fn ends(&self, end: usize) -> [usize; 3] {
        let mut ends = [end; 3];
        for (k, next) in self.packets.iter().skip(1).enumerate() {
            if let Some(next) = next {
                ends[k] = next.start;
            }
        }
        ends
    }
}

impl Connection {
    /// Writes the next datagram to send at the start of `buf` and says where it goes and
    /// how long it is. The datagram is at most `buf.len()` bytes; a buffer of
    /// [`udp_payload_size`](Self::udp_payload_size) bytes takes any. Returns `None` when
    /// there is nothing to send now; [`poll_timeout`](Self::poll_timeout) says when to ask
    /// again.
    pub fn poll_transmit(&mut self, now: Timestamp, buf: &mut [u8]) -> Option<Transmit> {
        self.last_now = self.last_now.max(now);
        let buf = &mut Writer::new(buf);
        match self.phase {
            Phase::Drained | Phase::Draining(_) => return None,
            Phase::Closing(_) => {
                if !self.close_due {
                    return None;
                }
                self.close_due = false;
                return self.transmit_close(now, buf);
            }
            _ => {}
        }
        self.mark_datagram = false;
        if self.version_probe.is_some() {
            // Nothing else goes out before the server's versions are known.
            return self.transmit_version_probe(buf);
        }
        if let Some(t) = self.transmit_path_response(now, buf) {
            return Some(t);
        }
        if let Some(t) = self.transmit_preferred_probe(now, buf) {
            return Some(t);
        }
        if let Some(t) = self.transmit_pmtu_probe(now, buf) {
            return Some(t);
        }
        // The datagram is marked ECT(0), or not, as a whole (RFC 9000 §13.4.2); only once
        // the handshake is confirmed, when it holds 1-RTT packets alone.
        self.mark_datagram = self.handshake_confirmed && self.path.ecn.marking();
        // RFC 9000 §8.1: before validation, at most three times what was received.
        let max = self.path.max_datagram().min(buf.capacity());
        if max < MIN_PACKET_ROOM {
            return None;
        }
        let probing = self.spaces.iter().any(|s| s.probes > 0);
        let mut can_send_data = probing || self.bytes_in_flight < self.cc.window();
        if can_send_data && !probing && self.config.pacing {
            match self
                .pacer
                .delay(now, max as u64, self.cc.window(), self.rtt.smoothed())
            {
                None => self.timers.stop(super::timer::Timer::Pace),
                Some(t) => {
                    self.timers.set(super::timer::Timer::Pace, t);
                    can_send_data = false;
                }
            }
        }
        let mut built = Coalesced::default();
        let mut has_initial = false;
        for space in SPACES {
            if !(self.keys.can_send(space) || space == SpaceId::Data && self.sends_zero_rtt()) {
                continue;
            }
            let used = buf.len();
            if max.saturating_sub(used) < MIN_PACKET_ROOM {
                break;
            }
            let room = max - used;
            if let Some(b) = self.build_packet(now, space, buf, room, can_send_data) {
                has_initial |= space == SpaceId::Initial;
                built.push(b);
                if space == SpaceId::Data {
                    break;
                }
            }
        }
        if built.is_empty() {
            return None;
        }
        // RFC 9000 §14.1: a client's datagram with an Initial, and a server's with an
        // ack-eliciting Initial, is at least 1200 bytes.
        let pad_to = if has_initial
            && (self.side == Side::Client
                || built
                    .iter()
                    .any(|b| b.space == SpaceId::Initial && b.ack_eliciting))
        {
            MIN_INITIAL_DATAGRAM_SIZE.min(max)
        } else {
            0
        };
        self.pad(buf, &mut built, pad_to);
        let size = self.seal_all(now, buf.written(), built, true);
        self.path.on_sent(size);
        Some(Transmit {
            destination: self.path.remote,
            size,
            ecn: self.mark_datagram.then_some(Ecn::Ect0),
        })
    }

    /// Writes one packet of `space` if it has something to send.
    fn build_packet(
        &mut self,
        now: Timestamp,
        space: SpaceId,
        buf: &mut Writer<'_>,
        room: usize,
        can_send_data: bool,
    ) -> Option<Built> {
        let i = space_index(space);
        let wants_ack = self.spaces[i].wants_ack(now);
        let has_data = can_send_data && self.has_frames_to_send(space);
        if !wants_ack && !has_data {
            return None;
        }
        // A long header's 2-byte Length field bounds the packet.
        let room = if space == SpaceId::Data && !self.sends_zero_rtt() {
            room
        } else {
            room.min(16_000)
        };
        let mut b = self.begin_packet(space, buf);
        let header_len = buf.len() - b.start;
        let Some(payload_room) = room.checked_sub(header_len + self.tag_len(space)) else {
            buf.truncate(b.start);
            self.spaces[i].next_pn -= 1;
            return None;
        };
        b.ack_eliciting = self.write_frames(now, buf, payload_room, has_data, &mut b);
        if b.frames.is_empty() && b.ack.is_none() {
            let r = &mut self.spaces[i].recovery;
            r.frame_pool.put(
                std::mem::take(&mut b.frames).into_rest(),
                r.ack_eliciting_in_flight,
            );
            buf.truncate(b.start);
            self.spaces[i].next_pn -= 1;
            return None;
        }
        self.end_packet(&mut b, buf);
        Some(b)
    }

    /// Writes a packet header of `space` with its next packet number.
    fn begin_packet(&mut self, space: SpaceId, buf: &mut Writer<'_>) -> Built {
        let dcid = self.remote_cids.current();
        self.begin_packet_to(space, buf, dcid)
    }

    /// [`begin_packet`](Self::begin_packet) to the peer's connection ID `dcid`.
    pub(crate) fn begin_packet_to(
        &mut self,
        space: SpaceId,
        buf: &mut Writer<'_>,
        dcid: ConnectionId,
    ) -> Built {
        let i = space_index(space);
        let start = buf.len();
        let pn = self.spaces[i].next_pn;
        let largest_acked = self.spaces[i].recovery.largest_acked.map(PacketNumber);
        let tpn = PacketNumber(pn)
            .truncate(largest_acked)
            .unwrap_or_else(|| TruncatedPacketNumber::with_len(PacketNumber(pn), 4));
        let zero_rtt = space == SpaceId::Data && self.keys.one_rtt.is_none();
        let (pn_offset, length_at) = match space {
            SpaceId::Data if !zero_rtt => {
                let phase = self.keys.one_rtt.as_ref().is_some_and(|k| k.phase);
                let spin = self.first_byte.spin_bit(&mut *self.rng);
                let quic_bit = self.first_byte.quic_bit(&mut *self.rng);
                let at = buf.put(|b| {
                    crate::packet::encode_short_header(b, &dcid, tpn, spin, phase, quic_bit)
                });
                (start + at, None)
            }
            _ => {
                let ty = match space {
                    SpaceId::Initial => LongType::Initial,
                    SpaceId::Handshake => LongType::Handshake,
                    SpaceId::Data => LongType::ZeroRtt,
                };
                let scid = self.local_cid();
                let quic_bit = if self.first_byte.quic_bit(&mut *self.rng) {
                    0x40
                } else {
                    0
                };
                buf.put_u8(0x80 | quic_bit | ty.to_bits(self.version) << 4 | tpn.len_bits());
                buf.put_u32(self.version.0);
                buf.put_u8(dcid.len() as u8);
                buf.put_slice(&dcid);
                buf.put_u8(scid.len() as u8);
                buf.put_slice(&scid);
                if space == SpaceId::Initial {
                    buf.put(|b| VarInt::saturating(self.token.len() as u64).encode(b));
                    buf.put_slice(&self.token);
                }
                let length_at = buf.len();
                buf.put_u16(0x4000); // a 2-byte varint, patched when sealing
                let pn_offset = buf.len();
                buf.put(|b| tpn.encode(b));
                (pn_offset, Some(length_at))
            }
        };
        self.spaces[i].next_pn += 1;
        Built {
            space,
            start,
            length_at,
            pn_offset,
            pn,
            pn_len: tpn.len(),
            ack_eliciting: false,
            ack: None,
            frames: FrameList::default(),
            tail: None,
            zero_rtt,
        }
    }

    /// Finishes a packet: enough payload for the header-protection sample (RFC 9001
    /// §5.4.2) and room for the AEAD tag.
    fn end_packet(&mut self, b: &mut Built, buf: &mut Writer<'_>) {
        let payload_len = buf.len() - b.pn_offset - b.pn_len;
        let min_payload = 4usize.saturating_sub(b.pn_len);
        if payload_len < min_payload {
            self.streams.settle_tail(buf.written(), &mut b.tail);
            buf.zero_to(buf.len() + min_payload - payload_len);
        }
        buf.reserve(self.tag_len(b.space));
    }

    /// Pads the datagram to `len` bytes with PADDING frames (zeros) at the end of its last
    /// packet, whose tag room becomes part of its payload.
    fn pad(&mut self, buf: &mut Writer<'_>, built: &mut Coalesced, len: usize) {
        if buf.len() >= len {
            return;
        }
        if let Some(last) = built.last_mut() {
            self.streams.settle_tail(buf.written(), &mut last.tail);
            // The tag room may hold an earlier datagram's bytes: it is zeroed with the rest.
            buf.truncate(buf.len() - self.tag_len(last.space));
        }
        buf.zero_to(len);
    }

    fn has_frames_to_send(&self, space: SpaceId) -> bool {
        let s = &self.spaces[space_index(space)];
        if s.probes > 0 || s.crypto_send.has_pending() {
            return true;
        }
        if space != SpaceId::Data {
            return false;
        }
        self.ping_pending
            || self.handshake_done_pending
            || self.new_token_state == super::TokenState::Pending
            || self.path.challenge_pending()
            || self.path_responses.iter().any(|r| r.1 == self.path.remote)
            || !self.local_cids.pending.is_empty()
            || !self.remote_cids.retire_pending.is_empty()
            || !self.datagrams_out.is_empty()
            || self.streams.has_pending()
    }

    /// Writes the frames of one packet; returns whether any is ack-eliciting. An ACK
    /// frame leaves the largest number it acknowledges in `packet.ack`; every other frame
    /// that matters once the packet is acknowledged or lost goes in `packet.frames`, a list
    /// taken from the space's pool when the packet may carry more than an ACK; the data of
    /// the last STREAM frame is left for sealing (`packet.tail`).
    fn write_frames(
        &mut self,
        now: Timestamp,
        buf: &mut Writer<'_>,
        room: usize,
        send_data: bool,
        packet: &mut Built,
    ) -> bool {
        let space = packet.space;
        let i = space_index(space);
        let start = buf.len();
        let left = |buf: &Writer<'_>| room.saturating_sub(buf.len() - start);
        let exponent = self.local_params.ack_delay_exponent.into_inner() as u8;
        if self.spaces[i].can_ack() {
            packet.ack = self.spaces[i].write_ack(now, exponent, buf, room);
        }
        if !send_data {
            return false;
        }
        packet.frames = FrameList::with_rest(self.spaces[i].recovery.frame_pool.take());
        let sent = &mut packet.frames;
        let mut ack_eliciting = false;
        // A client's Initial probes each carry what is unacknowledged of its ClientHello:
        // a server keeps no state for an Initial without one, so a probe holding only
        // PING would be lost on it.
        let s = &mut self.spaces[i];
        if space == SpaceId::Initial
            && self.side == Side::Client
            && s.probes > 0
            && !s.crypto_send.has_pending()
        {
            let end = s.crypto_send.end();
            s.crypto_send.on_lost(0..end);
        }
        if space == SpaceId::Data {
            if self.handshake_done_pending && left(buf) >= 1 {
                buf.put(|o| Frame::HandshakeDone.encode(o));
                self.handshake_done_pending = false;
                sent.push(SentFrame::HandshakeDone);
                ack_eliciting = true;
            }
            if let (true, Some(a)) = (self.ack_request.pending, self.ack_request.latest) {
                let f = Frame::AckFrequency(a);
                if left(buf) >= f.encoded_len() {
                    buf.put(|o| f.encode(o));
                    self.ack_request.pending = false;
                    sent.push(SentFrame::AckFrequency(a.sequence.into_inner()));
                    ack_eliciting = true;
                }
            }
            if self.path.challenge_pending() && left(buf) >= 9 {
                if let Some(data) = self.path.take_challenge() {
                    buf.put(|o| Frame::PathChallenge(data).encode(o));
                    sent.push(SentFrame::PathChallenge);
                    ack_eliciting = true;
                }
            }
            if self.new_token_state == super::TokenState::Pending {
                if let Some(token) = &self.new_token {
                    let f = Frame::NewToken { token };
                    if left(buf) >= f.encoded_len() {
                        buf.put(|o| f.encode(o));
                        self.new_token_state = super::TokenState::InFlight;
                        sent.push(SentFrame::NewToken);
                        ack_eliciting = true;
                    }
                }
            }
            // Answers to challenges that came on this path; others go out on their own
            // (`transmit_path_response`).
            while let Some(i) = self
                .path_responses
                .iter()
                .position(|r| r.1 == self.path.remote)
            {
                if left(buf) < 9 {
                    break;
                }
                let (data, _, _) = self.path_responses.remove(i).expect("found");
                buf.put(|o| Frame::PathResponse(data).encode(o));
                sent.push(SentFrame::PathResponse);
                ack_eliciting = true;
            }
            while let Some(&seq) = self.remote_cids.retire_pending.first() {
                let f = Frame::RetireConnectionId {
                    sequence: VarInt::saturating(seq),
                };
                if left(buf) < f.encoded_len() {
                    break;
                }
                buf.put(|o| f.encode(o));
                self.remote_cids.retire_pending.remove(&seq);
                sent.push(SentFrame::RetireConnectionId(seq));
                ack_eliciting = true;
            }
            while let Some(&seq) = self.local_cids.pending.first() {
                let Some(ncid) = self.local_cids.frame(seq) else {
                    self.local_cids.pending.remove(&seq);
                    continue;
                };
                let f = Frame::NewConnectionId(ncid);
                if left(buf) < f.encoded_len() {
                    break;
                }
                buf.put(|o| f.encode(o));
                self.local_cids.pending.remove(&seq);
                sent.push(SentFrame::NewConnectionId(seq));
                ack_eliciting = true;
            }
            let before = sent.len();
            self.streams.write_control(buf, left(buf), sent);
            ack_eliciting |= sent.len() > before;
        }
        // CRYPTO data (RFC 9000 §19.6).
        let crypto = &mut self.spaces[i].crypto_send;
        while crypto.has_pending() {
            let l = left(buf);
            let header = 1 + 8 + 2;
            if l <= header {
                break;
            }
            let Some(r) = crypto.next(l - header, u64::MAX) else {
                break;
            };
            buf.put(|o| {
                VarInt::from_u32(FrameType::CRYPTO.0 as u32).encode(o);
                VarInt::saturating(r.start).encode(o);
                VarInt::saturating(r.end - r.start).encode(o);
            });
            buf.put_slice(crypto.get(r.clone()));
            sent.push(SentFrame::Crypto {
                offset: r.start,
                len: r.end - r.start,
            });
            ack_eliciting = true;
        }
        if space == SpaceId::Data {
            while let Some(d) = self.datagrams_out.front() {
                let need = 1 + VarInt::size_of(d.len() as u64) + d.len();
                if left(buf) < need {
                    break;
                }
                let d = self.datagrams_out.pop_front().expect("checked");
                self.datagrams_out_bytes -= d.len();
                buf.put(|o| {
                    Frame::Datagram {
                        explicit_len: true,
                        data: &d,
                    }
                    .encode(o)
                });
                sent.push(SentFrame::Datagram);
                ack_eliciting = true;
            }
            let before = sent.len();
            self.streams
                .write_stream_data(buf, left(buf), sent, &mut packet.tail);
            ack_eliciting |= sent.len() > before;
        }
        let s = &mut self.spaces[i];
        if (s.probes > 0 || (space == SpaceId::Data && self.ping_pending))
            && !ack_eliciting
            && left(buf) >= 1
        {
            buf.put(|o| Frame::Ping.encode(o));
            sent.push(SentFrame::Ping);
            ack_eliciting = true;
        }
        if ack_eliciting {
            if s.probes > 0 {
                s.probes -= 1;
            }
            if space == SpaceId::Data {
                self.ping_pending = false;
            }
        }
        ack_eliciting
    }

    /// Seals every packet built into the datagram and records them; returns the size.
    fn seal_all(
        &mut self,
        now: Timestamp,
        buf: &mut [u8],
        mut built: Coalesced,
        record: bool,
    ) -> usize {
        let end = buf.len();
        let bounds = built.ends(end);
        // A tail is sealed from the send buffer only where it ends the plaintext (only the
        // tag follows), is long enough to be worth it and the packet is encrypted; every
        // other one is copied in first.
        for (b, &packet_end) in built.packets.iter_mut().flatten().zip(&bounds) {
            let scatter = b.tail.is_some_and(|t| {
                t.len >= SCATTER_MIN
                    && t.at + t.len + self.tag_len(b.space) == packet_end
                    && !(b.space == SpaceId::Data && self.plaintext_1rtt)
            });
            if !scatter {
                self.streams.settle_tail(buf, &mut b.tail);
            }
        }
        let mut sealed = 0;
        for (b, &packet_end) in built.iter().zip(&bounds) {
            let packet = &mut buf[b.start..packet_end];
            let pn_offset = b.pn_offset - b.start;
            let header_len = pn_offset + b.pn_len;
            if let Some(at) = b.length_at {
                // The Length field covers the packet number, payload and tag.
                let len = (packet.len() - pn_offset) as u16;
                let at = at - b.start;
                packet[at..at + 2].copy_from_slice(&(0x4000 | len).to_be_bytes());
            }
            if b.space == SpaceId::Data && self.plaintext_1rtt {
                // disable_1rtt_encryption: the packet leaves as built.
                continue;
            }
            let (seal, hp): (&dyn PacketSeal, &dyn HeaderProtect) = match b.space {
                SpaceId::Initial => {
                    let k = &self.keys.initial.as_ref().expect("checked when built").0;
                    (&k.packet, &k.header)
                }
                SpaceId::Handshake => {
                    let k = self
                        .keys
                        .handshake_local
                        .as_ref()
                        .expect("checked when built");
                    (&k.packet, &k.header)
                }
                SpaceId::Data if b.zero_rtt => {
                    let k = self.keys.zero_rtt.as_ref().expect("checked when built");
                    (&k.packet, &k.header)
                }
                SpaceId::Data => {
                    let k = self.keys.one_rtt.as_ref().expect("checked when built");
                    (&k.local, &k.local_hp)
                }
            };
            let (header, payload) = packet.split_at_mut(header_len);
            // Sealing cannot fail with keys we derived and a buffer we sized.
            match &b.tail {
                Some(t) => {
                    let (in_place, tail_out) = payload.split_at_mut(t.at - b.start - header_len);
                    let data = self.streams.tail_data(t);
                    seal.seal_scatter(b.pn, header, in_place, data, tail_out)
                        .expect("sealing a packet we built");
                    sealed += t.len;
                }
                None => seal
                    .seal(b.pn, header, payload)
                    .expect("sealing a packet we built"),
            }
            apply_header_protection(packet, pn_offset, hp).expect("sample within the packet");
        }
        self.streams.count_sealed(sealed);
        let mut discard_initial = false;
        if record {
            let n = built.len;
            for (k, (b, &packet_end)) in
                built.packets.into_iter().flatten().zip(&bounds).enumerate()
            {
                let size = (packet_end - b.start) as u16;
                self.counters.packets_sent += 1;
                self.counters.bytes_sent += u64::from(size);
                let in_flight = b.ack_eliciting || k + 1 == n && end >= MIN_INITIAL_DATAGRAM_SIZE;
                if b.space == SpaceId::Handshake && self.side == Side::Client {
                    discard_initial = true;
                }
                if b.space == SpaceId::Data && !self.plaintext_1rtt {
                    if let Some(keys) = &mut self.keys.one_rtt {
                        keys.first_sent_in_phase.get_or_insert(b.pn);
                        keys.sealed += 1;
                    }
                }
                if in_flight {
                    self.bytes_in_flight += u64::from(size);
                    self.cc.on_sent(now, b.pn, u64::from(size));
                    self.pacer.on_sent(u64::from(size));
                }
                if b.ack_eliciting {
                    if self.received_since_send {
                        self.received_since_send = false;
                        self.arm_idle(now);
                    }
                    if let (Some(k), true) = (self.config.keep_alive, self.handshake_complete) {
                        self.timers.set(super::timer::Timer::KeepAlive, now + k);
                    }
                }
                if self.mark_datagram && b.space == SpaceId::Data {
                    self.path.ecn.on_sent();
                }
                if b.space == SpaceId::Data && !b.zero_rtt {
                    self.first_one_rtt_pn.get_or_insert(b.pn);
                }
                if self.qlogging() {
                    let ty = match b.space {
                        SpaceId::Initial => PacketType::Initial,
                        SpaceId::Handshake => PacketType::Handshake,
                        SpaceId::Data if b.zero_rtt => PacketType::ZeroRtt,
                        SpaceId::Data => PacketType::OneRtt,
                    };
                    let acks = b.ack.is_some();
                    self.qlog_packet_sent(now, ty, b.pn, usize::from(size), acks, &b.frames);
                }
                self.spaces[space_index(b.space)].recovery.on_sent(
                    b.pn,
                    SentPacket {
                        time: now,
                        size,
                        ack_eliciting: b.ack_eliciting,
                        in_flight,
                        ect: self.mark_datagram,
                        ack: b.ack,
                        frames: b.frames,
                    },
                );
            }
        }
        if discard_initial {
            // RFC 9001 §4.9.1: a client discards Initial keys when it first sends a
            // Handshake packet.
            self.discard_space(SpaceId::Initial);
        }
        if record {
            self.set_loss_timer(now);
            self.enforce_confidentiality_limit(now);
        }
        end
    }

    /// A PATH_RESPONSE to a challenge that came from an address other than the peer's
    /// current one goes back there, in a datagram of its own (RFC 9000 §8.2.2), expanded
    /// to 1200 bytes (§8.2.1) or to three times the challenge's datagram if that was
    /// smaller (the new path is not validated, §8.1). The connection stays where it is.
    fn transmit_path_response(&mut self, now: Timestamp, buf: &mut Writer<'_>) -> Option<Transmit> {
        let i = self
            .path_responses
            .iter()
            .position(|r| r.1 != self.path.remote)?;
        if !self.keys.can_send(SpaceId::Data) || buf.capacity() < MIN_PACKET_ROOM {
            return None;
        }
        let (data, destination, inciting) = self.path_responses.remove(i)?;
        let mut b = self.begin_packet(SpaceId::Data, buf);
        buf.put(|o| Frame::PathResponse(data).encode(o));
        b.frames.push(SentFrame::PathResponse);
        b.ack_eliciting = true;
        let pad_to = MIN_INITIAL_DATAGRAM_SIZE
            .min(3 * inciting)
            .min(buf.capacity());
        let size = self.seal_probe(now, buf, b, pad_to);
        Some(Transmit {
            destination,
            size,
            ecn: None,
        })
    }

    /// A PMTU probe, when the search wants one (RFC 8899 §4.1, RFC 9000 §14.4): a 1-RTT
    /// packet of PING and PADDING alone in a datagram of the probed size. It is sent on a
    /// validated path of a confirmed connection that is sending (data waits, or packets
    /// are in flight, whose ACKs then tell a lost probe quickly; an idle connection does
    /// not probe, so the search never keeps it alive), when the congestion window has
    /// room for it and no loss probe is due. It is not marked ECT(0), so its loss says
    /// nothing of ECN.
    fn transmit_pmtu_probe(&mut self, now: Timestamp, buf: &mut Writer<'_>) -> Option<Transmit> {
        // Every datagram passes here: the cheap test first.
        if self.path.mtu.state() != crate::path::PmtuState::Searching {
            return None;
        }
        let sending = self.streams.has_pending()
            || !self.datagrams_out.is_empty()
            || self.spaces[space_index(SpaceId::Data)]
                .recovery
                .ack_eliciting_in_flight
                > 0;
        if !sending
            || !self.handshake_confirmed
            || !self.path.is_validated()
            || !self.keys.can_send(SpaceId::Data)
            || self.spaces.iter().any(|s| s.probes > 0)
        {
            return None;
        }
        let size = self.path.mtu.probe_due()?;
        let len = usize::from(size);
        if buf.capacity() < len || self.bytes_in_flight + u64::from(size) > self.cc.window() {
            return None;
        }
        let mut b = self.begin_packet(SpaceId::Data, buf);
        buf.put(|o| Frame::Ping.encode(o));
        b.frames.push(SentFrame::PmtuProbe(size));
        b.ack_eliciting = true;
        let sent = self.seal_probe(now, buf, b, len);
        debug_assert_eq!(sent, len);
        self.path.mtu.on_probe_sent(size);
        Some(Transmit {
            destination: self.path.remote,
            size: sent,
            ecn: None,
        })
    }

    /// Finishes `b`, a packet alone in its datagram (a PATH_RESPONSE or PATH_CHALLENGE to
    /// another address, a PMTU probe), padded to `pad_to` bytes, seals and records it;
    /// returns the datagram's size.
    pub(crate) fn seal_probe(
        &mut self,
        now: Timestamp,
        buf: &mut Writer<'_>,
        mut b: Built,
        pad_to: usize,
    ) -> usize {
        self.end_packet(&mut b, buf);
        let mut built = Coalesced::one(b);
        self.pad(buf, &mut built, pad_to);
        self.seal_all(now, buf.written(), built, true)
    }

    /// Builds the CONNECTION_CLOSE datagram of the closing phase (RFC 9000 §10.2.1): one
    /// packet per space we have keys for, so a peer that has not finished the handshake
    /// can read it. Before the handshake completes an application close is sent as a
    /// transport APPLICATION_ERROR without the reason (§10.2.3).
    fn transmit_close(&mut self, now: Timestamp, buf: &mut Writer<'_>) -> Option<Transmit> {
        let close = self.close.clone()?;
        let max = self.path.max_datagram().min(buf.capacity());
        let mut built = Coalesced::default();
        for space in SPACES {
            if !self.keys.can_send(space) {
                continue;
            }
            let room = max.saturating_sub(buf.len());
            let frame = match (close.reason, space) {
                (CloseReason::Application { .. }, SpaceId::Initial | SpaceId::Handshake) => {
                    ConnectionClose {
                        reason: CloseReason::Transport {
                            code: TransportErrorCode::APPLICATION_ERROR,
                            frame_type: VarInt::ZERO,
                        },
                        phrase: &[],
                    }
                }
                (reason, _) => ConnectionClose {
                    reason,
                    phrase: &close.phrase[..close.phrase.len().min(512)],
                },
            };
            let frame = Frame::ConnectionClose(frame);
            if room < MIN_PACKET_ROOM + frame.encoded_len() {
                break;
            }
            let mut b = self.begin_packet(space, buf);
            buf.put(|o| frame.encode(o));
            self.end_packet(&mut b, buf);
            built.push(b);
        }
        if built.is_empty() {
            return None;
        }
        if self.side == Side::Client && built.iter().any(|b| b.space == SpaceId::Initial) {
            self.pad(buf, &mut built, MIN_INITIAL_DATAGRAM_SIZE.min(max));
        }
        let size = self.seal_all(now, buf.written(), built, false);
        self.path.on_sent(size);
        Some(Transmit {
            destination: self.path.remote,
            size,
            ecn: None,
        })
    }

    /// Test support: seals `frames` (raw frame bytes) into a packet of `space` with this
    /// connection's keys, as a misbehaving peer would send them.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn build_raw(&mut self, space: SpaceId, frames: &[u8], out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.resize(start + frames.len() + 128, 0);
        let buf = &mut Writer::new(&mut out[start..]);
        let mut b = self.begin_packet(space, buf);
        buf.put_slice(frames);
        b.ack_eliciting = true;
        self.end_packet(&mut b, buf);
        let size = self.seal_all(Timestamp::ZERO, buf.written(), Coalesced::one(b), false);
        out.truncate(start + size);
        size
    }
}
