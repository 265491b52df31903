//! The network path a connection uses and what it knows of it (RFC 9000 §8, §9, §13.4,
//! §14): the peer's address, its validation, the anti-amplification allowance before
//! that, the PATH_CHALLENGE validating it, ECN on it (`ecn`) and its datagram size, found
//! by DPLPMTUD (`pmtu`). A connection owns one [`Path`]; a migration replaces what it
//! knows (§9.4: congestion state and RTT are the connection's to reset).
//!
//! Linux QUIC keeps the same state in `path.c` (`quic_path_group`), s2n-quic in its path
//! manager.

pub mod ecn;
pub mod pmtu;

use std::net::SocketAddr;

pub use ecn::{EcnState, TESTING_PACKETS as ECN_TESTING_PACKETS};
pub use pmtu::{PmtuConfig, PmtuState};

/// What a server may send to an address it has not validated: three times what it
/// received from there (RFC 9000 §8.1).
pub const AMPLIFICATION_FACTOR: u64 = 3;

/// A PATH_CHALLENGE validating the path, and whether it is to be sent (again).
#[derive(Copy, Clone, Debug)]
struct Challenge {
    data: [u8; 8],
    pending: bool,
    /// Our address changed (active migration), not the peer's.
    local: bool,
}

/// One network path of a connection.
#[derive(Debug)]
pub(crate) struct Path {
    /// The peer's address.
    pub(crate) remote: SocketAddr,
    /// The peer's address is validated (RFC 9000 §8.1).
    validated: bool,
    /// Bytes received from and sent to the peer before validation.
    amp_received: u64,
    amp_sent: u64,
    challenge: Option<Challenge>,
    /// ECN marking and validation (RFC 9000 §13.4).
    pub(crate) ecn: ecn::EcnPath,
    /// The datagram size and its search (RFC 8899).
    pub(crate) mtu: pmtu::Pmtud,
}

impl Path {
    /// A path to `remote`, validated from the start or not (a client's is: it chose the
    /// address).
    pub(crate) fn new(remote: SocketAddr, validated: bool, ecn: bool, mtu: pmtu::Pmtud) -> Self {
        Self {
            remote,
            validated,
            amp_received: 0,
            amp_sent: 0,
            challenge: None,
            ecn: ecn::EcnPath::new(ecn),
            mtu,
        }
    }

    /// Whether the peer's address is validated.
    pub(crate) fn is_validated(&self) -> bool {
        self.validated
    }

    /// The peer's address is validated: by a Handshake packet, a token, a Retry or a
    /// PATH_RESPONSE (RFC 9000 §8).
    pub(crate) fn validate(&mut self) {
        self.validated = true;
    }

    /// A datagram of `len` bytes came from the peer.
    pub(crate) fn on_received(&mut self, len: usize) {
        if !self.validated {
            self.amp_received += len as u64;
        }
    }

    /// A datagram of `len` bytes left for the peer.
    pub(crate) fn on_sent(&mut self, len: usize) {
        if !self.validated {
            self.amp_sent += len as u64;
        }
    }

    /// What may be sent before the address is validated (RFC 9000 §8.1); `None` once it
    /// is, when nothing limits it.
    pub(crate) fn allowance(&self) -> Option<usize> {
        (!self.validated).then(|| {
            (AMPLIFICATION_FACTOR * self.amp_received).saturating_sub(self.amp_sent) as usize
        })
    }

    /// Whether the anti-amplification limit leaves nothing to send.
    pub(crate) fn amplification_blocked(&self) -> bool {
        self.allowance() == Some(0)
    }

    /// The largest datagram to send now: the path's datagram size within the allowance.
    pub(crate) fn max_datagram(&self) -> usize {
        let size = usize::from(self.mtu.current());
        self.allowance().map_or(size, |a| size.min(a))
    }

    /// The peer moved to `remote`, from where a datagram of `len` bytes came (RFC 9000
    /// §9.3): the new address is not validated until `challenge` is answered, and ECN and
    /// the datagram size are learnt afresh (§13.4.2, §14.3). Returns whether the IP
    /// address changed, when the connection resets its congestion state (§9.4).
    pub(crate) fn migrate(
        &mut self,
        remote: SocketAddr,
        len: usize,
        challenge: [u8; 8],
        ecn: bool,
    ) -> bool {
        let new_ip = remote.ip() != self.remote.ip();
        self.remote = remote;
        self.validated = false;
        self.amp_received = len as u64;
        self.amp_sent = 0;
        self.challenge = Some(Challenge {
            data: challenge,
            pending: true,
            local: false,
        });
        // A new port behind the same IP (NAT rebinding) keeps the path's MTU.
        self.relearn(ecn, new_ip);
        new_ip
    }

