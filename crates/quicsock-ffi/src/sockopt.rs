//! `setsockopt` and `getsockopt` on a QUIC socket: the SOL_QUIC options with their uapi
//! structures, state rules and errnos (reference §1.4), and the SOL_SOCKET and IPv6
//! options a QUIC socket honours.
//!
//! Structures are copied with `min(optlen, sizeof)`, zero-filled, so that shorter (older)
//! ones work, and `optlen` is capped at 4096, as Linux QUIC does.

use std::time::Duration;

use libc::{c_int, c_void, socklen_t};
use quicsock::proto::conn::{Direction, Level};
use quicsock::proto::crypto::CipherSuite;
use quicsock::{EventType, Flags, QuicConfig};

use crate::msg::level_of;
use crate::quic::{Quic, State};
use crate::uapi::{self, *};

/// The largest option value Linux QUIC reads.
const MAX_OPTLEN: usize = 4096;

/// An option value the program passed: its bytes.
pub(crate) struct Value<'a>(&'a [u8]);

impl<'a> Value<'a> {
    /// The `len` bytes at `val`.
    ///
    /// # Safety
    /// `val` is NULL or readable for `len` bytes.
    pub(crate) unsafe fn new(val: *const c_void, len: socklen_t) -> Result<Self, c_int> {
        let len = len as usize;
        if len > MAX_OPTLEN {
            return Err(libc::EINVAL);
        }
        if val.is_null() {
            return if len == 0 {
                Ok(Self(&[]))
            } else {
                Err(libc::EFAULT)
            };
        }
        // SAFETY: the caller's buffer.
        Ok(Self(unsafe { std::slice::from_raw_parts(val.cast(), len) }))
    }

    /// The value as a `T`: its first `min(len, sizeof T)` bytes over zeroes.
    fn read<T: Copy>(&self) -> T {
        let mut out = std::mem::MaybeUninit::<T>::zeroed();
        let n = self.0.len().min(std::mem::size_of::<T>());
        // SAFETY: copying at most size_of::<T>() bytes into zeroed storage of a plain-data
        // uapi type, for which any bytes are a valid value.
        unsafe {
            std::ptr::copy_nonoverlapping(self.0.as_ptr(), out.as_mut_ptr().cast::<u8>(), n);
            out.assume_init()
        }
    }

    /// The value as an int (EINVAL when shorter).
    fn int(&self) -> Result<c_int, c_int> {
        if self.0.len() < std::mem::size_of::<c_int>() {
            return Err(libc::EINVAL);
        }
        Ok(self.read())
    }
}

/// Where a `getsockopt` answer goes.
pub(crate) struct Out {
    val: *mut c_void,
    len: *mut socklen_t,
}

impl Out {
    /// The program's buffer and its length.
    ///
    /// # Safety
    /// `len` is NULL or valid; `val` is NULL or writable for `*len` bytes.
    pub(crate) unsafe fn new(val: *mut c_void, len: *mut socklen_t) -> Result<Self, c_int> {
        if len.is_null() {
            return Err(libc::EFAULT);
        }
        Ok(Self { val, len })
    }

    /// Room the program gave.
    fn room(&self) -> usize {
        // SAFETY: checked non-NULL in `new`.
        (unsafe { *self.len } as usize).min(MAX_OPTLEN)
    }

    /// What the program passed in the buffer (for options that take an input).
    fn input<T: Copy>(&self) -> T {
        let mut out = std::mem::MaybeUninit::<T>::zeroed();
        let n = self.room().min(std::mem::size_of::<T>());
        if !self.val.is_null() {
            // SAFETY: as in Value::read; the buffer holds `room` bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(self.val.cast::<u8>(), out.as_mut_ptr().cast(), n)
            };
        }
        // SAFETY: zeroed or copied plain data.
        unsafe { out.assume_init() }
    }

    /// Writes `bytes`, at most the room given, and the length written.
    fn bytes(&self, bytes: &[u8]) -> Result<(), c_int> {
        let n = self.room().min(bytes.len());
        if n > 0 {
            if self.val.is_null() {
                return Err(libc::EFAULT);
            }
            // SAFETY: the buffer has room for `room` >= n bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.val.cast(), n) };
        }
        // SAFETY: checked non-NULL.
        unsafe { *self.len = n as socklen_t };
        Ok(())
    }

    /// Writes a plain-data value, cut to the room given.
    fn value<T: Copy>(&self, v: &T) -> Result<(), c_int> {
        // SAFETY: uapi structures are plain data.
        self.bytes(unsafe { crate::addr::as_bytes(v) })
    }

    /// Writes a whole bytes value, or EINVAL when the buffer is too small for it.
    fn whole(&self, bytes: &[u8]) -> Result<(), c_int> {
        if self.room() < bytes.len() {
            return Err(libc::EINVAL);
        }
        self.bytes(bytes)
    }
}

