//! The server's preferred address (RFC 9000 §9.6): a server announces another address in
//! its transport parameters, with connection ID 1 for it; a client whose handshake is
//! confirmed validates that address and moves there.
//!
//! The client keeps using the original address while it probes: PATH_CHALLENGE goes to
//! the preferred address, to connection ID 1, in a datagram of its own expanded to 1200
//! bytes (§8.2.1), up to three times a PTO apart. A PATH_RESPONSE that comes back from the
//! preferred address moves the connection there (§9.6.1: its ID, fresh congestion state,
//! ECN and PMTU learnt afresh, the old ID retired). Without one the client stays where it
//! is and retires ID 1 (§9.6.1: it MUST keep sending to the original address). A client
//! configured not to follow ignores the parameter.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use super::timer::Timer;
use super::{Connection, Event, Transmit};
use crate::common::Writer;
use crate::frame::Frame;
use crate::packet::{SpaceId, MIN_INITIAL_DATAGRAM_SIZE};
use crate::recovery::SentFrame;
use crate::time::Timestamp;
use crate::transport_params::PreferredAddress;
use crate::Side;

/// Probes sent to a preferred address before the client gives up on it.
pub const PREFERRED_PROBES: u8 = 3;

/// The addresses a server prefers clients to move to, one per family (RFC 9000 §18.2).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferredAddresses {
    /// For clients that reached the server over IPv4.
    pub ipv4: Option<SocketAddrV4>,
    /// For clients that reached it over IPv6.
    pub ipv6: Option<SocketAddrV6>,
}

/// Why [`Connection::set_preferred_address`] refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PreferredAddressError {
    /// Only a server announces one.
    #[error("only a server announces a preferred address")]
    NotServer,
    /// The handshake completed: the transport parameters are sent.
    #[error("the handshake is complete")]
    TooLate,
    /// One is set already.
    #[error("a preferred address is set already")]
    AlreadySet,
    /// Connection IDs beyond the first were issued (ID 1 is the preferred address's).
    #[error("connection IDs beyond the first were issued")]
    IdsIssued,
    /// Neither an IPv4 nor an IPv6 address.
    #[error("no address")]
    NoAddress,
}

/// A client's probe of the server's preferred address.
#[derive(Debug)]
pub(crate) struct PreferredProbe {
    addr: SocketAddr,
    challenge: [u8; 8],
    /// Probes sent so far.
    sent: u8,
    /// A probe is to be sent.
    due: bool,
    /// When the client stops waiting for an answer.
    give_up: Timestamp,
}

impl Connection {
    /// A server announces `addrs`: connection ID 1 is issued for them now and the
    /// transport parameters carry both (RFC 9000 §18.2).
    pub(crate) fn announce_preferred_address(&mut self, addrs: PreferredAddresses) {
        let (cid, token) = self.new_cid();
        let seq = self.local_cids.issue(cid, token);
        debug_assert_eq!(seq, 1, "the preferred address has connection ID 1");
        // It travels in the transport parameters, not in NEW_CONNECTION_ID.
        self.local_cids.pending.remove(&seq);
        self.endpoint_events
            .push_back(super::EndpointEvent::NewCid(cid, token));
        self.local_params.preferred_address = Some(PreferredAddress {
            ipv4: addrs.ipv4,
            ipv6: addrs.ipv6,
            connection_id: cid,
            stateless_reset_token: token,
        });
    }

    /// A server sets its preferred address for this connection while its handshake runs,
    /// before its transport parameters are sent (Linux QUIC's CONNECTION_MIGRATION option
    /// on a server that is establishing). Refused on a client, once the handshake
    /// completed, when one is set already, or once other connection IDs were issued (ID
    /// 1 is the preferred address's).
    pub fn set_preferred_address(
        &mut self,
        addrs: PreferredAddresses,
    ) -> Result<(), PreferredAddressError> {
        use PreferredAddressError as E;
        if self.side != Side::Server {
            return Err(E::NotServer);
        }
        if self.handshake_complete {
            return Err(E::TooLate);
        }
        if self.local_params.preferred_address.is_some() {
            return Err(E::AlreadySet);
        }
        if self.local_cids.next_seq != 1 {
            return Err(E::IdsIssued);
        }
        if addrs.ipv4.is_none() && addrs.ipv6.is_none() {
            return Err(E::NoAddress);
        }
        self.announce_preferred_address(addrs);
        Ok(())
    }

