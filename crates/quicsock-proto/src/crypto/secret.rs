//! Traffic secrets and the QUIC key schedule (RFC 9001 §5.1, §6.1; RFC 9369 §3.3.2).

use std::fmt;

use aws_lc_rs::hkdf;
use zeroize::Zeroize;

use super::keys::{DirectionalKeys, HeaderKey, PacketKey};
use super::{CipherSuite, CryptoError};
use crate::packet::Version;

const MAX_HASH_LEN: usize = 48;
/// The AEAD nonce (IV) length of every QUIC suite.
pub(super) const IV_LEN: usize = 12;

/// The HKDF labels of one QUIC version.
struct Labels {
    key: &'static [u8],
    iv: &'static [u8],
    hp: &'static [u8],
    ku: &'static [u8],
}

const V1_LABELS: Labels = Labels {
    key: b"quic key",
    iv: b"quic iv",
    hp: b"quic hp",
    ku: b"quic ku",
};
const V2_LABELS: Labels = Labels {
    key: b"quicv2 key",
    iv: b"quicv2 iv",
    hp: b"quicv2 hp",
    ku: b"quicv2 ku",
};

fn labels(version: Version) -> &'static Labels {
    if version == Version::V2 {
        &V2_LABELS
    } else {
        &V1_LABELS
    }
}

/// A traffic secret of one direction at one encryption level, as TLS hands it over. The
/// bytes are wiped when the secret is dropped.
#[derive(Clone)]
pub struct Secret {
    suite: CipherSuite,
    len: u8,
    bytes: [u8; MAX_HASH_LEN],
}

impl Secret {
    /// A secret for `suite`; its length must be the suite's hash length.
    pub fn new(suite: CipherSuite, secret: &[u8]) -> Result<Self, CryptoError> {
        if secret.len() != suite.hash_len() {
            return Err(CryptoError::BadKeyLength);
        }
        let mut bytes = [0; MAX_HASH_LEN];
        bytes[..secret.len()].copy_from_slice(secret);
        Ok(Self {
            suite,
            len: secret.len() as u8,
            bytes,
        })
    }

    /// The cipher suite.
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The packet-protection keys of this secret: AEAD key and IV, and header-protection
    /// key, derived with the labels of `version` (RFC 9001 §5.1, RFC 9369 §3.3.2).
    pub fn keys(&self, version: Version) -> Result<DirectionalKeys, CryptoError> {
        Ok(DirectionalKeys {
            packet: self.packet_key(version)?,
            header: self.header_key(version)?,
        })
    }

    /// The AEAD key and IV.
    pub fn packet_key(&self, version: Version) -> Result<PacketKey, CryptoError> {
        let labels = labels(version);
        let mut key = [0; 32];
        let key = &mut key[..self.suite.key_len()];
        let mut iv = [0; IV_LEN];
        self.expand_label(labels.key, key)?;
        self.expand_label(labels.iv, &mut iv)?;
        let packet = PacketKey::new(self.suite, key, iv);
        key.zeroize();
        packet
    }

    /// The header-protection key.
    pub fn header_key(&self, version: Version) -> Result<HeaderKey, CryptoError> {
        let mut hp = [0; 32];
        let hp = &mut hp[..self.suite.key_len()];
        self.expand_label(labels(version).hp, hp)?;
        let header = HeaderKey::new(self.suite, hp);
        hp.zeroize();
        header
    }

    /// The next generation of this secret, for a key update (RFC 9001 §6.1). The header
    /// protection key does not change with it.
    pub fn next(&self, version: Version) -> Result<Self, CryptoError> {
        let mut next = Self {
            suite: self.suite,
            len: self.len,
            bytes: [0; MAX_HASH_LEN],
        };
        let len = self.len as usize;
        self.expand_label(labels(version).ku, &mut next.bytes[..len])?;
        Ok(next)
    }

    /// HKDF-Expand-Label(secret, label, "", out.len()) (RFC 8446 §7.1).
    pub(super) fn expand_label(&self, label: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        hkdf_expand_label(self.suite.hkdf(), self.as_bytes(), label, out)
    }
}

/// HKDF-Expand-Label with an empty context (RFC 8446 §7.1):
/// `HkdfLabel = length (2) || len("tls13 " + label) (1) || "tls13 " + label || 0 (1)`.
pub(super) fn hkdf_expand_label(
    alg: hkdf::Algorithm,
    secret: &[u8],
    label: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    const PREFIX: &[u8] = b"tls13 ";
    let length = u16::try_from(out.len())
        .map_err(|_| CryptoError::BadKeyLength)?
        .to_be_bytes();
    let label_len = [(PREFIX.len() + label.len()) as u8];
    let info: [&[u8]; 5] = [&length, &label_len, PREFIX, label, &[0]];
    let prk = hkdf::Prk::new_less_safe(alg, secret);
    prk.expand(&info, OutLen(out.len()))?.fill(out)?;
    Ok(())
}

struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}
