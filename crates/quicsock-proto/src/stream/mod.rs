//! Streams (RFC 9000 §2, §3, §4): the send and receive halves with their state machines,
//! reassembly, stream and connection flow control, and stream-count limits.
//!
//! [`Streams`] owns every stream of one connection. The connection feeds it the stream
//! frames it receives (`on_*`), asks it to write frames into packets it builds
//! (`write_*`), and tells it which of those frames were acknowledged or lost. The
//! application's verbs (open, write, read, finish, reset, stop) are plain methods; what
//! they change for the application is reported as [`StreamEvent`]s.
//!
//! Bounds on peer input: a stream ID beyond the advertised limit is STREAM_LIMIT_ERROR;
//! data beyond a stream's or the connection's window is FLOW_CONTROL_ERROR, so buffered
//! data never exceeds the windows we advertised; streams exist only up to the limit.

mod flow;
mod id_hash;
mod recv;
mod recv_buffer;
mod send;
mod send_buffer;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

pub(crate) use flow::{RecvWindow, SendCredit};
pub(crate) use recv_buffer::{RecvBuffer, Share};
pub use recv_buffer::{CRYPTO_MAX_RANGES, MAX_RANGES, RANGE_COST, SHARE_MIN};

/// Receive buffers one connection's streams pin at most with data kept as slices of the
/// packets it came in (the engine's receive buffers are 64 KiB each, so at most 4 MiB);
/// past it, data is copied into the streams' rings.
pub const MAX_PINNED_BUFFERS: usize = 64;
pub(crate) use send_buffer::SendBuffer;

/// The bytes each copy site of the stream data path moved, for checking the copy budget
/// (DESIGN.md, "Data path and copy budget"). Sending, a byte is copied from the
/// application into the send buffer (`into_send_buffer`, kept for retransmission), then
/// sealed from there straight into the packet (`sealed_from_send_buffer`): one copy and one
/// AEAD pass. Only a frame that another frame follows in its packet, or a packet that is not
/// encrypted, is copied into the packet in the clear (`into_packets`). Receiving, the packet is opened in place; in-order data of a packet
/// that arrived in a shared receive buffer is kept as a slice of it (`shared_from_packets`),
/// anything else is copied into the stream's receive ring (`into_receive_buffer`); then it
/// is copied to the application (`to_application`): one AEAD pass and one copy for the
/// bytes shared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCopies {
    /// Application → send buffer.
    pub into_send_buffer: u64,
    /// Send buffer → packets in the clear (retransmissions included).
    pub into_packets: u64,
    /// Send buffer → packets as ciphertext, in the AEAD pass (retransmissions included).
    pub sealed_from_send_buffer: u64,
    /// Packets → receive buffers (new bytes only).
    pub into_receive_buffer: u64,
    /// Kept as slices of the opened packets, not copied (new bytes only).
    pub shared_from_packets: u64,
    /// Receive buffers → application.
    pub to_application: u64,
}
pub use state::{InvalidTransition, RecvState, SendState};

use crate::common::{Dir, Side, StreamId, VarInt, Writer};
use crate::frame::{self, Frame, FrameType, ResetStream, StopSending, MAX_STREAM_COUNT};
use crate::recovery::{FrameList, SentFrame};
use crate::time::Timestamp;
use crate::transport_params::TransportParameters;
use crate::{TransportError, TransportErrorCode};
use recv::RecvStream;
use send::SendStream;

/// Something that changed for the application on a stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The peer opened a stream.
    Opened(StreamId),
    /// Data (or the FIN, or a reset) can be read.
    Readable(StreamId),
    /// A blocked stream can take more data.
    Writable(StreamId),
    /// Everything written on the stream, FIN included, was acknowledged.
    Finished(StreamId),
    /// The peer asked us to stop sending (STOP_SENDING) with this application error code;
    /// the stream was reset in reply.
    Stopped(StreamId, u64),
    /// The peer reset the stream (RESET_STREAM) with this application error code and
    /// final size.
    Reset(StreamId, u64, u64),
    /// The peer's FIN arrived before all its data: the final size is known (RFC 9000
    /// §3.2, Size Known).
    SizeKnown(StreamId, u64),
    /// Every byte up to the final size arrived (Data Recvd).
    AllReceived(StreamId, u64),
    /// The peer acknowledged our RESET_STREAM (Reset Recvd).
    ResetAcked(StreamId),
    /// More streams of this direction may be opened.
    Available(Dir),
    /// The peer raised the stream's flow-control limit to this offset (MAX_STREAM_DATA).
    MaxData(StreamId, u64),
}

/// Why an application stream operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The peer's stream limit allows no more streams of this kind now.
    #[error("stream limit reached; wait for the peer to allow more streams")]
    LimitReached,
    /// The stream does not exist: never opened, or closed and freed.
    #[error("stream {0} is not open")]
    NotOpen(StreamId),
    /// The stream is closed for this operation (already finished or reset, or receive-only
    /// / send-only for the operation asked).
    #[error("stream {0} does not allow this in its current state")]
    InvalidState(StreamId),
    /// Flow control or the send buffer allows no more data now.
    #[error("stream {0} is blocked by flow control")]
    Blocked(StreamId),
    /// The peer asked us to stop sending, with this application error code.
    #[error("peer stopped stream {0} with code {1}")]
    Stopped(StreamId, u64),
    /// The peer reset the stream, with this application error code.
    #[error("peer reset stream {0} with code {1}")]
    Reset(StreamId, u64),
    /// A STOP_SENDING for the stream is in flight (not yet acknowledged); ask again later.
    #[error("a STOP_SENDING for stream {0} is in flight")]
    StopInFlight(StreamId),
}

/// Stream bytes a connection holds: Linux QUIC's `SIOCINQ`, `SIOCOUTQ` and `SIOCOUTQNSD`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueBytes {
    /// Received and not yet read, in order or beyond a gap.
    pub receive: u64,
    /// Written and not yet acknowledged.
    pub send: u64,
    /// Written and never sent.
    pub unsent: u64,
}

