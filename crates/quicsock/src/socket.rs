//! [`QuicSocket`]: one QUIC connection with the verbs of a Linux QUIC socket — connect,
//! send and recv with a stream id and flags (reference §1.3, §1.10), datagrams, close.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use quicsock_proto::conn::{ConnectionError, DatagramError};
use quicsock_proto::stream::StreamError;
use quicsock_proto::{Dir, StreamId, Timestamp, VarInt};

use crate::clock;
use crate::config::ClientConfig;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::flags::Flags;
use crate::handshake::RustlsDriver;
use crate::slot::{Slot, SlotState};

/// Bytes of small writes held back while packets are in flight before a write sends them
/// itself.
const COALESCE_BYTES: usize = 32 * 1024;

/// What a blocked call waits for, on which stream if one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Waiting {
    Read(Option<StreamId>),
    Write(Option<StreamId>),
}

/// How long `close` waits, by default, for what was sent to be acknowledged.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(30);

/// Timeouts and modes a socket's calls follow.
#[derive(Debug)]
struct Modes {
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    linger: Duration,
    /// The application error code and reason `close` sends.
    close_code: u64,
    /// Send every write at once instead of coalescing small ones.
    nodelay: bool,
    /// How long `wait_session_ticket` waits.
    ticket_wait: Duration,
    /// The reason phrase `close` sends.
    close_phrase: Vec<u8>,
}

/// How long [`QuicSocket::wait_session_ticket`] waits unless the CONFIG option says.
pub const DEFAULT_TICKET_WAIT: Duration = Duration::from_secs(2);

/// How often [`QuicSocket::wait_session_ticket`] looks: tickets come once per connection.
const TICKET_POLL: Duration = Duration::from_millis(2);

/// One QUIC connection, used like a socket.
///
/// `send` and `recv` carry a stream id and [`Flags`] as Linux QUIC's `sendmsg`/`recvmsg`
/// do. Blocking by default; [`set_nonblocking`](Self::set_nonblocking) or
/// [`Flags::DONTWAIT`] make a call return [`Error::WouldBlock`] instead of waiting.
/// Dropping the socket closes it in the background once everything sent is
/// acknowledged (at most the linger time); [`close`](Self::close) does the same and waits.
#[derive(Debug)]
pub struct QuicSocket {
    engine: Arc<Engine>,
    slot: Arc<Slot>,
    nonblocking: AtomicBool,
    modes: Mutex<Modes>,
    closed: AtomicBool,
    /// The pollable descriptor handed out (a duplicate of the engine's end).
    poll_fd: std::sync::OnceLock<OwnedFd>,
}

impl QuicSocket {
    /// Connects to `remote` and completes the TLS handshake. The connection shares the
    /// process's default client endpoint of `remote`'s family (one UDP socket and engine
    /// thread for every connection, see [`QuicEndpoint`](crate::QuicEndpoint)) unless
    /// `config` asks for a socket of its own ([`ClientConfig::local_addr`] or socket
    /// options other than the defaults).
    ///
    /// A server that answers with Version Negotiation (RFC 9000 §6.2) is connected to
    /// again with the first version of ours it offers (RFC 9368 §4). That connection then
    /// checks the server's version_information: one that lists the version we started with
    /// means the Version Negotiation was forged, and the connection is closed with
    /// VERSION_NEGOTIATION_ERROR.
    pub fn connect(remote: SocketAddr, config: &ClientConfig) -> Result<Self> {
        let driver = RustlsDriver::client(config.tls.clone(), &config.server_name)?;
        let first = Self::connect_with_driver(remote, config, Box::new(driver));
        let Err(Error::Handshake(ConnectionError::VersionMismatch(offered))) = &first else {
            return first;
        };
        let original = config.transport.version;
        let Some(&version) = quicsock_proto::packet::Version::SUPPORTED
            .iter()
            .find(|v| **v != original && offered.contains(v))
        else {
            return first;
        };
        let mut again = config.clone();
        again.transport.version = version;
        let driver = RustlsDriver::client(config.tls.clone(), &config.server_name)?;
        let sock = Self::connect_with_driver(remote, &again, Box::new(driver))?;
        let forged = sock
            .lock()
            .conn
            .peer_params()
            .and_then(|p| p.version_information.as_ref())
            .is_some_and(|v| v.available.contains(&original));
        if forged {
            let mut st = sock.lock();
            st.conn.close_transport(
                clock::now(),
                quicsock_proto::TransportError::new(
                    quicsock_proto::TransportErrorCode::VERSION_NEGOTIATION_ERROR,
                    "the server speaks the version its Version Negotiation denied",
                ),
            );
            let e = st.conn.error().cloned();
            sock.flush(st);
            return Err(Error::Handshake(
                e.unwrap_or(ConnectionError::VersionMismatch(offered.clone())),
            ));
        }
        Ok(sock)
    }

    /// Starts connecting and returns at once, before the handshake completes, so that what
    /// the application sends first goes out in 0-RTT packets when the client resumes a
    /// session that allows early data ([`tls::enable_early_data`](crate::tls::enable_early_data));
    /// otherwise it waits for the handshake as any send before it would.
    /// [`zero_rtt`](Self::zero_rtt) says whether the server took it; a rejection sends
    /// the data again in 1-RTT packets and the application notices nothing else.
    /// [`wait_established`](Self::wait_established) waits for the handshake. Version
    /// Negotiation is not retried here.
    pub fn connect_early(remote: SocketAddr, config: &ClientConfig) -> Result<Self> {
        let driver = RustlsDriver::client(config.tls.clone(), &config.server_name)?;
        Self::open(remote, config, Box::new(driver))
    }

    /// Connects with a handshake driver of the caller's instead of rustls (the handshake
    /// boundary of DESIGN.md: another TLS library, or the fixed-secret test driver of
    /// Linux QUIC's selftest). `config.tls` and `config.server_name` are not used.
    pub fn connect_with_driver(
        remote: SocketAddr,
        config: &ClientConfig,
        driver: Box<dyn quicsock_proto::conn::HandshakeDriver>,
    ) -> Result<Self> {
        let sock = Self::open(remote, config, driver)?;
        sock.wait_established(config.handshake_timeout)?;
        Ok(sock)
    }

    /// Connects without a handshake: the application drives it through the socket's
    /// handshake calls ([`recv_handshake`](Self::recv_handshake),
    /// [`send_handshake`](Self::send_handshake), [`set_crypto_secret`](Self::set_crypto_secret),
    /// [`transport_param_ext`](Self::transport_param_ext), ...), as a Linux QUIC socket
    /// leaves it to userspace after `connect`; [`crate::client_handshake`] runs rustls that
    /// way. Nothing is sent until the application sends its ClientHello.
    pub fn connect_without_handshake(remote: SocketAddr, config: &ClientConfig) -> Result<Self> {
        Self::open(
            remote,
            config,
            Box::new(crate::socket_handshake::ManualDriver::default()),
        )
    }

    fn open(
        remote: SocketAddr,
        config: &ClientConfig,
        driver: Box<dyn quicsock_proto::conn::HandshakeDriver>,
    ) -> Result<Self> {
        let engine = crate::endpoint::engine_for(remote, config)?;
        Self::open_on(engine, remote, config, driver)
    }

