//! libquic's functions (reference §1.8): the handshake over an IPPROTO_QUIC socket and
//! the message helpers with stream IDs.
//!
//! `quic_client_handshake` and `quic_server_handshake` with certificates run rustls over
//! the socket's handshake interface (`quicsock::client_handshake` / `server_handshake`),
//! the same messages, transport parameters and secrets a C TLS library exchanges through
//! `sendmsg`, `recvmsg` and the CRYPTO_SECRET and TRANSPORT_PARAM_EXT options. A client
//! given a host name checks the server's certificate against the system's trust anchors
//! (or the PEM file `SSL_CERT_FILE` names) and sends the name as SNI; without one, as
//! libquic, it takes any certificate the server proves it holds the key of.

use std::ffi::{c_char, CStr};
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libc::{c_int, c_void, size_t, ssize_t};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::quic::{alpn_list, Conn};
use crate::registry::{lookup, Found};
use crate::uapi::{self, QuicStreamInfo};

/// syslog's LOG_NOTICE: libquic's default level.
const LOG_NOTICE: c_int = 5;
/// syslog's LOG_ERR.
const LOG_ERR: c_int = 3;

static LOG_LEVEL: AtomicI32 = AtomicI32::new(LOG_NOTICE);
static LOG_FUNC: AtomicUsize = AtomicUsize::new(0);

/// The log function type of `quic_set_log_func`.
type LogFunc = unsafe extern "C" fn(c_int, *const c_char);

/// Logs `text` at syslog `level` through the program's function, or to stderr.
fn log(level: c_int, text: &str) {
    if level > LOG_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let f = LOG_FUNC.load(Ordering::Relaxed);
    if f == 0 {
        eprintln!("{text}");
        return;
    }
    let c = std::ffi::CString::new(text.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `f` is the function the program registered with this signature.
    let f: LogFunc = unsafe { std::mem::transmute::<usize, LogFunc>(f) };
    // SAFETY: a NUL-terminated string that lives across the call.
    unsafe { f(level, c.as_ptr()) };
}

/// Logs an error.
pub(crate) fn log_error(text: &str) {
    log(LOG_ERR, text);
}

/// Sets the syslog level up to which libquic logs.
#[no_mangle]
pub extern "C" fn quic_set_log_level(level: c_int) {
    LOG_LEVEL.store(level, Ordering::Relaxed);
}

/// Sets the function libquic logs through (NULL: standard error).
#[no_mangle]
pub extern "C" fn quic_set_log_func(func: Option<LogFunc>) {
    LOG_FUNC.store(func.map_or(0, |f| f as usize), Ordering::Relaxed);
}

/// `sendmsg` with a `QUIC_STREAM_INFO` for `sid` and the stream flags of `flags`; the
/// other flags are the call's.
///
/// # Safety
/// `msg` is readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn quic_sendmsg(
    fd: c_int,
    msg: *const c_void,
    len: size_t,
    sid: i64,
    flags: u32,
) -> ssize_t {
    let stream = uapi::MSG_QUIC_STREAM_NEW
        | uapi::MSG_QUIC_STREAM_FIN
        | uapi::MSG_QUIC_STREAM_UNI
        | uapi::MSG_QUIC_STREAM_DONTWAIT
        | uapi::MSG_QUIC_STREAM_SNDBLOCK;
    let info = QuicStreamInfo {
        stream_id: sid,
        stream_flags: flags & stream,
    };
    let mut control = Control::new();
    let mut iov = libc::iovec {
        iov_base: msg.cast_mut(),
        iov_len: len,
    };
    // SAFETY: msghdr is plain data; all zeroes is a valid empty one.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    control.put(&mut m, &info);
    // SAFETY: the message built above, with the caller's buffer.
    unsafe { crate::interpose::sendmsg(fd, &m, (flags & !stream) as c_int) }
}

