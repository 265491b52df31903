//! The packets sent and not yet acknowledged or lost, and what each carried that matters
//! once it is (RFC 9002 §A.1).

use std::collections::VecDeque;
use std::ops::{Range, RangeInclusive};

use crate::common::{Dir, StreamId};
use crate::time::Timestamp;

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
    /// An ACK_FREQUENCY frame, by sequence number (the frame is the connection's latest).
    AckFrequency(u64),
    /// A NEW_TOKEN frame (its token is the connection's).
    NewToken,
    /// A PATH_CHALLENGE (its data is the connection's).
    PathChallenge,
    Ping,
    PathResponse,
    Datagram,
    /// The PING of a PMTU probe of this datagram size (RFC 8899 §4.1), the packet's only
    /// frame: its loss is not congestion.
    PmtuProbe(u16),
}

impl SentFrame {
    /// The type of the frame it stands for.
    pub(crate) fn frame_type(&self) -> crate::frame::FrameType {
        use crate::frame::FrameType as T;
        match self {
            Self::Stream { .. } => T::STREAM,
            Self::Crypto { .. } => T::CRYPTO,
            Self::MaxData => T::MAX_DATA,
            Self::MaxStreamData(_) => T::MAX_STREAM_DATA,
            Self::MaxStreams(Dir::Bi) => T::MAX_STREAMS_BIDI,
            Self::MaxStreams(Dir::Uni) => T::MAX_STREAMS_UNI,
            Self::DataBlocked => T::DATA_BLOCKED,
            Self::StreamDataBlocked(_) => T::STREAM_DATA_BLOCKED,
            Self::StreamsBlocked(Dir::Bi) => T::STREAMS_BLOCKED_BIDI,
            Self::StreamsBlocked(Dir::Uni) => T::STREAMS_BLOCKED_UNI,
            Self::ResetStream(_) => T::RESET_STREAM,
            Self::StopSending(_) => T::STOP_SENDING,
            Self::NewConnectionId(_) => T::NEW_CONNECTION_ID,
            Self::RetireConnectionId(_) => T::RETIRE_CONNECTION_ID,
            Self::HandshakeDone => T::HANDSHAKE_DONE,
            Self::AckFrequency(_) => T::ACK_FREQUENCY,
            Self::NewToken => T::NEW_TOKEN,
            Self::PathChallenge => T::PATH_CHALLENGE,
            Self::Ping | Self::PmtuProbe(_) => T::PING,
            Self::PathResponse => T::PATH_RESPONSE,
            Self::Datagram => T::DATAGRAM,
        }
    }
}

/// A packet we sent and have not seen acknowledged or declared lost.
#[derive(Debug, Clone)]
pub(crate) struct SentPacket {
    pub(crate) time: Timestamp,
    pub(crate) size: u16,
    pub(crate) ack_eliciting: bool,
    pub(crate) in_flight: bool,
    /// Sent in a datagram marked ECT(0).
    pub(crate) ect: bool,
    /// The largest packet number its ACK frame acknowledged: once this packet is
    /// acknowledged, ranges below it need not be sent again. Kept out of `frames`, so a
    /// packet that only acknowledges needs no frame list.
    pub(crate) ack: Option<u64>,
    pub(crate) frames: FrameList,
}

/// The frames of one sent packet that matter once it is acknowledged or lost. The first
/// is held inline: most packets carry one such frame (a bulk transfer's STREAM frame, a
/// PING), so they need no list of their own; the rest go in a list from the space's
/// [`FramePool`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FrameList {
    first: Option<SentFrame>,
    rest: Vec<SentFrame>,
}

impl FrameList {
    /// A list whose frames after the first go in `rest` (empty, from a pool).
    pub(crate) fn with_rest(rest: Vec<SentFrame>) -> Self {
        Self { first: None, rest }
    }

    /// Appends a frame.
    pub(crate) fn push(&mut self, f: SentFrame) {
        if self.first.is_none() {
            self.first = Some(f);
        } else {
            self.rest.push(f);
        }
    }

    /// Whether it holds no frame.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The frames it holds.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// The frames, in the order they were written.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &SentFrame> {
        self.first.iter().chain(&self.rest)
    }

    /// The probed size, if this is a PMTU probe's packet.
    pub(crate) fn pmtu_probe(&self) -> Option<u16> {
        match self.first {
            Some(SentFrame::PmtuProbe(size)) => Some(size),
            _ => None,
        }
    }

    /// The list the frames after the first were kept in, emptied, for reuse.
    pub(crate) fn into_rest(self) -> Vec<SentFrame> {
        self.rest
    }
}