fn event_type(ty: u8) -> Result<EventType, c_int> {
    EventType::ALL
        .into_iter()
        .find(|t| *t as u8 == ty)
        .ok_or(libc::EINVAL)
}

fn suite(ty: u32) -> Result<CipherSuite, c_int> {
    match ty {
        TLS_CIPHER_AES_GCM_128 => Ok(CipherSuite::Aes128GcmSha256),
        TLS_CIPHER_AES_GCM_256 => Ok(CipherSuite::Aes256GcmSha384),
        TLS_CIPHER_CHACHA20_POLY1305 => Ok(CipherSuite::ChaCha20Poly1305Sha256),
        TLS_CIPHER_AES_CCM_128 => Ok(CipherSuite::Aes128CcmSha256),
        _ => Err(libc::EINVAL),
    }
}

fn errno(e: quicsock::Error) -> c_int {
    e.errno()
}

/// `setsockopt(fd, SOL_QUIC, name, …)`.
pub(crate) fn set_quic(q: &Quic, name: c_int, v: &Value<'_>) -> Result<(), c_int> {
    let state = q.state();
    let conn = || match &state {
        State::Connected(c) => Ok(c.clone()),
        _ => Err(libc::EINVAL),
    };
    match name {
        QUIC_SOCKOPT_EVENT => {
            let o: QuicEventOption = v.read();
            let ty = event_type(o.type_)?;
            let on = o.on != 0;
            let mut opts = q.options();
            opts.events.retain(|t| *t != ty);
            if on {
                opts.events.push(ty);
            }
            match &state {
                State::Connected(c) => c.sock.set_event(ty, on),
                State::Listening(l) => l.set_event(ty, on),
                State::Fresh => {}
            }
            Ok(())
        }
        QUIC_SOCKOPT_STREAM_RESET | QUIC_SOCKOPT_STREAM_STOP_SENDING => {
            let e: QuicErrinfo = v.read();
            let c = conn()?;
            if !c.sock.is_established() {
                return Err(libc::EINVAL);
            }
            let r = if name == QUIC_SOCKOPT_STREAM_RESET {
                c.sock.reset_stream(e.stream_id, u64::from(e.errcode))
            } else {
                c.sock.stop_sending(e.stream_id, u64::from(e.errcode))
            };
            r.map_err(errno)
        }
        QUIC_SOCKOPT_CONNECTION_ID => {
            let i: QuicConnectionIdInfo = v.read();
            let c = conn()?;
            let active = (i.active != 0).then_some(u64::from(i.active));
            let prior = (i.prior_to != 0).then_some(u64::from(i.prior_to));
            c.sock
                .set_connection_id(i.dest != 0, active, prior)
                .map_err(errno)
        }
        QUIC_SOCKOPT_CONNECTION_CLOSE => {
            let c: QuicConnectionClose = v.read();
            let end = c
                .phrase
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(c.phrase.len());
            let phrase = c.phrase[..end].to_vec();
            if let State::Connected(conn) = &state {
                conn.sock
                    .set_close_info(u64::from(c.errcode), &phrase)
                    .map_err(errno)?;
            }
            q.options().close = (c.errcode, phrase);
            Ok(())
        }
        QUIC_SOCKOPT_KEY_UPDATE => conn()?.sock.update_key().map_err(errno),
        QUIC_SOCKOPT_TRANSPORT_PARAM => {
            let p: QuicTransportParam = v.read();
            if p.remote != 0 {
                return Err(libc::EINVAL);
            }
            if !matches!(state, State::Fresh) {
                return Err(libc::EINVAL);
            }
            crate::params::apply(&mut q.options().transport, &p)
        }
        QUIC_SOCKOPT_CONFIG => {
            let c: QuicConfigC = v.read();
            let c = crate::params::config_of(&c);
            match &state {
                State::Connected(conn) => conn.sock.set_quic_config(&c).map_err(|_| libc::EINVAL),
                State::Listening(_) => Err(libc::EINVAL),
                State::Fresh => {
                    let mut o = q.options();
                    let merged = crate::params::merge(o.config.take(), &c);
                    o.config = Some(merged);
                    Ok(())
                }
            }
        }
        QUIC_SOCKOPT_TOKEN => match &state {
            State::Connected(c) if c.server => c.sock.send_token().map_err(errno),
            State::Fresh if !v.0.is_empty() && v.0.len() <= 120 => {
                q.options().token = Some(v.0.to_vec());
                Ok(())
            }
            _ => Err(libc::EINVAL),
        },
        QUIC_SOCKOPT_ALPN => {
            if matches!(state, State::Listening(_)) || v.0.len() > 128 {
                return Err(libc::EINVAL);
            }
            let end = v.0.iter().position(|b| *b == 0).unwrap_or(v.0.len());
            let list = std::str::from_utf8(&v.0[..end]).map_err(|_| libc::EINVAL)?;
            q.options().alpn = list.to_owned();
            Ok(())
        }
        QUIC_SOCKOPT_CRYPTO_SECRET => {
            let s: QuicCryptoSecret = v.read();
            if v.0.len() < std::mem::size_of::<QuicCryptoSecret>() {
                return Err(libc::EINVAL);
            }
            let c = conn()?;
            let level = match level_of(s.level) {
                Some(Level::Initial) | None => return Err(libc::EINVAL),
                Some(l) => l,
            };
            let suite = suite(s.type_)?;
            let dir = if s.send != 0 {
                Direction::Write
            } else {
                Direction::Read
            };
            let len = suite.hash_len();
            c.sock
                .set_crypto_secret(level, dir, suite, &s.secret[..len])
                .map_err(errno)?;
            if level == Level::OneRtt {
                let mut keys = c.app_keys.lock().unwrap_or_else(|e| e.into_inner());
                if s.send != 0 {
                    keys.0 = true;
                } else {
                    keys.1 = true;
                }
                if keys.0 && keys.1 {
                    drop(keys);
                    // Both 1-RTT keys: the handshake is complete (reference §1.9).
                    c.sock.complete_handshake().map_err(errno)?;
                }
            }
            Ok(())
        }
        QUIC_SOCKOPT_TRANSPORT_PARAM_EXT => {
            if v.0.len() > 512 {
                return Err(libc::EINVAL);
            }
            conn()?.sock.set_transport_param_ext(v.0).map_err(errno)
        }
        QUIC_SOCKOPT_SESSION_TICKET => {
            if matches!(state, State::Listening(_)) {
                return Err(libc::EPIPE);
            }
            let server = matches!(&state, State::Connected(c) if c.server);
            if server && !(64..=MAX_OPTLEN).contains(&v.0.len()) {
                return Err(libc::EINVAL);
            }
            if v.0.is_empty() {
                return Err(libc::EINVAL);
            }
            q.options().ticket = Some(v.0.to_vec());
            Ok(())
        }
        QUIC_SOCKOPT_CONNECTION_MIGRATION => {
            // SAFETY: the value's own bytes.
            let to = unsafe { crate::addr::read(v.0.as_ptr().cast(), v.0.len() as socklen_t) }
                .map_err(|_| libc::EINVAL)?;
            let c = conn()?;
            if !c.sock.is_established() {
                // A server establishing: its preferred address (reference §1.4).
                if !c.server {
                    return Err(libc::EINVAL);
                }
                return c.sock.set_preferred_address(to).map_err(errno);
            }
            let now = c.sock.local_addr().map_err(errno)?;
            if now.ip() == to.ip() || now.is_ipv4() != to.is_ipv4() {
                return Err(libc::EINVAL);
            }
            c.sock.migrate(to.ip()).map_err(|e| match e {
                quicsock::Error::Migration(quicsock::proto::conn::MigrationError::InProgress) => {
                    libc::EAGAIN
                }
                e => e.errno(),
            })
        }
        QUIC_SOCKOPT_STREAM_OPEN => Err(libc::EINVAL),
        _ => Err(libc::ENOPROTOOPT),
    }
}