/// `recvmsg` that reports the stream: `*sid` its ID, `*flags` the message flags and the
/// stream flags (in: the call's flags).
///
/// # Safety
/// `msg` is writable for `len` bytes; `sid` and `flags` are valid.
#[no_mangle]
pub unsafe extern "C" fn quic_recvmsg(
    fd: c_int,
    msg: *mut c_void,
    len: size_t,
    sid: *mut i64,
    flags: *mut u32,
) -> ssize_t {
    if sid.is_null() || flags.is_null() {
        return crate::errno::fail(libc::EINVAL);
    }
    let mut control = Control::new();
    let mut iov = libc::iovec {
        iov_base: msg,
        iov_len: len,
    };
    // SAFETY: as in quic_sendmsg.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    m.msg_control = control.buf.as_mut_ptr().cast();
    m.msg_controllen = std::mem::size_of_val(&control.buf);
    // SAFETY: the caller's pointers.
    let n = unsafe { crate::interpose::recvmsg(fd, &mut m, *flags as c_int) };
    if n < 0 {
        return n;
    }
    let mut out = m.msg_flags as u32;
    // SAFETY: walking the control buffer recvmsg filled.
    let c = unsafe { libc::CMSG_FIRSTHDR(&m) };
    if !c.is_null() {
        // SAFETY: a header inside the buffer.
        let h = unsafe { std::ptr::read_unaligned(c) };
        if h.cmsg_level == uapi::SOL_QUIC && h.cmsg_type == uapi::QUIC_STREAM_INFO {
            // SAFETY: its payload is a quic_stream_info.
            let info: QuicStreamInfo =
                unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c).cast()) };
            // SAFETY: the caller's pointer.
            unsafe { *sid = info.stream_id };
            out |= info.stream_flags;
        }
    }
    // SAFETY: the caller's pointer.
    unsafe { *flags = out };
    n
}

/// A control buffer for one `quic_stream_info`, aligned for cmsghdr.
struct Control {
    buf: [u64; 8],
}

impl Control {
    fn new() -> Self {
        Self { buf: [0; 8] }
    }

    fn put(&mut self, m: &mut libc::msghdr, info: &QuicStreamInfo) {
        let size = std::mem::size_of::<QuicStreamInfo>() as u32;
        m.msg_control = self.buf.as_mut_ptr().cast();
        // SAFETY: computing sizes.
        m.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as usize;
        // SAFETY: the buffer (64 bytes) holds one header and a 16-byte payload.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(m);
            (*c).cmsg_level = uapi::SOL_QUIC;
            (*c).cmsg_type = uapi::QUIC_STREAM_INFO;
            (*c).cmsg_len = libc::CMSG_LEN(size) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), *info);
        }
    }
}

/// A C string argument, if given.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string.
unsafe fn arg<'a>(s: *const c_char) -> Option<&'a str> {
    if s.is_null() {
        return None;
    }
    // SAFETY: the caller's string.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .ok()
        .filter(|s| !s.is_empty())
}

/// The connection `fd` names, or the errno for it.
fn conn_of(fd: c_int) -> Result<Arc<Conn>, c_int> {
    match lookup(fd) {
        Found::Quic(q) => q.conn().map_err(|_| libc::EINVAL),
        Found::Other | Found::Inherited => Err(libc::EBADF),
    }
}

/// The ALPN list to offer: the argument, else the socket's ALPN option.
fn alpns_of(fd: c_int, alpns: Option<&str>) -> Vec<Vec<u8>> {
    if let Some(a) = alpns {
        return alpn_list(a);
    }
    match lookup(fd) {
        Found::Quic(q) => q.options().alpn_list(),
        _ => Vec::new(),
    }
}

/// How long a handshake may take: the socket's idle timeout, as libquic leaves it to
/// the transport's idle timer.
fn handshake_time(conn: &Conn) -> Duration {
    let idle = conn
        .sock
        .transport_params(false)
        .map_or(0, |p| p.max_idle_timeout.into_inner());
    Duration::from_millis(if idle == 0 { 30_000 } else { idle })
}

/// Runs `f` with the socket blocking, as quicsock's handshake functions wait for the
/// peer themselves.
fn blocking<T>(conn: &Conn, f: impl FnOnce() -> T) -> T {
    conn.sock.set_nonblocking(false);
    let r = f();
    conn.sock.set_nonblocking(true);
    r
}