    /// Opens a connection on `engine`, which the caller acquired for it.
    pub(crate) fn open_on(
        engine: Arc<Engine>,
        remote: SocketAddr,
        config: &ClientConfig,
        driver: Box<dyn quicsock_proto::conn::HandshakeDriver>,
    ) -> Result<Self> {
        let slot = match engine.connect(remote, config.transport.clone(), driver) {
            Ok(slot) => slot,
            Err(e) => {
                engine.release();
                return Err(Error::Handshake(e));
            }
        };
        if let Some(t) = config.token.clone() {
            slot.lock().conn.set_initial_token(t);
        }
        if let Some(dir) = &config.qlog_dir {
            crate::qlog_file::attach(&mut slot.lock().conn, dir, clock::now());
        }
        let sock = Self::attach(engine, slot);
        // The first flight leaves from this thread.
        sock.flush(sock.slot.lock());
        Ok(sock)
    }

    pub(crate) fn attach(engine: Arc<Engine>, slot: Arc<Slot>) -> Self {
        Self {
            engine,
            slot,
            nonblocking: AtomicBool::new(false),
            modes: Mutex::new(Modes {
                read_timeout: None,
                write_timeout: None,
                linger: DEFAULT_LINGER,
                close_code: 0,
                nodelay: false,
                ticket_wait: DEFAULT_TICKET_WAIT,
                close_phrase: Vec::new(),
            }),
            closed: AtomicBool::new(false),
            poll_fd: std::sync::OnceLock::new(),
        }
    }

    /// Sends what the connection has and refreshes its readiness.
    fn flush(&self, g: MutexGuard<'_, SlotState>) {
        self.engine.transmit(&self.slot, g);
    }

