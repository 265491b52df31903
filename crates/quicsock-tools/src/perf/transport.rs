//! The three transports quicperf measures, behind one byte-stream interface: QUIC
//! (quicsock, one bidirectional stream), plain TCP, and TLS 1.3 over TCP (rustls, the same
//! certificate and cipher suites as QUIC).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use quicsock::{Flags, QuicListener, QuicSocket};

use super::{PerfError, Proto, Tls};

/// A connected byte stream: what the measurements need of each transport.
pub(crate) trait Conn: Send {
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Reads some bytes; 0 at the end of the stream.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Ends our direction: the peer reads end of file after what was written.
    fn finish(&mut self) -> io::Result<()>;

    /// Sends each write at once (`TCP_NODELAY`) instead of the kernel default (Nagle's
    /// algorithm): for request/response, as such applications set it. QUIC has no such
    /// delay to turn off.
    fn set_nodelay(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Whether the connection's packets travel unencrypted (QUIC with
    /// disable_1rtt_encryption agreed by both ends).
    fn is_plaintext(&self) -> bool {
        false
    }

    /// The QUIC connection's counters and estimates.
    fn stats(&self) -> Option<quicsock::ConnectionStats> {
        None
    }

    /// Both directions at once (`--bidir`): writes `msg` again and again while `more` says
    /// so (given the bytes written) and the peer has not ended its direction, then ends
    /// ours; meanwhile reads and counts what arrives until the peer ends its own. Returns
    /// the bytes written, and the bytes read by the time the writing stopped.
    fn both_ways(
        &mut self,
        _msg: &[u8],
        _more: &(dyn Fn(u64) -> bool + Sync),
    ) -> io::Result<(u64, u64)> {
        Err(io::Error::other("--bidir needs QUIC or TCP"))
    }

    /// Opens `n` more streams (QUIC only), numbered from 1 for
    /// [`write_on`](Self::write_on) and [`finish_on`](Self::finish_on).
    fn open_streams(&mut self, _n: usize) -> io::Result<()> {
        Err(io::Error::other("parallel streams need QUIC"))
    }

    /// Writes all of `buf` on stream `k` (0: the first).
    fn write_on(&mut self, k: usize, buf: &[u8]) -> io::Result<()> {
        debug_assert_eq!(k, 0);
        self.write_all(buf)
    }

    /// Ends stream `k`.
    fn finish_on(&mut self, k: usize) -> io::Result<()> {
        debug_assert_eq!(k, 0);
        self.finish()
    }

    /// Reads exactly `buf.len()` bytes.
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut off = 0;
        while off < buf.len() {
            match self.read(&mut buf[off..])? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => off += n,
            }
        }
        Ok(())
    }
}

/// QUIC: the client's first bidirectional stream, stream 0, and any more it opened.
pub(crate) struct QuicConn {
    sock: QuicSocket,
    ended: bool,
    /// Streams opened after stream 0.
    more: Vec<i64>,
}

impl Conn for QuicConn {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sock.send(buf, 0, Flags::NONE)?;
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let (n, fin) = self.sock.recv_stream(0, buf, Flags::NONE)?;
        self.ended = fin;
        Ok(n)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.sock.send(&[], 0, Flags::STREAM_FIN)?;
        Ok(())
    }

    fn is_plaintext(&self) -> bool {
        self.sock.is_1rtt_plaintext()
    }

    fn stats(&self) -> Option<quicsock::ConnectionStats> {
        Some(self.sock.stats())
    }

    fn both_ways(
        &mut self,
        msg: &[u8],
        more: &(dyn Fn(u64) -> bool + Sync),
    ) -> io::Result<(u64, u64)> {
        let sock = &self.sock;
        let read = AtomicU64::new(0);
        let peer_done = AtomicBool::new(false);
        let (written, read_then) = std::thread::scope(|s| -> io::Result<(u64, u64)> {
            let reader = s.spawn(|| -> io::Result<()> {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let (n, fin) = sock.recv_stream(0, &mut buf, Flags::NONE)?;
                    read.fetch_add(n as u64, Ordering::Relaxed);
                    if fin {
                        peer_done.store(true, Ordering::Relaxed);
                        return Ok(());
                    }
                }
            });
            let mut written = 0u64;
            while !peer_done.load(Ordering::Relaxed) && more(written) {
                sock.send(msg, 0, Flags::NONE)?;
                written += msg.len() as u64;
            }
            let read_then = read.load(Ordering::Relaxed);
            sock.send(&[], 0, Flags::STREAM_FIN)?;
            reader
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("reader panicked")))?;
            Ok((written, read_then))
        })?;
        self.ended = true;
        Ok((written, read_then))
    }

    fn open_streams(&mut self, n: usize) -> io::Result<()> {
        for _ in 0..n {
            self.more.push(self.sock.open_stream(Flags::NONE)?);
        }
        Ok(())
    }

    fn write_on(&mut self, k: usize, buf: &[u8]) -> io::Result<()> {
        let id = if k == 0 { 0 } else { self.more[k - 1] };
        self.sock.send(buf, id, Flags::NONE)?;
        Ok(())
    }

    fn finish_on(&mut self, k: usize) -> io::Result<()> {
        let id = if k == 0 { 0 } else { self.more[k - 1] };
        self.sock.send(&[], id, Flags::STREAM_FIN)?;
        Ok(())
    }
}

