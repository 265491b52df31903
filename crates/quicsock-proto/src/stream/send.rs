//! The sending half of one stream: its state (RFC 9000 §3.1), buffered data, credit from
//! the peer (MAX_STREAM_DATA) and the FIN.

use super::{DataTail, SendBuffer, SendCredit, SendState, Written};
use crate::common::{StreamId, VarInt, Writer};
use crate::frame;
use crate::recovery::{FrameList, SentFrame};

#[derive(Debug)]
pub(super) struct SendStream {
    pub(super) state: SendState,
    pub(super) buf: SendBuffer,
    pub(super) credit: SendCredit,
    /// The application finished the stream.
    pub(super) fin: bool,
    /// The FIN is in a packet in flight (or acknowledged).
    fin_sent: bool,
    pub(super) fin_acked: bool,
    /// The peer sent STOP_SENDING with this code.
    pub(super) stop_code: Option<u64>,
    /// We reset the stream with this code.
    pub(super) reset_code: Option<u64>,
    /// A write was refused or cut short; tell the application when it can write again.
    pub(super) blocked_writer: bool,
    /// The stream is in the connection's send queue.
    pub(super) queued: bool,
}

impl SendStream {
    pub(super) fn new(credit: u64) -> Self {
        Self {
            state: SendState::Ready,
            buf: SendBuffer::default(),
            credit: SendCredit::new(credit),
            fin: false,
            fin_sent: false,
            fin_acked: false,
            stop_code: None,
            reset_code: None,
            blocked_writer: false,
            queued: false,
        }
    }

    /// Whether data or the FIN waits to be (re)sent.
    pub(super) fn has_pending(&self) -> bool {
        self.reset_code.is_none() && (self.buf.has_pending() || self.fin_pending())
    }

    fn fin_pending(&self) -> bool {
        self.fin && !self.fin_sent && !self.fin_acked
    }

    /// Whether a frame can be written now, given the connection's credit.
    pub(super) fn sendable(&self, conn_available: u64) -> bool {
        if self.reset_code.is_some() {
            return false;
        }
        let new_data = self.buf.unsent() < self.buf.end()
            && self.buf.unsent() < self.credit.max
            && conn_available > 0;
        // Lost data, and the FIN once all data is out, need no new credit.
        new_data
            || self.buf.has_retransmit()
            || (self.fin_pending() && self.buf.unsent() == self.buf.end())
    }

    /// The final size for RESET_STREAM: the highest offset sent.
    pub(super) fn final_size(&self) -> u64 {
        self.credit.used
    }

    /// Writes one STREAM frame of at most `room` bytes: its header, and room for its data,
    /// which [`Written::tail`] locates (the data is sealed straight from this stream's
    /// send buffer, or copied in if another frame follows).
    pub(super) fn write_frame(
        &mut self,
        id: StreamId,
        out: &mut Writer<'_>,
        room: usize,
        conn_available: u64,
        sent: &mut FrameList,
    ) -> Written {
        let mut w = Written::default();
        if self.reset_code.is_some() {
            return w;
        }
        let header = frame::Stream::header_len(id, VarInt::MAX, room, true);
        let Some(max_data) = room.checked_sub(header) else {
            return w;
        };
        let unsent_before = self.buf.unsent();
        let limit = self
            .credit
            .max
            .min(unsent_before.saturating_add(conn_available));
        let range = self.buf.next(max_data, limit);
        let (offset, len) = match &range {
            Some(r) => (r.start, r.end - r.start),
            None if self.fin_pending() && self.buf.unsent() == self.buf.end() => {
                (self.buf.end(), 0)
            }
            None => {
                w.stream_blocked = self.buf.unsent() < self.buf.end()
                    && self.buf.unsent() >= self.credit.max
                    && self.credit.should_signal_blocked();
                w.conn_blocked = self.buf.unsent() < self.buf.end()
                    && self.buf.unsent() < self.credit.max
                    && conn_available == 0;
                return w;
            }
        };
        let end = offset + len;
        let fin = self.fin && !self.fin_acked && end == self.buf.end();
        out.put(|b| {
            frame::Stream::encode_header(b, id, VarInt::saturating(offset), len as usize, fin, true)
        });
        if len > 0 {
            w.tail = Some(DataTail {
                at: out.reserve(len as usize),
                id,
                offset,
                len: len as usize,
            });
        }
        sent.push(SentFrame::Stream {
            id,
            offset,
            len,
            fin,
        });
        w.bytes = len;
        w.new_bytes = self.buf.unsent().saturating_sub(unsent_before);
        self.credit.used = self.credit.used.max(end);
        if fin {
            self.fin_sent = true;
            w.fin = true;
            let _ = self.state.on_send_fin();
        } else {
            let _ = self.state.on_send();
        }
        if self.buf.unsent() < self.buf.end() {
            w.stream_blocked =
                self.buf.unsent() >= self.credit.max && self.credit.should_signal_blocked();
            w.conn_blocked = self.buf.unsent() < self.credit.max && conn_available == w.new_bytes;
        }
        w
    }

    /// A frame was acknowledged; returns whether the stream is now fully delivered.
    pub(super) fn on_acked(&mut self, offset: u64, len: u64, fin: bool) -> bool {
        if self.reset_code.is_some() {
            return false;
        }
        self.buf.on_ack(offset..offset + len);
        if fin {
            self.fin_acked = true;
        }
        if self.fin_acked && self.buf.is_fully_acked() && self.state == SendState::DataSent {
            let _ = self.state.on_all_acked();
            return true;
        }
        false
    }

    /// A frame was lost; returns whether something must be sent again.
    pub(super) fn on_lost(&mut self, offset: u64, len: u64, fin: bool) -> bool {
        if self.reset_code.is_some() {
            return false;
        }
        self.buf.on_lost(offset..offset + len);
        if fin && !self.fin_acked {
            self.fin_sent = false;
        }
        self.has_pending()
    }

    /// Resets the stream: no more data is sent.
    pub(super) fn reset(&mut self, code: u64) -> Result<(), super::InvalidTransition> {
        self.state.on_reset()?;
        self.reset_code = Some(code);
        self.buf.clear();
        Ok(())
    }
}