    /// The connection, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.slot.lock()
    }

    /// [`Error::EngineFailed`] once the engine or this connection failed.
    fn check(&self, g: &SlotState) -> Result<()> {
        self.engine.check()?;
        g.check()
    }

    /// Moves a client connection to a new local address (Linux QUIC's CONNECTION_MIGRATION
    /// option, RFC 9000 §9.2): its datagrams leave from `local_ip` on the same port, with
    /// a new connection ID, and the new path is validated with PATH_CHALLENGE. The
    /// CONNECTION_MIGRATION event with `local = 1` reports the validation; if it times out
    /// the connection goes back to the old address by itself. The UDP socket must be bound
    /// to the wildcard address of `local_ip`'s family (a client's is unless configured
    /// otherwise), so that it can send from and receive at any local address.
    pub fn migrate(&self, local_ip: std::net::IpAddr) -> Result<()> {
        let bound = self.engine.local_addr()?;
        if !bound.ip().is_unspecified() || bound.is_ipv4() != local_ip.is_ipv4() {
            return Err(Error::InvalidArgument(
                "migration needs a UDP socket bound to the wildcard address of the new address's family",
            ));
        }
        let mut st = self.lock();
        self.live(&mut st)?.migrate(clock::now())?;
        let previous = st.source_ip;
        st.previous_source = Some(previous);
        st.source_ip = Some(local_ip);
        self.flush(st);
        Ok(())
    }

    /// Sets a server connection's preferred address (RFC 9000 §9.6) while its handshake
    /// runs, before the application reads its transport parameters (Linux QUIC's
    /// CONNECTION_MIGRATION option on a server that is establishing): clients that follow
    /// it validate `addr` and move there once the handshake is confirmed. The server must
    /// receive at `addr`: another local IP of a wildcard-bound listener, or an address a
    /// NAT or relay maps to it.
    pub fn set_preferred_address(&self, addr: SocketAddr) -> Result<()> {
        let mut addrs = quicsock_proto::conn::PreferredAddresses::default();
        match addr {
            SocketAddr::V4(a) => addrs.ipv4 = Some(a),
            SocketAddr::V6(a) => addrs.ipv6 = Some(a),
        }
        let mut st = self.lock();
        self.establishing(&mut st)?
            .set_preferred_address(addrs)
            .map_err(|_| {
                Error::InvalidArgument(
                    "a preferred address is set by a server, once, before its transport parameters",
                )
            })
    }

    /// The sequence numbers of the connection ID in use and of the lowest still live, of
    /// the peer's IDs (`dest`) or ours (Linux QUIC's CONNECTION_ID option, get).
    pub fn connection_id(&self, dest: bool) -> (u64, u64) {
        self.lock().conn.connection_id_info(dest)
    }

    /// Linux QUIC's CONNECTION_ID option, set: `active` switches to a higher live peer ID
    /// (`dest` only); `prior_to` retires every ID numbered below it, the peer's with
    /// RETIRE_CONNECTION_ID or ours by asking the peer. `EINVAL` for IDs that do not
    /// exist, `EAGAIN` while a migration holds them; only once established.
    pub fn set_connection_id(
        &self,
        dest: bool,
        active: Option<u64>,
        prior_to: Option<u64>,
    ) -> Result<()> {
        use quicsock_proto::conn::ConnectionIdError as E;
        let map = |e: E| match e {
            E::Busy => Error::WouldBlock,
            E::NotEstablished => {
                Error::InvalidArgument("connection IDs change only once established")
            }
            _ => Error::InvalidArgument("no such connection ID"),
        };
        let mut st = self.lock();
        let conn = self.live(&mut st)?;
        if let Some(seq) = active {
            if !dest {
                return Err(Error::InvalidArgument(
                    "the peer chooses which of our IDs it uses",
                ));
            }
            conn.use_peer_connection_id(seq).map_err(map)?;
        }
        if let Some(prior) = prior_to {
            conn.retire_connection_ids(dest, prior).map_err(map)?;
        }
        self.flush(st);
        Ok(())
    }

    /// Waits up to `timeout` for the handshake to complete (after
    /// [`connect_early`](Self::connect_early)).
    pub fn wait_established(&self, timeout: Duration) -> Result<()> {
        let deadline = clock::now() + timeout;
        let mut st = self.lock();
        loop {
            self.check(&st)?;
            if st.cs.established {
                return Ok(());
            }
            if st.conn.is_closed() {
                let e = st
                    .conn
                    .error()
                    .cloned()
                    .unwrap_or(ConnectionError::TimedOut);
                return Err(Error::Handshake(e));
            }
            let now = clock::now();
            if now >= deadline {
                st.conn.close(now, VarInt::ZERO, b"handshake timeout");
                self.flush(st);
                return Err(Error::Handshake(ConnectionError::TimedOut));
            }
            st = self.wait(st, deadline.saturating_duration_since(now));
        }
    }

    fn wait<'a>(
        &self,
        g: MutexGuard<'a, SlotState>,
        timeout: Duration,
    ) -> MutexGuard<'a, SlotState> {
        self.slot.wait(g, timeout)
    }

    fn modes(&self) -> MutexGuard<'_, Modes> {
        self.modes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The deadline of a blocking call, or `None` when it must not block.
    fn deadline(&self, flags: Flags, timeout: Option<Duration>) -> Option<Option<Timestamp>> {
        if flags.contains(Flags::DONTWAIT) || self.nonblocking.load(Ordering::Relaxed) {
            return None;
        }
        Some(timeout.map(|t| clock::now() + t))
    }

    /// Waits for a change on the connection until `deadline`; `Err` when it passed or the
    /// call must not block.
    fn block<'a>(
        &'a self,
        mut st: MutexGuard<'a, SlotState>,
        deadline: Option<Option<Timestamp>>,
        waiting_to: Waiting,
    ) -> Result<MutexGuard<'a, SlotState>> {
        self.check(&st)?;
        let Some(deadline) = deadline else {
            // The pollable descriptor now shows what the caller found, so that the change
            // back is an edge an edge-triggered poller (tokio) sees.
            match waiting_to {
                Waiting::Read(stream) => st.would_block(true, stream),
                Waiting::Write(stream) => st.would_block(false, stream),
            }
            return Err(Error::WouldBlock);
        };
        let wait = match deadline {
            Some(d) => {
                let now = clock::now();
                if now >= d {
                    return Err(Error::TimedOut);
                }
                d.saturating_duration_since(now)
            }
            None => Duration::from_secs(3600),
        };
        // The waiting thread takes in what arrives itself: no hop through the engine
        // thread between a datagram and the call it was waited for.
        Ok(self.slot.guest_wait(&self.engine, st, wait))
    }

    /// Sends `data` on a stream, or as a datagram with [`Flags::DATAGRAM`].
    ///
    /// `stream_id` -1 means the active stream (the last one opened, or the last
    /// bidirectional stream the peer opened) if it can still be sent on, else the next
    /// bidirectional stream (unidirectional with [`Flags::STREAM_UNI`]). An explicit id must
    /// be open, or [`Flags::STREAM_NEW`] opens it (and every lower id of its type).
    /// [`Flags::STREAM_FIN`] ends the stream after `data`; an empty `data` needs it.
    /// A blocking call queues all of `data`; a non-blocking one what fits, at least one
    /// byte, or returns [`Error::WouldBlock`].
    pub fn send(&self, data: &[u8], stream_id: i64, flags: Flags) -> Result<usize> {
        if flags.0 & !Flags::SEND_ALLOWED.0 != 0 {
            return Err(Error::InvalidArgument("unknown send flags"));
        }
        if flags.contains(Flags::DATAGRAM) {
            return self.send_datagram(data);
        }
        let fin = flags.contains(Flags::STREAM_FIN);
        if data.is_empty() && !fin {
            return Err(Error::MessageSize(0));
        }
        let timeout = self.modes().write_timeout;
        let deadline = self.deadline(flags, timeout);
        let stream_wait = if flags.contains(Flags::STREAM_DONTWAIT) {
            None
        } else {
            deadline
        };
        let mut st = self.lock();
        let id = loop {
            self.check(&st)?;
            match self.pick_stream(&mut st, stream_id, flags)? {
                Some(id) => break id,
                None => st = self.block(st, stream_wait, Waiting::Write(None))?,
            }
        };
        // MSG_MORE corks the connection's stream data until a send without it.
        let mut cork = flags.contains(Flags::MORE);
        self.live(&mut st)?.streams().set_corked(cork);
        let mut written = 0;
        loop {
            let conn = self.live(&mut st)?;
            let before = written;
            match conn.write(id, &data[written..], fin) {
                Ok(n) => {
                    written += n;
                    if n > 0 && st.cs.blocked_write == Some(id) {
                        st.cs.blocked_write = None;
                    }
                }
                Err(StreamError::Blocked(_)) => {}
                Err(e) => return Err(stream_error(e, id)),
            }
            if written == data.len() {
                break;
            }
            if written > before {
                // Send what was queued; then try again before waiting, since the lock was
                // released and room may have appeared meanwhile.
                self.flush(st);
                st = self.lock();
                continue;
            }
            if written > 0 && deadline.is_none() {
                return Ok(written);
            }
            // Nothing fits, and nothing changed since the lock was taken: wait for room,
            // which corked data would never make.
            if cork {
                cork = false;
                self.live(&mut st)?.streams().set_corked(false);
                self.flush(st);
                st = self.lock();
                continue;
            }
            st = match self.block(st, deadline, Waiting::Write(Some(id))) {
                Ok(st) => st,
                Err(e) if written > 0 && matches!(e, Error::TimedOut) => return Ok(written),
                Err(e) => return Err(e),
            };
        }
        // Small writes coalesce (Linux QUIC's Nagle-like rule, reference §1.10): while
        // packets are in flight, their ACKs make the engine send what was queued, so a
        // write goes out at once only when the connection is idle, enough is queued for a
        // full burst, the stream ends, or coalescing is off.
        let idle = st.conn.bytes_in_flight() == 0;
        let nodelay = self.modes().nodelay;
        let cs = &mut st.cs;
        if fin && cs.active == Some(id) {
            cs.active = None;
        }
        cs.unflushed += written;
        if cork {
            st.refresh_readiness();
        } else if fin || idle || nodelay || cs.unflushed >= COALESCE_BYTES {
            cs.unflushed = 0;
            self.flush(st);
        } else {
            st.refresh_readiness();
        }
        Ok(written)
    }

    /// The stream a send goes to; `None` when the peer's stream limit must rise first.
    fn pick_stream(
        &self,
        st: &mut SlotState,
        stream_id: i64,
        flags: Flags,
    ) -> Result<Option<StreamId>> {
        let active = st.cs.active;
        let conn = self.live(st)?;
        let dir = if flags.contains(Flags::STREAM_UNI) {
            Dir::Uni
        } else {
            Dir::Bi
        };
        let id = if stream_id == -1 {
            let usable = active.filter(|id| conn.streams().is_open(*id) && id.dir() == dir);
            match usable {
                // STREAM_NEW asks for a new stream: not while the active one is open.
                Some(_) if flags.contains(Flags::STREAM_NEW) => {
                    return Err(Error::InvalidArgument(
                        "STREAM_NEW with stream -1 while the active stream is open",
                    ))
                }
                Some(id) => id,
                None => match conn.open_stream(dir) {
                    Ok(id) => {
                        st.cs.active = Some(id);
                        st.cs.blocked_open = None;
                        id
                    }
                    Err(StreamError::LimitReached) => {
                        st.cs.blocked_open = Some((dir, conn.streams().local_counts(dir).0));
                        return Ok(None);
                    }
                    Err(_) => return Err(Error::InvalidArgument("cannot open a stream now")),
                },
            }
        } else {
            let id = stream_from_i64(stream_id)
                .ok_or(Error::InvalidArgument("stream id out of range"))?;
            if flags.contains(Flags::STREAM_NEW) {
                match conn.streams().open_id(id) {
                    Ok(()) => {
                        st.cs.active = Some(id);
                        st.cs.blocked_open = None;
                    }
                    Err(StreamError::LimitReached) => {
                        st.cs.blocked_open = Some((id.dir(), id.index()));
                        return Ok(None);
                    }
                    Err(_) => {
                        return Err(Error::InvalidArgument(
                            "STREAM_NEW on a stream that is not new",
                        ))
                    }
                }
            } else if !conn.streams().is_open(id) {
                return Err(if conn.streams().was_opened(id) {
                    Error::StreamClosed(stream_id)
                } else {
                    Error::InvalidArgument("stream not open; use STREAM_NEW")
                });
            }
            id
        };
        Ok(Some(id))
    }

    fn send_datagram(&self, data: &[u8]) -> Result<usize> {
        let mut st = self.lock();
        let conn = self.live(&mut st)?;
        match conn.send_datagram(data) {
            Ok(()) => {}
            Err(DatagramError::Unsupported) => {
                return Err(Error::Unsupported("the peer does not accept datagrams"))
            }
            Err(DatagramError::TooLarge(max)) => return Err(Error::MessageSize(max)),
            Err(DatagramError::Blocked) => return Err(Error::WouldBlock),
            Err(_) => return Err(Error::InvalidArgument("datagram refused")),
        }
        self.flush(st);
        Ok(data.len())
    }

    /// The connection, if it can still carry data.
    fn live<'a>(&self, st: &'a mut SlotState) -> Result<&'a mut quicsock_proto::conn::Connection> {
        self.check(st)?;
        let conn = &mut *st.conn;
        if conn.is_closed() {
            return Err(Error::Closed(
                conn.error().cloned().unwrap_or(ConnectionError::TimedOut),
            ));
        }
        Ok(conn)
    }

    /// Receives the next data: stream data (the stream id and [`Flags::STREAM_FIN`] on the
    /// last piece) or a datagram ([`Flags::DATAGRAM`]). One call returns data of one stream
    /// only. Returns `(0, id, STREAM_FIN)` for a stream that ended with nothing left.
    pub fn recv(&self, buf: &mut [u8], flags: Flags) -> Result<(usize, i64, Flags)> {
        let timeout = self.modes().read_timeout;
        let deadline = self.deadline(flags, timeout);
        let mut st = self.lock();
        loop {
            self.check(&st)?;
            let now = clock::now();
            let got = if flags.contains(Flags::PEEK) {
                Self::try_peek(&mut st, buf)?
            } else {
                self.try_recv(&mut st, now, buf)?
            };
            if let Some(got) = got {
                // Reading may have released flow-control credit worth announcing.
                self.flush(st);
                return Ok(got);
            }
            if st.conn.is_closed() {
                return Err(Error::Closed(
                    st.conn
                        .error()
                        .cloned()
                        .unwrap_or(ConnectionError::TimedOut),
                ));
            }
            st = self.block(st, deadline, Waiting::Read(None))?;
        }
    }

    /// Receives from one stream only: `(bytes, fin)`, `(0, true)` once the stream ended.
    /// Other streams' data and datagrams wait for [`recv`](Self::recv).
    pub fn recv_stream(
        &self,
        stream_id: i64,
        buf: &mut [u8],
        flags: Flags,
    ) -> Result<(usize, bool)> {
        let id =
            stream_from_i64(stream_id).ok_or(Error::InvalidArgument("stream id out of range"))?;
        let timeout = self.modes().read_timeout;
        let deadline = self.deadline(flags, timeout);
        let mut st = self.lock();
        loop {
            self.check(&st)?;
            let now = clock::now();
            let conn = &mut *st.conn;
            match conn.read(now, id, buf) {
                Ok(r) if r.len > 0 || r.fin => {
                    self.flush(st);
                    return Ok((r.len, r.fin));
                }
                Ok(_) => {}
                Err(StreamError::Reset(_, code)) => {
                    return Err(Error::StreamReset(stream_id, code))
                }
                Err(StreamError::NotOpen(_)) if conn.streams().was_opened(id) => {
                    return Err(Error::StreamClosed(stream_id))
                }
                // A stream the peer has not opened yet: wait for it.
                Err(StreamError::NotOpen(_)) => {}
                Err(e) => return Err(stream_error(e, id)),
            }
            if conn.is_closed() {
                return Err(Error::Closed(
                    conn.error().cloned().unwrap_or(ConnectionError::TimedOut),
                ));
            }
            st = self.block(st, deadline, Waiting::Read(Some(id)))?;
        }
    }

    /// Opens the next stream of the given direction and returns its id (Linux QUIC's
    /// STREAM_OPEN option); waits for the peer's stream limit unless non-blocking or
    /// [`Flags::STREAM_DONTWAIT`].
    pub fn open_stream(&self, flags: Flags) -> Result<i64> {
        let dir = if flags.contains(Flags::STREAM_UNI) {
            Dir::Uni
        } else {
            Dir::Bi
        };
        let timeout = self.modes().write_timeout;
        let deadline = if flags.contains(Flags::STREAM_DONTWAIT) {
            None
        } else {
            self.deadline(flags, timeout)
        };
        let mut st = self.lock();
        let mut announced = false;
        loop {
            let conn = self.live(&mut st)?;
            match conn.open_stream(dir) {
                Ok(id) => {
                    // The stream a later send with stream -1 goes on.
                    st.cs.active = Some(id);
                    st.cs.blocked_open = None;
                    return Ok(sid(id));
                }
                Err(StreamError::LimitReached) => {
                    st.cs.blocked_open = Some((dir, conn.streams().local_counts(dir).0));
                }
                Err(_) => return Err(Error::InvalidArgument("cannot open a stream now")),
            }
            // The limit only rises with the peer's MAX_STREAMS; make sure it hears of
            // STREAMS_BLOCKED once, then wait (checking again first: the lock was released).
            if !announced {
                announced = true;
                self.flush(st);
                st = self.lock();
                continue;
            }
            st = self.block(st, deadline, Waiting::Write(None))?;
        }
    }

    /// Opens the stream `stream_id` (and every lower one of its type) without sending on
    /// it: Linux QUIC's STREAM_OPEN option with an explicit id. It must be ours and never
    /// opened; waits for the peer's stream limit unless non-blocking or
    /// [`Flags::STREAM_DONTWAIT`].
    pub fn open_stream_at(&self, stream_id: i64, flags: Flags) -> Result<i64> {
        let id =
            stream_from_i64(stream_id).ok_or(Error::InvalidArgument("stream id out of range"))?;
        let timeout = self.modes().write_timeout;
        let deadline = if flags.contains(Flags::STREAM_DONTWAIT) {
            None
        } else {
            self.deadline(flags, timeout)
        };
        let mut st = self.lock();
        let mut announced = false;
        loop {
            let conn = self.live(&mut st)?;
            match conn.streams().open_id(id) {
                Ok(()) => {
                    st.cs.active = Some(id);
                    st.cs.blocked_open = None;
                    return Ok(stream_id);
                }
                Err(StreamError::LimitReached) => {
                    st.cs.blocked_open = Some((id.dir(), id.index()));
                }
                Err(_) if conn.streams().was_opened(id) => {
                    return Err(if conn.streams().is_open(id) {
                        Error::InvalidArgument("the stream is already open")
                    } else {
                        Error::StreamClosed(stream_id)
                    })
                }
                Err(_) => return Err(Error::InvalidArgument("not a stream we may open")),
            }
            if !announced {
                announced = true;
                self.flush(st);
                st = self.lock();
                continue;
            }
            st = self.block(st, deadline, Waiting::Write(None))?;
        }
    }

    /// A [`std::io::Read`] and [`std::io::Write`] handle on one stream: writes send on it,
    /// reads return its data, [`StreamHandle::finish`] sends the FIN.
    pub fn stream(&self, stream_id: i64) -> StreamHandle<'_> {
        StreamHandle {
            sock: self,
            id: stream_id,
            ended: false,
        }
    }

    fn try_recv(
        &self,
        st: &mut SlotState,
        now: Timestamp,
        buf: &mut [u8],
    ) -> Result<Option<(usize, i64, Flags)>> {
        // The rest of an event or datagram a short buffer cut, then events (reference
        // §1.5), then datagrams and stream data. A whole item read ends with EOR.
        let cs = &mut st.cs;
        let item = match cs.partial.take() {
            Some(item) => Some(item),
            None => cs
                .events
                .pop_front()
                .map(|ev| (ev.to_bytes(), Flags::NOTIFICATION)),
        };
        let item = match item {
            Some(item) => Some(item),
            None => st.conn.recv_datagram().map(|d| (d, Flags::DATAGRAM)),
        };
        if let Some((bytes, kind)) = item {
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            if n < bytes.len() {
                st.cs.partial = Some((bytes[n..].to_vec(), kind));
                return Ok(Some((n, -1, kind)));
            }
            return Ok(Some((n, -1, kind | Flags::EOR)));
        }
        let (conn, cs) = (&mut *st.conn, &mut st.cs);
        while let Some(&id) = cs.readable.front() {
            match conn.read(now, id, buf) {
                Ok(r) if r.len > 0 || r.fin => {
                    let more = conn.streams().readable(id).is_some_and(|(n, _)| n > 0);
                    if r.fin || !more {
                        cs.readable.pop_front();
                    }
                    let flags = if r.fin {
                        Flags::STREAM_FIN
                    } else {
                        Flags::NONE
                    };
                    return Ok(Some((r.len, sid(id), flags)));
                }
                Ok(_) => {
                    cs.readable.pop_front();
                }
                Err(StreamError::Reset(_, code)) => {
                    cs.readable.pop_front();
                    return Err(Error::StreamReset(sid(id), code));
                }
                Err(_) => {
                    cs.readable.pop_front();
                }
            }
        }
        Ok(None)
    }

    /// What [`try_recv`](Self::try_recv) would return, left in place (MSG_PEEK): the rest
    /// of a cut item, the next event or datagram, or the active stream's data.
    fn try_peek(st: &mut SlotState, buf: &mut [u8]) -> Result<Option<(usize, i64, Flags)>> {
        let cs = &st.cs;
        let item = match &cs.partial {
            Some((bytes, kind)) => Some((bytes.clone(), *kind)),
            None => cs
                .events
                .front()
                .map(|ev| (ev.to_bytes(), Flags::NOTIFICATION)),
        };
        let item = item.or_else(|| {
            st.conn
                .peek_datagram()
                .map(|d| (d.to_vec(), Flags::DATAGRAM))
        });
        if let Some((bytes, kind)) = item {
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            let eor = if n == bytes.len() {
                Flags::EOR
            } else {
                Flags::NONE
            };
            return Ok(Some((n, -1, kind | eor)));
        }
        let (conn, cs) = (&mut *st.conn, &st.cs);
        for &id in &cs.readable {
            match conn.streams().peek(id, buf) {
                Ok(r) if r.len > 0 || r.fin => {
                    let flags = if r.fin {
                        Flags::STREAM_FIN
                    } else {
                        Flags::NONE
                    };
                    return Ok(Some((r.len, sid(id), flags)));
                }
                Err(StreamError::Reset(_, code)) => {
                    return Err(Error::StreamReset(sid(id), code));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Makes every call return [`Error::WouldBlock`] instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    /// Bounds how long `recv` waits (`None`: no bound).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.modes().read_timeout = timeout;
    }

    /// How long `recv` waits.
    pub fn read_timeout(&self) -> Option<Duration> {
        self.modes().read_timeout
    }

    /// Bounds how long `send` waits (`None`: no bound).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) {
        self.modes().write_timeout = timeout;
    }

    /// Sends each write at once rather than coalescing small writes while packets are in
    /// flight (Linux QUIC's `stream_data_nodelay`).
    pub fn set_nodelay(&self, nodelay: bool) {
        self.modes().nodelay = nodelay;
    }

    /// How long `close` and drop wait for what was sent to be acknowledged.
    pub fn set_linger(&self, linger: Duration) {
        self.modes().linger = linger;
    }

    /// The application error code `close` sends (Linux QUIC's CONNECTION_CLOSE option).
    pub fn set_close_code(&self, code: u64) {
        self.modes().close_code = code;
    }

    /// The application error code and reason phrase (at most 64 bytes) `close`,
    /// `shutdown` and drop send (Linux QUIC's CONNECTION_CLOSE option).
    pub fn set_close_info(&self, code: u64, phrase: &[u8]) -> Result<()> {
        if phrase.len() > 64 {
            return Err(Error::InvalidArgument("close phrase longer than 64 bytes"));
        }
        if VarInt::from_u64(code).is_err() {
            return Err(Error::InvalidArgument("error code above 2^62"));
        }
        let mut m = self.modes();
        m.close_code = code;
        m.close_phrase = phrase.to_vec();
        Ok(())
    }

    /// The bytes this connection holds each way: `receive` (Linux QUIC's `SIOCINQ`),
    /// `send` (`SIOCOUTQ`: written, not yet acknowledged) and `unsent` (`SIOCOUTQNSD`:
    /// written, never sent). Stream data and DATAGRAM payloads count.
    pub fn queue_bytes(&self) -> quicsock_proto::stream::QueueBytes {
        self.lock().conn.queue_bytes()
    }

    /// The connection's local address (Linux QUIC's getsockname): the UDP socket's, with
    /// the IP address the peer's datagrams arrive at in place of a wildcard one.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        let mut addr = self.engine.local_addr()?;
        if addr.ip().is_unspecified() {
            if let Some(ip) = self.lock().local_ip {
                addr.set_ip(ip);
            }
        }
        Ok(addr)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Result<SocketAddr> {
        let st = self.lock();
        Ok(st.conn.remote_address())
    }

    /// The negotiated application protocol.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        let st = self.lock();
        st.conn.driver()?.alpn().map(<[u8]>::to_vec)
    }

    /// The connection while its handshake runs (Linux QUIC's ESTABLISHING state), for the
    /// handshake calls.
    fn establishing<'a>(
        &self,
        st: &'a mut SlotState,
    ) -> Result<&'a mut quicsock_proto::conn::Connection> {
        let conn = self.live(st)?;
        if conn.is_handshake_complete() {
            return Err(Error::InvalidArgument("the handshake is complete"));
        }
        Ok(conn)
    }

    /// The next handshake message bytes the peer sent, with their level (reference §1.9);
    /// waits for them unless non-blocking.
    pub fn recv_handshake(&self) -> Result<(quicsock_proto::conn::Level, Vec<u8>)> {
        let timeout = self.modes().read_timeout;
        let deadline = self.deadline(Flags::NONE, timeout);
        let mut st = self.lock();
        loop {
            let conn = self.live(&mut st)?;
            if let Some(got) = conn.read_handshake() {
                return Ok(got);
            }
            st = self.block(st, deadline, Waiting::Read(None))?;
        }
    }

    /// Handshake bytes received, if any, without waiting.
    pub(crate) fn try_recv_handshake(&self) -> Option<(quicsock_proto::conn::Level, Vec<u8>)> {
        let mut st = self.lock();
        st.conn.read_handshake()
    }

    /// Sends handshake message bytes at `level` in CRYPTO frames.
    pub fn send_handshake(&self, level: quicsock_proto::conn::Level, data: &[u8]) -> Result<()> {
        if level == quicsock_proto::conn::Level::ZeroRtt {
            return Err(Error::InvalidArgument(
                "no handshake messages at the 0-RTT level",
            ));
        }
        let mut st = self.lock();
        self.live(&mut st)?.write_handshake(level, data);
        self.flush(st);
        Ok(())
    }

    /// Installs a TLS secret (Linux QUIC's CRYPTO_SECRET option); the transport derives
    /// the packet keys itself. Only while the handshake runs.
    pub fn set_crypto_secret(
        &self,
        level: quicsock_proto::conn::Level,
        dir: quicsock_proto::conn::Direction,
        suite: quicsock_proto::crypto::CipherSuite,
        secret: &[u8],
    ) -> Result<()> {
        let mut st = self.lock();
        let conn = self.establishing(&mut st)?;
        conn.install_secret(level, dir, suite, secret)
            .map_err(|_| Error::InvalidArgument("a secret of the wrong length for the suite"))?;
        // Packets that waited for these keys are processed now.
        conn.drive_handshake(clock::now());
        self.flush(st);
        Ok(())
    }

    /// Our quic_transport_parameters extension body, for the TLS library to send (Linux
    /// QUIC's TRANSPORT_PARAM_EXT option, get). A client asked to start in a version
    /// quicsock does not speak probes for the server's first: this waits for its answer
    /// (the read timeout applies; [`Error::WouldBlock`] when non-blocking), since the
    /// parameters name the version the handshake runs in.
    pub fn transport_param_ext(&self) -> Result<Vec<u8>> {
        let deadline = self.deadline(Flags::NONE, self.modes().read_timeout);
        let mut st = self.version_known(deadline)?;
        Ok(self.establishing(&mut st)?.local_transport_params())
    }

    /// Waits until a client that probes for the server's versions has its answer (at
    /// most `timeout`), even on a non-blocking socket: see
    /// [`transport_param_ext`](Self::transport_param_ext).
    pub fn wait_version(&self, timeout: Option<Duration>) -> Result<()> {
        self.version_known(Some(timeout.map(|t| clock::now() + t)))
            .map(drop)
    }

    fn version_known(
        &self,
        deadline: Option<Option<Timestamp>>,
    ) -> Result<MutexGuard<'_, SlotState>> {
        let mut st = self.lock();
        while st.conn.is_probing_version() {
            st = self.block(st, deadline, Waiting::Read(None))?;
        }
        Ok(st)
    }

    /// The peer's quic_transport_parameters extension body, as the TLS library received it
    /// (TRANSPORT_PARAM_EXT, set): decoded and checked against the connection IDs. A bad
    /// one closes the connection with TRANSPORT_PARAMETER_ERROR.
    pub fn set_transport_param_ext(&self, body: &[u8]) -> Result<()> {
        let mut st = self.lock();
        let conn = self.establishing(&mut st)?;
        if let Err(e) = conn.set_peer_transport_params(body) {
            conn.close_transport(clock::now(), e);
            let err = conn.error().cloned().unwrap_or(ConnectionError::TimedOut);
            self.flush(st);
            return Err(Error::Handshake(err));
        }
        Ok(())
    }

    /// A resuming client's remembered server transport parameters (the body of the
    /// quic_transport_parameters extension of the session it resumes; Linux QUIC sets
    /// them with TRANSPORT_PARAM `remote = 1` before the handshake): the limits its 0-RTT
    /// data stays within (RFC 9000 §7.4.1). Only while the handshake runs.
    pub fn set_zero_rtt_params(&self, body: &[u8]) -> Result<()> {
        let mut st = self.lock();
        let conn = self.establishing(&mut st)?;
        conn.set_zero_rtt_params(body).map_err(|_| {
            Error::InvalidArgument("remembered transport parameters that do not decode")
        })
    }

    /// Tells a client's transport whether the server accepted its early data, as the TLS
    /// library learnt it; a rejection sends the 0-RTT data again in 1-RTT packets.
    pub fn set_zero_rtt_outcome(&self, accepted: bool) -> Result<()> {
        let mut st = self.lock();
        self.establishing(&mut st)?.zero_rtt_outcome(accepted);
        self.flush(st);
        Ok(())
    }

    /// Where 0-RTT stands: whether this connection sent early data and the server
    /// accepted it (a server: whether it accepted).
    pub fn zero_rtt(&self) -> quicsock_proto::conn::ZeroRttState {
        self.lock().conn.zero_rtt()
    }

    /// Tells the transport the TLS handshake completed: it needs the peer's transport
    /// parameters and the 1-RTT secrets. A server then confirms it and sends
    /// HANDSHAKE_DONE.
    pub fn complete_handshake(&self) -> Result<()> {
        let mut st = self.lock();
        let conn = self.establishing(&mut st)?;
        if let Err(e) = conn.handshake_complete() {
            conn.close_transport(clock::now(), e);
            let err = conn.error().cloned().unwrap_or(ConnectionError::TimedOut);
            self.flush(st);
            return Err(Error::Handshake(err));
        }
        self.flush(st);
        Ok(())
    }

    /// Closes the connection with a transport error, such as the CRYPTO_ERROR of a TLS
    /// alert.
    pub(crate) fn close_transport(&self, e: quicsock_proto::TransportError) {
        let mut st = self.lock();
        st.conn.close_transport(clock::now(), e);
        self.flush(st);
    }

    /// Whether the handshake completed.
    pub fn is_established(&self) -> bool {
        let st = self.lock();
        st.conn.is_handshake_complete()
    }

    /// The QUIC version of the connection.
    pub fn version(&self) -> quicsock_proto::packet::Version {
        let st = self.lock();
        st.conn.version()
    }

    /// Enables or disables one type of in-band event (Linux QUIC's EVENT option); all are
    /// off at first. Enabled events come out of `recv` before any data.
    pub fn set_event(&self, ty: EventType, on: bool) {
        let mut st = self.lock();
        if on {
            st.cs.event_mask |= ty.bit();
        } else {
            st.cs.event_mask &= !ty.bit();
        }
    }

    /// Whether events of `ty` are enabled.
    pub fn event_enabled(&self, ty: EventType) -> bool {
        let st = self.lock();
        st.cs.event_mask & ty.bit() != 0
    }

    /// The connection once the handshake is done, for the options that need it
    /// (Linux QUIC's ESTABLISHED state).
    fn established<'a>(
        &self,
        st: &'a mut SlotState,
    ) -> Result<&'a mut quicsock_proto::conn::Connection> {
        let conn = self.live(st)?;
        if !conn.is_handshake_complete() {
            return Err(Error::InvalidArgument("the handshake is not complete"));
        }
        Ok(conn)
    }

    /// Abandons sending on a stream with an application error code: RESET_STREAM
    /// (Linux QUIC's STREAM_RESET option). Later sends on it fail.
    pub fn reset_stream(&self, stream_id: i64, code: u64) -> Result<()> {
        self.stream_signal(stream_id, code, quicsock_proto::stream::Streams::reset)
    }

    /// Asks the peer to stop sending on a stream: STOP_SENDING (Linux QUIC's
    /// STREAM_STOP_SENDING option).
    pub fn stop_sending(&self, stream_id: i64, code: u64) -> Result<()> {
        self.stream_signal(
            stream_id,
            code,
            quicsock_proto::stream::Streams::stop_sending,
        )
    }

    /// Sends a stream's RESET_STREAM or STOP_SENDING with an application error code.
    fn stream_signal(
        &self,
        stream_id: i64,
        code: u64,
        signal: fn(
            &mut quicsock_proto::stream::Streams,
            StreamId,
            VarInt,
        ) -> Result<(), StreamError>,
    ) -> Result<()> {
        let id =
            stream_from_i64(stream_id).ok_or(Error::InvalidArgument("stream id out of range"))?;
        let code =
            VarInt::from_u64(code).map_err(|_| Error::InvalidArgument("error code above 2^62"))?;
        let mut st = self.lock();
        let conn = self.established(&mut st)?;
        signal(conn.streams(), id, code).map_err(|e| stream_error(e, id))?;
        self.flush(st);
        Ok(())
    }

    /// The 1-RTT key phase in use (false for phase 0, true for 1; it flips with each
    /// update), or `None` before the 1-RTT keys are installed.
    pub fn key_phase(&self) -> Option<bool> {
        self.lock().conn.key_phase()
    }

    /// Starts a 1-RTT key update (Linux QUIC's KEY_UPDATE option). Refused before the
    /// handshake is confirmed and while the previous update is not yet complete.
    pub fn update_key(&self) -> Result<()> {
        let mut st = self.lock();
        let conn = self.established(&mut st)?;
        conn.initiate_key_update(clock::now())
            .map_err(|e| match e {
                quicsock_proto::conn::KeyUpdateError::InProgress => {
                    Error::InvalidArgument("a key update is in progress")
                }
                quicsock_proto::conn::KeyUpdateError::Plaintext => {
                    Error::InvalidArgument("1-RTT encryption is disabled on this connection")
                }
                _ => Error::InvalidArgument("the handshake is not confirmed"),
            })?;
        self.flush(st);
        Ok(())
    }

    /// The transport parameters: ours, or the peer's (`remote`) once received (Linux
    /// QUIC's TRANSPORT_PARAM option).
    pub fn transport_params(
        &self,
        remote: bool,
    ) -> Option<quicsock_proto::transport_params::TransportParameters> {
        let st = self.lock();
        let conn = &st.conn;
        if remote {
            conn.peer_params().cloned()
        } else {
            Some(conn.local_params().clone())
        }
    }

    /// The connection's counters and estimates: packets and bytes each way, losses, stream
    /// data sent again, RTT, congestion window and bytes in flight.
    pub fn stats(&self) -> quicsock_proto::conn::ConnectionStats {
        self.lock().conn.stats()
    }

    /// Whether 1-RTT packets travel unencrypted and without header protection: both
    /// endpoints set `disable_1rtt_encryption` in their transport parameters (Linux QUIC's
    /// parameter 0xbaad; one side alone changes nothing).
    pub fn is_1rtt_plaintext(&self) -> bool {
        self.lock().conn.is_1rtt_plaintext()
    }

    /// The last address-validation token the server sent in NEW_TOKEN (clients; Linux
    /// QUIC's TOKEN option).
    pub fn token(&self) -> Option<Vec<u8>> {
        self.lock().cs.token.clone()
    }

    /// Linux QUIC's CONFIG option, get: the connection's settings as it runs (its
    /// version after any negotiation, the negotiated cipher) and this socket's.
    pub fn quic_config(&self) -> crate::QuicConfig {
        let (nodelay, wait) = {
            let m = self.modes();
            (m.nodelay, m.ticket_wait)
        };
        crate::QuicConfig::of_connection(&self.lock().conn, nodelay, wait)
    }

    /// Linux QUIC's CONFIG option, set on a connected socket: its own fields
    /// (`stream_data_nodelay`, `receive_session_ticket`). The rest shape the connection
    /// and are set before connect or listen on the configuration
    /// ([`ClientConfig::set_quic_config`](crate::ClientConfig::set_quic_config)), as
    /// Linux QUIC refuses them once established.
    pub fn set_quic_config(
        &self,
        c: &crate::QuicConfig,
    ) -> std::result::Result<(), crate::ConfigError> {
        if let Some(field) = c.connection_level_field() {
            return Err(crate::ConfigError::ConnectionLevel(field));
        }
        let mut m = self.modes();
        if c.stream_data_nodelay {
            m.nodelay = true;
        }
        if c.receive_session_ticket != 0 {
            m.ticket_wait = Duration::from_secs(c.receive_session_ticket.into());
        }
        Ok(())
    }

    /// Waits for the server's NewSessionTicket (clients), at most the CONFIG option's
    /// `receive_session_ticket` seconds (default [`DEFAULT_TICKET_WAIT`]), and returns it
    /// raw; [`Error::TimedOut`] when none came.
    pub fn wait_session_ticket(&self) -> Result<Vec<u8>> {
        let wait = self.modes().ticket_wait;
        let start = clock::now();
        loop {
            if let Some(t) = self.session_ticket() {
                return Ok(t);
            }
            if clock::now().saturating_duration_since(start) >= wait {
                return Err(Error::TimedOut);
            }
            std::thread::sleep(TICKET_POLL);
        }
    }

    /// The last NewSessionTicket message the server sent, raw (clients; Linux QUIC's
    /// SESSION_TICKET option, get). rustls also keeps it in the client configuration's
    /// session store, from which a later `connect` with the same configuration resumes.
    pub fn session_ticket(&self) -> Option<Vec<u8>> {
        let st = self.lock();
        st.conn.driver()?.session_ticket().map(<[u8]>::to_vec)
    }

    /// Whether the handshake resumed an earlier session.
    pub fn is_resumed(&self) -> Option<bool> {
        let st = self.lock();
        st.conn.driver()?.is_resumed()
    }

    /// Sends the client a fresh address-validation token in NEW_TOKEN (servers; Linux
    /// QUIC's TOKEN option, server set). [`Error::WouldBlock`] while the previous one is
    /// not acknowledged.
    pub fn send_token(&self) -> Result<()> {
        let mut st = self.lock();
        let ip = self.established(&mut st)?.remote_address().ip();
        let token = self.engine.shared().endpoint.mint_token(ip, clock::now());
        match st.conn.send_new_token(token) {
            Ok(()) => {}
            Err(quicsock_proto::conn::NewTokenError::InFlight) => return Err(Error::WouldBlock),
            Err(_) => {
                return Err(Error::InvalidArgument(
                    "only an established server sends tokens",
                ))
            }
        }
        self.flush(st);
        Ok(())
    }

    /// Starts closing: once everything sent is acknowledged (at most the linger time) the
    /// connection closes with the code of [`set_close_info`](Self::set_close_info). Later
    /// sends fail; `recv` returns what is left, then the close.
    pub fn shutdown(&self) {
        self.start_close();
    }

    /// A descriptor that polls readable when `recv` would not block and writable when
    /// `send` (on the active stream) would not block, for epoll, mio or tokio's `AsyncFd`.
    /// Only poll it: reading or writing it breaks the signal. Made on the first call.
    pub fn pollable(&self) -> Result<BorrowedFd<'_>> {
        crate::readiness::lazily(&self.poll_fd, || {
            let mut st = self.lock();
            // Another thread may have made it meanwhile: share that one.
            if let Some(r) = st.cs.readiness.as_ref() {
                return r.dup();
            }
            let r = crate::readiness::Readiness::new()?;
            let dup = r.dup()?;
            st.cs.readiness = Some(r);
            st.refresh_readiness();
            Ok(dup)
        })
    }

    /// A descriptor for one stream: it polls readable when [`recv_stream`](Self::recv_stream)
    /// on `stream_id` would not block and writable when [`send`](Self::send) on it would not,
    /// for an application (or an HTTP/3 layer) that drives streams on their own with epoll,
    /// mio or tokio's `AsyncFd`. Only poll it; the stream stops being watched once every
    /// handle to it is dropped.
    pub fn stream_pollable(&self, stream_id: i64) -> Result<StreamPoll> {
        let id =
            stream_from_i64(stream_id).ok_or(Error::InvalidArgument("stream id out of range"))?;
        let mut st = self.lock();
        let owner = Arc::new(());
        let readiness = crate::readiness::Readiness::new()?;
        let fd = readiness.dup()?;
        st.cs.stream_readiness.push(crate::slot::StreamReadiness {
            id,
            readiness,
            owner: Arc::downgrade(&owner),
        });
        st.refresh_readiness();
        Ok(StreamPoll { fd, _owner: owner })
    }

    /// Sets or clears the socket's [`QuicPoll`](crate::QuicPoll) registration.
    pub(crate) fn set_registration(&self, r: Option<crate::poll::Registration>) {
        self.lock().cs.poll = r;
    }

    /// The engine the connection runs on.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The cipher suite protecting the connection's 1-RTT packets.
    pub fn cipher_suite(&self) -> Option<quicsock_proto::crypto::CipherSuite> {
        let st = self.lock();
        st.conn.one_rtt_suite()
    }

    /// Why the connection closed, once it did.
    pub fn close_reason(&self) -> Option<ConnectionError> {
        let st = self.lock();
        st.conn.error().cloned()
    }

    /// Closes the connection at once with `code` and `reason`, dropping what was not
    /// delivered yet (RFC 9000 §10.2).
    pub fn abort(&self, code: u64, reason: &[u8]) {
        let mut st = self.lock();
        st.conn.close(
            clock::now(),
            VarInt::from_u64(code).unwrap_or(VarInt::ZERO),
            reason,
        );
        self.flush(st);
    }

    /// Closes the connection once everything sent is acknowledged (at most the linger
    /// time), with the close code set by [`set_close_code`](Self::set_close_code), and
    /// waits for that. Returns [`Error::TimedOut`] if data was still unacknowledged when
    /// the linger time ran out.
    pub fn close(self) -> Result<()> {
        let linger = self.start_close();
        let deadline = clock::now() + linger + Duration::from_secs(1);
        let mut st = self.lock();
        loop {
            let conn = &mut *st.conn;
            if conn.is_closed() {
                let acked = conn.streams().all_acked();
                let result = match conn.error() {
                    Some(ConnectionError::Local(_)) if acked => Ok(()),
                    Some(ConnectionError::Local(_)) => Err(Error::TimedOut),
                    Some(e) => Err(Error::Closed(e.clone())),
                    None => Ok(()),
                };
                // The CONNECTION_CLOSE may still wait for the engine: send it from here,
                // so that a process exiting next does not take it along.
                self.flush(st);
                return result;
            }
            let now = clock::now();
            if now >= deadline {
                return Err(Error::TimedOut);
            }
            st = self.wait(st, deadline.saturating_duration_since(now));
        }
    }

    /// Has the engine close the connection once its data is acknowledged; returns the
    /// linger time.
    fn start_close(&self) -> Duration {
        let (linger, code, phrase) = {
            let m = self.modes();
            (m.linger, m.close_code, m.close_phrase.clone())
        };
        if self.closed.swap(true, Ordering::Relaxed) {
            return linger;
        }
        let mut st = self.lock();
        // Corked data goes out before the close.
        st.conn.streams().set_corked(false);
        let deadline = clock::now() + linger;
        st.cs.linger = Some(crate::slot::Linger {
            deadline,
            code,
            phrase,
        });
        // Closes at once if everything is acknowledged already, else arms the deadline.
        self.flush(st);
        linger
    }
}