/// What a read returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Bytes copied.
    pub len: usize,
    /// Whether the stream's last byte was read: the FIN.
    pub fin: bool,
}

/// Limits and windows the streams follow.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// The largest a stream's receive window may grow.
    pub max_stream_window: u64,
    /// The largest the connection's receive window may grow.
    pub max_connection_window: u64,
    /// Bytes a stream may hold written-but-unacknowledged before `write` refuses more.
    pub send_buffer: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_stream_window: 16 << 20,
            max_connection_window: 24 << 20,
            send_buffer: 4 << 20,
        }
    }
}

#[derive(Debug, Default)]
struct Stream {
    send: Option<SendStream>,
    recv: Option<RecvStream>,
}

/// Control frames waiting to be (re)sent. Lost control frames set their flag again and the
/// current value is sent (RFC 9000 §13.3).
#[derive(Debug, Default)]
struct Pending {
    max_data: bool,
    data_blocked: bool,
    max_streams: [bool; 2],
    streams_blocked: [bool; 2],
    max_stream_data: BTreeSet<StreamId>,
    stream_data_blocked: BTreeSet<StreamId>,
    reset: BTreeSet<StreamId>,
    stop: BTreeSet<StreamId>,
}

fn di(dir: Dir) -> usize {
    match dir {
        Dir::Bi => 0,
        Dir::Uni => 1,
    }
}

const DIRS: [Dir; 2] = [Dir::Bi, Dir::Uni];

/// Every stream of one connection.
#[derive(Debug)]
pub struct Streams {
    side: Side,
    config: StreamConfig,
    streams: HashMap<StreamId, Stream, id_hash::IdHash>,
    /// Streams with data or a FIN to send, served round-robin.
    send_queue: VecDeque<StreamId>,
    pending: Pending,
    events: VecDeque<StreamEvent>,
    /// Next index we open, per direction.
    next_local: [u64; 2],
    /// How many streams the peer lets us open, per direction.
    max_local: [u64; 2],
    /// Next index the peer may open (one past the highest it opened), per direction.
    next_remote: [u64; 2],
    /// How many streams we let the peer open (advertised), per direction.
    max_remote: [u64; 2],
    /// Connection-level receive window (MAX_DATA we give).
    conn_recv: RecvWindow,
    /// Sum over streams of the highest offset received.
    conn_received: u64,
    /// Connection-level send credit (MAX_DATA we got).
    conn_send: SendCredit,
    /// Stream bytes sent more than once.
    retransmitted: u64,
    /// Bytes each copy site of the stream data path moved.
    copies: StreamCopies,
    /// Receive buffers the streams' shared slices pin (the sum of their
    /// [`RecvBuffer::pins`]), at most [`MAX_PINNED_BUFFERS`].
    pinned: usize,
    /// Stream data is held back (Linux QUIC's MSG_MORE, cork) until uncorked.
    corked: bool,
    /// Our parameters, for the windows of new streams.
    local_params: TransportParameters,
    /// The peer's parameters, for the credit of new streams.
    peer_params: TransportParameters,
}

impl Streams {
    /// Streams for a connection on `side`, with our transport parameters; the peer's arrive
    /// later with [`set_peer_params`](Self::set_peer_params).
    pub fn new(side: Side, local: &TransportParameters, config: StreamConfig) -> Self {
        Self {
            side,
            streams: HashMap::default(),
            send_queue: VecDeque::new(),
            pending: Pending::default(),
            events: VecDeque::new(),
            next_local: [0; 2],
            max_local: [0; 2],
            next_remote: [0; 2],
            max_remote: [
                local.initial_max_streams_bidi.into_inner(),
                local.initial_max_streams_uni.into_inner(),
            ],
            conn_recv: RecvWindow::new(
                local.initial_max_data.into_inner(),
                config.max_connection_window,
            ),
            conn_received: 0,
            conn_send: SendCredit::new(0),
            retransmitted: 0,
            copies: StreamCopies::default(),
            pinned: 0,
            corked: false,
            local_params: local.clone(),
            peer_params: TransportParameters::default(),
            config,
        }
    }

    /// Applies the peer's transport parameters: stream limits and initial credit (also to
    /// streams opened before they arrived, for 0-RTT).
    pub fn set_peer_params(&mut self, peer: &TransportParameters) {
        self.max_local = [
            peer.initial_max_streams_bidi.into_inner(),
            peer.initial_max_streams_uni.into_inner(),
        ];
        self.conn_send.raise(peer.initial_max_data.into_inner());
        self.peer_params = peer.clone();
        let side = self.side;
        for (id, s) in &mut self.streams {
            if let Some(send) = &mut s.send {
                send.credit
                    .raise(Self::initial_send_credit(side, peer, *id));
            }
        }
        for dir in DIRS {
            if self.max_local[di(dir)] > self.next_local[di(dir)] {
                self.events.push_back(StreamEvent::Available(dir));
            }
        }
    }

    fn initial_send_credit(side: Side, peer: &TransportParameters, id: StreamId) -> u64 {
        match (id.dir(), id.initiator() == side) {
            (Dir::Uni, _) => peer.initial_max_stream_data_uni,
            (Dir::Bi, true) => peer.initial_max_stream_data_bidi_remote,
            (Dir::Bi, false) => peer.initial_max_stream_data_bidi_local,
        }
        .into_inner()
    }

    fn initial_recv_window(&self, id: StreamId) -> u64 {
        let p = &self.local_params;
        match (id.dir(), id.initiator() == self.side) {
            (Dir::Uni, _) => p.initial_max_stream_data_uni,
            (Dir::Bi, true) => p.initial_max_stream_data_bidi_local,
            (Dir::Bi, false) => p.initial_max_stream_data_bidi_remote,
        }
        .into_inner()
    }

