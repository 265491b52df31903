//! Congestion control (RFC 9002 §7) behind one trait, with NewReno (RFC 9002 §7.3), CUBIC
//! (RFC 9438) with HyStart++ (RFC 9406) slow start, and a pacer (RFC 9002 §7.7) that gives
//! each packet a send time.
//!
//! Controllers count bytes. The connection tells them what it sent, what was acknowledged
//! (with the packet's send time and number, for recovery periods and HyStart++ rounds) and
//! when packets were lost; they answer with a congestion window.

mod cubic;
mod hystart;
mod newreno;
mod pacer;

use std::fmt::Debug;

pub use cubic::Cubic;
pub use hystart::HyStart;
pub use newreno::NewReno;
pub use pacer::Pacer;

use crate::recovery::RttEstimator;
use crate::time::Timestamp;

/// The initial window: 10 datagrams, at most max(14720, 2 datagrams) bytes (RFC 9002 §7.2).
pub const fn initial_window(mss: u64) -> u64 {
    let w = 10 * mss;
    let cap = if 14720 > 2 * mss { 14720 } else { 2 * mss };
    if w < cap {
        w
    } else {
        cap
    }
}

/// The minimum window: 2 datagrams (RFC 9002 §7.2).
pub const fn minimum_window(mss: u64) -> u64 {
    2 * mss
}

/// A congestion controller.
pub trait Controller: Debug + Send {
    /// A packet of `bytes`, numbered `pn`, was sent at `now`.
    fn on_sent(&mut self, now: Timestamp, pn: u64, bytes: u64);

    /// A packet in flight was acknowledged. `app_limited` is true when the sender did not
    /// use the window it had, so the window is not probed.
    fn on_ack(
        &mut self,
        now: Timestamp,
        pn: u64,
        sent: Timestamp,
        bytes: u64,
        rtt: &RttEstimator,
        app_limited: bool,
    );

    /// Packets were lost, the latest sent at `sent` (RFC 9002 §7.3.2); `persistent` when
    /// they establish persistent congestion (§7.6).
    fn on_congestion_event(&mut self, now: Timestamp, sent: Timestamp, persistent: bool);

    /// The congestion window in bytes.
    fn window(&self) -> u64;

    /// Whether the controller is in slow start.
    fn in_slow_start(&self) -> bool;

    /// The maximum datagram size changed (after path MTU discovery).
    fn set_mss(&mut self, mss: u64);

    /// A copy of the controller's state, kept before a congestion event so that the event
    /// can be undone if its losses prove spurious (RFC 9438 §4.9).
    fn snapshot(&self) -> Box<dyn Controller>;
}

/// Which congestion controller a connection uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// NewReno (RFC 9002 §7.3).
    NewReno,
    /// CUBIC (RFC 9438) with HyStart++ (RFC 9406).
    #[default]
    Cubic,
}

impl Algorithm {
    /// A new controller for datagrams of `mss` bytes.
    pub fn build(self, mss: u64) -> Box<dyn Controller> {
        match self {
            Self::NewReno => Box::new(NewReno::new(mss)),
            Self::Cubic => Box::new(Cubic::new(mss)),
        }
    }
}

/// Whether `sent` falls in the recovery period that started at `recovery_start`.
fn in_recovery(recovery_start: Option<Timestamp>, sent: Timestamp) -> bool {
    recovery_start.is_some_and(|start| sent <= start)
}
