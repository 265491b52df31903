//! The calls that make, change and end a QUIC socket (reference §1.1): `socket`, `bind`,
//! `listen`, `accept`, `connect`, `shutdown`, `close`, the dups, and the descriptor-level
//! calls (`fcntl`, `ioctl`, `getsockname`, `getpeername`).
//!
//! `socket` hands out a placeholder descriptor (an eventfd). `connect` and `listen` make
//! the quicsock object and put its pollable descriptor in the placeholder's place with
//! `dup3`, so the program's number stays and polls as the socket; `accept` hands out a
//! duplicate of the new connection's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, OnceLock};

use libc::{c_int, c_ulong, sockaddr, socklen_t};
use quicsock::{ClientConfig, Error, QuicListener, QuicSocket, ServerConfig};

use crate::quic::{Conn, Options, Quic, State};
use crate::wait::{self, Deadline};
use crate::{addr, real, registry};

/// `socket(family, ty, IPPROTO_QUIC)`.
pub(crate) fn socket(family: c_int, ty: c_int) -> Result<c_int, c_int> {
    if family != libc::AF_INET && family != libc::AF_INET6 {
        return Err(libc::EAFNOSUPPORT);
    }
    let base = ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    if base != libc::SOCK_STREAM && base != libc::SOCK_DGRAM {
        return Err(libc::EPROTONOSUPPORT);
    }
    let cloexec = if ty & libc::SOCK_CLOEXEC != 0 {
        libc::EFD_CLOEXEC
    } else {
        0
    };
    let _change = registry::changing();
    // SAFETY: eventfd takes no pointers.
    let fd = unsafe { libc::eventfd(0, cloexec) };
    if fd < 0 {
        return Err(crate::errno::get());
    }
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: registering a function that takes no arguments and does not unwind.
        unsafe { libc::atexit(registry::close_all_at_exit) };
    });
    let q = Quic::new(family, ty & libc::SOCK_NONBLOCK != 0);
    q.options().v6only = false;
    registry::insert(fd, Arc::new(q));
    Ok(fd)
}

/// `bind`: the address is kept for `connect` or `listen`.
pub(crate) fn bind(q: &Quic, a: SocketAddr) -> Result<(), c_int> {
    if !matches!(q.state(), State::Fresh) {
        return Err(libc::EINVAL);
    }
    if a.is_ipv6() && q.family == libc::AF_INET {
        return Err(libc::EAFNOSUPPORT);
    }
    let mut o = q.options();
    if o.bound.is_some() {
        return Err(libc::EINVAL);
    }
    o.bound = Some(a);
    Ok(())
}

/// The address to bind when the program did not: the wildcard of its family, any port.
fn wildcard(family: c_int) -> SocketAddr {
    if family == libc::AF_INET6 {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
    }
}

/// The handshake is the program's, so the TLS configurations quicsock's objects are made
/// with only carry the ALPN list a listener dispatches by.
fn client_tls() -> Arc<rustls::ClientConfig> {
    static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    TLS.get_or_init(|| quicsock::tls::insecure_client_config(&[]))
        .clone()
}

fn server_tls(alpns: Vec<Vec<u8>>) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut c = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("aws-lc-rs supports TLS 1.3")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::server::ResolvesServerCertUsingSni::new()));
    c.alpn_protocols = alpns;
    Arc::new(c)
}

fn config_error(_: quicsock::ConfigError) -> c_int {
    libc::EINVAL
}

/// The transport settings both roles take from the options.
fn transport(o: &Options) -> quicsock::TransportConfig {
    let mut t = o.transport.clone();
    if let Some(send) = o.buffers.1 {
        t.streams.send_buffer = send as u64;
    }
    if let Some(recv) = o.buffers.0 {
        t.streams.max_connection_window = recv as u64;
    }
    t
}

