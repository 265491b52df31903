//! A deterministic network simulator: two endpoints joined by two [`LinkConfig`] links on
//! virtual time, every random choice drawn from one seed. The same seed gives the same
//! trace (checked by `sim_same_seed_same_trace`).
//!
//! The [`Pair`] moves datagrams between a client and a server endpoint and advances time
//! to the next event (a datagram's arrival or a connection deadline). Scenarios drive the
//! application through the connections between steps.

mod link;
#[cfg(test)]
pub(crate) mod scenarios;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use link::{LinkConfig, LinkEcn, LinkStats};

use crate::conn::{Connection, ConnectionConfig, FixedSecretDriver};
use crate::crypto::CipherSuite;
use crate::endpoint::{ConnectionHandle, EndpointConfig, ServerConfig};
use crate::host::Host;
use crate::rng::SeededRandom;
use crate::time::Timestamp;
use crate::Side;
use link::Link;

/// Writes as much of `data[*written..]` to stream `id` as the connection takes now (with
/// the FIN once all of it is in), advancing `written`: the sending half of every transfer
/// scenario.
pub fn write_pending(conn: &mut Connection, id: crate::StreamId, data: &[u8], written: &mut usize) {
    while *written < data.len() {
        match conn.write(id, &data[*written..], true) {
            Ok(0) | Err(_) => break,
            Ok(n) => *written += n,
        }
    }
}

/// The most loop iterations a run may take before it is declared stuck.
const MAX_STEPS: u64 = 2_000_000;

/// A client and a server endpoint on a simulated network.
pub struct Pair {
    /// The client endpoint.
    pub client: Host,
    /// The server endpoint.
    pub server: Host,
    /// The client's address.
    pub client_addr: SocketAddr,
    /// The server's address.
    pub server_addr: SocketAddr,
    /// Virtual time.
    pub now: Timestamp,
    c2s: Link,
    s2c: Link,
    /// A running hash of every datagram in either direction, for determinism checks.
    pub trace: u64,
    /// Bytes the server received from and sent to the client address (for the
    /// anti-amplification check).
    pub server_rx: u64,
    /// See `server_rx`.
    pub server_tx: u64,
    /// Bytes the server sent to addresses other than the client's (spoofed sources).
    pub server_tx_elsewhere: u64,
    /// Set to check, at every step, that an unvalidated server sends at most 3x what it
    /// received; a violation is recorded here.
    pub amplification_violation: Option<(u64, u64)>,
    steps: u64,
}

/// Pieces to build a pair from.
#[derive(Clone)]
pub struct PairConfig {
    /// The seed for links and endpoints.
    pub seed: u64,
    /// Client to server.
    pub c2s: LinkConfig,
    /// Server to client.
    pub s2c: LinkConfig,
    /// The client's connection settings.
    pub client: ConnectionConfig,
    /// The server's connection settings.
    pub server: ConnectionConfig,
    /// The cipher suite of the fixed-secret handshake.
    pub suite: CipherSuite,
    /// The server's stateless-reset key (drawn from the seed when `None`).
    pub server_reset_key: Option<crate::reset::ResetKey>,
}

impl PairConfig {
    /// Defaults with `seed`, the same link both ways.
    pub fn new(seed: u64, link: LinkConfig) -> Self {
        Self {
            seed,
            c2s: link.clone(),
            s2c: link,
            client: ConnectionConfig::default(),
            server: ConnectionConfig::default(),
            suite: CipherSuite::Aes128GcmSha256,
            server_reset_key: None,
        }
    }

    /// The server settings of [`Pair::new`]: the fixed-secret driver and room for every
    /// connection.
    pub fn server_config(&self) -> ServerConfig {
        let suite = self.suite;
        ServerConfig::new(
            self.server.clone(),
            Arc::new(move || Box::new(FixedSecretDriver::new(Side::Server, suite))),
        )
    }

    /// A server endpoint as [`Pair::new`] makes it, with randomness from `seed`.
    pub fn server_endpoint(&self, seed: u64) -> Host {
        Host::new(
            EndpointConfig {
                server: Some(self.server_config()),
                reset_key: self.server_reset_key.clone(),
                ..EndpointConfig::default()
            },
            Box::new(SeededRandom::new(seed)),
        )
    }
}

impl Pair {
    /// A pair whose server uses the fixed-secret driver.
    pub fn new(cfg: &PairConfig) -> Self {
        Self::with_server(cfg, cfg.server_config())
    }