impl Conn for TcpStream {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(self, buf)
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }

    fn set_nodelay(&mut self) -> io::Result<()> {
        Self::set_nodelay(self, true)
    }

    fn both_ways(
        &mut self,
        msg: &[u8],
        more: &(dyn Fn(u64) -> bool + Sync),
    ) -> io::Result<(u64, u64)> {
        let mut rx = self.try_clone()?;
        let read = AtomicU64::new(0);
        let peer_done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| -> io::Result<()> {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    match Read::read(&mut rx, &mut buf)? {
                        0 => {
                            peer_done.store(true, Ordering::Relaxed);
                            return Ok(());
                        }
                        n => read.fetch_add(n as u64, Ordering::Relaxed),
                    };
                }
            });
            let mut written = 0u64;
            while !peer_done.load(Ordering::Relaxed) && more(written) {
                Write::write_all(self, msg)?;
                written += msg.len() as u64;
            }
            let read_then = read.load(Ordering::Relaxed);
            self.shutdown(std::net::Shutdown::Write)?;
            reader
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("reader panicked")))?;
            Ok((written, read_then))
        })
    }
}

/// TLS over TCP, either side (`C` is rustls's client or server connection).
pub(crate) struct TlsConn<C> {
    tls: rustls::StreamOwned<C, TcpStream>,
}

impl<C, S> Conn for TlsConn<C>
where
    C: std::ops::DerefMut + std::ops::Deref<Target = rustls::ConnectionCommon<S>> + Send,
    S: rustls::SideData,
{
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(&mut self.tls, buf)
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(&mut self.tls, buf)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.tls.conn.send_close_notify();
        Write::flush(&mut self.tls)
    }

    fn set_nodelay(&mut self) -> io::Result<()> {
        self.tls.sock.set_nodelay(true)
    }
}

/// A bound server of one protocol.
pub(crate) enum Server {
    Quic(QuicListener),
    Tcp(TcpListener, Option<Arc<rustls::ServerConfig>>),
}

impl Server {
    pub(crate) fn bind(
        proto: Proto,
        addr: SocketAddr,
        tls: &Tls,
        shards: Option<usize>,
    ) -> Result<Self, PerfError> {
        Ok(match proto {
            Proto::Quic => {
                let mut config = quicsock::ServerConfig::new(tls.server.clone());
                config.transport.max_datagram_size = tls.mtu;
                config.transport.pmtud = tls.pmtu_config();
                config.transport.transport.disable_1rtt_encryption = tls.no_crypt;
                if let Some(n) = shards {
                    config.shards = n;
                }
                Self::Quic(
                    QuicListener::bind(addr, &config)
                        .map_err(|e| PerfError::Bind(addr, e.into()))?,
                )
            }
            Proto::Tcp => Self::Tcp(
                TcpListener::bind(addr).map_err(|e| PerfError::Bind(addr, e))?,
                None,
            ),
            Proto::Tls => Self::Tcp(
                TcpListener::bind(addr).map_err(|e| PerfError::Bind(addr, e))?,
                Some(tls.server.clone()),
            ),
        })
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Quic(l) => Ok(l.local_addr()?),
            Self::Tcp(l, _) => l.local_addr(),
        }
    }

    /// The next connection, and its peer's address.
    pub(crate) fn accept(&self) -> io::Result<(Box<dyn Conn>, SocketAddr)> {
        match self {
            Self::Quic(l) => {
                let sock = l.accept()?;
                let peer = sock.peer_addr()?;
                Ok((
                    Box::new(QuicConn {
                        sock,
                        ended: false,
                        more: Vec::new(),
                    }),
                    peer,
                ))
            }
            Self::Tcp(l, tls) => {
                // Kernel defaults (Nagle on) until the client asks for request/response.
                let (tcp, peer) = l.accept()?;
                let conn: Box<dyn Conn> = match tls {
                    None => Box::new(tcp),
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config.clone())
                            .map_err(io::Error::other)?;
                        Box::new(TlsConn {
                            tls: rustls::StreamOwned::new(conn, tcp),
                        })
                    }
                };
                Ok((conn, peer))
            }
        }
    }
}

/// Connects with `proto`.
pub(crate) fn connect(
    proto: Proto,
    addr: SocketAddr,
    tls: &Tls,
    timeout: std::time::Duration,
) -> Result<Box<dyn Conn>, PerfError> {
    let refused = |e: io::Error| PerfError::Connect(addr, e);
    Ok(match proto {
        Proto::Quic => {
            let mut config =
                quicsock::ClientConfig::new(tls.client.clone(), tls.server_name.clone());
            config.transport.max_datagram_size = tls.mtu;
            config.transport.pmtud = tls.pmtu_config();
            config.transport.transport.disable_1rtt_encryption = tls.no_crypt;
            config.handshake_timeout = timeout;
            let sock = QuicSocket::connect(addr, &config).map_err(|e| refused(e.into()))?;
            let id = sock
                .open_stream(Flags::NONE)
                .map_err(|e| refused(e.into()))?;
            debug_assert_eq!(id, 0);
            Box::new(QuicConn {
                sock,
                ended: false,
                more: Vec::new(),
            })
        }
        Proto::Tcp | Proto::Tls => {
            // Kernel defaults (Nagle on), as iperf3 uses them; request/response turns
            // Nagle off (`Conn::set_nodelay`).
            let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(refused)?;
            if proto == Proto::Tcp {
                Box::new(tcp)
            } else {
                let name = rustls::pki_types::ServerName::try_from(tls.server_name.clone())
                    .map_err(|_| {
                        PerfError::Usage(format!("invalid server name {:?}", tls.server_name))
                    })?;
                let conn = rustls::ClientConnection::new(tls.client.clone(), name)
                    .map_err(|e| refused(io::Error::other(e)))?;
                Box::new(TlsConn {
                    tls: rustls::StreamOwned::new(conn, tcp),
                })
            }
        }
    })
}