/// `getsockopt(fd, SOL_QUIC, name, …)`.
pub(crate) fn get_quic(q: &Quic, name: c_int, out: &Out) -> Result<(), c_int> {
    let state = q.state();
    let conn = || match &state {
        State::Connected(c) => Ok(c.clone()),
        State::Listening(_) => Err(libc::EPIPE),
        State::Fresh => Err(libc::EINVAL),
    };
    match name {
        QUIC_SOCKOPT_EVENT => {
            let mut o: QuicEventOption = out.input();
            let ty = event_type(o.type_)?;
            o.on = u8::from(q.options().events.contains(&ty));
            out.value(&o)
        }
        QUIC_SOCKOPT_STREAM_OPEN => {
            let mut s: QuicStreamInfo = out.input();
            if out.room() < std::mem::size_of::<QuicStreamInfo>() {
                return Err(libc::EINVAL);
            }
            let c = conn()?;
            let flags = Flags(s.stream_flags & (MSG_QUIC_STREAM_UNI | MSG_QUIC_STREAM_DONTWAIT));
            let nonblocking = q.is_nonblocking() || flags.contains(Flags::STREAM_DONTWAIT);
            let deadline = crate::wait::Deadline::after(q.options().write_timeout);
            let want = s.stream_id;
            s.stream_id = c.until_done(nonblocking, true, deadline, || {
                if want == -1 {
                    c.sock.open_stream(flags)
                } else {
                    c.sock.open_stream_at(want, flags)
                }
            })?;
            out.value(&s)
        }
        QUIC_SOCKOPT_CONNECTION_ID => {
            let mut i: QuicConnectionIdInfo = out.input();
            let (active, prior) = conn()?.sock.connection_id(i.dest != 0);
            i.active = active as u32;
            i.prior_to = prior as u32;
            out.value(&i)
        }
        QUIC_SOCKOPT_CONNECTION_CLOSE => {
            let mut c = QuicConnectionClose {
                errcode: 0,
                frame: 0,
                reserved: [0; 3],
                phrase: [0; 64],
            };
            let (code, phrase) = crate::params::close_info(q);
            c.errcode = code;
            let n = phrase.len().min(63);
            c.phrase[..n].copy_from_slice(&phrase[..n]);
            out.value(&c)
        }
        QUIC_SOCKOPT_TRANSPORT_PARAM => {
            let p: QuicTransportParam = out.input();
            let got = match &state {
                State::Connected(c) => crate::params::of_params(
                    &c.sock.transport_params(p.remote != 0).ok_or(libc::EINVAL)?,
                    p.remote,
                ),
                _ if p.remote != 0 => return Err(libc::EINVAL),
                _ => crate::params::of_params(&q.options().transport.transport, 0),
            };
            out.value(&got)
        }
        QUIC_SOCKOPT_CONFIG => {
            let c = match &state {
                State::Connected(c) => c.sock.quic_config(),
                _ => crate::params::merge(q.options().config, &QuicConfig::default()),
            };
            out.value(&crate::params::config_c(&c))
        }
        QUIC_SOCKOPT_TOKEN => {
            let c = conn()?;
            if c.server {
                return Err(libc::EINVAL);
            }
            out.bytes(&c.sock.token().unwrap_or_default())
        }
        QUIC_SOCKOPT_ALPN => {
            let alpn = match &state {
                State::Connected(c) => c
                    .sock
                    .alpn()
                    .map(|a| String::from_utf8_lossy(&a).into_owned())
                    .unwrap_or_else(|| q.options().alpn.clone()),
                _ => q.options().alpn.clone(),
            };
            let mut bytes = alpn.into_bytes();
            bytes.push(0);
            out.whole(&bytes)
        }
        QUIC_SOCKOPT_TRANSPORT_PARAM_EXT => {
            let c = conn()?;
            // A client probing for the server's versions: its parameters follow the
            // answer, which this waits for even on a non-blocking socket (a TLS library
            // asks for them while it builds its ClientHello and cannot be told to come
            // back): a round trip, at most the probe's three PTOs or the receive timeout.
            c.sock
                .wait_version(q.options().read_timeout)
                .map_err(errno)?;
            out.whole(&c.sock.transport_param_ext().map_err(errno)?)
        }
        QUIC_SOCKOPT_SESSION_TICKET => {
            let c = conn()?;
            if c.server {
                return out.whole(&q.options().ticket.clone().unwrap_or_default());
            }
            let ticket = match c.sock.session_ticket() {
                Some(t) => t,
                None if !c.sock.is_established() => q.options().ticket.clone().unwrap_or_default(),
                None => Vec::new(),
            };
            out.whole(&ticket)
        }
        QUIC_SOCKOPT_STREAM_RESET
        | QUIC_SOCKOPT_STREAM_STOP_SENDING
        | QUIC_SOCKOPT_KEY_UPDATE
        | QUIC_SOCKOPT_CONNECTION_MIGRATION
        | QUIC_SOCKOPT_CRYPTO_SECRET => Err(libc::EINVAL),
        _ => Err(libc::ENOPROTOOPT),
    }
}

