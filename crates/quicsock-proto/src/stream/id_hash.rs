//! A cheap hasher for the stream table. Stream IDs are small sequential integers and a
//! peer can only create as many as the stream limits we advertise allow, so a table keyed
//! by them cannot be flooded; SipHash's cost per lookup (several per packet) buys nothing
//! here. Keys hash by one multiplication, folded so that both the low bits (bucket) and the
//! high bits (control byte) vary.

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher; see the module docs.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct IdHasher(u64);

/// Builds [`IdHasher`]s.
pub(crate) type IdHash = BuildHasherDefault<IdHasher>;

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    #[test]
    fn sequential_ids_spread_over_buckets() {
        // Client bidirectional IDs step by 4: their low bits must still differ.
        let buckets: HashSet<u64> = (0..1024u64)
            .map(|i| IdHash::default().hash_one(i * 4) & 1023)
            .collect();
        assert!(
            buckets.len() > 600,
            "{} of 1024 buckets used",
            buckets.len()
        );
        let tops: HashSet<u64> = (0..1024u64)
            .map(|i| IdHash::default().hash_one(i * 4) >> 57)
            .collect();
        assert!(tops.len() > 100, "{} control-byte values", tops.len());
    }
}