    /// A pair with the given server settings.
    pub fn with_server(cfg: &PairConfig, server: ServerConfig) -> Self {
        let mut rng = SeededRandom::new(cfg.seed);
        let client = Host::new(
            EndpointConfig::default(),
            Box::new(SeededRandom::new(rng.next_u64())),
        );
        let server = Host::new(
            EndpointConfig {
                server: Some(server),
                reset_key: cfg.server_reset_key.clone(),
                ..EndpointConfig::default()
            },
            Box::new(SeededRandom::new(rng.next_u64())),
        );
        Self {
            client,
            server,
            client_addr: "10.0.0.1:4433".parse().expect("literal"),
            server_addr: "10.0.0.2:443".parse().expect("literal"),
            now: Timestamp::ZERO,
            c2s: Link::new(cfg.c2s.clone(), rng.next_u64()),
            s2c: Link::new(cfg.s2c.clone(), rng.next_u64()),
            trace: 0xcbf2_9ce4_8422_2325,
            server_rx: 0,
            server_tx: 0,
            server_tx_elsewhere: 0,
            amplification_violation: None,
            steps: 0,
        }
    }

    /// Opens a client connection with the fixed-secret driver.
    pub fn connect(&mut self, cfg: &PairConfig) -> ConnectionHandle {
        let driver = Box::new(FixedSecretDriver::new(Side::Client, cfg.suite));
        self.client
            .connect(self.now, self.server_addr, cfg.client.clone(), driver)
            .expect("client connection")
    }

    /// The client's connection.
    pub fn client_conn(&mut self, h: ConnectionHandle) -> &mut Connection {
        self.client.connection(h).expect("client connection exists")
    }

    /// The server's first accepted connection, if any.
    pub fn server_conn(&mut self) -> Option<&mut Connection> {
        let h = *self.server.handles().first()?;
        self.server.connection(h)
    }

    fn mix(&mut self, d: &[u8]) {
        for b in d {
            self.trace = (self.trace ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        self.trace =
            (self.trace ^ self.now.as_duration().as_nanos() as u64).wrapping_mul(0x100_0000_01b3);
    }

    /// One step: due timers, arrivals, transmissions, then time moves to the next event.
    /// Returns false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        if self.steps >= MAX_STEPS {
            let mut state = String::new();
            for h in self.client.handles() {
                state += &format!(
                    "\nclient {}",
                    self.client.connection(h).expect("live").debug_timers()
                );
            }
            for h in self.server.handles() {
                state += &format!(
                    "\nserver {}",
                    self.server.connection(h).expect("live").debug_timers()
                );
            }
            panic!("simulation stuck at {:?}:{state}", self.now);
        }
        let now = self.now;
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        while let Some((mut d, ecn)) = self.c2s.recv(now) {
            self.mix(&d);
            self.server_rx += d.len() as u64;
            self.server.handle(now, self.client_addr, ecn, &mut d);
        }
        while let Some((mut d, ecn)) = self.s2c.recv(now) {
            self.mix(&d);
            self.client.handle(now, self.server_addr, ecn, &mut d);
        }
        let mut buf = Vec::with_capacity(1500);
        loop {
            buf.clear();
            let Some((_, t)) = self.client.poll_transmit(now, &mut buf) else {
                break;
            };
            self.c2s.send(now, buf[..t.size].to_vec(), t.ecn);
        }
        loop {
            buf.clear();
            let Some((h, t)) = self.server.poll_transmit(now, &mut buf) else {
                break;
            };
            if t.destination != self.client_addr {
                // To a host that is not on this network (a spoofed source address).
                self.server_tx_elsewhere += t.size as u64;
                continue;
            }
            self.server_tx += t.size as u64;
            let validated = h
                .and_then(|h| self.server.get(h))
                .is_none_or(|c| c.is_validated());
            if !validated
                && self.server_tx > 3 * self.server_rx
                && self.amplification_violation.is_none()
            {
                self.amplification_violation = Some((self.server_rx, self.server_tx));
            }
            self.s2c.send(now, buf[..t.size].to_vec(), t.ecn);
        }
        let next = [
            self.client.poll_timeout(),
            self.server.poll_timeout(),
            self.c2s.next_arrival(),
            self.s2c.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) => {
                self.now = t.max(now + Duration::from_nanos(1));
                true
            }
            None => false,
        }
    }

    /// Steps until `done` holds or `limit` of virtual time passes; returns whether `done`
    /// held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            if !self.step() {
                return done(self);
            }
            // Time jumped to the next event; nothing happened at it yet, so a run that
            // ends earlier can stop at its end.
            self.now = self.now.min(end);
        }
        done(self)
    }

    /// What the client-to-server link did.
    pub fn c2s_stats(&self) -> &LinkStats {
        &self.c2s.stats
    }

    /// What the server-to-client link did.
    pub fn s2c_stats(&self) -> &LinkStats {
        &self.s2c.stats
    }

    /// Changes the client-to-server link.
    pub fn c2s_config(&mut self) -> &mut LinkConfig {
        &mut self.c2s.config
    }

    /// Changes the server-to-client link.
    pub fn s2c_config(&mut self) -> &mut LinkConfig {
        &mut self.s2c.config
    }
}