    fn create(&mut self, id: StreamId) {
        let local = id.initiator() == self.side;
        let send = (id.dir() == Dir::Bi || local)
            .then(|| SendStream::new(Self::initial_send_credit(self.side, &self.peer_params, id)));
        let recv = (id.dir() == Dir::Bi || !local).then(|| {
            RecvStream::new(RecvWindow::new(
                self.initial_recv_window(id),
                self.config.max_stream_window,
            ))
        });
        self.streams.insert(id, Stream { send, recv });
    }

    // ----- application verbs -----

    /// Opens the next stream of `dir`.
    pub fn open(&mut self, dir: Dir) -> Result<StreamId, StreamError> {
        let i = di(dir);
        if self.next_local[i] >= self.max_local[i] {
            self.pending.streams_blocked[i] = true;
            return Err(StreamError::LimitReached);
        }
        let id =
            StreamId::new(self.side, dir, self.next_local[i]).ok_or(StreamError::LimitReached)?;
        self.next_local[i] += 1;
        self.create(id);
        Ok(id)
    }

    /// Opens stream `id` and every lower stream of its kind not yet opened (Linux QUIC's
    /// STREAM_NEW semantics). The ID must be one this side initiates.
    pub fn open_id(&mut self, id: StreamId) -> Result<(), StreamError> {
        let i = di(id.dir());
        if id.initiator() != self.side {
            return Err(StreamError::InvalidState(id));
        }
        if id.index() < self.next_local[i] {
            return Err(StreamError::InvalidState(id));
        }
        if id.index() >= self.max_local[i] {
            self.pending.streams_blocked[i] = true;
            return Err(StreamError::LimitReached);
        }
        while self.next_local[i] <= id.index() {
            self.open(id.dir())?;
        }
        Ok(())
    }

    /// The index the next locally opened stream of `dir` gets, and the peer's limit.
    pub fn local_counts(&self, dir: Dir) -> (u64, u64) {
        (self.next_local[di(dir)], self.max_local[di(dir)])
    }

    /// Whether stream `id` was ever opened, by either side (it may be closed and freed).
    pub fn was_opened(&self, id: StreamId) -> bool {
        let i = di(id.dir());
        let next = if id.initiator() == self.side {
            self.next_local[i]
        } else {
            self.next_remote[i]
        };
        id.index() < next
    }

    /// Whether stream `id` exists (open in at least one direction).
    pub fn is_open(&self, id: StreamId) -> bool {
        self.streams.contains_key(&id)
    }

    /// Writes as much of `data` as flow control and the send buffer allow, and the FIN if
    /// `fin` and all of `data` was taken. Returns the bytes taken.
    pub fn write(&mut self, id: StreamId, data: &[u8], fin: bool) -> Result<usize, StreamError> {
        let buffer_cap = self.config.send_buffer;
        let s = self.streams.get_mut(&id).ok_or(StreamError::NotOpen(id))?;
        let send = s.send.as_mut().ok_or(StreamError::InvalidState(id))?;
        if let Some(code) = send.stop_code {
            return Err(StreamError::Stopped(id, code));
        }
        if !send.state.is_writable() || send.fin {
            return Err(StreamError::InvalidState(id));
        }
        let room = buffer_cap.saturating_sub(send.buf.buffered());
        let take = data.len().min(room as usize);
        if take == 0 && !data.is_empty() {
            send.blocked_writer = true;
            return Err(StreamError::Blocked(id));
        }
        if take < data.len() {
            send.blocked_writer = true;
        }
        send.buf.write(&data[..take]);
        self.copies.into_send_buffer += take as u64;
        if fin && take == data.len() {
            send.fin = true;
        }
        let _ = send.state.on_send();
        if send.has_pending() && !send.queued {
            send.queued = true;
            self.send_queue.push_back(id);
        }
        Ok(take)
    }

    /// Marks the end of the stream (FIN) after what was written.
    pub fn finish(&mut self, id: StreamId) -> Result<(), StreamError> {
        self.write(id, &[], true).map(|_| ())
    }

    /// Reads in-order data into `buf`.
    pub fn read(
        &mut self,
        id: StreamId,
        buf: &mut [u8],
        now: Timestamp,
        rtt: Duration,
    ) -> Result<ReadOutcome, StreamError> {
        let s = self.streams.get_mut(&id).ok_or(StreamError::NotOpen(id))?;
        let recv = s.recv.as_mut().ok_or(StreamError::InvalidState(id))?;
        if recv.state == RecvState::ResetRecvd {
            let code = recv.reset_code.unwrap_or(0);
            let _ = recv.state.on_reset_read();
            self.maybe_free(id);
            return Err(StreamError::Reset(id, code));
        }
        if recv.state.is_terminal() {
            return Err(StreamError::InvalidState(id));
        }
        let pins = recv.buf.pins();
        let len = recv.buf.read(buf);
        self.pinned -= pins - recv.buf.pins();
        self.copies.to_application += len as u64;
        recv.notified = false;
        let fin = recv.final_size == Some(recv.buf.read_offset());
        if recv.window.consume(len as u64, now, rtt) && recv.final_size.is_none() {
            self.pending.max_stream_data.insert(id);
        }
        if fin {
            let _ = recv.state.on_all_read();
        }
        if self.conn_recv.consume(len as u64, now, rtt) {
            self.pending.max_data = true;
        }
        if fin {
            self.maybe_free(id);
        }
        Ok(ReadOutcome { len, fin })
    }

    /// Copies in-order data of `id` into `buf` without consuming it (MSG_PEEK): what
    /// [`read`](Self::read) would return, with nothing read, no credit given back and no
    /// state changed.
    pub fn peek(&self, id: StreamId, buf: &mut [u8]) -> Result<ReadOutcome, StreamError> {
        let s = self.streams.get(&id).ok_or(StreamError::NotOpen(id))?;
        let recv = s.recv.as_ref().ok_or(StreamError::InvalidState(id))?;
        if recv.state == RecvState::ResetRecvd {
            return Err(StreamError::Reset(id, recv.reset_code.unwrap_or(0)));
        }
        if recv.state.is_terminal() {
            return Err(StreamError::InvalidState(id));
        }
        let len = recv.buf.peek(buf);
        let fin = recv.final_size == Some(recv.buf.read_offset() + len as u64);
        Ok(ReadOutcome { len, fin })
    }

