//! quiche with quicperf's bulk exchange, driven the way quiche's own tools drive it: one
//! thread per side, a loop over one UDP socket with GSO bursts out (up to 64 segments,
//! bounded by `send_quantum`) and GRO batches in, here through quicsock-udp's datapath so
//! that both stacks use the same syscalls.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use quicsock_udp::{RecvMeta, Transmit, UdpSocket, BATCH_SIZE, GRO_BUFFER_SIZE};

use crate::quinn_peer::{pin, MTU};

const ALPN: &[u8] = b"quicperf";
/// The most datagrams in one GSO send.
const GSO_SEGMENTS: usize = 64;

fn config(cert: Option<(&str, &str)>) -> quiche::Config {
    let mut c = quiche::Config::new(quiche::PROTOCOL_VERSION).expect("quiche config");
    match cert {
        Some((cert, key)) => {
            c.load_cert_chain_from_pem_file(cert).expect("cert");
            c.load_priv_key_from_pem_file(key).expect("key");
        }
        None => c.verify_peer(false),
    }
    c.set_application_protos(&[ALPN]).unwrap();
    c.set_max_idle_timeout(30_000);
    c.set_max_recv_udp_payload_size(MTU as usize);
    c.set_max_send_udp_payload_size(MTU as usize);
    c.set_initial_max_data(32 << 20);
    c.set_initial_max_stream_data_bidi_local(16 << 20);
    c.set_initial_max_stream_data_bidi_remote(16 << 20);
    c.set_initial_max_streams_bidi(16);
    c.set_initial_max_streams_uni(16);
    c.set_disable_active_migration(true);
    c
}

/// A connection ID from the system's CSPRNG.
fn new_cid() -> quiche::ConnectionId<'static> {
    let mut id = vec![0u8; quiche::MAX_CONN_ID_LEN];
    quicsock_proto::rng::Random::fill(&mut quicsock_proto::rng::SystemRandom, &mut id);
    quiche::ConnectionId::from_vec(id)
}

/// The socket and its buffers.
struct Io {
    sock: UdpSocket,
    local: SocketAddr,
    rx: Vec<Vec<u8>>,
    meta: Vec<RecvMeta>,
    tx: Vec<u8>,
}

impl Io {
    fn bind() -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        Self {
            sock,
            local,
            rx: vec![vec![0u8; GRO_BUFFER_SIZE]; BATCH_SIZE],
            meta: vec![RecvMeta::default(); BATCH_SIZE],
            tx: vec![0u8; GSO_SEGMENTS * MTU as usize],
        }
    }

    /// Waits at most `timeout` for datagrams, then hands each to `each`; returns how many
    /// came.
    fn receive(
        &mut self,
        timeout: Option<Duration>,
        mut each: impl FnMut(&mut [u8], SocketAddr),
    ) -> usize {
        if timeout != Some(Duration::ZERO)
            && quicsock_udp::wait_any(&[self.sock.as_fd()], timeout).unwrap_or(0) == 0
        {
            return 0;
        }
        let mut got = 0;
        loop {
            let mut bufs: Vec<IoSliceMut<'_>> =
                self.rx.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            let n = match self.sock.recv(&mut bufs, &mut self.meta) {
                Ok(n) => n,
                Err(_) => return got,
            };
            for (buf, m) in self.rx.iter_mut().zip(&self.meta[..n]) {
                let mut off = 0;
                while off < m.len {
                    let len = m.stride.min(m.len - off);
                    each(&mut buf[off..off + len], m.addr);
                    off += len;
                    got += 1;
                }
            }
            if n < BATCH_SIZE {
                return got;
            }
        }
    }

    /// Sends everything the connection has, in GSO bursts of equal-sized datagrams (the
    /// last of a burst may be shorter); returns how many datagrams went out.
    fn flush(&mut self, conn: &mut quiche::Connection) -> usize {
        let mut sent = 0;
        let mtu = MTU as usize;
        loop {
            let quantum = conn.send_quantum().clamp(mtu, self.tx.len()) / mtu;
            let (mut off, mut segment, mut count) = (0, 0, 0);
            let mut dest = None;
            while count < quantum {
                let (n, info) = match conn.send(&mut self.tx[off..off + mtu]) {
                    Ok(x) => x,
                    Err(_) => break,
                };
                if count > 0 && (n > segment || Some(info.to) != dest) {
                    // Does not fit the burst: send the burst, start the next with it.
                    self.send(&self.tx[..off], dest.unwrap(), segment, count);
                    sent += count;
                    self.tx.copy_within(off..off + n, 0);
                    (off, count) = (0, 0);
                }
                if count == 0 {
                    segment = n;
                    dest = Some(info.to);
                }
                off += n;
                count += 1;
                if n < segment {
                    break;
                }
            }
            if count == 0 {
                return sent;
            }
            self.send(&self.tx[..off], dest.unwrap(), segment, count);
            sent += count;
        }
    }

    fn send(&self, data: &[u8], to: SocketAddr, segment: usize, count: usize) {
        let t = Transmit {
            destination: to,
            ecn: None,
            contents: data,
            segment_size: (count > 1).then_some(segment),
            src_ip: None,
        };
        let mut off = 0;
        while off < data.len() {
            let part = Transmit {
                contents: &data[off..],
                ..t.clone()
            };
            match self.sock.send(&part) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let _ = quicsock_udp::wait_writable(&self.sock, Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    }
}

/// The time until `deadline`, if any.
fn until(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Serves quicperf's bulk exchange, one client at a time, until killed.
pub(crate) fn server(cert: &str, key: &str) {
    pin(1);
    let mut cfg = config(Some((cert, key)));
    let mut io = Io::bind();
    println!("listening on {}", io.local);
    let mut conn: Option<quiche::Connection> = None;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut header, mut total) = (0usize, 0u64);
    loop {
        let deadline = conn.as_ref().and_then(|c| c.timeout_instant());
        let local = io.local;
        let got = io.receive(until(deadline), |d, from| {
            if conn.is_none() {
                let Ok(hdr) = quiche::Header::from_slice(d, quiche::MAX_CONN_ID_LEN) else {
                    return;
                };
                if hdr.ty != quiche::Type::Initial {
                    return;
                }
                conn = quiche::accept(&new_cid(), None, local, from, &mut cfg).ok();
                (header, total) = (0, 0);
            }
            if let Some(c) = conn.as_mut() {
                let _ = c.recv(d, quiche::RecvInfo { from, to: local });
            }
        });
        let Some(c) = conn.as_mut() else { continue };
        if got == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            c.on_timeout();
        }
        for id in c.readable() {
            while let Ok((n, fin)) = c.stream_recv(id, &mut buf) {
                let skip = (8 - header).min(n);
                header += skip;
                total += (n - skip) as u64;
                if fin {
                    let _ = c.stream_send(id, &total.to_le_bytes(), true);
                }
            }
        }
        io.flush(c);
        if c.is_closed() {
            conn = None;
        }
    }
}

