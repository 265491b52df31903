//! Address-validation tokens (RFC 9000 §8.1.3): a server gives a client a NEW_TOKEN after
//! the handshake; when the client comes back from the same address with it in its Initial,
//! the address counts as validated at once, so the server is not held to three times what
//! it received (§8.1) and its first flight goes out whole.
//!
//! A token is `[1][issued: u64 ms since the epoch of the endpoint's clock][HMAC-SHA256 of
//! the client's IP address and the time, 16 bytes]` under a key the endpoint draws at
//! start. Tokens are not bound to a connection and can be replayed from the same address
//! within their lifetime, which §8.1.4 allows for NEW_TOKEN tokens; they only lift the
//! amplification limit, nothing else.
//!
//! Retry tokens (§8.1.2) are `[2][issued: u64 ms][odcid length][odcid][16-byte HMAC of the
//! client's IP address and port, the time, the original destination ID and the Retry's
//! source ID]`: they prove the address, carry the original destination ID the server must
//! echo in its transport parameters (§7.3), hold only for the connection ID the Retry gave
//! and expire after [`RETRY_TOKEN_LIFETIME`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aws_lc_rs::hmac;

use crate::time::Timestamp;
use crate::ConnectionId;

/// How long a token is honoured.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The length of the tokens this endpoint makes.
pub const TOKEN_LEN: usize = 1 + 8 + 16;
const FORMAT: u8 = 1;
/// How long a Retry token is honoured: the client uses it at once.
pub const RETRY_TOKEN_LIFETIME: Duration = Duration::from_secs(10);
const RETRY_FORMAT: u8 = 2;
const TAG_LEN: usize = 16;

/// What a token in a client's Initial is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// No token.
    None,
    /// One of our NEW_TOKEN tokens, or anything not a Retry token: RFC 9000 §8.1.3 says to
    /// go on as if there were none when it does not check.
    NewToken,
    /// One of our Retry tokens.
    Retry,
}

impl TokenKind {
    pub(crate) fn of(token: &[u8]) -> Self {
        match token.first() {
            None => Self::None,
            Some(&RETRY_FORMAT) => Self::Retry,
            Some(_) => Self::NewToken,
        }
    }
}

/// Why a Retry token was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RetryTokenError {
    /// Malformed, or not made by this key for this address and connection ID.
    Invalid,
    /// Older than [`RETRY_TOKEN_LIFETIME`] (or from the future).
    Expired,
}

fn age_ok(issued: u64, now: Timestamp, lifetime: Duration) -> bool {
    let issued = Duration::from_millis(issued);
    issued <= now.as_duration() && now.as_duration() - issued <= lifetime
}

