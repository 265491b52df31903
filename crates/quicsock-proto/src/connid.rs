//! Connection IDs of one connection (RFC 9000 §5.1): the ones we issue and the peer's.
//!
//! * [`LocalCids`]: we issue connection IDs with NEW_CONNECTION_ID up to the peer's
//!   active_connection_id_limit and replace each one the peer retires
//!   (RETIRE_CONNECTION_ID, §19.16). The endpoint learns of each issued and retired ID, to
//!   route by it.
//! * [`RemoteCids`]: the peer's IDs. More active IDs than our limit is
//!   CONNECTION_ID_LIMIT_ERROR (§5.1.1); Retire Prior To retires older ones (§5.1.2), and
//!   the RETIRE_CONNECTION_ID frames that creates are capped.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::ConnectionId;
use crate::frame::{FrameType, NewConnectionId, RESET_TOKEN_LEN};
use crate::{TransportError, TransportErrorCode};

/// The most connection IDs we keep active for the peer at once, whatever its limit.
pub const MAX_ISSUED: u64 = 8;

/// Retired IDs we replace at most over a connection's life. A peer retiring IDs in a loop
/// costs us an ID, a route and a NEW_CONNECTION_ID for each of its small frames (RFC 9000
/// §21.9); past this many replacements its retirements are honoured without replacement.
/// That still allows a replacement per path change for 1,024 migrations.
pub const MAX_REPLACEMENTS: u64 = 1024;

/// The connection IDs we issued.
#[derive(Debug)]
pub(crate) struct LocalCids {
    /// seq -> (cid, reset token), still active.
    pub(crate) active: BTreeMap<u64, (ConnectionId, [u8; RESET_TOKEN_LEN])>,
    pub(crate) next_seq: u64,
    /// Sequence numbers whose NEW_CONNECTION_ID is waiting to be (re)sent.
    pub(crate) pending: BTreeSet<u64>,
    /// The peer's active_connection_id_limit.
    pub(crate) peer_limit: u64,
    /// The Retire Prior To our NEW_CONNECTION_ID frames carry (RFC 9000 §19.15).
    pub(crate) retire_prior_to: u64,
}

impl LocalCids {
    /// Starts with the handshake connection ID as sequence 0.
    pub(crate) fn new(initial: ConnectionId, token: [u8; RESET_TOKEN_LEN]) -> Self {
        let mut active = BTreeMap::new();
        active.insert(0, (initial, token));
        Self {
            active,
            next_seq: 1,
            pending: BTreeSet::new(),
            peer_limit: 2,
            retire_prior_to: 0,
        }
    }

    /// How many new IDs to issue to reach the peer's limit (capped by [`MAX_ISSUED`], and
    /// by [`MAX_REPLACEMENTS`] over the connection's life).
    pub(crate) fn wanted(&self) -> u64 {
        let target = self.peer_limit.min(MAX_ISSUED);
        let budget = (target + MAX_REPLACEMENTS).saturating_sub(self.next_seq);
        // IDs we asked the peer to retire do not count: they are on their way out.
        let live = self.active.range(self.retire_prior_to..).count() as u64;
        target.saturating_sub(live).min(budget)
    }

    /// Adds an issued ID and queues its NEW_CONNECTION_ID.
    pub(crate) fn issue(&mut self, cid: ConnectionId, token: [u8; RESET_TOKEN_LEN]) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.active.insert(seq, (cid, token));
        self.pending.insert(seq);
        seq
    }

    /// The NEW_CONNECTION_ID frame for `seq`, if still active.
    pub(crate) fn frame(&self, seq: u64) -> Option<NewConnectionId> {
        let (id, reset_token) = *self.active.get(&seq)?;
        Some(NewConnectionId {
            sequence: crate::VarInt::saturating(seq),
            retire_prior_to: crate::VarInt::saturating(self.retire_prior_to),
            id,
            reset_token,
        })
    }

    /// RETIRE_CONNECTION_ID from the peer; returns the retired ID (the endpoint stops
    /// routing it). `current` is the ID the carrying packet was sent to.
    pub(crate) fn on_retire(
        &mut self,
        seq: u64,
        current: &ConnectionId,
    ) -> Result<Option<ConnectionId>, TransportError> {
        let ty = FrameType::RETIRE_CONNECTION_ID;
        if seq >= self.next_seq {
            return Err(TransportError::in_frame(
                TransportErrorCode::PROTOCOL_VIOLATION,
                ty,
                "retired a connection ID never issued",
            ));
        }
        match self.active.get(&seq) {
            Some((cid, _)) if cid == current => Err(TransportError::in_frame(
                TransportErrorCode::PROTOCOL_VIOLATION,
                ty,
                "retired the connection ID the packet was sent to",
            )),
            Some(_) => {
                self.pending.remove(&seq);
                Ok(self.active.remove(&seq).map(|(cid, _)| cid))
            }
            None => Ok(None),
        }
    }
}

