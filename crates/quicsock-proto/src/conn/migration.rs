//! Connection migration (RFC 9000 §9): the client's active migration to a new local
//! address, and what follows when the validation of the new path fails. The server's side
//! (following a client to a new address, NAT rebinding included, §9.3) is in `recv`; what
//! a path holds is `path`.
//!
//! Migrating, a client moves to a connection ID the server has not seen (§9.5; the old one
//! is retired), resets congestion control and the RTT estimate (§9.4: the new path is
//! unknown), learns ECN and the datagram size afresh, and validates the path with
//! PATH_CHALLENGE (§8.2) while it already sends there, as §9.2 allows once the handshake
//! is confirmed. Without a PATH_RESPONSE within three PTOs (at least six initial RTTs,
//! §8.2.4) the migration fails: the application hears of it and moves back, and the
//! connection takes yet another connection ID for the old path when it has one.

use super::timer::Timer;
use super::{Connection, Event};
use crate::time::Timestamp;
use crate::Side;

/// Why a migration cannot start.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// Only a client migrates actively (a server announces a preferred address).
    #[error("only a client migrates")]
    NotClient,
    /// Not before the handshake is confirmed (RFC 9000 §9).
    #[error("the handshake is not confirmed yet")]
    NotConfirmed,
    /// The server sent disable_active_migration (RFC 9000 §18.2).
    #[error("the server disabled active migration")]
    Disabled,
    /// The server gave no connection ID to spare for a new path (RFC 9000 §9.5).
    #[error("no spare connection ID from the server")]
    NoConnectionId,
    /// A migration is already being validated.
    #[error("a migration is in progress")]
    InProgress,
}

impl Connection {
    /// The owner sends from a new local address from now on (RFC 9000 §9.2): a new
    /// connection ID, fresh congestion state, and PATH_CHALLENGE on the new path.
    /// [`Event::PathMigrated`] with `local` set reports its validation;
    /// [`Event::MigrationFailed`] that it timed out, when the owner goes back to the old
    /// address.
    pub fn migrate(&mut self, now: Timestamp) -> Result<(), MigrationError> {
        if self.side != Side::Client {
            return Err(MigrationError::NotClient);
        }
        if !self.handshake_confirmed {
            return Err(MigrationError::NotConfirmed);
        }
        if self
            .peer_params()
            .is_some_and(|p| p.disable_active_migration)
        {
            return Err(MigrationError::Disabled);
        }
        if self.path.validating_local_move() {
            return Err(MigrationError::InProgress);
        }
        if !self.remote_cids.rotate() {
            return Err(MigrationError::NoConnectionId);
        }
        let mut challenge = [0u8; 8];
        self.rng.fill(&mut challenge);
        tracing::debug!("active migration to a new local address");
        self.path.moved_locally(challenge, self.config.ecn);
        self.reset_congestion();
        let initial = self.config.initial_rtt * 6;
        self.timers.set(
            Timer::PathValidation,
            now + (self.pto_period() * 3).max(initial),
        );
        Ok(())
    }

    /// Congestion control and the RTT estimate start over on a new path (RFC 9000 §9.4).
    pub(crate) fn reset_congestion(&mut self) {
        let mss = u64::from(self.path.mtu.current());
        self.cc = self.config.congestion.build(mss);
        self.pacer.set_mss(mss);
        self.rtt = crate::recovery::RttEstimator::new(self.config.initial_rtt);
        self.undo = None;
    }

    /// The validation of a migration timed out: the owner moves back.
    pub(crate) fn on_migration_timeout(&mut self) {
        self.timers.stop(Timer::PathValidation);
        if !self.path.validating_local_move() {
            return;
        }
        self.path.abandon_challenge();
        tracing::debug!("migration failed: the new path was not validated");
        // The old path must not see the failed one's ID either; with no spare it keeps it.
        self.remote_cids.rotate();
        self.reset_congestion();
        self.events.push_back(Event::MigrationFailed);
    }

