//! Explicit Congestion Notification on the path (RFC 9000 §13.4, RFC 9002 §7.1, RFC 9000
//! Appendix A.4): whether our datagrams are marked ECT(0), and the validation of what the
//! peer's ACK_ECN frames report.
//!
//! A path starts in *testing*: the datagrams of the first [`TESTING_PACKETS`] packets are
//! marked. Then
//! marking stops (*unknown*) until an ACK validates the marks, and the path is *capable*:
//! everything is marked from then on. Validation fails, and marking stops for good
//! (*failed*), when an ACK that newly acknowledges marked packets carries no ECN counts,
//! when the ECT(0) and CE counts grew by less than the marked packets it newly
//! acknowledges, when a count exceeds what we marked (ECT(1), which we never send, above
//! zero), or when every packet marked while testing was lost. An ACK that does not raise
//! the largest acknowledged is not used for validation (it may be reordered). A CE count
//! that grows is a congestion signal (RFC 9002 §7.1), on a path that has not failed.
//!
//! Only 1-RTT packets are marked (datagrams built once the handshake is confirmed), so
//! only the application space's counts are validated; the other spaces' reports are not
//! checked. The counts of what we received are kept per packet number space
//! ([`PacketSpace::ecn`](crate::pnspace::PacketSpace)) and sent in ACK_ECN frames.

use crate::frame::EcnCounts;

/// Packets marked while a path is tested (RFC 9000 Appendix A.4 suggests 10).
pub const TESTING_PACKETS: u8 = 10;

/// Where ECN stands on the current path.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum EcnState {
    /// The first packets are marked; this many so far.
    Testing(u8),
    /// Marked datagrams are out; no ACK has validated them yet. Nothing more is marked.
    Unknown,
    /// Validated: every datagram is marked ECT(0).
    Capable,
    /// The path or the peer does not carry ECN, or it is configured off: nothing is
    /// marked.
    #[default]
    Failed,
}

/// The sender's side of ECN for one path.
#[derive(Debug)]
pub(crate) struct EcnPath {
    state: EcnState,
    /// Marked 1-RTT packets sent.
    marked: u64,
    /// The ECT(0) and CE counts of the last ACK_ECN used.
    seen: [u64; 2],
    /// Marked packets lost before any was validated.
    lost_testing: u8,
    /// Congestion events signalled by CE.
    pub(crate) ce_events: u32,
}

/// What an ACK's ECN counts call for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum EcnVerdict {
    /// Nothing to do.
    None,
    /// The CE count grew: a congestion event.
    Congestion,
}

