//! ACK frames (RFC 9000 §19.3).
//!
//! ```text
//! ACK Frame {
//!   Type (i) = 0x02..0x03,
//!   Largest Acknowledged (i),
//!   ACK Delay (i),
//!   ACK Range Count (i),
//!   First ACK Range (i),
//!   ACK Range (..) ...,
//!   [ECN Counts (..)],
//! }
//! ```
//!
//! Decoding walks the ranges once to check that no packet number goes below zero
//! (§19.3.1: FRAME_ENCODING_ERROR) and keeps them as the borrowed bytes they came in, so a
//! frame claiming 2^62 ranges costs no memory and fails when the bytes run out.

use std::ops::RangeInclusive;

use bytes::BufMut;

use super::FrameType;
use crate::common::{Reader, VarInt};
use crate::TransportError;

/// ECN counts (RFC 9000 §19.3.2).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct EcnCounts {
    /// Packets received with the ECT(0) codepoint.
    pub ect0: VarInt,
    /// Packets received with the ECT(1) codepoint.
    pub ect1: VarInt,
    /// Packets received with the ECN-CE codepoint.
    pub ce: VarInt,
}

/// A decoded ACK frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The largest packet number acknowledged.
    pub largest: VarInt,
    /// The ACK Delay field, in units of 2^ack_delay_exponent microseconds.
    pub delay: VarInt,
    /// The ECN counts, present in frames of type 0x03.
    pub ecn: Option<EcnCounts>,
    first_range: u64,
    range_count: u64,
    /// The (Gap, ACK Range Length) pairs after the first range, as received.
    range_bytes: &'a [u8],
}

/// ACK ranges handed to [`encode_ack`] were not descending and separated by gaps.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ACK ranges must be non-empty, descending and separated by at least one packet")]
pub struct InvalidAckRanges;

impl<'a> Ack<'a> {
    pub(super) fn decode(ty: FrameType, r: &mut Reader<'a>) -> Result<Self, TransportError> {
        let err = |reason| TransportError::frame_encoding(ty, reason);
        let truncated = |_| err("truncated ACK frame");
        let largest = r.varint().map_err(truncated)?;
        let delay = r.varint().map_err(truncated)?;
        let range_count = r.varint().map_err(truncated)?.into_inner();
        let first_range = r.varint().map_err(truncated)?.into_inner();
        let mut smallest = largest
            .into_inner()
            .checked_sub(first_range)
            .ok_or(err("first ACK range below packet number 0"))?;
        let start = r.peek_rest();
        // Each pass consumes at least two bytes, so a huge count ends with the input.
        for _ in 0..range_count {
            let gap = r.varint().map_err(truncated)?.into_inner();
            let len = r.varint().map_err(truncated)?.into_inner();
            smallest = smallest
                .checked_sub(gap)
                .and_then(|s| s.checked_sub(2))
                .and_then(|l| l.checked_sub(len))
                .ok_or(err("ACK range below packet number 0"))?;
        }
        let range_bytes = &start[..start.len() - r.remaining()];
        let ecn = if ty == FrameType::ACK_ECN {
            Some(EcnCounts {
                ect0: r.varint().map_err(truncated)?,
                ect1: r.varint().map_err(truncated)?,
                ce: r.varint().map_err(truncated)?,
            })
        } else {
            None
        };
        Ok(Self {
            largest,
            delay,
            ecn,
            first_range,
            range_count,
            range_bytes,
        })
    }

    /// The acknowledged ranges, largest first.
    pub fn ranges(&self) -> AckRanges<'a> {
        let largest = self.largest.into_inner();
        AckRanges {
            next: Some(largest - self.first_range..=largest),
            reader: Reader::new(self.range_bytes),
        }
    }

    /// The number of ranges, the first included.
    pub const fn range_count(&self) -> u64 {
        self.range_count + 1
    }

    /// The frame type this frame is sent as.
    pub const fn ty(&self) -> FrameType {
        if self.ecn.is_some() {
            FrameType::ACK_ECN
        } else {
            FrameType::ACK
        }
    }

    pub(super) fn encode<B: BufMut>(&self, out: &mut B) {
        VarInt::saturating(self.ty().0).encode(out);
        self.largest.encode(out);
        self.delay.encode(out);
        VarInt::saturating(self.range_count).encode(out);
        VarInt::saturating(self.first_range).encode(out);
        out.put_slice(self.range_bytes);
        if let Some(ecn) = &self.ecn {
            encode_ecn(ecn, out);
        }
    }

    pub(super) fn encoded_len(&self) -> usize {
        1 + self.largest.size()
            + self.delay.size()
            + VarInt::size_of(self.range_count)
            + VarInt::size_of(self.first_range)
            + self.range_bytes.len()
            + self.ecn.as_ref().map_or(0, ecn_len)
    }
}

/// An iterator over the ranges of an [`Ack`], largest first.
#[derive(Clone, Debug)]
pub struct AckRanges<'a> {
    next: Option<RangeInclusive<u64>>,
    reader: Reader<'a>,
}