/// Puts `from` (a quicsock pollable descriptor) in the place of the program's `fd`,
/// keeping its close-on-exec flag.
fn take_place(fd: c_int, from: RawFd) -> Result<(), c_int> {
    // SAFETY: fcntl on a descriptor number; failure is reported.
    let fd_flags = unsafe { real::fcntl(fd, libc::F_GETFD, 0) };
    if fd_flags < 0 {
        return Err(crate::errno::get());
    }
    let cloexec = if fd_flags & libc::FD_CLOEXEC != 0 {
        libc::O_CLOEXEC
    } else {
        0
    };
    // SAFETY: dup3 of two descriptor numbers; `fd` is the program's QUIC socket.
    if unsafe { real::dup3(from, fd, cloexec) } < 0 {
        return Err(crate::errno::get());
    }
    Ok(())
}

/// `connect`: a connection without its handshake, which the program then drives (or
/// `quic_client_handshake` does). Nothing is sent until the ClientHello.
pub(crate) fn connect(fd: c_int, q: &Quic, remote: SocketAddr) -> Result<(), c_int> {
    let _change = registry::changing();
    match q.state() {
        State::Fresh => {}
        State::Connected(_) => return Err(libc::EISCONN),
        State::Listening(_) => return Err(libc::EINVAL),
    }
    if remote.port() == 0 || remote.ip().is_unspecified() {
        return Err(libc::EINVAL);
    }
    let remote = match remote {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::new(IpAddr::V4(ip), v6.port()),
            None => remote,
        },
        v4 => v4,
    };
    let o = q.options();
    let mut c = ClientConfig::new(client_tls(), "");
    c.transport = transport(&o);
    if let Some(qc) = &o.config {
        c.set_quic_config(qc).map_err(config_error)?;
    }
    c.local_addr = o.bound;
    c.token = o.token.clone();
    let sock = QuicSocket::connect_without_handshake(remote, &c).map_err(|e| e.errno())?;
    apply(&sock, &o);
    drop(o);
    let conn = Arc::new(Conn::new(sock, false));
    take_place(fd, conn.pollable()?)?;
    q.set_state(State::Connected(conn));
    Ok(())
}

/// What a connection takes from the options once it exists: events, close info, the
/// linger time and the socket's own CONFIG fields.
pub(crate) fn apply(sock: &QuicSocket, o: &Options) {
    for ty in quicsock::EventType::ALL {
        sock.set_event(ty, o.events.contains(&ty));
    }
    let _ = sock.set_close_info(u64::from(o.close.0), &o.close.1);
    sock.set_linger(o.linger_time());
    if let Some(c) = &o.config {
        let own = quicsock::QuicConfig {
            stream_data_nodelay: c.stream_data_nodelay,
            receive_session_ticket: c.receive_session_ticket,
            ..Default::default()
        };
        let _ = sock.set_quic_config(&own);
    }
}

/// `listen`: a listener whose connections come out of `accept` before their handshake.
/// A backlog of 0 on a listener stops listening (reference §1.1).
pub(crate) fn listen(fd: c_int, q: &Quic, backlog: c_int) -> Result<(), c_int> {
    let _change = registry::changing();
    match q.state() {
        State::Connected(_) => return Err(libc::EINVAL),
        State::Listening(_) if backlog == 0 => {
            // SAFETY: eventfd takes no pointers.
            let placeholder = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            if placeholder < 0 {
                return Err(crate::errno::get());
            }
            let r = take_place(fd, placeholder);
            // SAFETY: closing the descriptor made above.
            unsafe { real::close(placeholder) };
            r?;
            q.set_state(State::Fresh);
            return Ok(());
        }
        State::Listening(_) => return Ok(()),
        State::Fresh if backlog == 0 => return Ok(()),
        State::Fresh => {}
    }
    let o = q.options();
    let mut c = ServerConfig::new(server_tls(o.alpn_list()));
    c.manual_handshake = true;
    c.backlog = usize::try_from(backlog).unwrap_or(0).clamp(1, 65535);
    c.transport = transport(&o);
    if let Some(qc) = &o.config {
        c.set_quic_config(qc).map_err(config_error)?;
    }
    c.socket.reuse_port = o.reuse_port;
    c.socket.v6_only = o.v6only;
    let at = o.bound.unwrap_or_else(|| wildcard(q.family));
    drop(o);
    let l = QuicListener::bind(at, &c).map_err(|e| match e {
        Error::Io(e) => e.raw_os_error().unwrap_or(libc::EIO),
        Error::InvalidArgument(_) => libc::EADDRINUSE,
        e => e.errno(),
    })?;
    l.set_nonblocking(true);
    {
        let mut o = q.options();
        for ty in o.events.iter() {
            l.set_event(*ty, true);
        }
        // The ticket master key its connections hand the program's TLS library.
        if o.ticket.is_none() {
            o.ticket = Some(random(64)?);
        }
    }
    let pollable = l.pollable().map_err(|e| e.errno())?.as_raw_fd();
    take_place(fd, pollable)?;
    q.set_state(State::Listening(Arc::new(l)));
    Ok(())
}