impl<'a> IntoIterator for &'a FrameList {
    type Item = &'a SentFrame;
    type IntoIter =
        std::iter::Chain<std::option::Iter<'a, SentFrame>, std::slice::Iter<'a, SentFrame>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.iter().chain(&self.rest)
    }
}

impl IntoIterator for FrameList {
    type Item = SentFrame;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<SentFrame>, std::vec::IntoIter<SentFrame>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// The packets of one space not yet acknowledged or lost, in a ring indexed by packet
/// number: packet numbers rise by one per packet, so a packet's place is its number less
/// the lowest one held. Sending appends, an ACK takes packets out where they are, and the
/// ring's front advances past what is gone. No allocation per packet once the ring has
/// grown to the packets in flight.
#[derive(Debug, Default)]
pub(crate) struct SentPackets {
    /// The packet number of `ring[0]`.
    base: u64,
    /// `None` where a packet was acknowledged or lost (or a number was skipped).
    ring: VecDeque<Option<SentPacket>>,
}

impl SentPackets {
    /// A ring that empties keeps at most this many entries of capacity.
    const KEEP: usize = 64;

    /// Records packet `pn`, above every packet recorded before.
    pub(crate) fn insert(&mut self, pn: u64, packet: SentPacket) {
        if self.ring.is_empty() {
            self.base = pn;
        }
        // Numbers only rise; one below the ring (never sent so) still finds its place.
        while pn < self.base {
            self.ring.push_front(None);
            self.base -= 1;
        }
        let at = (pn - self.base) as usize;
        while self.ring.len() <= at {
            self.ring.push_back(None);
        }
        self.ring[at] = Some(packet);
    }

    /// Ring positions of the packet numbers in `range` that the ring spans.
    fn positions(&self, range: RangeInclusive<u64>) -> Range<usize> {
        let end = self.base + self.ring.len() as u64;
        let lo = (*range.start()).clamp(self.base, end);
        let hi = range.end().saturating_add(1).clamp(self.base, end);
        (lo - self.base) as usize..(hi.max(lo) - self.base) as usize
    }

    /// Takes out every packet in `range`, lowest first, handing each to `f`.
    pub(crate) fn take_range(
        &mut self,
        range: RangeInclusive<u64>,
        mut f: impl FnMut(u64, SentPacket),
    ) {
        for at in self.positions(range) {
            if let Some(p) = self.ring[at].take() {
                f(self.base + at as u64, p);
            }
        }
        self.trim();
    }

    /// Takes out the packets below `pn` for which `lost` says so, lowest first, handing
    /// each to `f`.
    pub(crate) fn take_below(
        &mut self,
        pn: u64,
        mut lost: impl FnMut(u64, &SentPacket) -> bool,
        mut f: impl FnMut(u64, SentPacket),
    ) {
        let Some(last) = pn.checked_sub(1) else {
            return;
        };
        for at in self.positions(0..=last) {
            let n = self.base + at as u64;
            if self.ring[at].as_ref().is_some_and(|p| lost(n, p)) {
                let p = self.ring[at].take().expect("just checked");
                f(n, p);
            }
        }
        self.trim();
    }

    /// Drops the front past packets no longer held.
    fn trim(&mut self) {
        while let Some(None) = self.ring.front() {
            self.ring.pop_front();
            self.base += 1;
        }
    }

    /// Gives back the buffer of an empty ring larger than [`KEEP`](Self::KEEP) (a quiet
    /// connection's; a busy one empties its ring between flights and fills it again).
    pub(crate) fn release_if_empty(&mut self) {
        if self.ring.is_empty() && self.ring.capacity() > Self::KEEP {
            self.ring = VecDeque::new();
        }
    }

    /// The packets held with their numbers, lowest first.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (u64, &SentPacket)> + '_ {
        let base = self.base;
        self.ring
            .iter()
            .enumerate()
            .filter_map(move |(i, p)| p.as_ref().map(|p| (base + i as u64, p)))
    }