    /// How many bytes stream `id` can read now, and whether the FIN follows them.
    pub fn readable(&self, id: StreamId) -> Option<(u64, bool)> {
        let recv = self.streams.get(&id)?.recv.as_ref()?;
        let n = recv.buf.readable();
        Some((n, recv.final_size == Some(recv.buf.read_offset() + n)))
    }

    /// Abandons sending on `id` with an application error code (RESET_STREAM).
    pub fn reset(&mut self, id: StreamId, code: VarInt) -> Result<(), StreamError> {
        let s = self.streams.get_mut(&id).ok_or(StreamError::NotOpen(id))?;
        let send = s.send.as_mut().ok_or(StreamError::InvalidState(id))?;
        send.reset(code.into_inner())
            .map_err(|_| StreamError::InvalidState(id))?;
        self.pending.reset.insert(id);
        Ok(())
    }

    /// Asks the peer to stop sending on `id` (STOP_SENDING) with an application error code.
    pub fn stop_sending(&mut self, id: StreamId, code: VarInt) -> Result<(), StreamError> {
        let s = self.streams.get_mut(&id).ok_or(StreamError::NotOpen(id))?;
        let recv = s.recv.as_mut().ok_or(StreamError::InvalidState(id))?;
        if !matches!(recv.state, RecvState::Recv | RecvState::SizeKnown) {
            return Err(StreamError::InvalidState(id));
        }
        // Linux QUIC: EAGAIN while one is in flight.
        if recv.stop_in_flight {
            return Err(StreamError::StopInFlight(id));
        }
        recv.stop_code = Some(code.into_inner());
        recv.stop_in_flight = true;
        self.pending.stop.insert(id);
        Ok(())
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// Frees a stream whose both halves are terminal, and for a peer-initiated stream lets
    /// the peer open one more (MAX_STREAMS).
    fn maybe_free(&mut self, id: StreamId) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        let done = s.send.as_ref().is_none_or(|x| x.state.is_terminal())
            && s.recv.as_ref().is_none_or(|x| x.state.is_terminal());
        if !done {
            return;
        }
        if let Some(recv) = self.streams.remove(&id).and_then(|s| s.recv) {
            self.pinned -= recv.buf.pins();
        }
        self.pending.max_stream_data.remove(&id);
        self.pending.stream_data_blocked.remove(&id);
        if self.streams.is_empty() {
            // A connection with no open stream keeps no stream table.
            self.streams.shrink_to_fit();
        }
        if id.initiator() != self.side {
            let i = di(id.dir());
            if self.max_remote[i] < MAX_STREAM_COUNT {
                self.max_remote[i] += 1;
                self.pending.max_streams[i] = true;
            }
        }
    }

    // ----- frames from the peer -----

    /// Finds the stream a peer frame refers to, opening peer-initiated streams up to it.
    /// `Ok(None)` means the stream was closed and freed: the frame is stale and ignored.
    /// `sending` says whether the frame concerns the peer's sending half (STREAM,
    /// RESET_STREAM, STREAM_DATA_BLOCKED) or ours (MAX_STREAM_DATA, STOP_SENDING).
    fn peer_frame_stream(
        &mut self,
        id: StreamId,
        ty: FrameType,
        peer_sending: bool,
    ) -> Result<bool, TransportError> {
        let local = id.initiator() == self.side;
        let i = di(id.dir());
        // A uni stream has one sending half: ours if we opened it, the peer's otherwise.
        if id.dir() == Dir::Uni && local == peer_sending {
            return Err(TransportError::in_frame(
                TransportErrorCode::STREAM_STATE_ERROR,
                ty,
                "frame for the wrong direction of a unidirectional stream",
            ));
        }
        if local {
            if id.index() >= self.next_local[i] {
                return Err(TransportError::in_frame(
                    TransportErrorCode::STREAM_STATE_ERROR,
                    ty,
                    "frame for a locally initiated stream not yet opened",
                ));
            }
        } else {
            if id.index() >= self.max_remote[i] {
                return Err(TransportError::in_frame(
                    TransportErrorCode::STREAM_LIMIT_ERROR,
                    ty,
                    "stream ID beyond the advertised limit",
                ));
            }
            while self.next_remote[i] <= id.index() {
                let new = StreamId::new(id.initiator(), id.dir(), self.next_remote[i])
                    .expect("below the advertised limit, which is at most 2^60");
                self.next_remote[i] += 1;
                self.create(new);
                self.events.push_back(StreamEvent::Opened(new));
            }
        }
        Ok(self.streams.contains_key(&id))
    }

    /// A STREAM frame.
    pub fn on_stream(&mut self, f: &frame::Stream<'_>) -> Result<(), TransportError> {
        self.on_stream_shared(f, None)
    }

    /// A STREAM frame of a packet `share` holds: its data may be kept as a slice of the
    /// packet rather than copied ([`RecvBuffer`]), while the connection pins fewer than
    /// [`MAX_PINNED_BUFFERS`] receive buffers.
    pub(crate) fn on_stream_shared(
        &mut self,
        f: &frame::Stream<'_>,
        share: Option<Share<'_>>,
    ) -> Result<(), TransportError> {
        let ty = f.ty();
        if !self.peer_frame_stream(f.id, ty, true)? {
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&f.id) else {
            return Ok(());
        };
        let recv = s.recv.as_mut().expect("direction checked");
        let before = recv.highest;
        let state_before = recv.state;
        let (pins, shared) = (recv.buf.pins(), recv.buf.shared_len());
        let share = share.filter(|_| self.pinned < MAX_PINNED_BUFFERS);
        let (readable, stored) = recv.on_data(f.offset.into_inner(), f.data, f.fin, ty, share)?;
        if recv.state != state_before {
            let size = recv.final_size.unwrap_or(recv.highest);
            match recv.state {
                RecvState::SizeKnown => self.events.push_back(StreamEvent::SizeKnown(f.id, size)),
                RecvState::DataRecvd => {
                    self.events.push_back(StreamEvent::AllReceived(f.id, size));
                }
                _ => {}
            }
        }
        self.pinned = self.pinned + recv.buf.pins() - pins;
        // New bytes only: kept data may cover bytes held out of order already.
        if recv.buf.shared_len() > shared {
            self.copies.shared_from_packets += stored as u64;
        } else {
            self.copies.into_receive_buffer += stored as u64;
        }
        self.account_received(recv_growth(before, self.streams[&f.id].recv.as_ref()), ty)?;
        if readable {
            self.events.push_back(StreamEvent::Readable(f.id));
        }
        Ok(())
    }