fn finish(what: &str, r: quicsock::Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            log(LOG_ERR, &format!("{what}: {e}"));
            -e.errno()
        }
    }
}

/// The socket's ALPN option.
fn alpn_text(fd: c_int) -> String {
    match lookup(fd) {
        Found::Quic(q) => q.options().alpn.clone(),
        _ => String::new(),
    }
}

/// The first `identity:hex-key` line of a PSK file.
fn psk_line(file: &str) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| format!("{file}: no key"))?;
    let (id, key) = line
        .split_once(':')
        .ok_or_else(|| format!("{file}: a line is identity:hex-key"))?;
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{file}: the key of {id} is not hex"));
    }
    Ok((id.to_owned(), key.to_owned()))
}

/// A pre-shared-key handshake through GnuTLS on `fd`, as libquic does it.
fn psk_handshake(fd: c_int, file: &str, alpns: String, server: bool) -> c_int {
    use crate::gnutls::{Datum, CLIENT, CRD_PSK, NO_AUTO_SEND_TICKET, PSK_KEY_HEX, SERVER};
    use crate::gnutls_handshake::{c_string, set_alpn, PRIORITY};
    let what = if server {
        "quic_server_handshake"
    } else {
        "quic_client_handshake"
    };
    let api = match crate::gnutls::api() {
        Ok(a) => a,
        Err(e) => {
            log(LOG_ERR, &format!("{what}: {e}"));
            return -libc::ENOSYS;
        }
    };
    let client_key = if server {
        None
    } else {
        match psk_line(file) {
            Ok(k) => Some(k),
            Err(e) => {
                log(LOG_ERR, &format!("{what}: {e}"));
                return -libc::EINVAL;
            }
        }
    };
    let mut session: crate::gnutls::Session = std::ptr::null_mut();
    let mut cred: *mut c_void = std::ptr::null_mut();
    let flags = if server {
        SERVER | NO_AUTO_SEND_TICKET
    } else {
        CLIENT
    };
    // SAFETY: GnuTLS's session and credential calls, each on what the one before made;
    // the strings live across the calls that read them.
    unsafe {
        if (api.init)(&mut session, flags) < 0 {
            return -libc::ENOMEM;
        }
        let mut r = (api.priority_set_direct)(session, PRIORITY.as_ptr(), std::ptr::null_mut());
        if r >= 0 {
            if let Some((id, key)) = &client_key {
                let id = c_string(id);
                let mut key = key.clone().into_bytes();
                let datum = Datum {
                    data: key.as_mut_ptr(),
                    size: key.len() as u32,
                };
                r = (api.psk_allocate_client_credentials)(&mut cred);
                if r >= 0 {
                    r = (api.psk_set_client_credentials)(cred, id.as_ptr(), &datum, PSK_KEY_HEX);
                }
            } else {
                let path = c_string(file);
                r = (api.psk_allocate_server_credentials)(&mut cred);
                if r >= 0 {
                    r = (api.psk_set_server_credentials_file)(cred, path.as_ptr());
                }
            }
        }
        if r >= 0 {
            r = (api.credentials_set)(session, CRD_PSK, cred);
        }
        if r >= 0 {
            r = set_alpn(api, session, &alpns);
        }
        let result = if r < 0 {
            log(
                LOG_ERR,
                &format!("{what}: {}", crate::gnutls::error_text(api, r)),
            );
            -libc::EINVAL
        } else {
            (api.transport_set_int2)(session, fd, fd);
            crate::gnutls_handshake::quic_handshake(session)
        };
        (api.deinit)(session);
        if !cred.is_null() {
            if server {
                (api.psk_free_server_credentials)(cred);
            } else {
                (api.psk_free_client_credentials)(cred);
            }
        }
        result
    }
}

