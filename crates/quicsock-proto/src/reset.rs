//! Stateless reset (RFC 9000 §10.3): tokens derived from a static key, their constant-time
//! check, and the reset datagram itself.
//!
//! Each connection ID's token is the first 16 bytes of HMAC-SHA256(static key, ID)
//! (§10.3.2), so a server that lost a connection's state (a restart with the same key)
//! still knows the token of every ID it issued, and answers a packet for an unknown ID
//! with a reset the peer believes. The key must stay secret: whoever knows it can end any
//! connection of the endpoint; it comes from the system CSPRNG unless the application
//! supplies one to share across restarts or across the servers behind one address.
//!
//! A reset is sent only in reply to a datagram longer than the smallest reset, and is
//! always shorter than the datagram that caused it (§10.3.3), so two endpoints that each
//! take the other's resets for unknown packets cannot loop: every round shrinks.

use aws_lc_rs::hmac;

pub use crate::frame::RESET_TOKEN_LEN;
use crate::rng::Random;
use crate::ConnectionId;

/// The smallest stateless reset (RFC 9000 §10.3): two fixed bits and at least 38
/// unpredictable bits (5 bytes), then the 16-byte token. Datagrams shorter than this are
/// never taken for a reset, and are too short to be answered with one.
pub const MIN_RESET_LEN: usize = 1 + 4 + RESET_TOKEN_LEN;

/// The longest reset we send: as long as a packet with a 20-byte connection ID and a
/// minimal payload, so that it looks like one (§10.3), and no longer.
pub const MAX_RESET_LEN: usize = 1 + 20 + 4 + 1 + 16 + RESET_TOKEN_LEN;

/// The static key stateless-reset tokens are derived from. Clones share one key (its
/// HMAC state is over a kilobyte, and every connection of an endpoint holds the key).
#[derive(Clone)]
pub struct ResetKey(std::sync::Arc<hmac::Key>);

impl std::fmt::Debug for ResetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetKey(..)")
    }
}

impl ResetKey {
    /// A key from 32 secret bytes (keep them to derive the same tokens after a restart).
    pub fn new(secret: &[u8; 32]) -> Self {
        Self(std::sync::Arc::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            secret,
        )))
    }

    /// A key drawn from `rng`.
    pub fn random(rng: &mut dyn Random) -> Self {
        let mut secret = [0; 32];
        rng.fill(&mut secret);
        let key = Self::new(&secret);
        zeroize::Zeroize::zeroize(&mut secret);
        key
    }

    /// The stateless reset token of connection ID `cid` (RFC 9000 §10.3.2).
    pub fn token(&self, cid: &ConnectionId) -> [u8; RESET_TOKEN_LEN] {
        let tag = hmac::sign(&self.0, cid.as_ref());
        let mut t = [0; RESET_TOKEN_LEN];
        t.copy_from_slice(&tag.as_ref()[..RESET_TOKEN_LEN]);
        t
    }
}

/// Whether two reset tokens are equal, in time independent of their contents (RFC 9000
/// §10.3.1: comparing must not reveal how much of a guess was right).
pub fn tokens_equal(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The token at the end of `datagram`, if it is long enough to be a stateless reset.
pub fn trailing_token(datagram: &[u8]) -> Option<&[u8]> {
    (datagram.len() >= MIN_RESET_LEN).then(|| &datagram[datagram.len() - RESET_TOKEN_LEN..])
}

/// Writes a stateless reset with `token` in reply to a datagram of `inciting` bytes, into
/// `out`; returns its length, or `None` when the inciting datagram is too short to answer
/// (a reply must be shorter than it, RFC 9000 §10.3.3).
pub fn encode_stateless_reset(
    token: &[u8; RESET_TOKEN_LEN],
    inciting: usize,
    rng: &mut dyn Random,
    out: &mut Vec<u8>,
) -> Option<usize> {
    let len = inciting.checked_sub(1)?.min(MAX_RESET_LEN);
    if len < MIN_RESET_LEN {
        return None;
    }
    let start = out.len();
    out.resize(start + len - RESET_TOKEN_LEN, 0);
    rng.fill(&mut out[start..]);
    // A short header: form bit 0, fixed bit 1, the rest unpredictable.
    out[start] = (out[start] & 0x3f) | 0x40;
    out.extend_from_slice(token);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRandom;

    #[test]
    fn tokens_depend_on_key_and_id_only() {
        let a = ResetKey::new(&[1; 32]);
        let cid = ConnectionId::from_slice(&[7; 8]).unwrap();
        let other = ConnectionId::from_slice(&[8; 8]).unwrap();
        assert_eq!(a.token(&cid), ResetKey::new(&[1; 32]).token(&cid));
        assert_ne!(a.token(&cid), a.token(&other));
        assert_ne!(a.token(&cid), ResetKey::new(&[2; 32]).token(&cid));
        assert!(tokens_equal(&a.token(&cid), &a.token(&cid)));
        assert!(!tokens_equal(&a.token(&cid), &a.token(&other)));
    }

    #[test]
    fn resets_are_shorter_than_what_caused_them() {
        let mut rng = SeededRandom::new(1);
        let token = [9; RESET_TOKEN_LEN];
        for inciting in 0..100 {
            let mut out = Vec::new();
            match encode_stateless_reset(&token, inciting, &mut rng, &mut out) {
                Some(n) => {
                    assert_eq!(n, out.len());
                    assert!(n < inciting && n >= MIN_RESET_LEN);
                    assert!(n <= MAX_RESET_LEN);
                    assert_eq!(out[0] & 0xc0, 0x40, "a short header with the fixed bit");
                    assert_eq!(trailing_token(&out), Some(&token[..]));
                }
                None => assert!(inciting <= MIN_RESET_LEN),
            }
        }
    }
}