    fn account_received(&mut self, growth: u64, ty: FrameType) -> Result<(), TransportError> {
        self.conn_received += growth;
        if self.conn_received > self.conn_recv.limit() {
            return Err(TransportError::in_frame(
                TransportErrorCode::FLOW_CONTROL_ERROR,
                ty,
                "data beyond the connection's flow-control limit",
            ));
        }
        Ok(())
    }

    /// A RESET_STREAM frame.
    pub fn on_reset_stream(&mut self, f: &ResetStream) -> Result<(), TransportError> {
        let ty = FrameType::RESET_STREAM;
        if !self.peer_frame_stream(f.id, ty, true)? {
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&f.id) else {
            return Ok(());
        };
        let recv = s.recv.as_mut().expect("direction checked");
        let before = recv.highest;
        let pins = recv.buf.pins();
        let newly = recv.on_reset(f.final_size.into_inner(), f.error_code.into_inner())?;
        self.pinned -= pins - recv.buf.pins();
        let released = recv.final_size.unwrap_or(before) - recv.buf.read_offset();
        self.account_received(recv_growth(before, self.streams[&f.id].recv.as_ref()), ty)?;
        if newly {
            // The unread bytes up to the final size will never be read: give them back.
            if self
                .conn_recv
                .consume(released, Timestamp::ZERO, Duration::ZERO)
            {
                self.pending.max_data = true;
            }
            self.pending.max_stream_data.remove(&f.id);
            self.events.push_back(StreamEvent::Reset(
                f.id,
                f.error_code.into_inner(),
                f.final_size.into_inner(),
            ));
        }
        Ok(())
    }

    /// A STOP_SENDING frame: the stream is reset in reply with the same code (§3.5).
    pub fn on_stop_sending(&mut self, f: &StopSending) -> Result<(), TransportError> {
        if !self.peer_frame_stream(f.id, FrameType::STOP_SENDING, false)? {
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&f.id) else {
            return Ok(());
        };
        let send = s.send.as_mut().expect("direction checked");
        if send.stop_code.is_none() {
            send.stop_code = Some(f.error_code.into_inner());
            if send.reset(f.error_code.into_inner()).is_ok() {
                self.pending.reset.insert(f.id);
                self.events
                    .push_back(StreamEvent::Stopped(f.id, f.error_code.into_inner()));
            }
        }
        Ok(())
    }