/// The peer's connection IDs.
#[derive(Debug)]
pub(crate) struct RemoteCids {
    /// seq -> (cid, reset token).
    pub(crate) active: BTreeMap<u64, (ConnectionId, Option<[u8; RESET_TOKEN_LEN]>)>,
    /// The sequence number of the ID we send to.
    pub(crate) current: u64,
    pub(crate) retire_prior_to: u64,
    /// Sequence numbers to retire with RETIRE_CONNECTION_ID.
    pub(crate) retire_pending: BTreeSet<u64>,
    /// Our active_connection_id_limit.
    pub(crate) limit: u64,
}

impl RemoteCids {
    /// Starts with the peer's handshake connection ID as sequence 0.
    pub(crate) fn new(initial: ConnectionId, limit: u64) -> Self {
        let mut active = BTreeMap::new();
        active.insert(0, (initial, None));
        Self {
            active,
            current: 0,
            retire_prior_to: 0,
            retire_pending: BTreeSet::new(),
            limit,
        }
    }

    /// The ID to send to.
    pub(crate) fn current(&self) -> ConnectionId {
        self.active
            .get(&self.current)
            .map_or(ConnectionId::EMPTY, |(cid, _)| *cid)
    }

    /// Moves to the lowest active ID above the current one and retires the current: a new
    /// path never carries an ID an old one did (RFC 9000 §9.5). Returns false, changing
    /// nothing, when the peer gave no spare ID.
    pub(crate) fn rotate(&mut self) -> bool {
        let Some(next) = self
            .active
            .range(self.current + 1..)
            .next()
            .map(|(s, _)| *s)
        else {
            return false;
        };
        let old = self.current;
        self.active.remove(&old);
        self.retire_pending.insert(old);
        self.current = next;
        true
    }

    /// Moves to the ID of sequence `seq` (the preferred address's), retiring the current.
    pub(crate) fn switch_to(&mut self, seq: u64) {
        if seq == self.current || !self.active.contains_key(&seq) {
            return;
        }
        let old = self.current;
        self.active.remove(&old);
        self.retire_pending.insert(old);
        self.current = seq;
    }

    /// Retires the unused ID of sequence `seq`.
    pub(crate) fn retire(&mut self, seq: u64) {
        if seq != self.current && self.active.remove(&seq).is_some() {
            self.retire_pending.insert(seq);
        }
    }

    /// The peer's IDs we have not used yet.
    pub(crate) fn spare(&self) -> usize {
        self.active.range(self.current + 1..).count()
    }

    /// Replaces the handshake ID (the server's choice arrives in its first packet, or a
    /// Retry changes it).
    pub(crate) fn set_initial(&mut self, cid: ConnectionId) {
        self.active.insert(0, (cid, None));
    }

    /// Records the stateless reset token for sequence 0 (from the server's transport
    /// parameters).
    pub(crate) fn set_initial_token(&mut self, token: [u8; RESET_TOKEN_LEN]) {
        if let Some(e) = self.active.get_mut(&0) {
            e.1 = Some(token);
        }
    }

    /// Whether `token` is the reset token of one of the peer's active IDs, compared in
    /// constant time (RFC 9000 §10.3.1).
    pub(crate) fn is_reset_token(&self, token: &[u8]) -> bool {
        self.active
            .values()
            .filter_map(|(_, t)| t.as_ref())
            .fold(false, |found, t| {
                found | crate::reset::tokens_equal(t, token)
            })
    }

    /// The reset token of the ID we send to, once known.
    pub(crate) fn current_token(&self) -> Option<[u8; RESET_TOKEN_LEN]> {
        self.active.get(&self.current).and_then(|(_, t)| *t)
    }

