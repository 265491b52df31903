//! AEAD packet keys and header-protection keys from aws-lc-rs (RFC 9001 §5.3, §5.4).

use std::fmt;

use aws_lc_rs::aead::{quic::HeaderProtectionKey, Aad, LessSafeKey, Nonce, UnboundKey};

use super::secret::IV_LEN;
use super::{CipherSuite, CryptoError, HeaderProtect, PacketOpen, PacketSeal, SAMPLE_LEN, TAG_LEN};

/// An AEAD key and its IV: seals and opens the payloads of one direction at one
/// encryption level and key phase.
pub struct PacketKey {
    suite: CipherSuite,
    key: LessSafeKey,
    iv: [u8; IV_LEN],
}

impl PacketKey {
    /// A packet key from raw key bytes and IV.
    pub fn new(suite: CipherSuite, key: &[u8], iv: [u8; IV_LEN]) -> Result<Self, CryptoError> {
        if key.len() != suite.key_len() {
            return Err(CryptoError::BadKeyLength);
        }
        let key = UnboundKey::new(suite.aead(), key).map_err(|_| CryptoError::BadKeyLength)?;
        Ok(Self {
            suite,
            key: LessSafeKey::new(key),
            iv,
        })
    }

    /// The cipher suite.
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The IV (RFC 9001 §5.3).
    pub const fn iv(&self) -> &[u8; IV_LEN] {
        &self.iv
    }

    /// The nonce for packet number `pn`: the IV XORed with the packet number, left-padded
    /// to the IV length (RFC 9001 §5.3).
    fn nonce(&self, pn: u64) -> Nonce {
        let mut nonce = self.iv;
        for (n, p) in nonce[IV_LEN - 8..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        Nonce::assume_unique_for_key(nonce)
    }
}

impl PacketSeal for PacketKey {
    fn tag_len(&self) -> usize {
        TAG_LEN
    }

    fn seal(&self, pn: u64, header: &[u8], payload: &mut [u8]) -> Result<(), CryptoError> {
        let split = payload
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(CryptoError::PacketTooShort)?;
        let (plaintext, tag_out) = payload.split_at_mut(split);
        let tag =
            self.key
                .seal_in_place_separate_tag(self.nonce(pn), Aad::from(header), plaintext)?;
        tag_out.copy_from_slice(tag.as_ref());
        Ok(())
    }

    fn seal_scatter(
        &self,
        pn: u64,
        header: &[u8],
        in_place: &mut [u8],
        tail: &[u8],
        tail_out_and_tag: &mut [u8],
    ) -> Result<(), CryptoError> {
        if tail_out_and_tag.len() != tail.len() + TAG_LEN {
            return Err(CryptoError::PacketTooShort);
        }
        self.key.seal_in_place_scatter(
            self.nonce(pn),
            Aad::from(header),
            in_place,
            tail,
            tail_out_and_tag,
        )?;
        Ok(())
    }
}

impl PacketOpen for PacketKey {
    fn tag_len(&self) -> usize {
        TAG_LEN
    }

    fn open<'a>(
        &self,
        pn: u64,
        header: &[u8],
        payload: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError> {
        if payload.len() < TAG_LEN {
            return Err(CryptoError::PacketTooShort);
        }
        self.key
            .open_in_place(self.nonce(pn), Aad::from(header), payload)
            .map_err(|_| CryptoError::AuthenticationFailed)
    }
}

impl fmt::Debug for PacketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// A header-protection key (RFC 9001 §5.4): AES-ECB for the AES suites, ChaCha20 for
/// ChaCha20-Poly1305.
pub struct HeaderKey {
    suite: CipherSuite,
    key: HeaderProtectionKey,
}

impl HeaderKey {
    /// A header-protection key from raw key bytes.
    pub fn new(suite: CipherSuite, key: &[u8]) -> Result<Self, CryptoError> {
        let key = HeaderProtectionKey::new(suite.header_protection(), key)
            .map_err(|_| CryptoError::BadKeyLength)?;
        Ok(Self { suite, key })
    }

    /// The cipher suite.
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }
}

impl HeaderProtect for HeaderKey {
    fn mask(&self, sample: &[u8]) -> Result<[u8; 5], CryptoError> {
        if sample.len() != SAMPLE_LEN {
            return Err(CryptoError::PacketTooShort);
        }
        Ok(self.key.new_mask(sample)?)
    }
}

impl fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// The keys of one direction: payload and header protection.
#[derive(Debug)]
pub struct DirectionalKeys {
    /// Payload protection.
    pub packet: PacketKey,
    /// Header protection.
    pub header: HeaderKey,
}

/// The keys of both directions at one encryption level.
#[derive(Debug)]
pub struct Keys {
    /// Keys for packets this endpoint sends.
    pub local: DirectionalKeys,
    /// Keys for packets this endpoint receives.
    pub remote: DirectionalKeys,
}