    /// The peer's connection ID we send to (Linux QUIC's CONNECTION_ID option, the
    /// destination side).
    pub fn peer_connection_id(&self) -> crate::ConnectionId {
        self.remote_cids.current()
    }

    /// The peer's connection IDs we have not used yet (a migration takes one).
    pub fn spare_connection_ids(&self) -> usize {
        self.remote_cids.spare()
    }
}

/// A CONNECTION_ID option call that cannot be honoured (Linux QUIC's EINVAL and EAGAIN).
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionIdError {
    /// Not before the handshake completes.
    #[error("the handshake has not completed")]
    NotEstablished,
    /// No such connection ID, not above the active one, or below what is retired.
    #[error("no such connection ID to use or retire")]
    Invalid,
    /// A migration holds the connection IDs (`EAGAIN`).
    #[error("a migration is in progress")]
    Busy,
}

impl Connection {
    /// The sequence number of the connection ID in use and the lowest one still live, of
    /// the peer's IDs (`dest`) or ours (Linux QUIC's CONNECTION_ID option, get). Ours in
    /// use is the one the peer's latest packet was sent to.
    pub fn connection_id_info(&self, dest: bool) -> (u64, u64) {
        if dest {
            let r = &self.remote_cids;
            (
                r.current,
                r.active.keys().next().copied().unwrap_or(r.current),
            )
        } else {
            let ids = &self.local_cids.active;
            let active = ids
                .iter()
                .find(|(_, (c, _))| *c == self.packet_dcid)
                .map_or(0, |(s, _)| *s);
            (active, ids.keys().next().copied().unwrap_or(0))
        }
    }

    /// Sends to the peer's connection ID `seq`, a live one above the current, retiring the
    /// current (CONNECTION_ID, set `active`, destination side).
    pub fn use_peer_connection_id(&mut self, seq: u64) -> Result<(), ConnectionIdError> {
        self.check_cid_change()?;
        let r = &mut self.remote_cids;
        if seq <= r.current || !r.active.contains_key(&seq) {
            return Err(ConnectionIdError::Invalid);
        }
        r.switch_to(seq);
        Ok(())
    }

    /// Retires every connection ID numbered below `prior_to` (CONNECTION_ID, set
    /// `prior_to`): the peer's with RETIRE_CONNECTION_ID, moving to the lowest live one
    /// left if the current goes (`dest`); ours by asking the peer with NEW_CONNECTION_ID's
    /// Retire Prior To, after issuing fresh ones for it to move to.
    pub fn retire_connection_ids(
        &mut self,
        dest: bool,
        prior_to: u64,
    ) -> Result<(), ConnectionIdError> {
        self.check_cid_change()?;
        if dest {
            let r = &mut self.remote_cids;
            let Some(&first_kept) = r.active.range(prior_to..).next().map(|(s, _)| s) else {
                return Err(ConnectionIdError::Invalid);
            };
            if r.current < prior_to {
                r.switch_to(first_kept);
            }
            let below: Vec<u64> = r.active.range(..prior_to).map(|(s, _)| *s).collect();
            for s in below {
                r.retire(s);
            }
            return Ok(());
        }
        let l = &self.local_cids;
        if prior_to <= l.retire_prior_to || prior_to > l.next_seq {
            return Err(ConnectionIdError::Invalid);
        }
        self.local_cids.retire_prior_to = prior_to;
        self.issue_cids();
        // Every live ID's frame carries the new Retire Prior To.
        let live: Vec<u64> = self
            .local_cids
            .active
            .range(prior_to..)
            .map(|(s, _)| *s)
            .collect();
        self.local_cids.pending.extend(live);
        Ok(())
    }

    fn check_cid_change(&self) -> Result<(), ConnectionIdError> {
        if !self.handshake_complete {
            return Err(ConnectionIdError::NotEstablished);
        }
        if self.path.validating_local_move() || self.preferred.is_some() {
            return Err(ConnectionIdError::Busy);
        }
        Ok(())
    }
}