    /// A MAX_STREAM_DATA frame.
    pub fn on_max_stream_data(&mut self, id: StreamId, max: VarInt) -> Result<(), TransportError> {
        if !self.peer_frame_stream(id, FrameType::MAX_STREAM_DATA, false)? {
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        let send = s.send.as_mut().expect("direction checked");
        if send.credit.raise(max.into_inner()) {
            self.events
                .push_back(StreamEvent::MaxData(id, max.into_inner()));
            if send.blocked_writer && send.state.is_writable() {
                send.blocked_writer = false;
                self.events.push_back(StreamEvent::Writable(id));
            }
            if send.has_pending() && !send.queued {
                send.queued = true;
                self.send_queue.push_back(id);
            }
        }
        Ok(())
    }

    /// A STREAM_DATA_BLOCKED frame: validated; our updates are driven by reads.
    pub fn on_stream_data_blocked(&mut self, id: StreamId) -> Result<(), TransportError> {
        self.peer_frame_stream(id, FrameType::STREAM_DATA_BLOCKED, true)
            .map(|_| ())
    }

    /// A MAX_DATA frame.
    pub fn on_max_data(&mut self, max: VarInt) {
        if self.conn_send.raise(max.into_inner()) {
            self.wake_blocked_writers();
        }
    }

    fn wake_blocked_writers(&mut self) {
        for (id, s) in &mut self.streams {
            if let Some(send) = &mut s.send {
                if send.blocked_writer && send.state.is_writable() {
                    send.blocked_writer = false;
                    self.events.push_back(StreamEvent::Writable(*id));
                }
                if send.has_pending() && !send.queued {
                    send.queued = true;
                    self.send_queue.push_back(*id);
                }
            }
        }
    }

    /// A MAX_STREAMS frame.
    pub fn on_max_streams(&mut self, dir: Dir, count: VarInt) {
        let i = di(dir);
        if count.into_inner() > self.max_local[i] {
            self.max_local[i] = count.into_inner();
            self.events.push_back(StreamEvent::Available(dir));
        }
    }

    /// Whether the peer is blocked on data it has not yet been given credit for is not our
    /// concern: DATA_BLOCKED and STREAMS_BLOCKED only inform. Nothing to do.
    pub fn on_blocked_hint(&mut self) {}

    /// Stream bytes sent more than once.
    pub(crate) fn retransmitted(&self) -> u64 {
        self.retransmitted
    }

    /// Bytes each copy site of the stream data path moved so far.
    pub(crate) fn copies(&self) -> StreamCopies {
        self.copies
    }

    /// Gives back the buffers of send sides whose every byte was acknowledged and of
    /// receive sides with nothing unread.
    pub(crate) fn release_drained(&mut self) {
        for s in self.streams.values_mut() {
            if let Some(send) = s.send.as_mut() {
                send.buf.release_if_drained();
            }
            if let Some(recv) = s.recv.as_mut() {
                recv.buf.release_if_empty();
            }
        }
    }

    // ----- writing frames -----

    /// Whether anything (control frames or stream data) waits to be sent.
    pub fn has_pending(&self) -> bool {
        let p = &self.pending;
        p.max_data
            || p.data_blocked
            || p.max_streams.iter().any(|b| *b)
            || p.streams_blocked.iter().any(|b| *b)
            || !p.max_stream_data.is_empty()
            || !p.stream_data_blocked.is_empty()
            || !p.reset.is_empty()
            || !p.stop.is_empty()
            || self.has_stream_data()
    }

    /// Whether stream data is queued and sendable now (connection credit permitting).
    pub fn has_stream_data(&self) -> bool {
        !self.corked
            && self.send_queue.iter().any(|id| {
                self.streams
                    .get(id)
                    .and_then(|s| s.send.as_ref())
                    .is_some_and(|s| s.sendable(self.conn_send.available()))
            })
    }

    /// Writes pending control frames into `out` while they fit in `max` bytes, recording
    /// each in `sent`.
    pub(crate) fn write_control(&mut self, out: &mut Writer<'_>, max: usize, sent: &mut FrameList) {
        let start = out.len();
        let fits = |out: &Writer<'_>, f: &Frame<'_>| out.len() - start + f.encoded_len() <= max;
        if self.pending.max_data {
            let f = Frame::MaxData(VarInt::saturating(self.conn_recv.limit()));
            if fits(out, &f) {
                out.put(|b| f.encode(b));
                self.pending.max_data = false;
                sent.push(SentFrame::MaxData);
            }
        }
        for dir in DIRS {
            let i = di(dir);
            if self.pending.max_streams[i] {
                let f = Frame::MaxStreams {
                    dir,
                    count: VarInt::saturating(self.max_remote[i]),
                };
                if fits(out, &f) {
                    out.put(|b| f.encode(b));
                    self.pending.max_streams[i] = false;
                    sent.push(SentFrame::MaxStreams(dir));
                }
            }
            if self.pending.streams_blocked[i] {
                let f = Frame::StreamsBlocked {
                    dir,
                    limit: VarInt::saturating(self.max_local[i]),
                };
                if fits(out, &f) {
                    out.put(|b| f.encode(b));
                    self.pending.streams_blocked[i] = false;
                    sent.push(SentFrame::StreamsBlocked(dir));
                }
            }
        }
        if self.pending.data_blocked {
            let f = Frame::DataBlocked(VarInt::saturating(self.conn_send.max));
            if fits(out, &f) {
                out.put(|b| f.encode(b));
                self.pending.data_blocked = false;
                sent.push(SentFrame::DataBlocked);
            }
        }
        while let Some(&id) = self.pending.reset.first() {
            let Some(send) = self.streams.get(&id).and_then(|s| s.send.as_ref()) else {
                self.pending.reset.remove(&id);
                continue;
            };
            let f = Frame::ResetStream(ResetStream {
                id,
                error_code: VarInt::saturating(send.reset_code.unwrap_or(0)),
                final_size: VarInt::saturating(send.final_size()),
            });
            if !fits(out, &f) {
                break;
            }
            out.put(|b| f.encode(b));
            self.pending.reset.remove(&id);
            sent.push(SentFrame::ResetStream(id));
        }
        while let Some(&id) = self.pending.stop.first() {
            let Some(recv) = self.streams.get(&id).and_then(|s| s.recv.as_ref()) else {
                self.pending.stop.remove(&id);
                continue;
            };
            let code = recv.stop_code.unwrap_or(0);
            if !matches!(recv.state, RecvState::Recv | RecvState::SizeKnown) {
                self.pending.stop.remove(&id);
                continue;
            }
            let f = Frame::StopSending(StopSending {
                id,
                error_code: VarInt::saturating(code),
            });
            if !fits(out, &f) {
                break;
            }
            out.put(|b| f.encode(b));
            self.pending.stop.remove(&id);
            sent.push(SentFrame::StopSending(id));
        }
        while let Some(&id) = self.pending.max_stream_data.first() {
            let Some(recv) = self.streams.get(&id).and_then(|s| s.recv.as_ref()) else {
                self.pending.max_stream_data.remove(&id);
                continue;
            };
            let f = Frame::MaxStreamData {
                id,
                max: VarInt::saturating(recv.window.limit()),
            };
            if !fits(out, &f) {
                break;
            }
            out.put(|b| f.encode(b));
            self.pending.max_stream_data.remove(&id);
            sent.push(SentFrame::MaxStreamData(id));
        }
        while let Some(&id) = self.pending.stream_data_blocked.first() {
            let Some(send) = self.streams.get(&id).and_then(|s| s.send.as_ref()) else {
                self.pending.stream_data_blocked.remove(&id);
                continue;
            };
            let f = Frame::StreamDataBlocked {
                id,
                limit: VarInt::saturating(send.credit.max),
            };
            if !fits(out, &f) {
                break;
            }
            out.put(|b| f.encode(b));
            self.pending.stream_data_blocked.remove(&id);
            sent.push(SentFrame::StreamDataBlocked(id));
        }
    }

    /// Writes STREAM frames into `out` while they fit in `max` bytes, recording each in
    /// `sent`. The data of the last frame is left for the AEAD pass to seal from the send
    /// buffer (`tail`); that of every earlier one is copied in.
    pub(crate) fn write_stream_data(
        &mut self,
        out: &mut Writer<'_>,
        max: usize,
        sent: &mut FrameList,
        tail: &mut Option<DataTail>,
    ) {
        if self.corked {
            return;
        }
        let start = out.len();
        let mut rounds = self.send_queue.len();
        while rounds > 0 {
            rounds -= 1;
            let Some(id) = self.send_queue.pop_front() else {
                break;
            };
            let room = max - (out.len() - start);
            // Frame header at most 1 + 8 + 8 + 2 bytes here (length ≤ a packet).
            if room < 20 {
                self.send_queue.push_front(id);
                break;
            }
            // Another frame follows the previous one's data: that data goes in now.
            self.settle_tail(out.written(), tail);
            let conn_available = self.conn_send.available();
            let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
                continue;
            };
            let written = send.write_frame(id, out, room, conn_available, sent);
            self.conn_send.used += written.new_bytes;
            self.retransmitted += written.bytes.saturating_sub(written.new_bytes);
            if written.stream_blocked {
                self.pending.stream_data_blocked.insert(id);
            }
            if written.conn_blocked && self.conn_send.should_signal_blocked() {
                self.pending.data_blocked = true;
            }
            if send.has_pending() {
                // Blocked or not, it stays queued; a credit update re-queues it anyway.
                self.send_queue.push_back(id);
            } else {
                send.queued = false;
            }
            if written.tail.is_some() {
                *tail = written.tail;
            }
        }
    }

