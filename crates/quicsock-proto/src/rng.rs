//! Randomness as an input: connection IDs, path challenges, token and reset keys draw
//! from a [`Random`] source the caller supplies.
//!
//! The rule: every value an attacker must not guess comes from a CSPRNG. Production uses
//! [`SystemRandom`], the operating system's CSPRNG through aws-lc-rs, for the endpoint and
//! for every connection it makes ([`Random::fork`] of a `SystemRandom` is another
//! `SystemRandom`, never a generator seeded from it). [`SeededRandom`] exists only for the
//! simulator, tests and fuzzing (features `sim` and `fuzzing`), so that one seed gives one
//! trace; production code cannot name it.

/// A source of random bytes.
pub trait Random: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);

    /// A random `u64`.
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// An independent source for a new connection: the same kind of generator, so a
    /// CSPRNG forks into a CSPRNG.
    fn fork(&mut self) -> Box<dyn Random>;
}

/// A connection ID of `len` bytes (at most 20) drawn from `rng`.
pub(crate) fn connection_id(rng: &mut dyn Random, len: usize) -> crate::ConnectionId {
    issued_id(rng, len, None)
}

/// A connection ID we issue: random, except that its first byte is `prefix` when set (the
/// shard of a sharded endpoint, which the kernel's steering program reads).
pub(crate) fn issued_id(
    rng: &mut dyn Random,
    len: usize,
    prefix: Option<u8>,
) -> crate::ConnectionId {
    let mut b = [0; crate::ConnectionId::MAX_LEN];
    let len = len.min(crate::ConnectionId::MAX_LEN);
    rng.fill(&mut b[..len]);
    if let (Some(p), true) = (prefix, len > 0) {
        b[0] = p;
    }
    crate::ConnectionId::from_slice(&b[..len]).expect("at most MAX_LEN")
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // The system RNG failing leaves nothing safe to do.
        aws_lc_rs::rand::fill(buf).expect("system random number generator failed");
    }

    fn fork(&mut self) -> Box<dyn Random> {
        Box::new(Self)
    }
}

/// A deterministic generator (xoshiro256**) for simulations and tests. Not for production:
/// its output is predictable from the seed, and from its first output.
#[cfg(any(test, feature = "sim", feature = "fuzzing"))]
#[derive(Debug, Clone)]
pub struct SeededRandom {
    s: [u64; 4],
}

#[cfg(any(test, feature = "sim", feature = "fuzzing"))]
impl SeededRandom {
    /// A generator from `seed` (expanded with splitmix64).
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
}

#[cfg(any(test, feature = "sim", feature = "fuzzing"))]
impl Random for SeededRandom {
    fn next_u64(&mut self) -> u64 {
        Self::next_u64(self)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn fork(&mut self) -> Box<dyn Random> {
        Box::new(Self::new(Self::next_u64(self)))
    }
}