impl AsFd for QuicSocket {
    /// The pollable descriptor ([`QuicSocket::pollable`]).
    ///
    /// # Panics
    ///
    /// When the process is out of file descriptors; `pollable` reports that as an error.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pollable()
            .expect("a pollable descriptor for the socket")
    }
}

impl AsRawFd for QuicSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// One stream's pollable descriptor ([`QuicSocket::stream_pollable`]).
#[derive(Debug)]
pub struct StreamPoll {
    fd: OwnedFd,
    _owner: Arc<()>,
}

impl AsFd for StreamPoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for StreamPoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// One stream of a [`QuicSocket`] as a byte stream (see [`QuicSocket::stream`]).
#[derive(Debug)]
pub struct StreamHandle<'a> {
    sock: &'a QuicSocket,
    id: i64,
    ended: bool,
}

impl StreamHandle<'_> {
    /// Ends the stream: the peer reads the data written so far, then end of file.
    pub fn finish(&mut self) -> Result<()> {
        self.sock.send(&[], self.id, Flags::STREAM_FIN).map(|_| ())
    }

    /// The stream id.
    pub fn id(&self) -> i64 {
        self.id
    }
}

impl std::io::Read for StreamHandle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let (n, fin) = self.sock.recv_stream(self.id, buf, Flags::NONE)?;
        self.ended = fin;
        Ok(n)
    }
}

