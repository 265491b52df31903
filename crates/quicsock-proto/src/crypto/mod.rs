//! Packet protection (RFC 9001 §5, RFC 9369 §3.3).
//!
//! * [`CipherSuite`] — the TLS 1.3 suites QUIC uses, with their AEAD usage limits (§6.6).
//!   AES-128-CCM is not offered: the crypto library (aws-lc-rs) has no CCM AEAD.
//! * [`Secret`] — a traffic secret and the key schedule on it: key, IV and header-protection
//!   key (§5.1) and the next generation for key update (§6.1), with the version 1 or
//!   version 2 labels.
//! * [`initial_secrets`] — the Initial secrets from the client's destination connection ID
//!   (§5.2), with the version 1 and version 2 salts.
//! * [`PacketKey`] and [`HeaderKey`] — AEAD sealing and opening with the packet-number nonce
//!   (§5.3) and header protection masks (§5.4), behind the [`PacketSeal`], [`PacketOpen`]
//!   and [`HeaderProtect`] traits.
//! * [`protect`], [`unprotect`] and their halves — protecting and unprotecting a whole
//!   packet in place.
//! * [`retry_integrity_tag`] and [`verify_retry`] — the Retry integrity tag (§5.8).
//!
//! Every primitive comes from aws-lc-rs; nothing here is hand-written cryptography.
//!
//! # Passes over the data
//!
//! Sealing a packet in place is one pass (AEAD over the plaintext). [`PacketSeal::seal_scatter`]
//! reads a payload tail from a separate buffer and writes the ciphertext into the datagram
//! buffer in the same pass, so stream data is not first copied into the packet and then
//! encrypted ("seal-on-copy"). Header protection touches at most 5 bytes per packet plus one
//! AES block or ChaCha20 block for the mask.

mod initial;
mod keys;
mod protect;
mod retry;
mod seal;
mod secret;
mod suite;

pub use initial::{initial_keys, initial_secrets};
pub use keys::{DirectionalKeys, HeaderKey, Keys, PacketKey};
pub use protect::{
    apply_header_protection, open, protect, read_packet_number, remove_header_protection,
    unprotect, Unprotected,
};
pub use retry::{retry_integrity_tag, verify_retry};
pub use seal::{HeaderProtect, PacketOpen, PacketSeal, SealJob};
pub use secret::Secret;
pub use suite::CipherSuite;

/// The length of the AEAD tag of every suite QUIC uses.
pub const TAG_LEN: usize = 16;
/// The length of the header-protection sample (RFC 9001 §5.4.2).
pub const SAMPLE_LEN: usize = 16;

/// A packet-protection failure.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The AEAD tag did not verify: the packet was corrupted, forged, or protected with
    /// other keys. Such a packet is dropped (RFC 9001 §5.5).
    #[error("packet authentication failed")]
    AuthenticationFailed,
    /// The packet is too short to hold a header-protection sample or an AEAD tag.
    #[error("packet too short for its protection")]
    PacketTooShort,
    /// A secret or key of the wrong length for the cipher suite.
    #[error("key material of the wrong length for the cipher suite")]
    BadKeyLength,
    /// The crypto library reported a failure it does not explain.
    #[error("crypto library failure")]
    Library,
}

impl From<aws_lc_rs::error::Unspecified> for CryptoError {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Self::Library
    }
}

#[cfg(test)]
#[path = "vectors.rs"]
mod vectors;

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