/// One bulk upload of `time` in `msg_len` writes; the server's goodput in Gbit/s.
pub(crate) fn client(addr: SocketAddr, msg_len: usize, time: Duration) -> f64 {
    pin(0);
    let mut cfg = config(None);
    let mut io = Io::bind();
    let local = io.local;
    let mut c = quiche::connect(Some("localhost"), &new_cid(), local, addr, &mut cfg)
        .expect("quiche connects");
    let recv = |io: &mut Io, c: &mut quiche::Connection, block: bool| {
        let deadline = c.timeout_instant();
        let wait = if block {
            until(deadline)
        } else {
            Some(Duration::ZERO)
        };
        let got = io.receive(wait, |d, from| {
            let _ = c.recv(d, quiche::RecvInfo { from, to: local });
        });
        if got == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            c.on_timeout();
        }
    };
    while !c.is_established() {
        assert!(!c.is_closed(), "quiche handshake failed");
        io.flush(&mut c);
        recv(&mut io, &mut c, true);
    }
    let mut header = [0u8; 8];
    header[4..8].copy_from_slice(&(msg_len as u32).to_le_bytes());
    let msg: Vec<u8> = (0..msg_len).map(|i| (i % 251) as u8).collect();
    let mut pending: &[u8] = &header;
    let mut in_header = true;
    let start = Instant::now();
    while start.elapsed() < time {
        let mut wrote = false;
        loop {
            if pending.is_empty() {
                pending = &msg;
                in_header = false;
            }
            match c.stream_send(0, pending, false) {
                Ok(n) if n > 0 => {
                    pending = &pending[n..];
                    wrote = true;
                }
                _ => break,
            }
        }
        let sent = io.flush(&mut c) > 0;
        recv(&mut io, &mut c, !wrote && !sent);
        assert!(!c.is_closed(), "quiche connection closed");
    }
    assert!(!in_header);
    let _ = c.stream_send(0, b"", true);
    let mut count = Vec::new();
    let mut buf = [0u8; 64];
    while count.len() < 8 {
        io.flush(&mut c);
        recv(&mut io, &mut c, true);
        while let Ok((n, _)) = c.stream_recv(0, &mut buf) {
            count.extend_from_slice(&buf[..n]);
        }
        assert!(!c.is_closed(), "quiche connection closed before the count");
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = c.close(true, 0, b"");
    io.flush(&mut c);
    u64::from_le_bytes(count[..8].try_into().unwrap()) as f64 * 8.0 / secs / 1e9
}