impl std::io::Write for StreamHandle<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        Ok(self.sock.send(buf, self.id, Flags::NONE)?)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Everything written is already handed to the connection, which sends it as fast
        // as congestion control allows.
        Ok(())
    }
}

impl Drop for QuicSocket {
    fn drop(&mut self) {
        self.start_close();
        let mut st = self.lock();
        st.cs.attached = false;
        // Looked at again with nobody holding it: a connection that drained already (or
        // while the close lingered) is forgotten now, and an engine left with nothing
        // exits, closing its UDP socket.
        self.engine.detach(&self.slot, &mut st);
        drop(st);
        self.engine.release();
    }
}

/// A stream id from the API's signed form.
fn stream_from_i64(id: i64) -> Option<StreamId> {
    let v = VarInt::from_u64(u64::try_from(id).ok()?).ok()?;
    Some(StreamId::from(v))
}

/// A stream id in the API's signed form (ids are below 2^62).
fn sid(id: StreamId) -> i64 {
    id.into_inner() as i64
}

fn stream_error(e: StreamError, id: StreamId) -> Error {
    match e {
        StreamError::NotOpen(_) => Error::StreamClosed(sid(id)),
        StreamError::Reset(_, code) => Error::StreamReset(sid(id), code),
        StreamError::Stopped(_, code) => Error::StreamStopped(sid(id), code),
        StreamError::LimitReached => Error::WouldBlock,
        StreamError::Blocked(_) | StreamError::StopInFlight(_) => Error::WouldBlock,
        _ => Error::InvalidArgument("the stream does not allow this in its state"),
    }
}
