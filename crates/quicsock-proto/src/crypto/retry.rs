//! The Retry integrity tag (RFC 9001 §5.8, RFC 9369 §3.3.3).
//!
//! The tag is the AES-128-GCM tag over an empty plaintext, with a fixed per-version key and
//! nonce, and the Retry pseudo-packet as associated data: the original destination
//! connection ID (with its length byte) followed by the Retry packet without its tag.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};

use super::{CryptoError, TAG_LEN};
use crate::packet::Version;

const V1_KEY: [u8; 16] = [
    0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e,
];
const V1_NONCE: [u8; 12] = [
    0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
];
const V2_KEY: [u8; 16] = [
    0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92,
];
const V2_NONCE: [u8; 12] = [
    0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
];

fn key_and_nonce(version: Version) -> Result<(LessSafeKey, Nonce), CryptoError> {
    let (key, nonce) = if version == Version::V2 {
        (&V2_KEY, V2_NONCE)
    } else {
        (&V1_KEY, V1_NONCE)
    };
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, key)?);
    Ok((key, Nonce::assume_unique_for_key(nonce)))
}

fn pseudo_packet(odcid: &[u8], retry_without_tag: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let odcid_len = u8::try_from(odcid.len()).map_err(|_| CryptoError::BadKeyLength)?;
    let mut pseudo = Vec::with_capacity(1 + odcid.len() + retry_without_tag.len());
    pseudo.push(odcid_len);
    pseudo.extend_from_slice(odcid);
    pseudo.extend_from_slice(retry_without_tag);
    Ok(pseudo)
}

/// The integrity tag of a Retry packet (`retry_without_tag`: everything before the tag) sent
/// in answer to a client Initial whose destination connection ID was `odcid`.
pub fn retry_integrity_tag(
    version: Version,
    odcid: &[u8],
    retry_without_tag: &[u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let (key, nonce) = key_and_nonce(version)?;
    let pseudo = pseudo_packet(odcid, retry_without_tag)?;
    let tag = key.seal_in_place_separate_tag(nonce, Aad::from(&pseudo[..]), &mut [])?;
    let mut out = [0; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}

/// Whether the tag at the end of the Retry packet `retry` verifies for `odcid`. The tag is
/// checked by the AEAD, in constant time.
pub fn verify_retry(version: Version, odcid: &[u8], retry: &[u8]) -> bool {
    let Some(split) = retry.len().checked_sub(TAG_LEN) else {
        return false;
    };
    let (body, tag) = retry.split_at(split);
    let Ok((key, nonce)) = key_and_nonce(version) else {
        return false;
    };
    let Ok(pseudo) = pseudo_packet(odcid, body) else {
        return false;
    };
    let mut tag = <[u8; TAG_LEN]>::try_from(tag).unwrap_or([0; TAG_LEN]);
    key.open_in_place(nonce, Aad::from(&pseudo[..]), &mut tag)
        .is_ok()
}