fn timeval(d: Option<Duration>) -> libc::timeval {
    let d = d.unwrap_or_default();
    libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    }
}

fn duration(t: &libc::timeval) -> Result<Option<Duration>, c_int> {
    if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
        return Err(libc::EDOM);
    }
    let d = Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Ok((!d.is_zero()).then_some(d))
}

/// `setsockopt` at SOL_SOCKET or IPPROTO_IPV6: the options a QUIC socket honours.
pub(crate) fn set_socket(q: &Quic, level: c_int, name: c_int, v: &Value<'_>) -> Result<(), c_int> {
    let mut o = q.options();
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO | libc::SO_SNDTIMEO) => {
            if v.0.len() < std::mem::size_of::<libc::timeval>() {
                return Err(libc::EINVAL);
            }
            let d = duration(&v.read())?;
            if name == libc::SO_RCVTIMEO {
                o.read_timeout = d;
            } else {
                o.write_timeout = d;
            }
        }
        (libc::SOL_SOCKET, libc::SO_REUSEPORT | libc::SO_REUSEADDR) => {
            if name == libc::SO_REUSEPORT {
                o.reuse_port = v.int()? != 0;
            }
        }
        (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_SNDBUF) => {
            let n = usize::try_from(v.int()?.max(0)).unwrap_or(0).max(4096);
            if name == libc::SO_RCVBUF {
                o.buffers.0 = Some(n);
            } else {
                o.buffers.1 = Some(n);
            }
        }
        (libc::SOL_SOCKET, libc::SO_LINGER) => {
            if v.0.len() < std::mem::size_of::<libc::linger>() {
                return Err(libc::EINVAL);
            }
            let l: libc::linger = v.read();
            o.linger = (l.l_onoff != 0, l.l_linger);
            if let State::Connected(c) = q.state() {
                c.sock.set_linger(o.linger_time());
            }
        }
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if q.family == libc::AF_INET6 => {
            o.v6only = v.int()? != 0;
        }
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => return Err(libc::ENOPROTOOPT),
        _ => return Err(libc::ENOPROTOOPT),
    }
    Ok(())
}

