//! No allocation per packet in steady state: a client and a server endpoint joined in
//! memory (the `pipe` benchmark's exchange, on a virtual clock, one round of delay each
//! way) move 64 MiB over one stream, and the heap blocks allocated while they do are
//! counted with DHAT's allocator. Sent packets sit in a ring indexed by packet number, a
//! packet's one frame is held inline and further ones in lists from a per-space pool,
//! freed send-buffer chunks serve later writes, received ranges sit in one ring buffer,
//! and datagrams are built into and opened in the caller's buffers: the count is a small
//! constant that does not grow with the transfer. Once the connection is quiet, what the
//! transfer held is given back.
//!
//! A test binary of its own: the allocator is process-wide.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quicsock_proto::conn::{ConnectionConfig, FixedSecretDriver};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::endpoint::{ConnectionHandle, EndpointConfig, ServerConfig};
use quicsock_proto::host::Host;
use quicsock_proto::rng::SystemRandom;
use quicsock_proto::{Dir, Side, StreamId, Timestamp};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CLIENT: &str = "10.0.0.1:4433";
const SERVER: &str = "10.0.0.2:443";
/// Virtual time per round of the exchange.
const ROUND: Duration = Duration::from_micros(100);

/// Datagrams sent in one round, delivered in the next: a path with some delay, so data is
/// in flight across rounds as on a real one. Reused buffers: one for the bytes, one for
/// the sizes.
#[derive(Default)]
struct Transit {
    bytes: Vec<u8>,
    sizes: Vec<usize>,
}

impl Transit {
    /// Hands every datagram in transit to `to`, as coming from `from`.
    fn deliver(&mut self, to: &mut Host, from: SocketAddr, now: Timestamp) {
        let mut at = 0;
        for &n in &self.sizes {
            to.handle(now, from, None, &mut self.bytes[at..at + n]);
            at += n;
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
struct Pipe {
    client: Host,
    server: Host,
    h: ConnectionHandle,
    sh: Option<ConnectionHandle>,
    id: StreamId,
    now: Timestamp,
    c2s: Transit,
    s2c: Transit,
    chunk: Vec<u8>,
    out: Vec<u8>,
}

impl Pipe {
    fn new() -> Self {
        let config = ConnectionConfig {
            pacing: false,
            ..ConnectionConfig::default()
        };
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
        while !pipe.client.connection(h).unwrap().is_handshake_confirmed() {
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

    /// One round: what was sent last round arrives, the server reads, the client writes
    /// up to `len` bytes in all, both send, and time moves on.
    fn round(&mut self, len: usize, written: &mut usize, read: &mut usize) {
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
    fn transfer(&mut self, len: usize) {
        let (mut written, mut read) = (0, 0);
        while read < len {
            self.round(len, &mut written, &mut read);
        }
    }
}

#[test]
fn steady_state_transfer_allocates_a_bounded_number_of_blocks() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut pipe = Pipe::new();
    // Warm up: buffers, rings and pools grow to their working size.
    pipe.transfer(4 << 20);
    let blocks = || dhat::HeapStats::get().total_blocks;
    let before = blocks();
    pipe.transfer(16 << 20);
    let for_16 = blocks() - before;
    let before = blocks();
    pipe.transfer(64 << 20);
    let for_64 = blocks() - before;
    eprintln!("heap blocks allocated: {for_16} for 16 MiB, {for_64} for 64 MiB");
    // 64 MiB is 46,000 packets or more; one allocation each would be that many.
    assert!(for_64 <= 32, "{for_64} heap blocks for 64 MiB");
    assert!(
        for_64 <= for_16 + 8,
        "{for_16} for 16 MiB, {for_64} for 64 MiB"
    );

    // Quiet for a virtual second: the send buffer's chunks (4 MiB), the receive ring (4
    // MiB), the sent ring and the frame lists are given back. (What stays is mostly this
    // test's own datagram buffers.)
    let busy = dhat::HeapStats::get().curr_bytes;
    for _ in 0..10_000 {
        pipe.round(0, &mut 0, &mut 0);
    }
    let quiet = dhat::HeapStats::get().curr_bytes;
    eprintln!("heap bytes held: {busy} after the transfer, {quiet} once quiet");
    assert!(
        busy - quiet >= 7 << 20,
        "{busy} bytes held busy, {quiet} quiet"
    );
}