    /// What is learnt per path starts over: ECN, and the datagram size if `mtu`.
    fn relearn(&mut self, ecn: bool, mtu: bool) {
        self.ecn.reset(ecn);
        if mtu {
            self.mtu.on_new_path();
        }
    }

    /// We moved to a new local address (active migration, RFC 9000 §9.2): the path is
    /// validated with `challenge`, and ECN and the datagram size are learnt afresh. The
    /// peer's address, and its validation, stay.
    pub(crate) fn moved_locally(&mut self, challenge: [u8; 8], ecn: bool) {
        self.challenge = Some(Challenge {
            data: challenge,
            pending: true,
            local: true,
        });
        self.relearn(ecn, true);
    }

    /// The peer moved to `remote`, an address we validated ourselves (the server's
    /// preferred address, RFC 9000 §9.6): ECN and the datagram size are learnt afresh.
    pub(crate) fn switch_remote(&mut self, remote: SocketAddr, ecn: bool) {
        self.remote = remote;
        self.validated = true;
        self.relearn(ecn, true);
    }

    /// Whether an active migration waits for its PATH_RESPONSE.
    pub(crate) fn validating_local_move(&self) -> bool {
        self.challenge.is_some_and(|c| c.local)
    }

    /// Gives up the challenge of an active migration (it timed out).
    pub(crate) fn abandon_challenge(&mut self) {
        self.challenge = None;
    }

    /// Whether a PATH_CHALLENGE is waiting to be sent.
    pub(crate) fn challenge_pending(&self) -> bool {
        self.challenge.is_some_and(|c| c.pending)
    }

    /// The PATH_CHALLENGE to send now, if one is waiting; it is then in flight.
    pub(crate) fn take_challenge(&mut self) -> Option<[u8; 8]> {
        let c = self.challenge.as_mut().filter(|c| c.pending)?;
        c.pending = false;
        Some(c.data)
    }

    /// A PATH_CHALLENGE was lost: it goes again while the path is not validated.
    pub(crate) fn on_challenge_lost(&mut self) {
        if let Some(c) = self.challenge.as_mut() {
            c.pending = true;
        }
    }

    /// A PATH_RESPONSE carried `data`. When it answers our challenge, which validates the
    /// path (RFC 9000 §8.2.3), returns whether that was for our own move (`Some(true)`)
    /// or the peer's.
    pub(crate) fn on_response(&mut self, data: [u8; 8]) -> Option<bool> {
        let c = self.challenge.filter(|c| c.data == data)?;
        self.challenge = None;
        self.validated = true;
        Some(c.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_unvalidated_path_gets_three_times_what_it_sent() {
        let mtu = pmtu::Pmtud::new(1452, None);
        let mut p = Path::new(addr("10.0.0.1:443"), false, true, mtu);
        assert!(p.amplification_blocked());
        p.on_received(1200);
        assert_eq!(p.allowance(), Some(3600));
        assert_eq!(p.max_datagram(), 1452);
        p.on_sent(3000);
        assert_eq!(p.max_datagram(), 600);
        p.on_sent(600);
        assert!(p.amplification_blocked());
        p.validate();
        assert_eq!(p.allowance(), None);
        assert_eq!(p.max_datagram(), 1452);
    }

    #[test]
    fn a_migration_is_validated_by_the_answer_to_its_challenge() {
        let mtu = pmtu::Pmtud::new(1200, None);
        let mut p = Path::new(addr("10.0.0.1:443"), true, true, mtu);
        assert!(!p.migrate(addr("10.0.0.1:444"), 100, [7; 8], true));
        assert!(!p.is_validated());
        assert_eq!(p.allowance(), Some(300));
        assert_eq!(p.take_challenge(), Some([7; 8]));
        assert_eq!(p.take_challenge(), None);
        p.on_challenge_lost();
        assert!(p.challenge_pending());
        assert_eq!(p.on_response([8; 8]), None);
        assert_eq!(p.on_response([7; 8]), Some(false));
        assert!(p.is_validated());
        assert!(p.migrate(addr("10.0.0.2:444"), 100, [9; 8], true));
    }
}

#[cfg(test)]
mod sim_tests;