/// The key tokens are made and checked with.
pub(crate) struct TokenKey(hmac::Key);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub(crate) fn new(secret: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn tag(&self, ip: IpAddr, issued: u64) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        match ip.to_canonical() {
            IpAddr::V4(a) => ctx.update(&a.octets()),
            IpAddr::V6(a) => ctx.update(&a.octets()),
        }
        ctx.update(&issued.to_be_bytes());
        ctx.sign()
    }

    /// A token for a client at `ip`.
    pub(crate) fn mint(&self, ip: IpAddr, now: Timestamp) -> Vec<u8> {
        let issued = now.as_duration().as_millis() as u64;
        let mut t = Vec::with_capacity(TOKEN_LEN);
        t.push(FORMAT);
        t.extend_from_slice(&issued.to_be_bytes());
        t.extend_from_slice(&self.tag(ip, issued).as_ref()[..16]);
        t
    }

    /// Whether `token` was made by this key for `ip` and is still fresh.
    pub(crate) fn check(&self, token: &[u8], ip: IpAddr, now: Timestamp) -> bool {
        if token.len() != TOKEN_LEN || token[0] != FORMAT {
            return false;
        }
        let issued = u64::from_be_bytes(token[1..9].try_into().expect("8 bytes"));
        let age = now
            .as_duration()
            .saturating_sub(Duration::from_millis(issued));
        let from_future = Duration::from_millis(issued) > now.as_duration();
        if from_future || age > TOKEN_LIFETIME {
            return false;
        }
        let tag = self.tag(ip, issued);
        // Constant time: the comparison does not say where a forged tag went wrong.
        aws_lc_rs::constant_time::verify_slices_are_equal(&tag.as_ref()[..16], &token[9..]).is_ok()
    }

    fn retry_tag(
        &self,
        remote: SocketAddr,
        issued: u64,
        odcid: &ConnectionId,
        retry_scid: &ConnectionId,
    ) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(&[RETRY_FORMAT]);
        match remote.ip().to_canonical() {
            IpAddr::V4(a) => ctx.update(&a.octets()),
            IpAddr::V6(a) => ctx.update(&a.octets()),
        }
        ctx.update(&remote.port().to_be_bytes());
        ctx.update(&issued.to_be_bytes());
        ctx.update(&[odcid.len() as u8]);
        ctx.update(odcid.as_ref());
        ctx.update(retry_scid.as_ref());
        ctx.sign()
    }

    /// A Retry token for a client at `remote` whose first Initial went to `odcid`, told to
    /// come back to `retry_scid`.
    pub(crate) fn mint_retry(
        &self,
        remote: SocketAddr,
        odcid: &ConnectionId,
        retry_scid: &ConnectionId,
        now: Timestamp,
    ) -> Vec<u8> {
        let issued = now.as_duration().as_millis() as u64;
        let mut t = Vec::with_capacity(1 + 8 + 1 + odcid.len() + TAG_LEN);
        t.push(RETRY_FORMAT);
        t.extend_from_slice(&issued.to_be_bytes());
        t.push(odcid.len() as u8);
        t.extend_from_slice(odcid.as_ref());
        let tag = self.retry_tag(remote, issued, odcid, retry_scid);
        t.extend_from_slice(&tag.as_ref()[..TAG_LEN]);
        t
    }

    /// Checks a Retry token that came from `remote` in an Initial sent to `dcid`; returns
    /// the original destination connection ID it carries.
    pub(crate) fn check_retry(
        &self,
        token: &[u8],
        remote: SocketAddr,
        dcid: &ConnectionId,
        now: Timestamp,
    ) -> Result<ConnectionId, RetryTokenError> {
        let invalid = RetryTokenError::Invalid;
        if token.len() < 1 + 8 + 1 + TAG_LEN || token[0] != RETRY_FORMAT {
            return Err(invalid);
        }
        let issued = u64::from_be_bytes(token[1..9].try_into().expect("8 bytes"));
        let len = usize::from(token[9]);
        if token.len() != 1 + 8 + 1 + len + TAG_LEN {
            return Err(invalid);
        }
        let odcid = ConnectionId::from_slice(&token[10..10 + len]).map_err(|_| invalid)?;
        let tag = self.retry_tag(remote, issued, &odcid, dcid);
        aws_lc_rs::constant_time::verify_slices_are_equal(
            &tag.as_ref()[..TAG_LEN],
            &token[10 + len..],
        )
        .map_err(|_| invalid)?;
        if !age_ok(issued, now, RETRY_TOKEN_LIFETIME) {
            return Err(RetryTokenError::Expired);
        }
        Ok(odcid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_address_key_and_time() {
        let key = TokenKey::new(&[7; 32]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Timestamp::ZERO + Duration::from_secs(100);
        let t = key.mint(ip, now);
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(key.check(&t, ip, now + Duration::from_secs(60)));
        assert!(
            key.check(&t, "::ffff:192.0.2.1".parse().unwrap(), now),
            "v4-mapped is the same address"
        );
        assert!(
            !key.check(&t, "192.0.2.2".parse().unwrap(), now),
            "another address"
        );
        assert!(
            !key.check(&t, ip, now + TOKEN_LIFETIME + Duration::from_secs(101)),
            "expired"
        );
        assert!(!key.check(&t, ip, Timestamp::ZERO), "issued in the future");
        assert!(!TokenKey::new(&[8; 32]).check(&t, ip, now), "another key");
        for i in 0..t.len() {
            let mut bad = t.clone();
            bad[i] ^= 1;
            assert!(!key.check(&bad, ip, now), "byte {i} changed");
        }
        assert!(!key.check(&t[..TOKEN_LEN - 1], ip, now));
        assert!(!key.check(b"", ip, now));
    }

    #[test]
    fn retry_tokens_bind_address_ids_and_time() {
        let key = TokenKey::new(&[7; 32]);
        let remote: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let odcid = ConnectionId::from_slice(&[1; 8]).unwrap();
        let scid = ConnectionId::from_slice(&[2; 8]).unwrap();
        let now = Timestamp::ZERO + Duration::from_secs(100);
        let t = key.mint_retry(remote, &odcid, &scid, now);
        assert_eq!(TokenKind::of(&t), TokenKind::Retry);
        assert_eq!(
            TokenKind::of(&key.mint(remote.ip(), now)),
            TokenKind::NewToken
        );
        assert_eq!(key.check_retry(&t, remote, &scid, now), Ok(odcid));
        let invalid = Err(RetryTokenError::Invalid);
        let other_port: SocketAddr = "192.0.2.1:5001".parse().unwrap();
        assert_eq!(key.check_retry(&t, other_port, &scid, now), invalid);
        assert_eq!(
            key.check_retry(&t, remote, &odcid, now),
            invalid,
            "another ID"
        );
        let late = now + RETRY_TOKEN_LIFETIME + Duration::from_millis(1);
        assert_eq!(
            key.check_retry(&t, remote, &scid, late),
            Err(RetryTokenError::Expired)
        );
        for i in 0..t.len() {
            let mut bad = t.clone();
            bad[i] ^= 1;
            assert!(
                key.check_retry(&bad, remote, &scid, now).is_err(),
                "byte {i}"
            );
        }
        assert_eq!(
            key.check_retry(&t[..t.len() - 1], remote, &scid, now),
            invalid
        );
    }
}
