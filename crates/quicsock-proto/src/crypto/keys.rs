//! AEAD packet keys and header-protection keys (RFC 9001 §5.3, §5.4): aws-lc-rs for
//! every suite but AES-128-CCM, whose payloads RustCrypto's `ccm` protects.

use std::fmt;

use aws_lc_rs::aead::{quic::HeaderProtectionKey, Aad, LessSafeKey, Nonce, UnboundKey};
use ccm::aead::{AeadInOut, KeyInit};

use super::secret::IV_LEN;
use super::{CipherSuite, CryptoError, HeaderProtect, PacketOpen, PacketSeal, SAMPLE_LEN, TAG_LEN};

/// AES-128-CCM with TLS 1.3's 16-byte tag and 12-byte nonce (RFC 8446 §5.3, RFC 9001 §5.3).
type Aes128Ccm = ccm::Ccm<aes::Aes128, ccm::consts::U16, ccm::consts::U12>;

/// The AEAD behind a [`PacketKey`].
enum Aead {
    /// Every suite aws-lc-rs provides.
    AwsLc(LessSafeKey),
    /// AES-128-CCM.
    Ccm(Box<Aes128Ccm>),
}

/// An AEAD key and its IV: seals and opens the payloads of one direction at one
/// encryption level and key phase.
pub struct PacketKey {
    suite: CipherSuite,
    key: Aead,
    iv: [u8; IV_LEN],
}

impl PacketKey {
    /// A packet key from raw key bytes and IV.
    pub fn new(suite: CipherSuite, key: &[u8], iv: [u8; IV_LEN]) -> Result<Self, CryptoError> {
        if key.len() != suite.key_len() {
            return Err(CryptoError::BadKeyLength);
        }
        let key = match suite.aead() {
            Some(alg) => Aead::AwsLc(LessSafeKey::new(
                UnboundKey::new(alg, key).map_err(|_| CryptoError::BadKeyLength)?,
            )),
            None => Aead::Ccm(Box::new(
                Aes128Ccm::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?,
            )),
        };
        Ok(Self { suite, key, iv })
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
    fn nonce_bytes(&self, pn: u64) -> [u8; IV_LEN] {
        let mut nonce = self.iv;
        for (n, p) in nonce[IV_LEN - 8..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        nonce
    }

    fn nonce(&self, pn: u64) -> Nonce {
        Nonce::assume_unique_for_key(self.nonce_bytes(pn))
    }

    /// Seals `plaintext` in place with AES-128-CCM, writing the tag to `tag_out`.
    fn ccm_seal(
        &self,
        ccm: &Aes128Ccm,
        pn: u64,
        header: &[u8],
        plaintext: &mut [u8],
        tag_out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let nonce = ccm::Nonce::from(self.nonce_bytes(pn));
        let tag = ccm
            .encrypt_inout_detached(&nonce, header, plaintext.into())
            .map_err(|_| CryptoError::PacketTooShort)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
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
        match &self.key {
            Aead::AwsLc(key) => {
                let tag =
                    key.seal_in_place_separate_tag(self.nonce(pn), Aad::from(header), plaintext)?;
                tag_out.copy_from_slice(tag.as_ref());
                Ok(())
            }
            Aead::Ccm(ccm) => self.ccm_seal(ccm, pn, header, plaintext, tag_out),
        }
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
        match &self.key {
            Aead::AwsLc(key) => {
                key.seal_in_place_scatter(
                    self.nonce(pn),
                    Aad::from(header),
                    in_place,
                    tail,
                    tail_out_and_tag,
                )?;
                Ok(())
            }
            Aead::Ccm(ccm) => {
                // CCM authenticates the whole plaintext before it encrypts: the two parts
                // meet in a scratch buffer (one more copy, for this suite only).
                let mut whole = Vec::with_capacity(in_place.len() + tail.len());
                whole.extend_from_slice(in_place);
                whole.extend_from_slice(tail);
                let (tail_out, tag_out) = tail_out_and_tag.split_at_mut(tail.len());
                self.ccm_seal(ccm, pn, header, &mut whole, tag_out)?;
                let (head, rest) = whole.split_at(in_place.len());
                in_place.copy_from_slice(head);
                tail_out.copy_from_slice(rest);
                Ok(())
            }
        }
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
        match &self.key {
            Aead::AwsLc(key) => key
                .open_in_place(self.nonce(pn), Aad::from(header), payload)
                .map_err(|_| CryptoError::AuthenticationFailed),
            Aead::Ccm(ccm) => {
                let split = payload.len() - TAG_LEN;
                let (ciphertext, tag) = payload.split_at_mut(split);
                let tag = ccm::aead::Tag::<Aes128Ccm>::try_from(&tag[..])
                    .map_err(|_| CryptoError::PacketTooShort)?;
                let nonce = ccm::Nonce::from(self.nonce_bytes(pn));
                ccm.decrypt_inout_detached(&nonce, header, ciphertext.into(), &tag)
                    .map_err(|_| CryptoError::AuthenticationFailed)?;
                Ok(ciphertext)
            }
        }
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