    /// Whether this server announced a preferred address (its datagrams then leave from
    /// the address each client sent to).
    pub fn offers_preferred_address(&self) -> bool {
        self.side == Side::Server && self.local_params.preferred_address.is_some()
    }

    /// The client's handshake is confirmed: probe the server's preferred address of our
    /// address family, if it gave one and we follow it.
    pub(crate) fn start_preferred_probe(&mut self, now: Timestamp) {
        if self.side != Side::Client || !self.config.follow_preferred_address {
            return;
        }
        let Some(p) = self.peer_params().and_then(|p| p.preferred_address) else {
            return;
        };
        let addr = match self.path.remote {
            SocketAddr::V4(_) => p.ipv4.map(SocketAddr::V4),
            SocketAddr::V6(_) => p.ipv6.map(SocketAddr::V6),
        };
        let Some(addr) = addr.filter(|a| *a != self.path.remote) else {
            return;
        };
        if !self.remote_cids.active.contains_key(&1) {
            return;
        }
        let mut challenge = [0u8; 8];
        self.rng.fill(&mut challenge);
        // The answer may take the new path's round trip, which nothing measured yet:
        // give up no sooner than three times the larger of the PTO and the PTO of a path
        // at the initial RTT (RFC 9000 §8.2.4), as an active migration does.
        let give_up = now + (self.pto_period() * 3).max(self.config.initial_rtt * 6);
        self.preferred = Some(Box::new(PreferredProbe {
            addr,
            challenge,
            sent: 0,
            due: true,
            give_up,
        }));
        self.timers
            .set(Timer::PathValidation, now + self.pto_period());
    }

    /// Whether a datagram from `remote` belongs to the preferred address being probed.
    pub(crate) fn is_probed_address(&self, remote: SocketAddr) -> bool {
        self.preferred.as_ref().is_some_and(|p| p.addr == remote)
    }

    /// The probe of the preferred address, when one is due.
    pub(crate) fn transmit_preferred_probe(
        &mut self,
        now: Timestamp,
        buf: &mut Writer<'_>,
    ) -> Option<Transmit> {
        let probe = self.preferred.as_deref().filter(|p| p.due)?;
        let (addr, challenge) = (probe.addr, probe.challenge);
        if !self.keys.can_send(SpaceId::Data) || buf.capacity() < MIN_INITIAL_DATAGRAM_SIZE {
            return None;
        }
        let cid = self.remote_cids.active.get(&1)?.0;
        let mut b = self.begin_packet_to(SpaceId::Data, buf, cid);
        buf.put(|o| Frame::PathChallenge(challenge).encode(o));
        // Sent again on its own schedule, not when lost.
        b.frames.push(SentFrame::Ping);
        b.ack_eliciting = true;
        let size = self.seal_probe(now, buf, b, MIN_INITIAL_DATAGRAM_SIZE);
        let p = self.preferred.as_mut().expect("checked");
        p.due = false;
        p.sent += 1;
        Some(Transmit {
            destination: addr,
            size,
            ecn: None,
        })
    }

    /// A PATH_RESPONSE: when it answers the probe and came from the preferred address,
    /// the connection moves there. Returns whether it did.
    pub(crate) fn on_preferred_response(&mut self, data: [u8; 8]) -> bool {
        let Some(p) = self
            .preferred
            .as_deref()
            .filter(|p| p.challenge == data && p.addr == self.packet_remote)
        else {
            return false;
        };
        let addr = p.addr;
        self.preferred = None;
        self.timers.stop(Timer::PathValidation);
        self.remote_cids.switch_to(1);
        self.path.switch_remote(addr, self.config.ecn);
        self.reset_congestion();
        self.events.push_back(Event::PathMigrated { local: false });
        true
    }

    /// The probe's timer fired: probe again, or give up and stay.
    pub(crate) fn on_preferred_timeout(&mut self, now: Timestamp) {
        let pto = self.pto_period();
        let Some(p) = self.preferred.as_mut() else {
            return;
        };
        if p.sent < PREFERRED_PROBES {
            p.due = true;
            let at = (now + pto).min(p.give_up);
            self.timers.set(Timer::PathValidation, at);
            return;
        }
        if now < p.give_up {
            let at = p.give_up;
            self.timers.set(Timer::PathValidation, at);
            return;
        }
        self.preferred = None;
        self.remote_cids.retire(1);
    }
}