    /// The bytes a [`DataTail`] stands for, in the send buffer of its stream.
    pub(crate) fn tail_data(&self, t: &DataTail) -> &[u8] {
        let send = self
            .streams
            .get(&t.id)
            .and_then(|s| s.send.as_ref())
            .expect("a stream keeps its data while a packet is built from it");
        send.buf.get(t.offset..t.offset + t.len as u64)
    }

    /// Copies the data of `tail` into `datagram` in the clear (something follows it, it is
    /// short, or the packet is not encrypted): the one place stream data is copied into a
    /// packet.
    pub(crate) fn settle_tail(&mut self, datagram: &mut [u8], tail: &mut Option<DataTail>) {
        if let Some(t) = tail.take() {
            datagram[t.at..t.at + t.len].copy_from_slice(self.tail_data(&t));
            self.copies.into_packets += t.len as u64;
        }
    }

    /// Counts stream bytes sealed straight from send buffers.
    pub(crate) fn count_sealed(&mut self, len: usize) {
        self.copies.sealed_from_send_buffer += len as u64;
    }

    // ----- acknowledgements and losses -----

    /// A STREAM frame we sent was acknowledged.
    pub(crate) fn on_stream_acked(&mut self, id: StreamId, offset: u64, len: u64, fin: bool) {
        let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
            return;
        };
        if send.on_acked(offset, len, fin) {
            self.events.push_back(StreamEvent::Finished(id));
            self.maybe_free(id);
        } else if send.blocked_writer && send.state.is_writable() {
            send.blocked_writer = false;
            self.events.push_back(StreamEvent::Writable(id));
        }
    }

    /// A STREAM frame we sent was lost.
    pub(crate) fn on_stream_lost(&mut self, id: StreamId, offset: u64, len: u64, fin: bool) {
        let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
            return;
        };
        if send.on_lost(offset, len, fin) && !send.queued {
            send.queued = true;
            self.send_queue.push_back(id);
        }
    }

    /// A control frame we sent was acknowledged.
    pub(crate) fn on_control_acked(&mut self, f: &SentFrame) {
        match *f {
            SentFrame::ResetStream(id) => {
                if let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) {
                    if send.state.on_reset_acked().is_ok() {
                        self.events.push_back(StreamEvent::ResetAcked(id));
                    }
                    self.maybe_free(id);
                }
            }
            SentFrame::StopSending(id) => {
                if let Some(recv) = self.streams.get_mut(&id).and_then(|s| s.recv.as_mut()) {
                    recv.stop_in_flight = false;
                }
            }
            _ => {}
        }
    }

    /// A control frame we sent was lost: queue its current value again if still needed.
    pub(crate) fn on_control_lost(&mut self, f: &SentFrame) {
        let p = &mut self.pending;
        match *f {
            SentFrame::MaxData => p.max_data = true,
            SentFrame::DataBlocked => p.data_blocked = self.conn_send.available() == 0,
            SentFrame::MaxStreams(dir) => p.max_streams[di(dir)] = true,
            SentFrame::StreamsBlocked(dir) => {
                p.streams_blocked[di(dir)] = self.next_local[di(dir)] >= self.max_local[di(dir)]
            }
            SentFrame::ResetStream(id)
                if self
                    .streams
                    .get(&id)
                    .and_then(|s| s.send.as_ref())
                    .is_some_and(|s| s.state == SendState::ResetSent) =>
            {
                p.reset.insert(id);
            }
            SentFrame::StopSending(id)
                if self
                    .streams
                    .get(&id)
                    .and_then(|s| s.recv.as_ref())
                    .is_some_and(|r| matches!(r.state, RecvState::Recv | RecvState::SizeKnown)) =>
            {
                p.stop.insert(id);
            }
            SentFrame::MaxStreamData(id)
                if self
                    .streams
                    .get(&id)
                    .and_then(|s| s.recv.as_ref())
                    .is_some_and(|r| r.final_size.is_none()) =>
            {
                p.max_stream_data.insert(id);
            }
            SentFrame::StreamDataBlocked(id)
                if self
                    .streams
                    .get(&id)
                    .and_then(|s| s.send.as_ref())
                    .is_some_and(|s| s.credit.available() == 0) =>
            {
                p.stream_data_blocked.insert(id);
            }
            _ => {}
        }
    }

    /// Checks the flow-control books (for the fuzz harnesses): no stream or the connection
    /// used more credit than it was given, no receive buffer holds data past its window,
    /// and the connection's count of received bytes is the sum of the streams'.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn check_invariants(&self) {
        assert!(
            self.conn_send.used <= self.conn_send.max,
            "connection send credit"
        );
        assert!(
            self.conn_received <= self.conn_recv.limit(),
            "connection receive window"
        );
        let mut sent = 0;
        for (id, s) in &self.streams {
            if let Some(tx) = &s.send {
                assert!(tx.credit.used <= tx.credit.max, "stream {id} send credit");
                sent += tx.credit.used;
            }
            if let Some(rx) = &s.recv {
                assert!(
                    rx.highest <= rx.window.limit(),
                    "stream {id} receive window"
                );
                let held = rx.buf.read_offset() + rx.buf.buffered() as u64;
                assert!(
                    held <= rx.highest.max(rx.buf.read_offset()),
                    "stream {id} data"
                );
                // The ring spans at most the window and grows by doubling.
                let bound = 2 * rx.window.max_window() as usize + MAX_RANGES * RANGE_COST + 64;
                assert!(
                    rx.buf.memory() <= bound,
                    "stream {id} memory {}",
                    rx.buf.memory()
                );
            }
        }
        assert!(
            sent <= self.conn_send.used,
            "streams sent more than the connection"
        );
        let pins: usize = self
            .streams
            .values()
            .filter_map(|s| s.recv.as_ref())
            .map(|r| r.buf.pins())
            .sum();
        assert_eq!(pins, self.pinned, "pinned receive buffers");
        assert!(self.pinned <= MAX_PINNED_BUFFERS);
    }

    /// The bytes of memory every stream's receive buffer holds (ring capacity and
    /// reassembly ranges).
    pub fn reassembly_memory(&self) -> usize {
        self.streams
            .values()
            .filter_map(|s| s.recv.as_ref())
            .map(|r| r.buf.memory())
            .sum()
    }

    /// Holds stream data back (`true`) until uncorked, as Linux QUIC's MSG_MORE does:
    /// writes are queued, and nothing of them is sent; control frames still are.
    pub fn set_corked(&mut self, corked: bool) {
        self.corked = corked;
    }

    /// The stream bytes held each way ([`QueueBytes`]).
    pub fn queue_bytes(&self) -> QueueBytes {
        let mut q = QueueBytes::default();
        for s in self.streams.values() {
            if let Some(r) = &s.recv {
                q.receive += r.buf.buffered() as u64;
            }
            if let Some(t) = &s.send {
                q.send += t.buf.buffered();
                q.unsent += t.buf.end() - t.buf.unsent();
            }
        }
        q
    }

    /// Receive buffers the streams pin with shared slices (at most
    /// [`MAX_PINNED_BUFFERS`]).
    pub fn pinned_buffers(&self) -> usize {
        self.pinned
    }

    /// The number of open streams (either half not terminal).
    pub fn open_count(&self) -> usize {
        self.streams.len()
    }

    /// Bytes the connection may still send under the peer's MAX_DATA.
    pub fn connection_send_credit(&self) -> u64 {
        self.conn_send.available()
    }

    /// The connection-level receive window currently advertised.
    pub fn connection_recv_window(&self) -> u64 {
        self.conn_recv.window()
    }

    /// Whether every stream's sent data was acknowledged (for a graceful close).
    pub fn all_acked(&self) -> bool {
        self.streams.values().all(|s| {
            s.send
                .as_ref()
                .is_none_or(|x| x.buf.is_fully_acked() && (!x.fin || x.fin_acked))
        })
    }

    /// Ids of streams that have data waiting to be read, FIN or reset included.
    pub fn readable_streams(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.streams
            .keys()
            .copied()
            .filter(|id| self.has_readable(*id))
    }

    /// Whether a read of `id` would return something now: data, the FIN, or the reset.
    pub fn has_readable(&self, id: StreamId) -> bool {
        let Some(r) = self.streams.get(&id).and_then(|s| s.recv.as_ref()) else {
            return false;
        };
        r.buf.readable() > 0
            || r.state == RecvState::ResetRecvd
            || (r.final_size == Some(r.buf.read_offset()) && r.state != RecvState::DataRead)
    }

    /// Whether a read of `id` would wait: the stream's receive side is open, nothing is
    /// readable, and it has not ended (a read of an ended, reset or absent side returns at
    /// once, with its end or error). A stream the peer has not opened yet waits too.
    pub fn read_would_block(&self, id: StreamId) -> bool {
        match self.streams.get(&id) {
            Some(s) => match &s.recv {
                Some(r) => !self.has_readable(id) && !r.state.is_terminal(),
                None => false,
            },
            None => !self.was_opened(id),
        }
    }

    /// Whether stream `id`'s send buffer has room, if the stream can still send at all
    /// (`None` for an ended, stopped or absent send side, where a write fails at once).
    fn send_room(&self, id: StreamId) -> Option<bool> {
        let send = self.streams.get(&id).and_then(|s| s.send.as_ref())?;
        (send.stop_code.is_none() && send.state.is_writable() && !send.fin)
            .then(|| send.buf.buffered() < self.config.send_buffer)
    }

    /// Whether a write to `id` would wait for room: the stream can still send and its send
    /// buffer is full (a write to an ended, stopped or absent stream fails at once).
    pub fn write_would_block(&self, id: StreamId) -> bool {
        self.send_room(id) == Some(false)
    }

    /// Whether a write to `id` would take at least one byte now (send buffer room and
    /// a stream that can still send).
    pub fn can_write(&self, id: StreamId) -> bool {
        self.send_room(id) == Some(true)
    }
}

/// How much a frame raised a receive stream's highest offset.
fn recv_growth(before: u64, recv: Option<&RecvStream>) -> u64 {
    recv.map_or(0, |r| r.highest - before)
}

/// What one [`SendStream::write_frame`] call wrote.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub(crate) bytes: u64,
    pub(crate) new_bytes: u64,
    pub(crate) fin: bool,
    pub(crate) stream_blocked: bool,
    pub(crate) conn_blocked: bool,
    /// Where the frame's data goes in the packet, not yet written.
    pub(crate) tail: Option<DataTail>,
}

/// Stream data a packet has room for but does not yet hold: the AEAD pass reads it from
/// the stream's send buffer and writes its ciphertext there (seal-on-copy), or it is copied
/// in ([`Streams::settle_tail`]) when something must follow it in the clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DataTail {
    /// Its offset in the datagram buffer.
    pub(crate) at: usize,
    pub(crate) id: StreamId,
    /// Its stream offset.
    pub(crate) offset: u64,
    pub(crate) len: usize,
}
