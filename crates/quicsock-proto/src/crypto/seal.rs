//! The sealing, opening and header-protection traits.
//!
//! Callers protect packets through these traits, not through a concrete key type, so that a
//! sealer that takes a batch of packets at once, or one backed by a device, can slot in
//! without changing them (DESIGN.md, copy budget). Packets are independent: a batch may be
//! sealed in any order.

use super::CryptoError;

/// One packet of a batch handed to [`PacketSeal::seal_batch`].
#[derive(Debug)]
pub struct SealJob<'a> {
    /// The full packet number.
    pub pn: u64,
    /// The header up to and including the packet number: the AEAD's associated data.
    pub header: &'a [u8],
    /// The plaintext followed by [`PacketSeal::tag_len`] bytes of room for the tag.
    pub payload: &'a mut [u8],
}

/// Seals packet payloads (RFC 9001 §5.3).
pub trait PacketSeal: Send + Sync {
    /// The length of the tag appended to each payload.
    fn tag_len(&self) -> usize;

    /// Encrypts `payload` in place: on entry it holds the plaintext followed by
    /// [`tag_len`](Self::tag_len) bytes of room, on return the ciphertext and tag.
    fn seal(&self, pn: u64, header: &[u8], payload: &mut [u8]) -> Result<(), CryptoError>;

    /// Encrypts a payload whose head is already in place (`in_place`, for example frame
    /// headers) and whose tail is read from `tail` (for example stream data in the send
    /// buffer), writing the tail's ciphertext followed by the tag into `tail_out_and_tag`,
    /// which must be `tail.len() + tag_len()` bytes. One pass over the tail: it is never
    /// copied into the packet in the clear.
    fn seal_scatter(
        &self,
        pn: u64,
        header: &[u8],
        in_place: &mut [u8],
        tail: &[u8],
        tail_out_and_tag: &mut [u8],
    ) -> Result<(), CryptoError>;

    /// Seals a batch of packets. The default seals them one by one; an implementation may
    /// process them together, in any order.
    fn seal_batch(&self, jobs: &mut [SealJob<'_>]) -> Result<(), CryptoError> {
        jobs.iter_mut()
            .try_for_each(|job| self.seal(job.pn, job.header, job.payload))
    }
}

/// Opens packet payloads (RFC 9001 §5.3).
pub trait PacketOpen: Send + Sync {
    /// The length of the tag at the end of each payload.
    fn tag_len(&self) -> usize;

    /// Decrypts and authenticates `payload` (ciphertext followed by tag) in place and
    /// returns the plaintext, a prefix of `payload`.
    fn open<'a>(
        &self,
        pn: u64,
        header: &[u8],
        payload: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError>;
}

/// Computes header-protection masks (RFC 9001 §5.4).
pub trait HeaderProtect: Send + Sync {
    /// The mask for one 16-byte sample of ciphertext.
    fn mask(&self, sample: &[u8]) -> Result<[u8; 5], CryptoError>;

    /// The masks for a batch of samples, written to `masks` (same length as `samples`). The
    /// default computes them one by one.
    fn masks(&self, samples: &[&[u8]], masks: &mut [[u8; 5]]) -> Result<(), CryptoError> {
        samples
            .iter()
            .zip(masks.iter_mut())
            .try_for_each(|(sample, mask)| {
                *mask = self.mask(sample)?;
                Ok(())
            })
    }
}
