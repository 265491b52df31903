//! The tokio adaptor (cargo feature `tokio`): async connect and accept, and streams that
//! implement `AsyncRead` and `AsyncWrite`.
//!
//! It rests on the pollable descriptors ([`QuicSocket::pollable`],
//! [`QuicListener::pollable`]) registered with tokio's reactor through `AsyncFd`: a task
//! waits for readiness, then makes the non-blocking call. The handshake itself runs on
//! tokio's blocking pool. An [`AsyncStream`] waits on its own stream's descriptor
//! ([`QuicSocket::stream_pollable`]), so tasks driving different streams of one connection
//! wake only for their own stream: one stalled by flow control or with nothing to read
//! neither holds up nor spins the others.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{ClientConfig, Error, Flags, QuicListener, QuicSocket, Result, StreamPoll};

/// A [`QuicSocket`] for tokio.
#[derive(Debug, Clone)]
pub struct AsyncQuicSocket {
    inner: Arc<AsyncFd<QuicSocket>>,
}

/// A [`QuicListener`] for tokio.
#[derive(Debug)]
pub struct AsyncQuicListener {
    inner: AsyncFd<QuicListener>,
}

fn would_block(e: Error) -> io::Error {
    io::Error::from(e)
}

impl AsyncQuicSocket {
    /// Connects and completes the handshake without blocking the runtime's threads.
    pub async fn connect(remote: SocketAddr, config: ClientConfig) -> Result<Self> {
        let sock = tokio::task::spawn_blocking(move || QuicSocket::connect(remote, &config))
            .await
            .map_err(|e| Error::Io(io::Error::other(e)))??;
        Self::new(sock)
    }

    /// Wraps a connected socket; it becomes non-blocking.
    pub fn new(sock: QuicSocket) -> Result<Self> {
        sock.set_nonblocking(true);
        sock.pollable()?;
        // `AsyncFd::new` is deprecated because an arbitrary `AsRawFd` type may close its
        // descriptor while registered; a socket's pollable descriptor lives exactly as long
        // as the socket, which the `AsyncFd` owns, so the registration never outlives it.
        #[allow(deprecated)]
        let inner = AsyncFd::new(sock)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The socket, for options and addresses.
    pub fn get_ref(&self) -> &QuicSocket {
        self.inner.get_ref()
    }

    /// Sends as [`QuicSocket::send`], waiting without blocking until some of `data` is
    /// taken; returns how much.
    pub async fn send(&self, data: &[u8], stream_id: i64, flags: Flags) -> Result<usize> {
        loop {
            let mut guard = self.inner.writable().await?;
            match guard.try_io(|s| {
                s.get_ref()
                    .send(data, stream_id, flags)
                    .map_err(would_block)
            }) {
                Ok(r) => return r.map_err(Error::from),
                Err(_would_block) => continue,
            }
        }
    }

    /// Receives as [`QuicSocket::recv`] from any stream, or an event or datagram.
    pub async fn recv(&self, buf: &mut [u8]) -> Result<(usize, i64, Flags)> {
        loop {
            let mut guard = self.inner.readable().await?;
            match guard.try_io(|s| s.get_ref().recv(buf, Flags::NONE).map_err(would_block)) {
                Ok(r) => return r.map_err(Error::from),
                Err(_would_block) => continue,
            }
        }
    }

    /// Opens the next stream of a direction (see [`QuicSocket::open_stream`]).
    pub async fn open_stream(&self, flags: Flags) -> Result<i64> {
        loop {
            let mut guard = self.inner.writable().await?;
            let flags = flags | Flags::STREAM_DONTWAIT;
            match guard.try_io(|s| s.get_ref().open_stream(flags).map_err(would_block)) {
                Ok(r) => return r.map_err(Error::from),
                Err(_would_block) => continue,
            }
        }
    }

    /// One stream as `AsyncRead` + `AsyncWrite`.
    pub fn stream(&self, stream_id: i64) -> AsyncStream {
        AsyncStream {
            sock: self.inner.clone(),
            id: stream_id,
            ended: false,
            ready: None,
        }
    }
}

impl AsyncQuicListener {
    /// Binds and listens (see [`QuicListener::bind`]).
    pub fn bind(addr: SocketAddr, config: &crate::ServerConfig) -> Result<Self> {
        Self::new(QuicListener::bind(addr, config)?)
    }

    /// Wraps a listener; it becomes non-blocking.
    pub fn new(listener: QuicListener) -> Result<Self> {
        listener.set_nonblocking(true);
        listener.pollable()?;
        // As for sockets: the descriptor lives as long as the listener the `AsyncFd` owns.
        #[allow(deprecated)]
        let inner = AsyncFd::with_interest(listener, tokio::io::Interest::READABLE)?;
        Ok(Self { inner })
    }

    /// The listener, for options and addresses.
    pub fn get_ref(&self) -> &QuicListener {
        self.inner.get_ref()
    }

    /// The next connection whose handshake completed.
    pub async fn accept(&self) -> Result<AsyncQuicSocket> {
        loop {
            let mut guard = self.inner.readable().await?;
            match guard.try_io(|l| l.get_ref().accept().map_err(would_block)) {
                Ok(r) => return AsyncQuicSocket::new(r.map_err(Error::from)?),
                Err(_would_block) => continue,
            }
        }
    }
}

/// One stream of an [`AsyncQuicSocket`]: reads return its data, writes send on it,
/// `shutdown` sends the FIN.
#[derive(Debug)]
pub struct AsyncStream {
    sock: Arc<AsyncFd<QuicSocket>>,
    id: i64,
    ended: bool,
    /// This stream's own readiness, registered on first use.
    ready: Option<AsyncFd<StreamPoll>>,
}

impl AsyncStream {
    /// The stream's descriptor in tokio's reactor, made on first use.
    fn ready(&mut self) -> io::Result<&AsyncFd<StreamPoll>> {
        if self.ready.is_none() {
            let poll = self.sock.get_ref().stream_pollable(self.id)?;
            // As for sockets: the descriptor lives as long as the `StreamPoll` the
            // `AsyncFd` owns, so the registration never outlives it.
            #[allow(deprecated)]
            let fd = AsyncFd::new(poll)?;
            self.ready = Some(fd);
        }
        Ok(self.ready.as_ref().expect("made above"))
    }
}

impl AsyncRead for AsyncStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(Ok(()));
        }
        let (sock, id) = (this.sock.clone(), this.id);
        let ready = this.ready()?;
        loop {
            let mut guard = ready!(ready.poll_read_ready(cx))?;
            let dst = buf.initialize_unfilled();
            match guard.try_io(|_| {
                sock.get_ref()
                    .recv_stream(id, dst, Flags::NONE)
                    .map_err(would_block)
            }) {
                Ok(Ok((n, fin))) => {
                    buf.advance(n);
                    this.ended = fin;
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncStream {
    /// Sends `data` (with `flags`) once the stream can take some.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
        flags: Flags,
    ) -> Poll<io::Result<usize>> {
        let (sock, id) = (self.sock.clone(), self.id);
        let ready = self.ready()?;
        loop {
            let mut guard = ready!(ready.poll_write_ready(cx))?;
            match guard.try_io(|_| sock.get_ref().send(data, id, flags).map_err(would_block)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for AsyncStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.get_mut().poll_send(cx, data, Flags::NONE)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written data is already the connection's to send.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_send(cx, &[], Flags::STREAM_FIN)
            .map(|r| r.map(|_| ()))
    }
}