    /// NEW_CONNECTION_ID from the peer (RFC 9000 §19.15).
    pub(crate) fn on_new(
        &mut self,
        f: &NewConnectionId,
        peer_uses_empty: bool,
    ) -> Result<(), TransportError> {
        let ty = FrameType::NEW_CONNECTION_ID;
        if peer_uses_empty {
            return Err(TransportError::in_frame(
                TransportErrorCode::PROTOCOL_VIOLATION,
                ty,
                "NEW_CONNECTION_ID from a peer using zero-length connection IDs",
            ));
        }
        let seq = f.sequence.into_inner();
        let prior = f.retire_prior_to.into_inner();
        if let Some((cid, token)) = self.active.get(&seq) {
            if *cid != f.id || token.is_some_and(|t| t != f.reset_token) {
                return Err(TransportError::in_frame(
                    TransportErrorCode::PROTOCOL_VIOLATION,
                    ty,
                    "sequence number reused for a different connection ID",
                ));
            }
            return Ok(());
        }
        if seq < self.retire_prior_to {
            // Already retired by an earlier Retire Prior To: retire it straight away.
            self.queue_retire(seq)?;
            return Ok(());
        }
        self.active.insert(seq, (f.id, Some(f.reset_token)));
        if prior > self.retire_prior_to {
            self.retire_prior_to = prior;
            let old: Vec<u64> = self.active.range(..prior).map(|(s, _)| *s).collect();
            for s in old {
                self.active.remove(&s);
                self.queue_retire(s)?;
            }
            if self.current < prior {
                self.current = *self.active.keys().next().expect("seq >= prior is active");
            }
        }
        if self.active.len() as u64 > self.limit {
            return Err(TransportError::in_frame(
                TransportErrorCode::CONNECTION_ID_LIMIT_ERROR,
                ty,
                "more active connection IDs than our active_connection_id_limit",
            ));
        }
        Ok(())
    }

    fn queue_retire(&mut self, seq: u64) -> Result<(), TransportError> {
        self.retire_pending.insert(seq);
        // A peer raising Retire Prior To faster than our retirements can leave would grow
        // this set without bound.
        if self.retire_pending.len() as u64 > 4 * self.limit.max(MAX_ISSUED) {
            return Err(TransportError::in_frame(
                TransportErrorCode::CONNECTION_ID_LIMIT_ERROR,
                FrameType::NEW_CONNECTION_ID,
                "too many connection IDs waiting to be retired",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VarInt;

    fn ncid(seq: u64, prior: u64) -> NewConnectionId {
        NewConnectionId {
            sequence: VarInt::saturating(seq),
            retire_prior_to: VarInt::saturating(prior),
            id: ConnectionId::from_slice(&seq.to_be_bytes()).unwrap(),
            reset_token: [seq as u8; 16],
        }
    }

    #[test]
    fn limit_and_retire_prior_to() {
        let mut r = RemoteCids::new(ConnectionId::from_slice(&[0; 8]).unwrap(), 3);
        r.on_new(&ncid(1, 0), false).unwrap();
        r.on_new(&ncid(2, 0), false).unwrap();
        r.on_new(&ncid(2, 0), false).unwrap();
        let e = r.on_new(&ncid(3, 0), false).unwrap_err();
        assert_eq!(e.code, TransportErrorCode::CONNECTION_ID_LIMIT_ERROR);
        let mut r = RemoteCids::new(ConnectionId::from_slice(&[0; 8]).unwrap(), 3);
        r.on_new(&ncid(1, 0), false).unwrap();
        r.on_new(&ncid(2, 2), false).unwrap();
        assert_eq!(
            r.retire_pending.iter().copied().collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(r.current, 2);
        r.on_new(&ncid(1, 0), false).unwrap();
        let mut reused = ncid(2, 2);
        reused.id = ConnectionId::from_slice(&[9; 8]).unwrap();
        assert_eq!(
            r.on_new(&reused, false).unwrap_err().code,
            TransportErrorCode::PROTOCOL_VIOLATION
        );
    }

    #[test]
    fn retiring_unissued_or_current_ids_is_a_violation() {
        let c0 = ConnectionId::from_slice(&[1; 8]).unwrap();
        let mut l = LocalCids::new(c0, [0; 16]);
        l.peer_limit = 4;
        assert_eq!(l.wanted(), 3);
        let c1 = ConnectionId::from_slice(&[2; 8]).unwrap();
        l.issue(c1, [1; 16]);
        assert!(l.on_retire(5, &c0).is_err());
        assert!(l.on_retire(1, &c1).is_err());
        assert_eq!(l.on_retire(1, &c0).unwrap(), Some(c1));
    }
}
