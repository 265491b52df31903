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

use std::net::IpAddr;
use std::time::Duration;

use aws_lc_rs::hmac;

use crate::time::Timestamp;

/// How long a token is honoured.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The length of the tokens this endpoint makes.
pub const TOKEN_LEN: usize = 1 + 8 + 16;
const FORMAT: u8 = 1;

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
}
