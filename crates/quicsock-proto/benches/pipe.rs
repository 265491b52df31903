//! The protocol core's cost per packet, without sockets or threads: a client and a server
//! endpoint joined in memory, the fixed-secret handshake (AES-128-GCM), then one stream
//! carrying `MB` megabytes (default 256) from client to server, ACKs and flow-control credit
//! flowing back. Pacing is off: this measures CPU per packet, not link dynamics. The time
//! each side spends is reported per packet and per KiB.
//!
//! `cargo bench -p quicsock-proto --bench pipe [-- MB [PAYLOAD]]`; under
//! `valgrind --tool=callgrind` it gives instruction counts that repeat exactly.

// A benchmark reads the clock; the protocol core itself never does.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quicsock_proto::conn::{ConnectionConfig, FixedSecretDriver};
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::endpoint::{EndpointConfig, ServerConfig};
use quicsock_proto::host::Host;
use quicsock_proto::rng::SystemRandom;
use quicsock_proto::{Dir, Side, Timestamp};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mb: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(256);
    let payload: u16 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1452);
    let config = ConnectionConfig {
        pacing: false,
        max_datagram_size: payload,
        ..ConnectionConfig::default()
    };
    let suite = CipherSuite::Aes128GcmSha256;
    let server_config = ServerConfig::new(
        config.clone(),
        Arc::new(move || Box::new(FixedSecretDriver::new(Side::Server, suite))),
    );
    let mut client = Host::new(EndpointConfig::default(), Box::new(SystemRandom));
    let mut server = Host::new(
        EndpointConfig {
            server: Some(server_config),
            ..EndpointConfig::default()
        },
        Box::new(SystemRandom),
    );
    let caddr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let saddr: SocketAddr = "127.0.0.1:2".parse().unwrap();
    let epoch = Instant::now();
    let now = || Timestamp::from_duration(epoch.elapsed());
    let h = client
        .connect(
            now(),
            saddr,
            config,
            Box::new(FixedSecretDriver::new(Side::Client, suite)),
        )
        .unwrap();
    // Written in place, as the engine's transmit buffers are.
    let mut buf = vec![0; 64 * 1024];
    // Moves every datagram one endpoint has to the other.
    let pump = |from: &mut Host, to: &mut Host, to_from: SocketAddr, buf: &mut [u8]| {
        while let Some((_, t)) = from.poll_transmit_into(now(), buf) {
            to.handle(now(), to_from, None, &mut buf[..t.size]);
        }
    };
    while !client.connection(h).unwrap().is_handshake_confirmed() {
        pump(&mut client, &mut server, caddr, &mut buf);
        pump(&mut server, &mut client, saddr, &mut buf);
        client.handle_timeout(now());
        server.handle_timeout(now());
    }
    let sh = server.accept().unwrap();
    let id = client.connection(h).unwrap().open_stream(Dir::Bi).unwrap();
    let total = mb << 20;
    let chunk = vec![0x5au8; 64 * 1024];
    let mut out = vec![0u8; 64 * 1024];
    let (mut written, mut read, mut packets) = (0usize, 0usize, 0usize);
    let (mut t_send, mut t_recv) = (Duration::ZERO, Duration::ZERO);
    let start = Instant::now();
    while read < total {
        // The sender queues what fits and builds and seals every packet congestion control
        // allows; each goes straight to the receiver, which opens and reassembles it.
        let t = Instant::now();
        let c = client.connection(h).unwrap();
        while written < total {
            let n = c
                .write(id, &chunk[..chunk.len().min(total - written)], false)
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            written += n;
        }
        t_send += t.elapsed();
        loop {
            let t = Instant::now();
            let Some((_, tx)) = client.poll_transmit_into(now(), &mut buf) else {
                t_send += t.elapsed();
                break;
            };
            let t1 = Instant::now();
            t_send += t1 - t;
            server.handle(now(), caddr, None, &mut buf[..tx.size]);
            t_recv += t1.elapsed();
            packets += 1;
        }
        // The receiver reads, then sends ACKs and credit, which the sender processes.
        let t = Instant::now();
        let s = server.connection(sh).unwrap();
        while let Ok(r) = s.read(now(), id, &mut out) {
            if r.len == 0 {
                break;
            }
            read += r.len;
        }
        t_recv += t.elapsed();
        loop {
            let t = Instant::now();
            let Some((_, tx)) = server.poll_transmit_into(now(), &mut buf) else {
                t_recv += t.elapsed();
                break;
            };
            let t1 = Instant::now();
            t_recv += t1 - t;
            client.handle(now(), saddr, None, &mut buf[..tx.size]);
            t_send += t1.elapsed();
        }
        client.handle_timeout(now());
        server.handle_timeout(now());
    }
    let wall = start.elapsed();
    let per_packet = |d: Duration| d.as_nanos() as f64 / packets as f64;
    let per_kib = |d: Duration| d.as_nanos() as f64 / (total as f64 / 1024.0);
    println!(
        "{mb} MiB in {packets} packets of {payload} bytes, {wall:?}: {:.2} Gbit/s on one core",
        total as f64 * 8.0 / wall.as_secs_f64() / 1e9
    );
    println!(
        "sender   {:>7.0} ns/packet  {:>6.0} ns/KiB (write, build, seal, ACK processing)",
        per_packet(t_send),
        per_kib(t_send)
    );
    println!(
        "receiver {:>7.0} ns/packet  {:>6.0} ns/KiB (open, reassemble, read, ACK and credit)",
        per_packet(t_recv),
        per_kib(t_recv)
    );
}
