//! The keys of one connection per encryption level (RFC 9001 §4, §5), installed from
//! secrets at the handshake boundary, discarded when RFC 9001 §4.9 says, and updated for
//! 1-RTT (§6).
//!
//! Header-protection keys never change with a key update; only packet keys do. The next
//! receive key is derived the first time a packet with the other key phase arrives and
//! kept from then on (an idle connection holds two packet keys, not three); the previous
//! receive key is kept for three PTOs to open reordered packets from before the update
//! (§6.5).
//!
//! Each level's keys live in their own allocation (a header-protection key alone is half a
//! kilobyte), so the Initial and Handshake keys cost nothing once discarded.

use crate::crypto::{
    initial_keys, CipherSuite, CryptoError, DirectionalKeys, HeaderKey, PacketKey, Secret,
};
use crate::packet::{SpaceId, Version};
use crate::time::Timestamp;
use crate::Side;

use super::{Direction, Level};

/// 1-RTT keys and their key-update state.
#[derive(Debug)]
pub(crate) struct OneRtt {
    pub(crate) local_secret: Secret,
    pub(crate) remote_secret: Secret,
    pub(crate) local: PacketKey,
    pub(crate) remote: PacketKey,
    pub(crate) local_hp: HeaderKey,
    pub(crate) remote_hp: HeaderKey,
    /// The key phase bit of the current keys.
    pub(crate) phase: bool,
    /// The next generation of the receive key (the peer's next update), once a packet of
    /// the other phase asked for it.
    next_remote: Option<PacketKey>,
    /// The previous generation's receive key, until this time.
    pub(crate) prev_remote: Option<(PacketKey, Timestamp)>,
    /// The first packet number we sent with the current keys, once sent.
    pub(crate) first_sent_in_phase: Option<u64>,
    /// A packet of the current phase was acknowledged: we may update again (§6.1).
    pub(crate) phase_acked: bool,
    /// The lowest packet number received with the current keys, once one was: packets of
    /// the other phase below it are reordered old ones, above it the peer's next update.
    pub(crate) first_recv_in_phase: Option<u64>,
    /// Packets protected with the current local key (for the confidentiality limit).
    pub(crate) sealed: u64,
    pub(crate) suite: CipherSuite,
}

/// Keys for every level.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) initial: Option<Box<(DirectionalKeys, DirectionalKeys)>>,
    pub(crate) handshake_local: Option<Box<DirectionalKeys>>,
    pub(crate) handshake_remote: Option<Box<DirectionalKeys>>,
    pub(crate) zero_rtt: Option<Box<DirectionalKeys>>,
    one_rtt_local: Option<Secret>,
    one_rtt_remote: Option<Secret>,
    pub(crate) one_rtt: Option<Box<OneRtt>>,
}

impl KeySet {
    /// Derives the Initial keys from the client's destination connection ID.
    pub(crate) fn set_initial(
        &mut self,
        version: Version,
        dcid: &[u8],
        side: Side,
    ) -> Result<(), CryptoError> {
        let k = initial_keys(version, dcid, side)?;
        self.initial = Some(Box::new((k.local, k.remote)));
        Ok(())
    }

    /// Installs a secret; returns whether a new level became usable for receiving.
    pub(crate) fn install(
        &mut self,
        version: Version,
        level: Level,
        dir: Direction,
        suite: CipherSuite,
        secret: &[u8],
    ) -> Result<(), CryptoError> {
        let secret = Secret::new(suite, secret)?;
        match (level, dir) {
            (Level::Initial, _) => return Err(CryptoError::BadKeyLength),
            (Level::ZeroRtt, _) => self.zero_rtt = Some(Box::new(secret.keys(version)?)),
            (Level::Handshake, Direction::Write) => {
                self.handshake_local = Some(Box::new(secret.keys(version)?))
            }
            (Level::Handshake, Direction::Read) => {
                self.handshake_remote = Some(Box::new(secret.keys(version)?))
            }
            (Level::OneRtt, Direction::Write) => self.one_rtt_local = Some(secret),
            (Level::OneRtt, Direction::Read) => self.one_rtt_remote = Some(secret),
        }
        if let (Some(local), Some(remote)) = (&self.one_rtt_local, &self.one_rtt_remote) {
            if self.one_rtt.is_none() {
                self.one_rtt = Some(Box::new(OneRtt {
                    local: local.packet_key(version)?,
                    remote: remote.packet_key(version)?,
                    local_hp: local.header_key(version)?,
                    remote_hp: remote.header_key(version)?,
                    next_remote: None,
                    local_secret: self.one_rtt_local.take().expect("checked"),
                    remote_secret: self.one_rtt_remote.take().expect("checked"),
                    phase: false,
                    prev_remote: None,
                    first_sent_in_phase: None,
                    phase_acked: false,
                    first_recv_in_phase: None,
                    sealed: 0,
                    suite,
                }));
            }
        }
        Ok(())
    }

    /// Whether we can send in `space`.
    pub(crate) fn can_send(&self, space: SpaceId) -> bool {
        match space {
            SpaceId::Initial => self.initial.is_some(),
            SpaceId::Handshake => self.handshake_local.is_some(),
            SpaceId::Data => self.one_rtt.is_some(),
        }
    }

    /// Whether we can receive in `space`.
    pub(crate) fn can_receive(&self, space: SpaceId) -> bool {
        match space {
            SpaceId::Initial => self.initial.is_some(),
            SpaceId::Handshake => self.handshake_remote.is_some(),
            SpaceId::Data => self.one_rtt.is_some(),
        }
    }

    /// Discards the keys of `space` (RFC 9001 §4.9).
    pub(crate) fn discard(&mut self, space: SpaceId) {
        match space {
            SpaceId::Initial => self.initial = None,
            SpaceId::Handshake => {
                self.handshake_local = None;
                self.handshake_remote = None;
            }
            SpaceId::Data => {
                self.zero_rtt = None;
                self.one_rtt = None;
            }
        }
    }
}

impl OneRtt {
    /// The receive key of the next key phase, derived on first use and kept.
    pub(crate) fn next_remote(&mut self, version: Version) -> Result<&PacketKey, CryptoError> {
        if self.next_remote.is_none() {
            let k = self.remote_secret.next(version)?.packet_key(version)?;
            self.next_remote = Some(k);
        }
        Ok(self.next_remote.as_ref().expect("just set"))
    }

    /// Moves to the next key generation in both directions (RFC 9001 §6), keeping the old
    /// receive key until `prev_until`.
    pub(crate) fn update(
        &mut self,
        version: Version,
        prev_until: Timestamp,
    ) -> Result<(), CryptoError> {
        let local_secret = self.local_secret.next(version)?;
        let remote_secret = self.remote_secret.next(version)?;
        let new_remote = match self.next_remote.take() {
            Some(k) => k,
            None => remote_secret.packet_key(version)?,
        };
        let local = local_secret.packet_key(version)?;
        let old_remote = std::mem::replace(&mut self.remote, new_remote);
        self.prev_remote = Some((old_remote, prev_until));
        self.local = local;
        self.local_secret = local_secret;
        self.remote_secret = remote_secret;
        self.phase = !self.phase;
        self.first_sent_in_phase = None;
        self.phase_acked = false;
        self.first_recv_in_phase = None;
        self.sealed = 0;
        Ok(())
    }
}
