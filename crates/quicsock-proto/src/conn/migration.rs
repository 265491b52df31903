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
