//! One QUIC socket as a C program holds it (reference §1.1): fresh from `socket()`, then a
//! listener after `listen`, or a connection after `connect` or from `accept`; and what the
//! program set on it before there was a quicsock object to set it on.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use libc::c_int;
use quicsock::{EventType, QuicConfig, QuicListener, QuicSocket, TransportConfig};

/// A QUIC socket of the program.
pub(crate) struct Quic {
    /// The process that made it: a forked child's copy is not usable.
    pub(crate) pid: u32,
    /// AF_INET or AF_INET6.
    pub(crate) family: c_int,
    /// O_NONBLOCK, as the program set it (quicsock's objects are always non-blocking:
    /// this library waits itself, so that a signal interrupts the wait).
    pub(crate) nonblocking: AtomicBool,
    state: Mutex<State>,
    options: Mutex<Options>,
}

/// Where the socket is in its life.
#[derive(Clone)]
pub(crate) enum State {
    /// Made by `socket()`, perhaps bound: options are kept for `connect` or `listen`.
    Fresh,
    /// Listening.
    Listening(Arc<QuicListener>),
    /// A connection.
    Connected(Arc<Conn>),
}

/// A connection and what this library tracks of its handshake.
pub(crate) struct Conn {
    /// The connection.
    pub(crate) sock: QuicSocket,
    /// Whether it came from `accept`.
    pub(crate) server: bool,
    /// Which 1-RTT secrets the program installed (send, receive): with both the
    /// handshake is complete (reference §1.9, step 4).
    pub(crate) app_keys: Mutex<(bool, bool)>,
    /// A handshake message the program read only part of: its level, bytes and how much
    /// was read.
    pub(crate) partial: Mutex<Option<(u8, Vec<u8>, usize)>>,
}

impl Conn {
    pub(crate) fn new(sock: QuicSocket, server: bool) -> Self {
        sock.set_nonblocking(true);
        Self {
            sock,
            server,
            app_keys: Mutex::new((false, false)),
            partial: Mutex::new(None),
        }
    }

    /// Runs `call` until it does not block: waits for the connection to become writable
    /// (`write`) or readable between tries, unless `nonblocking` (then EAGAIN).
    pub(crate) fn until_done<T>(
        &self,
        nonblocking: bool,
        write: bool,
        deadline: crate::wait::Deadline,
        mut call: impl FnMut() -> quicsock::Result<T>,
    ) -> Result<T, c_int> {
        loop {
            match call() {
                Ok(v) => return Ok(v),
                Err(quicsock::Error::WouldBlock) if !nonblocking => {
                    crate::wait::until(self.pollable()?, write, deadline)?
                }
                Err(e) => return Err(crate::errno::of(&e, crate::errno::Call::Send)),
            }
        }
    }

    /// The descriptor that shows the connection's readiness.
    pub(crate) fn pollable(&self) -> Result<RawFd, c_int> {
        self.sock
            .pollable()
            .map(|fd| fd.as_raw_fd())
            .map_err(|e| e.errno())
    }
}

/// What the program set before `connect` or `listen`, and the options this library keeps
/// itself.
pub(crate) struct Options {
    /// The address `bind` gave.
    pub(crate) bound: Option<SocketAddr>,
    /// The ALPN option: a comma-separated list.
    pub(crate) alpn: String,
    /// Transport parameters and windows (TRANSPORT_PARAM, CONFIG).
    pub(crate) transport: TransportConfig,
    /// The CONFIG option as set so far; zero fields were left alone.
    pub(crate) config: Option<QuicConfig>,
    /// Enabled event types (EVENT), as quicsock's bits.
    pub(crate) events: Vec<EventType>,
    /// SO_RCVTIMEO.
    pub(crate) read_timeout: Option<Duration>,
    /// SO_SNDTIMEO.
    pub(crate) write_timeout: Option<Duration>,
    /// The application close code and phrase (CONNECTION_CLOSE).
    pub(crate) close: (u32, Vec<u8>),
    /// A client's address-validation token (TOKEN).
    pub(crate) token: Option<Vec<u8>>,
    /// SO_REUSEPORT.
    pub(crate) reuse_port: bool,
    /// SO_RCVBUF and SO_SNDBUF, as set.
    pub(crate) buffers: (Option<usize>, Option<usize>),
    /// IPV6_V6ONLY.
    pub(crate) v6only: bool,
    /// SO_LINGER as set: whether it is on, and its seconds.
    pub(crate) linger: (bool, c_int),
    /// SESSION_TICKET: a server's ticket master key (drawn for each listener, or the
    /// program's own), or the session data a client set.
    pub(crate) ticket: Option<Vec<u8>>,
}