impl EcnPath {
    /// A new path, to be tested; or, with `enabled` false, one that never marks.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            state: if enabled {
                EcnState::Testing(0)
            } else {
                EcnState::Failed
            },
            marked: 0,
            seen: [0; 2],
            lost_testing: 0,
            ce_events: 0,
        }
    }

    /// The path changed (RFC 9000 §13.4: ECN is validated per path): test it afresh. The
    /// peer's counts are per connection, so what was marked and seen carries over.
    pub(crate) fn reset(&mut self, enabled: bool) {
        self.state = Self::new(enabled).state;
        self.lost_testing = 0;
    }

    /// Where ECN stands.
    pub(crate) fn state(&self) -> EcnState {
        self.state
    }

    /// Whether the next datagram is marked ECT(0).
    pub(crate) fn marking(&self) -> bool {
        matches!(self.state, EcnState::Testing(_) | EcnState::Capable)
    }

    /// A 1-RTT packet left in a datagram marked ECT(0) (decided by
    /// [`marking`](Self::marking) before the datagram was built).
    pub(crate) fn on_sent(&mut self) {
        self.marked += 1;
        if let EcnState::Testing(n) = self.state {
            self.state = if n + 1 >= TESTING_PACKETS {
                EcnState::Unknown
            } else {
                EcnState::Testing(n + 1)
            };
        }
    }

    /// `n` marked packets were declared lost.
    pub(crate) fn on_marked_lost(&mut self, n: usize) {
        if matches!(self.state, EcnState::Testing(_) | EcnState::Unknown) {
            self.lost_testing = self.lost_testing.saturating_add(n.min(255) as u8);
            if self.lost_testing >= TESTING_PACKETS {
                self.state = EcnState::Failed;
            }
        }
    }

    /// A 1-RTT ACK newly acknowledged `newly_marked` marked packets, with `counts`, and
    /// raised the largest acknowledged if `new_largest`.
    pub(crate) fn on_ack(
        &mut self,
        newly_marked: u64,
        counts: Option<&EcnCounts>,
        new_largest: bool,
    ) -> EcnVerdict {
        if self.state == EcnState::Failed || !new_largest {
            return EcnVerdict::None;
        }
        let Some(c) = counts else {
            if newly_marked > 0 {
                self.state = EcnState::Failed;
            }
            return EcnVerdict::None;
        };
        let [s0, sce] = self.seen;
        let (ect0, ect1, ce) = (c.ect0.into_inner(), c.ect1.into_inner(), c.ce.into_inner());
        let decreased = ect0 < s0 || ce < sce;
        let too_many = ect0.saturating_add(ce) > self.marked || ect1 > 0;
        let too_few = (ect0 - s0.min(ect0)) + (ce - sce.min(ce)) < newly_marked;
        if decreased || too_many || too_few {
            self.state = EcnState::Failed;
            return EcnVerdict::None;
        }
        self.seen = [ect0, ce];
        if newly_marked > 0 && self.state != EcnState::Capable {
            self.state = EcnState::Capable;
        }
        if ce > sce {
            self.ce_events += 1;
            EcnVerdict::Congestion
        } else {
            EcnVerdict::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VarInt;

    fn counts(ect0: u64, ce: u64) -> EcnCounts {
        EcnCounts {
            ect0: VarInt::from_u64(ect0).unwrap(),
            ect1: VarInt::ZERO,
            ce: VarInt::from_u64(ce).unwrap(),
        }
    }

    #[test]
    fn testing_marks_ten_datagrams_then_waits_for_validation() {
        let mut e = EcnPath::new(true);
        for _ in 0..TESTING_PACKETS {
            assert!(e.marking());
            e.on_sent();
        }
        assert_eq!(e.state(), EcnState::Unknown);
        assert!(!e.marking());
        assert_eq!(e.on_ack(4, Some(&counts(4, 0)), true), EcnVerdict::None);
        assert_eq!(e.state(), EcnState::Capable);
        assert!(e.marking());
        assert_eq!(
            e.on_ack(2, Some(&counts(5, 1)), true),
            EcnVerdict::Congestion
        );
        assert_eq!(e.ce_events, 1);
    }

    #[test]
    fn validation_fails_on_missing_short_or_impossible_counts() {
        let fail = |f: &dyn Fn(&mut EcnPath)| {
            let mut e = EcnPath::new(true);
            for _ in 0..5 {
                e.on_sent();
            }
            f(&mut e);
            e.state()
        };
        // Marked packets acknowledged without counts (the path or peer bleaches).
        assert_eq!(fail(&|e| _ = e.on_ack(3, None, true)), EcnState::Failed);
        // Fewer marks counted than marked packets newly acknowledged.
        assert_eq!(
            fail(&|e| _ = e.on_ack(3, Some(&counts(2, 0)), true)),
            EcnState::Failed
        );
        // More counted than we ever marked.
        assert_eq!(
            fail(&|e| _ = e.on_ack(3, Some(&counts(6, 0)), true)),
            EcnState::Failed
        );
        // ECT(1), which we never send.
        let mut c = counts(3, 0);
        c.ect1 = VarInt::from_u32(1);
        assert_eq!(fail(&|e| _ = e.on_ack(3, Some(&c), true)), EcnState::Failed);
        // A reordered ACK (no new largest) is not used, even with bad counts.
        assert_eq!(
            fail(&|e| _ = e.on_ack(3, None, false)),
            EcnState::Testing(5)
        );
        // Every packet marked while testing lost.
        let mut e = EcnPath::new(true);
        for _ in 0..TESTING_PACKETS {
            e.on_sent();
        }
        e.on_marked_lost(TESTING_PACKETS.into());
        assert_eq!(e.state(), EcnState::Failed);
        assert!(!e.marking());
        // Disabled: never marks.
        assert!(!EcnPath::new(false).marking());
    }
}
