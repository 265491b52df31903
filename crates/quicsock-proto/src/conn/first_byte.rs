//! The bits of a packet's first byte a connection chooses: the QUIC bit, greased toward a
//! peer that allows it (RFC 9287 §3), and the latency spin bit (RFC 9000 §17.4).
//!
//! - **QUIC bit.** We advertise grease_quic_bit by default
//!   ([`TransportParameters::grease_quic_bit`](crate::transport_params::TransportParameters)),
//!   and then accept packets with the bit cleared; without it such packets are discarded
//!   (RFC 9000 §17.2). Once the peer's transport parameters arrive with grease_quic_bit,
//!   every packet we send carries an unpredictable QUIC bit (RFC 9287 §3.1). A server has
//!   them before it sends anything, so all of its packets are greased; a client greases
//!   from its first packet after the server's EncryptedExtensions.
//! - **Spin bit.** A connection spins unless configured not to, and in any case for a
//!   random one in 16 connections (RFC 9000 §17.4: "at least one in every 16"). The
//!   server echoes the spin value of the client's packet with the largest packet number;
//!   the client sends the inverse of the server's. A connection that does not spin sends
//!   a random value in each packet and ignores what it receives.
//!
//! The random bits come from the connection's CSPRNG, 64 at a time.

use crate::rng::Random;
use crate::Side;

/// The first-byte bits one connection sends.
#[derive(Debug)]
pub(crate) struct FirstByte {
    /// The peer advertised grease_quic_bit.
    grease: bool,
    /// This connection takes part in the spin (decided when it is created).
    spinning: bool,
    /// The spin value we send while spinning.
    spin: bool,
    /// Random bits not used yet, and how many.
    random: u64,
    left: u32,
}

impl FirstByte {
    /// Decides whether a connection spins: `enabled` by configuration, less a random one in
    /// 16.
    pub(crate) fn new(enabled: bool, rng: &mut dyn Random) -> Self {
        let mut b = [0u8; 1];
        rng.fill(&mut b);
        Self {
            grease: false,
            spinning: enabled && b[0] & 0x0f != 0,
            spin: false,
            random: 0,
            left: 0,
        }
    }

    /// The peer's transport parameters arrived.
    pub(crate) fn set_peer_grease(&mut self, grease_quic_bit: bool) {
        self.grease = grease_quic_bit;
    }

    /// Whether this connection spins.
    pub(crate) fn spinning(&self) -> bool {
        self.spinning
    }

    /// The QUIC bit of the next packet.
    pub(crate) fn quic_bit(&mut self, rng: &mut dyn Random) -> bool {
        !self.grease || self.random_bit(rng)
    }

    /// The spin bit of the next 1-RTT packet.
    pub(crate) fn spin_bit(&mut self, rng: &mut dyn Random) -> bool {
        if self.spinning {
            self.spin
        } else {
            self.random_bit(rng)
        }
    }

    /// A 1-RTT packet with the largest packet number so far arrived with spin bit `spin`.
    pub(crate) fn on_largest(&mut self, side: Side, spin: bool) {
        if self.spinning {
            self.spin = match side {
                Side::Server => spin,
                Side::Client => !spin,
            };
        }
    }

    fn random_bit(&mut self, rng: &mut dyn Random) -> bool {
        if self.left == 0 {
            self.random = rng.next_u64();
            self.left = 64;
        }
        let bit = self.random & 1 != 0;
        self.random >>= 1;
        self.left -= 1;
        bit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SystemRandom;

    /// About one connection in 16 does not spin, whatever the configuration says; none
    /// spins when configured off.
    #[test]
    fn one_in_sixteen_connections_does_not_spin() {
        let mut rng = SystemRandom;
        let off = (0..16_000)
            .filter(|_| !FirstByte::new(true, &mut rng).spinning())
            .count();
        // 1,000 expected; the binomial standard deviation is 31.
        assert!((800..=1200).contains(&off), "{off} of 16,000 do not spin");
        assert!((0..100).all(|_| !FirstByte::new(false, &mut rng).spinning()));
    }

    /// The server echoes the client's spin, the client inverts the server's; a connection
    /// that does not spin ignores what it receives.
    #[test]
    fn the_spin_follows_the_peer() {
        let mut rng = SystemRandom;
        let mut spinning = |side| loop {
            let f = FirstByte::new(true, &mut rng);
            if f.spinning() {
                return (side, f);
            }
        };
        let (_, mut server) = spinning(Side::Server);
        let (_, mut client) = spinning(Side::Client);
        let mut flips = 0;
        let mut last = client.spin_bit(&mut rng);
        for _ in 0..10 {
            let c = client.spin_bit(&mut rng);
            server.on_largest(Side::Server, c);
            let s = server.spin_bit(&mut rng);
            assert_eq!(s, c);
            client.on_largest(Side::Client, s);
            let next = client.spin_bit(&mut rng);
            assert_eq!(next, !s);
            flips += usize::from(next != last);
            last = next;
        }
        assert_eq!(flips, 10, "the value flips once per round trip");
    }

    /// Toward a peer without grease_quic_bit the QUIC bit is always set; toward one with it,
    /// it takes both values.
    #[test]
    fn the_quic_bit_is_greased_only_toward_a_peer_that_allows_it() {
        let mut rng = SystemRandom;
        let mut f = FirstByte::new(true, &mut rng);
        assert!((0..1000).all(|_| f.quic_bit(&mut rng)));
        f.set_peer_grease(true);
        let set = (0..1000).filter(|_| f.quic_bit(&mut rng)).count();
        assert!((350..=650).contains(&set), "{set} of 1,000 set");
    }
}
