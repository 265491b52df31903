//! The in-memory pipe the data-path tests share: a client and a server endpoint joined
//! in memory (the `pipe` benchmark's exchange, on a virtual clock, one round of delay each
//! way), one stream from client to server.

use std::net::SocketAddr;

use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;

use quicsock_proto::conn::{ConnectionConfig, FixedSecretDriver};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::endpoint::{ConnectionHandle, EndpointConfig, ServerConfig};
use quicsock_proto::host::Host;
use quicsock_proto::rng::SystemRandom;
use quicsock_proto::{Dir, Side, StreamId, Timestamp};

const CLIENT: &str = "10.0.0.1:4433";
const SERVER: &str = "10.0.0.2:443";
/// Virtual time per round of the exchange.
const ROUND: Duration = Duration::from_micros(100);

/// Datagrams sent in one round, delivered in the next: a path with some delay, so data is
/// in flight across rounds as on a real one. Reused buffers: one for the bytes, one for
/// the sizes, and the receive buffer the datagrams are copied into on arrival (as the
/// kernel copies them into the engine's), from which the receiver may keep slices.
#[derive(Default)]
pub(crate) struct Transit {
    bytes: Vec<u8>,
    sizes: Vec<usize>,
    rx: BytesMut,
    pin: u64,
}

impl Transit {
    /// Hands every datagram in transit to `to`, as coming from `from`.
    fn deliver(&mut self, to: &mut Host, from: SocketAddr, now: Timestamp) {
        // A new pin for each fill: the buffer is reused only once nothing holds it.
        self.pin += 1;
        self.rx.extend_from_slice(&self.bytes);
        for &n in &self.sizes {
            to.handle_shared(now, from, None, self.rx.split_to(n), self.pin);
        }
        self.bytes.clear();
        self.sizes.clear();
    }

    /// Takes every datagram `from` has to send now.
    fn take(&mut self, from: &mut Host, now: Timestamp) {
        loop {
            let start = self.bytes.len();
            let Some((_, t)) = from.poll_transmit(now, &mut self.bytes) else {
                return;
            };
            debug_assert_eq!(self.bytes.len(), start + t.size);
            self.sizes.push(t.size);
        }
    }
}

/// Two endpoints in memory with one connection and one stream from client to server.
pub(crate) struct Pipe {
    pub(crate) client: Host,
    pub(crate) server: Host,
    pub(crate) h: ConnectionHandle,
    pub(crate) sh: Option<ConnectionHandle>,
    id: StreamId,
    now: Timestamp,
    c2s: Transit,
    s2c: Transit,
    chunk: Vec<u8>,
    out: Vec<u8>,
}

impl Pipe {
    pub(crate) fn new() -> Self {
        Self::with(|_| {})
    }

    /// As [`new`](Self::new), with both ends' configuration changed by `change`.
    pub(crate) fn with(change: impl FnOnce(&mut ConnectionConfig)) -> Self {
        let mut config = ConnectionConfig {
            pacing: false,
            ..ConnectionConfig::default()
        };
        change(&mut config);
        let suite = CipherSuite::Aes128GcmSha256;
        let server_config = ServerConfig::new(
            config.clone(),
            Arc::new(move || Box::new(FixedSecretDriver::new(Side::Server, suite))),
        );
        let mut client = Host::new(EndpointConfig::default(), Box::new(SystemRandom));
        let server = Host::new(
            EndpointConfig {
                server: Some(server_config),
                ..EndpointConfig::default()
            },
            Box::new(SystemRandom),
        );
        let now = Timestamp::ZERO;
        let h = client
            .connect(
                now,
                SERVER.parse().unwrap(),
                config,
                Box::new(FixedSecretDriver::new(Side::Client, suite)),
            )
            .unwrap();
        let mut pipe = Self {
            client,
            server,
            h,
            sh: None,
            id: StreamId::new(Side::Client, Dir::Bi, 0).unwrap(),
            now,
            c2s: Transit::default(),
            s2c: Transit::default(),
            chunk: vec![0x5a; 64 * 1024],
            out: vec![0; 64 * 1024],
        };
        let mut rounds = 0;
        while !pipe.client.connection(h).unwrap().is_handshake_confirmed() {
            rounds += 1;
            assert!(rounds < 1000, "handshake stuck");
            pipe.round(0, &mut 0, &mut 0);
        }
        pipe.id = pipe
            .client
            .connection(h)
            .unwrap()
            .open_stream(Dir::Bi)
            .unwrap();
        pipe
    }

    /// The virtual time now.
    #[allow(dead_code)] // not every test binary asks
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// One round: what was sent last round arrives, the server reads, the client writes
    /// up to `len` bytes in all, both send, and time moves on.
    pub(crate) fn round(&mut self, len: usize, written: &mut usize, read: &mut usize) {
        let (c, s) = (CLIENT.parse().unwrap(), SERVER.parse().unwrap());
        self.c2s.deliver(&mut self.server, c, self.now);
        self.s2c.deliver(&mut self.client, s, self.now);
        if self.sh.is_none() {
            self.sh = self.server.accept();
        }
        if let Some(conn) = self.sh.and_then(|sh| self.server.connection(sh)) {
            while let Ok(r) = conn.read(self.now, self.id, &mut self.out) {
                if r.len == 0 {
                    break;
                }
                *read += r.len;
            }
        }
        let conn = self.client.connection(self.h).unwrap();
        while *written < len {
            let n = conn
                .write(
                    self.id,
                    &self.chunk[..self.chunk.len().min(len - *written)],
                    false,
                )
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            *written += n;
        }
        self.c2s.take(&mut self.client, self.now);
        self.s2c.take(&mut self.server, self.now);
        self.now += ROUND;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    /// Sends `len` bytes on the stream and reads them at the server.
    pub(crate) fn transfer(&mut self, len: usize) {
        let (mut written, mut read) = (0, 0);
        while read < len {
            self.round(len, &mut written, &mut read);
        }
    }
}