    /// The packets held, lowest number first, without their numbers.
    pub(crate) fn values(&self) -> impl Iterator<Item = &SentPacket> + '_ {
        self.ring.iter().flatten()
    }

    /// Takes out every packet.
    pub(crate) fn take_all(&mut self) -> Vec<SentPacket> {
        std::mem::take(&mut self.ring)
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Frame lists of acknowledged and lost packets, kept to carry the frames of packets sent
/// later, so a packet costs no allocation in steady state. An ACK frees the lists of a
/// whole flight at once and the next flight takes as many, so the pool keeps up to as
/// many lists as packets are still in flight (at least [`MIN`](Self::MIN)): never more
/// than the sent-packet ring holds.
#[derive(Debug, Default)]
pub(crate) struct FramePool {
    spare: Vec<Vec<SentFrame>>,
}

impl FramePool {
    /// Lists kept whatever is in flight.
    const MIN: usize = 16;
    /// A list that grew beyond this many frames is not kept.
    const MAX_FRAMES: usize = 64;

    /// An empty list for a packet being built.
    pub(crate) fn take(&mut self) -> Vec<SentFrame> {
        self.spare.pop().unwrap_or_default()
    }

    /// A packet's list, done with, while `in_flight` ack-eliciting packets are in flight.
    pub(crate) fn put(&mut self, mut frames: Vec<SentFrame>, in_flight: usize) {
        if frames.capacity() != 0
            && frames.capacity() <= Self::MAX_FRAMES
            && self.spare.len() < in_flight.max(Self::MIN)
        {
            frames.clear();
            self.spare.push(frames);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(frames: FrameList) -> SentPacket {
        SentPacket {
            ect: false,
            time: Timestamp::ZERO,
            size: 1200,
            ack_eliciting: true,
            in_flight: true,
            ack: None,
            frames,
        }
    }

    fn held(s: &SentPackets) -> Vec<u64> {
        s.iter().map(|(pn, _)| pn).collect()
    }

    #[test]
    fn ring_takes_packets_where_they_are() {
        let mut s = SentPackets::default();
        for pn in 10..20 {
            s.insert(pn, pkt(FrameList::default()));
        }
        // A skipped number leaves a hole.
        s.insert(22, pkt(FrameList::default()));
        let mut taken = Vec::new();
        s.take_range(12..=14, |pn, _| taken.push(pn));
        s.take_range(21..=30, |pn, _| taken.push(pn));
        assert_eq!(taken, vec![12, 13, 14, 22]);
        assert_eq!(held(&s), vec![10, 11, 15, 16, 17, 18, 19]);
        // Ranges outside the ring take nothing.
        s.take_range(0..=9, |_, _| panic!("nothing there"));
        s.take_range(100..=200, |_, _| panic!("nothing there"));
        // Below 17, every odd number.
        let mut lost = Vec::new();
        s.take_below(17, |pn, _| pn % 2 == 1, |pn, _| lost.push(pn));
        assert_eq!(lost, vec![11, 15]);
        // The front advanced past what is gone.
        s.take_range(10..=10, |_, _| {});
        assert_eq!(s.base, 16);
        assert_eq!(held(&s), vec![16, 17, 18, 19]);
        assert_eq!(s.take_all().len(), 4);
        assert_eq!(held(&s), Vec::<u64>::new());
    }

    #[test]
    fn emptied_ring_restarts_at_the_next_number_and_gives_back_a_large_buffer() {
        let mut s = SentPackets::default();
        for pn in 0..1000 {
            s.insert(pn, pkt(FrameList::default()));
        }
        s.take_range(0..=999, |_, _| {});
        assert!(s.ring.capacity() >= 1000, "kept for the next flight");
        s.release_if_empty();
        assert_eq!(s.ring.capacity(), 0, "a large emptied ring is released");
        s.insert(1000, pkt(FrameList::default()));
        assert_eq!((s.base, s.ring.len()), (1000, 1));
        // A small ring keeps its buffer across empty moments.
        s.take_range(1000..=1000, |_, _| {});
        let cap = s.ring.capacity();
        assert!(cap > 0 && cap <= SentPackets::KEEP);
    }

    #[test]
    fn frame_lists_are_reused() {
        let mut pool = FramePool::default();
        let mut a = pool.take();
        a.push(SentFrame::Ping);
        let ptr = a.as_ptr();
        pool.put(a, 0);
        let b = pool.take();
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr, "the same buffer");
        // Empty lists (never allocated) and oversized ones are not kept.
        pool.put(Vec::new(), 0);
        pool.put(Vec::with_capacity(FramePool::MAX_FRAMES + 1), 0);
        assert!(pool.spare.is_empty());
        // With little in flight, the minimum; with a large flight, as many as it has.
        for _ in 0..2 * FramePool::MIN {
            pool.put(vec![SentFrame::Ping], 1);
        }
        assert_eq!(pool.spare.len(), 16);
        for _ in 0..1000 {
            pool.put(vec![SentFrame::Ping], 500);
        }
        assert_eq!(pool.spare.len(), 500);
    }
}