/// `n` bytes from the system CSPRNG.
fn random(n: usize) -> Result<Vec<u8>, c_int> {
    let mut key = vec![0u8; n];
    let mut got = 0;
    while got < n {
        // SAFETY: getrandom writes at most the length given into the buffer's rest.
        let r = unsafe { libc::getrandom(key[got..].as_mut_ptr().cast(), n - got, 0) };
        if r < 0 {
            let e = crate::errno::get();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        got += r as usize;
    }
    Ok(key)
}

/// `accept4`: the next connection, with its ClientHello waiting to be read.
///
/// # Safety
/// `addr` and `len` are NULL or valid for writes.
pub(crate) unsafe fn accept(
    q: &Quic,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> Result<c_int, c_int> {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(libc::EINVAL);
    }
    let State::Listening(l) = q.state() else {
        return Err(libc::EINVAL);
    };
    let deadline = Deadline::after(q.options().read_timeout);
    let sock = loop {
        match l.accept() {
            Ok(s) => break s,
            Err(Error::WouldBlock) if q.is_nonblocking() => return Err(libc::EAGAIN),
            Err(Error::WouldBlock) => {
                let fd = l.pollable().map_err(|e| e.errno())?.as_raw_fd();
                wait::until(fd, false, deadline)?;
            }
            Err(e) => return Err(e.errno()),
        }
    };
    let peer = sock.peer_addr().ok();
    let conn = Arc::new(Conn::new(sock, true));
    let cmd = if flags & libc::SOCK_CLOEXEC != 0 {
        libc::F_DUPFD_CLOEXEC
    } else {
        libc::F_DUPFD
    };
    let _change = registry::changing();
    // SAFETY: duplicating a descriptor the connection owns.
    let fd = unsafe { real::fcntl(conn.pollable()?, cmd, 0) };
    if fd < 0 {
        return Err(crate::errno::get());
    }
    let nonblocking = flags & libc::SOCK_NONBLOCK != 0;
    registry::insert(fd, Arc::new(Quic::accepted(q, conn, nonblocking)));
    if !addr.is_null() {
        if let Some(peer) = peer {
            // SAFETY: the caller's pointers.
            let _ = unsafe { addr::write(peer, q.family, addr, len) };
        }
    }
    Ok(fd)
}

/// `close`: forgets the number; the socket closes (in the background, once what was sent
/// is acknowledged, at most the linger time) when no other number names it.
pub(crate) fn close(fd: c_int) -> c_int {
    let q = {
        let _change = registry::changing();
        registry::remove(fd)
    };
    // SAFETY: the program's descriptor, which it closes.
    let r = unsafe { real::close(fd) };
    if let Some(q) = q {
        registry::release(q);
    }
    r
}

/// `dup`, `dup2`, `dup3` and `fcntl(F_DUPFD*)`: `made` makes the new number, which
/// names `q` (the QUIC socket duplicated, if it is one). `to` is the number dup2 and dup3
/// replace: a QUIC socket there is forgotten, as dup2 closes what it replaces.
pub(crate) fn dup(q: Option<Arc<Quic>>, made: impl FnOnce() -> c_int, to: Option<c_int>) -> c_int {
    let change = registry::changing();
    let fd = made();
    let mut replaced = None;
    if fd >= 0 {
        if let Some(to) = to {
            replaced = registry::remove(to);
        }
        if let Some(q) = q {
            registry::insert(fd, q);
        }
    }
    drop(change);
    if let Some(old) = replaced {
        registry::release(old);
    }
    fd
}

/// `shutdown`: every direction ends the connection as Linux QUIC's does (SHUT_WR sends
/// the application close once what was sent is acknowledged).
pub(crate) fn shutdown(q: &Quic, how: c_int) -> Result<(), c_int> {
    if !matches!(how, libc::SHUT_RD | libc::SHUT_WR | libc::SHUT_RDWR) {
        return Err(libc::EINVAL);
    }
    q.conn()?.sock.shutdown();
    Ok(())
}

/// `getsockname`.
pub(crate) fn local_addr(q: &Quic) -> Result<SocketAddr, c_int> {
    match q.state() {
        State::Connected(c) => c.sock.local_addr().map_err(|e| e.errno()),
        State::Listening(l) => l.local_addr().map_err(|e| e.errno()),
        State::Fresh => Ok(q.options().bound.unwrap_or_else(|| wildcard(q.family))),
    }
}

/// `getpeername`.
pub(crate) fn peer_addr(q: &Quic) -> Result<SocketAddr, c_int> {
    q.conn()?.sock.peer_addr().map_err(|_| libc::ENOTCONN)
}

/// `fcntl`: O_NONBLOCK is the socket's (the descriptor underneath always stays
/// non-blocking, since quicsock's engine drains it); the dups name the same socket;
/// everything else is the descriptor's.
pub(crate) fn fcntl(fd: c_int, q: Arc<Quic>, cmd: c_int, arg: c_ulong) -> c_int {
    match cmd {
        libc::F_GETFL => {
            // SAFETY: fcntl on a descriptor number.
            let flags = unsafe { real::fcntl(fd, cmd, arg) };
            if flags < 0 {
                return flags;
            }
            if q.is_nonblocking() {
                flags | libc::O_NONBLOCK
            } else {
                flags & !libc::O_NONBLOCK
            }
        }
        libc::F_SETFL => {
            q.nonblocking.store(
                arg & libc::O_NONBLOCK as c_ulong != 0,
                std::sync::atomic::Ordering::Relaxed,
            );
            // SAFETY: as above.
            unsafe { real::fcntl(fd, cmd, arg | libc::O_NONBLOCK as c_ulong) }
        }
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => dup(
            Some(q),
            // SAFETY: as above.
            || unsafe { real::fcntl(fd, cmd, arg) },
            None,
        ),
        // SAFETY: as above.
        _ => unsafe { real::fcntl(fd, cmd, arg) },
    }
}

/// `SIOCOUTQNSD`, which libc does not name.
const SIOCOUTQNSD: c_ulong = 0x894B;

/// `ioctl`: FIONBIO, and the queue sizes SIOCINQ, SIOCOUTQ and SIOCOUTQNSD (reference
/// §1.1).
///
/// # Safety
/// `arg` is what the request takes: a pointer to an int.
pub(crate) unsafe fn ioctl(q: &Quic, request: c_ulong, arg: c_ulong) -> Result<(), c_int> {
    let p = arg as *mut c_int;
    if p.is_null() {
        return Err(libc::EFAULT);
    }
    let value = match request {
        libc::FIONBIO => {
            // SAFETY: FIONBIO takes a pointer to an int.
            let on = unsafe { *p } != 0;
            q.nonblocking
                .store(on, std::sync::atomic::Ordering::Relaxed);
            return Ok(());
        }
        libc::FIONREAD => q.conn().map(|c| c.sock.queue_bytes().receive).unwrap_or(0),
        libc::TIOCOUTQ => q.conn().map(|c| c.sock.queue_bytes().send).unwrap_or(0),
        SIOCOUTQNSD => q.conn().map(|c| c.sock.queue_bytes().unsent).unwrap_or(0),
        _ => return Err(libc::ENOTTY),
    };
    // SAFETY: these requests take a pointer to an int.
    unsafe { *p = value.min(c_int::MAX as u64) as c_int };
    Ok(())
}
