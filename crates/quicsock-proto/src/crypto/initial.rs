//! Initial secrets (RFC 9001 §5.2, RFC 9369 §3.3.1).
//!
//! Both endpoints derive the Initial secrets from the Destination Connection ID of the
//! client's first Initial packet, with a version-specific salt, HKDF-SHA256 and the labels
//! "client in" and "server in"; Initial packets use AES-128-GCM.

use aws_lc_rs::{hkdf::HKDF_SHA256, hmac};
use zeroize::Zeroize;

use super::keys::Keys;
use super::secret::hkdf_expand_label;
use super::{CipherSuite, CryptoError, Secret};
use crate::common::Side;
use crate::packet::Version;

/// The version 1 Initial salt (RFC 9001 §5.2).
const V1_SALT: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];

/// The version 2 Initial salt (RFC 9369 §3.3.1).
const V2_SALT: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// The client and server Initial secrets for a connection whose client chose `dcid` as
/// the destination of its first Initial, in that order.
pub fn initial_secrets(version: Version, dcid: &[u8]) -> Result<(Secret, Secret), CryptoError> {
    let mut initial = initial_secret(version, dcid);
    let expand = |label: &[u8]| -> Result<Secret, CryptoError> {
        let mut out = [0; 32];
        hkdf_expand_label(HKDF_SHA256, &initial, label, &mut out)?;
        let secret = Secret::new(CipherSuite::Aes128GcmSha256, &out);
        out.zeroize();
        secret
    };
    let secrets = (expand(b"client in")?, expand(b"server in")?);
    initial.zeroize();
    Ok(secrets)
}

/// HKDF-Extract(salt, dcid), which is HMAC-SHA256 keyed with the salt (RFC 5869 §2.2).
fn initial_secret(version: Version, dcid: &[u8]) -> [u8; 32] {
    let salt = if version == Version::V2 {
        &V2_SALT
    } else {
        &V1_SALT
    };
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), dcid);
    let mut out = [0; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The Initial keys of the endpoint on `side`.
pub fn initial_keys(version: Version, dcid: &[u8], side: Side) -> Result<Keys, CryptoError> {
    let (client, server) = initial_secrets(version, dcid)?;
    let (local, remote) = match side {
        Side::Client => (client, server),
        Side::Server => (server, client),
    };
    Ok(Keys {
        local: local.keys(version)?,
        remote: remote.keys(version)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9001_a1_initial_secret() {
        let dcid = hex::decode("8394c8f03e515708").unwrap();
        assert_eq!(
            hex::encode(initial_secret(Version::V1, &dcid)),
            "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"
        );
    }
}
