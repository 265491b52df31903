//! The receiving half of one stream: its state (RFC 9000 §3.2), reassembly, the window we
//! give the peer (MAX_STREAM_DATA), and final-size checks (§4.5).

use super::{RecvBuffer, RecvState, RecvWindow, Share};
use crate::frame::FrameType;
use crate::{TransportError, TransportErrorCode};

#[derive(Debug)]
pub(super) struct RecvStream {
    pub(super) state: RecvState,
    pub(super) buf: RecvBuffer,
    pub(super) window: RecvWindow,
    /// The highest offset received (flow-control credit the peer used).
    pub(super) highest: u64,
    pub(super) final_size: Option<u64>,
    pub(super) reset_code: Option<u64>,
    /// We sent STOP_SENDING with this code.
    pub(super) stop_code: Option<u64>,
    /// Our STOP_SENDING is queued or sent and not yet acknowledged.
    pub(super) stop_in_flight: bool,
    /// A Readable event is outstanding (cleared when the application reads), so events
    /// stay one per stream however many frames arrive.
    pub(super) notified: bool,
}

fn final_size_error(ty: FrameType, reason: &'static str) -> TransportError {
    TransportError::in_frame(TransportErrorCode::FINAL_SIZE_ERROR, ty, reason)
}

impl RecvStream {
    pub(super) fn new(window: RecvWindow) -> Self {
        Self {
            state: RecvState::Recv,
            buf: RecvBuffer::default(),
            window,
            highest: 0,
            final_size: None,
            reset_code: None,
            stop_code: None,
            stop_in_flight: false,
            notified: false,
        }
    }

    /// Checks an end offset (and a claimed final size) against what is known (§4.5) and
    /// against the window (§4.1), then records it.
    fn check_end(&mut self, end: u64, fin: bool, ty: FrameType) -> Result<(), TransportError> {
        if let Some(size) = self.final_size {
            if end > size || (fin && end != size) {
                return Err(final_size_error(ty, "final size changed"));
            }
        }
        if fin && end < self.highest {
            return Err(final_size_error(
                ty,
                "final size below data already received",
            ));
        }
        if end > self.window.limit() {
            return Err(TransportError::in_frame(
                TransportErrorCode::FLOW_CONTROL_ERROR,
                ty,
                "data beyond the stream's flow-control limit",
            ));
        }
        self.highest = self.highest.max(end);
        if fin {
            self.final_size = Some(end);
        }
        Ok(())
    }

    /// Stream data arrived; returns whether a Readable event is due.
    pub(super) fn on_data(
        &mut self,
        offset: u64,
        data: &[u8],
        fin: bool,
        ty: FrameType,
        share: Option<Share<'_>>,
    ) -> Result<(bool, usize), TransportError> {
        let end = offset + data.len() as u64;
        self.check_end(end, fin, ty)?;
        if !matches!(self.state, RecvState::Recv | RecvState::SizeKnown) {
            return Ok((false, 0));
        }
        if fin {
            let _ = self.state.on_fin();
        }
        // RFC 9000 §21.7: a peer that fragments beyond the assembler's cap is closed.
        let stored = self.buf.insert_shared(offset, data, share).map_err(|_| {
            TransportError::in_frame(
                TransportErrorCode::PROTOCOL_VIOLATION,
                ty,
                "stream data split into too many out-of-order fragments",
            )
        })?;
        let readable = self.buf.readable();
        if self.final_size == Some(self.buf.read_offset() + readable) {
            let _ = self.state.on_all_received();
        }
        let due = !self.notified && (readable > 0 || self.state == RecvState::DataRecvd);
        self.notified |= due;
        Ok((due, stored))
    }

    /// RESET_STREAM arrived; returns whether the stream was newly reset.
    pub(super) fn on_reset(&mut self, final_size: u64, code: u64) -> Result<bool, TransportError> {
        self.check_end(final_size, true, FrameType::RESET_STREAM)?;
        if self.state.on_reset().is_err() {
            return Ok(false);
        }
        self.reset_code = Some(code);
        self.buf.clear();
        Ok(true)
    }
}