impl Options {
    fn new() -> Self {
        Self {
            bound: None,
            alpn: String::new(),
            transport: TransportConfig::default(),
            config: None,
            events: Vec::new(),
            read_timeout: None,
            write_timeout: None,
            close: (0, Vec::new()),
            token: None,
            reuse_port: false,
            buffers: (None, None),
            v6only: false,
            linger: (false, 0),
            ticket: None,
        }
    }

    /// How long closing waits for what was sent to be acknowledged: SO_LINGER's time
    /// when it is on (0: at once, what is unacknowledged is dropped), else quicsock's
    /// default.
    pub(crate) fn linger_time(&self) -> Duration {
        match self.linger {
            (true, secs) => Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
            (false, _) => quicsock::DEFAULT_LINGER,
        }
    }

    /// The ALPN list as protocol names.
    pub(crate) fn alpn_list(&self) -> Vec<Vec<u8>> {
        alpn_list(&self.alpn)
    }

    /// What an accepted connection inherits from its listener (reference §1.1,
    /// `accept`).
    pub(crate) fn inherited(&self) -> Self {
        Self {
            bound: None,
            alpn: self.alpn.clone(),
            transport: self.transport.clone(),
            config: self.config,
            events: self.events.clone(),
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            close: self.close.clone(),
            token: None,
            reuse_port: false,
            buffers: self.buffers,
            v6only: self.v6only,
            linger: self.linger,
            ticket: self.ticket.clone(),
        }
    }
}

/// A comma-separated ALPN list as names, spaces around each trimmed.
pub(crate) fn alpn_list(list: &str) -> Vec<Vec<u8>> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| a.as_bytes().to_vec())
        .collect()
}

impl Quic {
    /// A fresh socket of `family`.
    pub(crate) fn new(family: c_int, nonblocking: bool) -> Self {
        Self {
            pid: std::process::id(),
            family,
            nonblocking: AtomicBool::new(nonblocking),
            state: Mutex::new(State::Fresh),
            options: Mutex::new(Options::new()),
        }
    }

    /// An accepted connection with what it inherits from `listener`.
    pub(crate) fn accepted(listener: &Self, conn: Arc<Conn>, nonblocking: bool) -> Self {
        let options = listener.options().inherited();
        crate::lifecycle::apply(&conn.sock, &options);
        Self {
            pid: std::process::id(),
            family: listener.family,
            nonblocking: AtomicBool::new(nonblocking),
            state: Mutex::new(State::Connected(conn)),
            options: Mutex::new(options),
        }
    }

    /// Where it is now.
    pub(crate) fn state(&self) -> State {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Moves it to `state`.
    pub(crate) fn set_state(&self, state: State) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// Its options.
    pub(crate) fn options(&self) -> MutexGuard<'_, Options> {
        self.options.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection, or ENOTCONN.
    pub(crate) fn conn(&self) -> Result<Arc<Conn>, c_int> {
        match self.state() {
            State::Connected(c) => Ok(c),
            _ => Err(libc::ENOTCONN),
        }
    }

    /// Closes it once no number names it. A blocking connection's close waits until its
    /// CONNECTION_CLOSE is sent, after everything sent before was acknowledged (at most
    /// the linger time): a C program commonly exits right after close, and nothing
    /// outlives the process to send the rest. A non-blocking one closes in the
    /// background.
    pub(crate) fn close(self) {
        let nonblocking = self.is_nonblocking();
        let state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        if let State::Connected(conn) = state {
            if let (Ok(conn), false) = (Arc::try_unwrap(conn), nonblocking) {
                let _ = conn.sock.close();
            }
        }
    }

    /// Whether calls on it must not wait.
    pub(crate) fn is_nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }
}