/// `getsockopt` at SOL_SOCKET or IPPROTO_IPV6.
pub(crate) fn get_socket(q: &Quic, level: c_int, name: c_int, out: &Out) -> Result<(), c_int> {
    let o = q.options();
    let int = |v: c_int| out.value(&v);
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => out.value(&timeval(o.read_timeout)),
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => out.value(&timeval(o.write_timeout)),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => int(c_int::from(o.reuse_port)),
        // The kernel reports twice what was set, for its bookkeeping; so does this.
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => int((o
            .buffers
            .0
            .unwrap_or(o.transport.streams.max_connection_window as usize)
            * 2)
        .min(c_int::MAX as usize) as c_int),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => int((o
            .buffers
            .1
            .unwrap_or(o.transport.streams.send_buffer as usize)
            * 2)
        .min(c_int::MAX as usize) as c_int),
        (libc::SOL_SOCKET, libc::SO_LINGER) => out.value(&libc::linger {
            l_onoff: c_int::from(o.linger.0),
            l_linger: o.linger.1,
        }),
        (libc::SOL_SOCKET, libc::SO_TYPE) => int(libc::SOCK_STREAM),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => int(q.family),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => int(uapi::IPPROTO_QUIC),
        (libc::SOL_SOCKET, libc::SO_ERROR) => int(0),
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => {
            int(c_int::from(matches!(q.state(), State::Listening(_))))
        }
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if q.family == libc::AF_INET6 => {
            int(c_int::from(o.v6only))
        }
        _ => Err(libc::ENOPROTOOPT),
    }
}