/// The trust anchors of a verifying client.
fn roots() -> Result<rustls::RootCertStore, String> {
    let file = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(&file).map_err(|e| format!("{}: {e}", file.display()))?
    {
        let cert = cert.map_err(|e| format!("{}: {e}", file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(roots)
}

/// The client side of the TLS handshake on a connected QUIC socket: 0, or a negative
/// errno. With `pkey_file`, a pre-shared key from that file (`identity:hex-key` lines,
/// the first used) through GnuTLS, which rustls cannot do; without it, certificates
/// through rustls.
///
/// # Safety
/// The strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn quic_client_handshake(
    fd: c_int,
    pkey_file: *const c_char,
    hostname: *const c_char,
    alpns: *const c_char,
) -> c_int {
    let conn = match conn_of(fd) {
        Ok(c) => c,
        Err(e) => return -e,
    };
    // SAFETY: the caller's strings.
    let (psk, host, alpns) = unsafe { (arg(pkey_file), arg(hostname), arg(alpns)) };
    if let Some(psk) = psk {
        return psk_handshake(
            fd,
            psk,
            alpns.map_or_else(|| alpn_text(fd), str::to_owned),
            false,
        );
    }
    let alpn = alpns_of(fd, alpns);
    let alpn_refs: Vec<&[u8]> = alpn.iter().map(Vec::as_slice).collect();
    let tls = match host {
        Some(_) => match roots() {
            Ok(r) => quicsock::tls::client_config(r, &alpn_refs),
            Err(e) => {
                log(
                    LOG_ERR,
                    &format!("quic_client_handshake: trust anchors: {e}"),
                );
                return -libc::ENOENT;
            }
        },
        None => quicsock::tls::insecure_client_config(&alpn_refs),
    };
    let name = host.unwrap_or("localhost");
    let time = handshake_time(&conn);
    finish(
        "quic_client_handshake",
        blocking(&conn, || {
            quicsock::client_handshake(&conn.sock, tls, name, time)
        }),
    )
}

/// The server side of the TLS handshake on an accepted QUIC socket, with the PEM
/// certificate chain `cert_file` and its key `pkey_file` (rustls): 0, or a negative errno.
/// Without `cert_file`, `pkey_file` is a pre-shared key file (`identity:hex-key` lines)
/// and GnuTLS runs the handshake.
///
/// # Safety
/// The strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn quic_server_handshake(
    fd: c_int,
    pkey_file: *const c_char,
    cert_file: *const c_char,
    alpns: *const c_char,
) -> c_int {
    let conn = match conn_of(fd) {
        Ok(c) => c,
        Err(e) => return -e,
    };
    // SAFETY: the caller's strings.
    let (key, cert, alpns) = unsafe { (arg(pkey_file), arg(cert_file), arg(alpns)) };
    let (Some(key), Some(cert)) = (key, cert) else {
        let Some(psk) = key else {
            log(
                LOG_ERR,
                "quic_server_handshake: neither a certificate nor a key file",
            );
            return -libc::EINVAL;
        };
        return psk_handshake(
            fd,
            psk,
            alpns.map_or_else(|| alpn_text(fd), str::to_owned),
            true,
        );
    };
    let chain: Result<Vec<CertificateDer<'static>>, _> =
        CertificateDer::pem_file_iter(Path::new(cert)).and_then(|i| i.collect());
    let chain = match chain {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            log(
                LOG_ERR,
                &format!("quic_server_handshake: {cert}: no certificate"),
            );
            return -libc::EINVAL;
        }
        Err(e) => {
            log(LOG_ERR, &format!("quic_server_handshake: {cert}: {e}"));
            return -libc::ENOENT;
        }
    };
    let key = match PrivateKeyDer::from_pem_file(Path::new(key)) {
        Ok(k) => k,
        Err(e) => {
            log(LOG_ERR, &format!("quic_server_handshake: {key}: {e}"));
            return -libc::ENOENT;
        }
    };
    let alpn = alpns_of(fd, alpns);
    let alpn_refs: Vec<&[u8]> = alpn.iter().map(Vec::as_slice).collect();
    let tls = match quicsock::tls::server_config(chain, key, &alpn_refs) {
        Ok(t) => t,
        Err(e) => {
            log(LOG_ERR, &format!("quic_server_handshake: {e}"));
            return -libc::EINVAL;
        }
    };
    let time = handshake_time(&conn);
    finish(
        "quic_server_handshake",
        blocking(&conn, || quicsock::server_handshake(&conn.sock, tls, time)),
    )
}