impl Iterator for AckRanges<'_> {
    type Item = RangeInclusive<u64>;

    fn next(&mut self) -> Option<Self::Item> {
        let current = self.next.take()?;
        // The ranges were validated when the frame was decoded, so these cannot fail; if
        // they did, iteration would simply end.
        if !self.reader.is_empty() {
            let gap = self.reader.varint().ok()?.into_inner();
            let len = self.reader.varint().ok()?.into_inner();
            let largest = current.start().checked_sub(gap)?.checked_sub(2)?;
            self.next = Some(largest.checked_sub(len)?..=largest);
        }
        Some(current)
    }
}

/// Writes an ACK frame for `ranges` (largest first, disjoint, with at least one missing
/// packet between neighbours), with type 0x03 when `ecn` is given.
pub fn encode_ack<B: BufMut>(
    out: &mut B,
    ranges: &[RangeInclusive<u64>],
    delay: VarInt,
    ecn: Option<&EcnCounts>,
) -> Result<(), InvalidAckRanges> {
    encode_ack_ranges(out, ranges.iter().cloned(), delay, ecn)
}

/// [`encode_ack`] for ranges from an iterator (walked twice: to validate, then to write),
/// so a receive record can be written without collecting its ranges.
pub fn encode_ack_ranges<B: BufMut, I>(
    out: &mut B,
    ranges: I,
    delay: VarInt,
    ecn: Option<&EcnCounts>,
) -> Result<(), InvalidAckRanges>
where
    I: Iterator<Item = RangeInclusive<u64>> + Clone,
{
    let (AckShape { first, count }, fields) = ack_fields(ranges)?;
    VarInt::from_u32(if ecn.is_some() { 0x03 } else { 0x02 }).encode(out);
    VarInt::saturating(*first.end()).encode(out);
    delay.encode(out);
    VarInt::saturating(count as u64 - 1).encode(out);
    VarInt::saturating(first.end() - first.start()).encode(out);
    for (gap, len) in fields {
        VarInt::saturating(gap).encode(out);
        VarInt::saturating(len).encode(out);
    }
    if let Some(ecn) = ecn {
        encode_ecn(ecn, out);
    }
    Ok(())
}

/// The length [`encode_ack`] would write.
pub fn ack_encoded_len(
    ranges: &[RangeInclusive<u64>],
    delay: VarInt,
    ecn: Option<&EcnCounts>,
) -> Result<usize, InvalidAckRanges> {
    ack_ranges_encoded_len(ranges.iter().cloned(), delay, ecn)
}

/// The length [`encode_ack_ranges`] would write.
pub fn ack_ranges_encoded_len<I>(
    ranges: I,
    delay: VarInt,
    ecn: Option<&EcnCounts>,
) -> Result<usize, InvalidAckRanges>
where
    I: Iterator<Item = RangeInclusive<u64>> + Clone,
{
    let (AckShape { first, count }, fields) = ack_fields(ranges)?;
    let body: usize = fields
        .map(|(gap, len)| VarInt::size_of(gap) + VarInt::size_of(len))
        .sum();
    Ok(1 + VarInt::size_of(*first.end())
        + delay.size()
        + VarInt::size_of(count as u64 - 1)
        + VarInt::size_of(first.end() - first.start())
        + body
        + ecn.map_or(0, ecn_len))
}

/// The first (largest) range of a validated ACK and how many ranges it has.
struct AckShape {
    first: RangeInclusive<u64>,
    count: usize,
}

/// Validates `ranges` and returns their shape and the (Gap, ACK Range Length) field values
/// after the first.
fn ack_fields<I>(
    ranges: I,
) -> Result<(AckShape, impl Iterator<Item = (u64, u64)>), InvalidAckRanges>
where
    I: Iterator<Item = RangeInclusive<u64>> + Clone,
{
    let mut walk = ranges.clone();
    let first = walk.next().ok_or(InvalidAckRanges)?;
    let max = VarInt::MAX.into_inner();
    if first.start() > first.end() || *first.end() > max {
        return Err(InvalidAckRanges);
    }
    let mut count = 1;
    let mut hi = first.clone();
    for lo in walk {
        if lo.start() > lo.end() || lo.end().checked_add(2).is_none_or(|e| e > *hi.start()) {
            return Err(InvalidAckRanges);
        }
        count += 1;
        hi = lo;
    }
    let mut rest = ranges;
    let mut prev = rest.next().expect("checked above");
    let fields = rest.map(move |lo| {
        let field = (prev.start() - lo.end() - 2, lo.end() - lo.start());
        prev = lo;
        field
    });
    Ok((AckShape { first, count }, fields))
}

fn encode_ecn<B: BufMut>(ecn: &EcnCounts, out: &mut B) {
    ecn.ect0.encode(out);
    ecn.ect1.encode(out);
    ecn.ce.encode(out);
}

fn ecn_len(ecn: &EcnCounts) -> usize {
    ecn.ect0.size() + ecn.ect1.size() + ecn.ce.size()
}
