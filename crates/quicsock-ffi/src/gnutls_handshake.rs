//! libquic's GnuTLS handshake (reference §1.8, §1.9): a GnuTLS session drives the QUIC
//! socket's handshake interface from the outside, exactly as a C program with any TLS
//! library would. GnuTLS's handshake messages go out with `sendmsg` and a
//! `QUIC_HANDSHAKE_INFO` control message, the peer's come in with `recvmsg` and are
//! handed to `gnutls_handshake_write`; the quic_transport_parameters extension (0x39) is
//! `TRANSPORT_PARAM_EXT`; each secret GnuTLS derives is installed with `CRYPTO_SECRET`,
//! and the two 1-RTT secrets complete the handshake.
//!
//! `quic_handshake_init` / `quic_handshake_step` run it one socket call at a time for an
//! event loop; `quic_handshake` runs it to the end, waiting in poll(2).

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_int, c_void, CStr};
use std::sync::{Arc, Mutex};

use libc::{msghdr, size_t};

use crate::gnutls::{self, Api, Buffer, Datum, Session};
use crate::uapi::{self, QuicCryptoSecret, QuicHandshakeInfo};

/// The quic_transport_parameters TLS extension (RFC 9001 §8.2).
const TRANSPORT_PARAMETERS_EXT: c_int = 0x39;

/// The largest handshake message read at once.
const RECV_BUFFER: usize = 64 * 1024;

/// libquic's `struct quic_handshake_step`.
#[repr(C)]
pub struct Step {
    /// 0: sendmsg, 1: recvmsg.
    op: c_int,
    /// The message to send or receive into.
    msg: *mut msghdr,
    /// The call's flags.
    flags: c_int,
    /// What the call returned, or -errno.
    retval: isize,
}

const OP_SENDMSG: c_int = 0;
const OP_RECVMSG: c_int = 1;

/// One session's handshake state.
struct Handshake {
    fd: c_int,
    server: bool,
    /// Messages GnuTLS produced, with their QUIC level, to send in order.
    out: VecDeque<(u8, Vec<u8>)>,
    /// GnuTLS finished its side.
    done: bool,
    /// The first failure in a callback (a negative errno).
    failed: Option<c_int>,
    /// The step handed to the program, and what it points into (stable addresses).
    step: Box<Step>,
    msg: Box<msghdr>,
    iov: Box<libc::iovec>,
    control: Box<[u64; 8]>,
    buf: Vec<u8>,
}

// SAFETY: the raw pointers point into the same struct's boxes; the handshake moves
// between the threads that call the libquic functions, one at a time under its mutex.
unsafe impl Send for Handshake {}

type Shared = Arc<Mutex<Handshake>>;

/// Handshakes by session, for the GnuTLS callbacks, which get only the session.
static SESSIONS: Mutex<Option<HashMap<usize, Shared>>> = Mutex::new(None);

fn of(session: Session) -> Option<Shared> {
    let map = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
    map.as_ref()?.get(&(session as usize)).cloned()
}

fn lock(h: &Shared) -> std::sync::MutexGuard<'_, Handshake> {
    h.lock().unwrap_or_else(|e| e.into_inner())
}

/// The QUIC level of a GnuTLS encryption level.
fn quic_level(level: c_int) -> Option<u8> {
    match level {
        gnutls::LEVEL_INITIAL => Some(uapi::QUIC_CRYPTO_INITIAL),
        gnutls::LEVEL_EARLY => Some(uapi::QUIC_CRYPTO_EARLY),
        gnutls::LEVEL_HANDSHAKE => Some(uapi::QUIC_CRYPTO_HANDSHAKE),
        gnutls::LEVEL_APPLICATION => Some(uapi::QUIC_CRYPTO_APP),
        _ => None,
    }
}

/// The GnuTLS level of a QUIC level.
fn gnutls_level(level: u8) -> Option<c_int> {
    match level {
        uapi::QUIC_CRYPTO_INITIAL => Some(gnutls::LEVEL_INITIAL),
        uapi::QUIC_CRYPTO_EARLY => Some(gnutls::LEVEL_EARLY),
        uapi::QUIC_CRYPTO_HANDSHAKE => Some(gnutls::LEVEL_HANDSHAKE),
        uapi::QUIC_CRYPTO_APP => Some(gnutls::LEVEL_APPLICATION),
        _ => None,
    }
}

/// The TLS_CIPHER_* id of a GnuTLS cipher.
fn cipher_type(cipher: c_int) -> u32 {
    match cipher {
        gnutls::CIPHER_AES_128_GCM => uapi::TLS_CIPHER_AES_GCM_128,
        gnutls::CIPHER_AES_256_GCM => uapi::TLS_CIPHER_AES_GCM_256,
        gnutls::CIPHER_AES_128_CCM => uapi::TLS_CIPHER_AES_CCM_128,
        gnutls::CIPHER_CHACHA20_POLY1305 => uapi::TLS_CIPHER_CHACHA20_POLY1305,
        _ => 0,
    }
}

fn install(fd: c_int, level: u8, send: bool, cipher: u32, secret: &[u8]) -> Result<(), c_int> {
    if secret.len() > 48 {
        return Err(libc::EINVAL);
    }
    let mut s = QuicCryptoSecret {
        send: u8::from(send),
        level,
        reserved: 0,
        type_: cipher,
        secret: [0; 48],
    };
    s.secret[..secret.len()].copy_from_slice(secret);
    // SAFETY: a live option value of its full size.
    let r = unsafe {
        crate::interpose::setsockopt(
            fd,
            uapi::SOL_QUIC,
            uapi::QUIC_SOCKOPT_CRYPTO_SECRET,
            (&s as *const QuicCryptoSecret).cast(),
            std::mem::size_of::<QuicCryptoSecret>() as libc::socklen_t,
        )
    };
    // The secret does not outlive the call (reference §1.4: the buffer is zeroized).
    // SAFETY: writing the live local's own field.
    unsafe { std::ptr::write_volatile(&mut s.secret, [0; 48]) };
    if r < 0 {
        return Err(crate::errno::get());
    }
    Ok(())
}

unsafe extern "C" fn on_secret(
    session: Session,
    level: c_int,
    read: *const c_void,
    write: *const c_void,
    size: usize,
) -> c_int {
    let Some(h) = of(session) else { return -1 };
    let Ok(api) = gnutls::api() else { return -1 };
    let Some(qlevel) = quic_level(level) else {
        return -1;
    };
    if qlevel == uapi::QUIC_CRYPTO_INITIAL {
        return 0;
    }
    // SAFETY: a session GnuTLS is handshaking.
    let cipher = cipher_type(unsafe {
        if level == gnutls::LEVEL_EARLY {
            (api.early_cipher_get)(session)
        } else {
            (api.cipher_get)(session)
        }
    });
    let fd = lock(&h).fd;
    for (secret, send) in [(write, true), (read, false)] {
        if secret.is_null() {
            continue;
        }
        // SAFETY: GnuTLS passes `size` bytes of secret.
        let bytes = unsafe { std::slice::from_raw_parts(secret.cast::<u8>(), size) };
        if let Err(e) = install(fd, qlevel, send, cipher, bytes) {
            lock(&h).failed.get_or_insert(-e);
            return -1;
        }
    }
    0
}

unsafe extern "C" fn on_message(
    session: Session,
    level: c_int,
    htype: c_int,
    data: *const c_void,
    size: usize,
) -> c_int {
    let Some(h) = of(session) else { return -1 };
    // QUIC updates its keys itself (RFC 9001 §6).
    if htype == gnutls::HANDSHAKE_KEY_UPDATE {
        return 0;
    }
    let Some(qlevel) = quic_level(level) else {
        return -1;
    };
    // SAFETY: GnuTLS passes `size` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size) }.to_vec();
    lock(&h).out.push_back((qlevel, bytes));
    0
}

unsafe extern "C" fn on_alert(_: Session, _: c_int, _: c_int, _: c_int) -> c_int {
    // The failing gnutls_handshake reports the error; the socket's close carries it.
    0
}

unsafe extern "C" fn tp_send(session: Session, buf: Buffer) -> c_int {
    let Some(h) = of(session) else { return -1 };
    let Ok(api) = gnutls::api() else { return -1 };
    let fd = lock(&h).fd;
    let mut tp = [0u8; 1024];
    let mut len = tp.len() as libc::socklen_t;
    // SAFETY: a buffer of `len` bytes.
    let r = unsafe {
        crate::interpose::getsockopt(
            fd,
            uapi::SOL_QUIC,
            uapi::QUIC_SOCKOPT_TRANSPORT_PARAM_EXT,
            tp.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r < 0 {
        lock(&h).failed.get_or_insert(-crate::errno::get());
        return -1;
    }
    // SAFETY: appending `len` bytes of a live buffer to GnuTLS's extension buffer.
    let r = unsafe { (api.buffer_append_data)(buf, tp.as_ptr().cast(), len as usize) };
    if r < 0 {
        return r;
    }
    len as c_int
}

unsafe extern "C" fn tp_recv(session: Session, data: *const u8, len: usize) -> c_int {
    let Some(h) = of(session) else { return -1 };
    let fd = lock(&h).fd;
    // SAFETY: GnuTLS passes `len` bytes of the peer's extension.
    let r = unsafe {
        crate::interpose::setsockopt(
            fd,
            uapi::SOL_QUIC,
            uapi::QUIC_SOCKOPT_TRANSPORT_PARAM_EXT,
            data.cast(),
            len as libc::socklen_t,
        )
    };
    if r < 0 {
        lock(&h).failed.get_or_insert(-crate::errno::get());
        return -1;
    }
    0
}

/// Runs GnuTLS's handshake as far as it goes: Ok when it finished, Err(-errno) when it
/// failed.
fn advance(api: &Api, session: Session, h: &Shared) -> Result<(), c_int> {
    if lock(h).done {
        return Ok(());
    }
    // SAFETY: a session set up by quic_handshake_init; no lock is held across the call,
    // since the callbacks take it.
    let r = unsafe { (api.handshake)(session) };
    if let Some(e) = lock(h).failed {
        return Err(e);
    }
    if r == gnutls::E_SUCCESS {
        let server = lock(h).server;
        if server {
            // The session ticket, sent once the handshake is done (the session is set
            // up without GnuTLS's automatic one).
            // SAFETY: as above.
            unsafe { (api.session_ticket_send)(session, 1, 0) };
        }
        lock(h).done = true;
        return Ok(());
    }
    // SAFETY: as above.
    if r == gnutls::E_AGAIN || r == gnutls::E_INTERRUPTED || unsafe { (api.error_is_fatal)(r) } == 0
    {
        return Ok(());
    }
    crate::libquic::log_error(&format!("quic_handshake: {}", gnutls::error_text(api, r)));
    Err(-libc::EPROTO)
}

/// The next step for the program: a message to send, a recvmsg, or none (done).
fn next(h: &mut Handshake) -> *mut Step {
    let h = &mut *h;
    let control = h.control.as_mut_ptr().cast::<c_void>();
    *h.msg = zeroed_msghdr();
    h.msg.msg_iov = &mut *h.iov;
    h.msg.msg_iovlen = 1;
    h.msg.msg_control = control;
    if let Some((level, bytes)) = h.out.front() {
        h.iov.iov_base = bytes.as_ptr() as *mut c_void;
        h.iov.iov_len = bytes.len();
        let size = std::mem::size_of::<QuicHandshakeInfo>() as u32;
        // SAFETY: computing sizes.
        h.msg.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as usize;
        // SAFETY: the control buffer (64 bytes) holds one header and one byte.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&*h.msg);
            (*c).cmsg_level = uapi::SOL_QUIC;
            (*c).cmsg_type = uapi::QUIC_HANDSHAKE_INFO;
            (*c).cmsg_len = libc::CMSG_LEN(size) as usize;
            *libc::CMSG_DATA(c) = *level;
        }
        h.step.op = OP_SENDMSG;
        // Every message but the last of a flight corks, so the flight leaves together.
        h.step.flags = if h.out.len() > 1 { libc::MSG_MORE } else { 0 };
    } else if h.done {
        return std::ptr::null_mut();
    } else {
        h.iov.iov_base = h.buf.as_mut_ptr().cast();
        h.iov.iov_len = h.buf.len();
        h.msg.msg_controllen = std::mem::size_of::<[u64; 8]>();
        h.step.op = OP_RECVMSG;
        h.step.flags = 0;
    }
    h.step.msg = &mut *h.msg;
    h.step.retval = 0;
    &mut *h.step
}

fn zeroed_msghdr() -> msghdr {
    // SAFETY: msghdr is plain data; all zeroes is a valid empty one.
    unsafe { std::mem::zeroed() }
}

/// Takes in what the program's last step returned.
fn absorb(api: &Api, session: Session, h: &Shared) -> Result<(), c_int> {
    let (op, retval) = {
        let g = lock(h);
        (g.step.op, g.step.retval)
    };
    if retval < 0 {
        return Err(retval as c_int);
    }
    if op == OP_SENDMSG {
        lock(h).out.pop_front();
        return Ok(());
    }
    if retval == 0 {
        return Err(-libc::ECONNRESET);
    }
    let (level, data) = {
        let g = lock(h);
        if g.msg.msg_flags & (libc::MSG_CTRUNC | libc::MSG_TRUNC) != 0 {
            return Err(-libc::EMSGSIZE);
        }
        // SAFETY: the control buffer recvmsg filled.
        let c = unsafe { libc::CMSG_FIRSTHDR(&*g.msg) };
        if c.is_null() {
            return Err(-libc::EPROTO);
        }
        // SAFETY: a header inside the buffer.
        let hdr = unsafe { std::ptr::read_unaligned(c) };
        if hdr.cmsg_level != uapi::SOL_QUIC || hdr.cmsg_type != uapi::QUIC_HANDSHAKE_INFO {
            return Err(-libc::EPROTO);
        }
        // SAFETY: its one-byte payload.
        let level = unsafe { *libc::CMSG_DATA(c) };
        (level, g.buf[..retval as usize].to_vec())
    };
    let level = gnutls_level(level).ok_or(-libc::EPROTO)?;
    // SAFETY: handing GnuTLS a live buffer; no lock held (callbacks may run).
    let r = unsafe { (api.handshake_write)(session, level, data.as_ptr().cast(), data.len()) };
    if r < 0 {
        crate::libquic::log_error(&format!("quic_handshake: {}", gnutls::error_text(api, r)));
        return Err(-libc::EPROTO);
    }
    advance(api, session, h)
}

/// Sets `session` up to drive the handshake of the QUIC socket its transport holds
/// (`gnutls_transport_set_int`), and the first step in `*pstep`: 0, or a negative errno.
///
/// # Safety
/// `session` is a live GnuTLS session; `pstep` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn quic_handshake_init(session: Session, pstep: *mut *mut Step) -> c_int {
    let api = match gnutls::api() {
        Ok(a) => a,
        Err(e) => {
            crate::libquic::log_error(&e);
            return -libc::ENOSYS;
        }
    };
    if session.is_null() || pstep.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: the caller's session.
    let fd = unsafe { (api.transport_get_int)(session) };
    let conn = match crate::registry::lookup(fd) {
        crate::registry::Found::Quic(q) => match q.conn() {
            Ok(c) => c,
            Err(e) => return -e,
        },
        _ => return -libc::EBADF,
    };
    let h = Arc::new(Mutex::new(Handshake {
        fd,
        server: conn.server,
        out: VecDeque::new(),
        done: false,
        failed: None,
        step: Box::new(Step {
            op: OP_RECVMSG,
            msg: std::ptr::null_mut(),
            flags: 0,
            retval: 0,
        }),
        msg: Box::new(zeroed_msghdr()),
        iov: Box::new(libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }),
        control: Box::new([0; 8]),
        buf: vec![0; RECV_BUFFER],
    }));
    SESSIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(session as usize, h.clone());
    // SAFETY: registering this module's callbacks on the caller's session.
    unsafe {
        (api.handshake_set_secret_function)(session, on_secret);
        (api.handshake_set_read_function)(session, on_message);
        (api.alert_set_read_function)(session, on_alert);
        let r = (api.session_ext_register)(
            session,
            c"QUIC Transport Parameters".as_ptr(),
            TRANSPORT_PARAMETERS_EXT,
            gnutls::EXT_TLS,
            tp_recv,
            tp_send,
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            gnutls::EXT_FLAG_TLS | gnutls::EXT_FLAG_CLIENT_HELLO | gnutls::EXT_FLAG_EE,
        );
        if r < 0 {
            quic_handshake_deinit(session);
            return -libc::EINVAL;
        }
    }
    if !conn.server {
        // The ClientHello.
        if let Err(e) = advance(api, session, &h) {
            return e;
        }
    }
    // SAFETY: the caller's pointer.
    unsafe { *pstep = next(&mut lock(&h)) };
    0
}

/// Takes in the result of the step the program performed (`(*pstep)->retval`) and puts
/// the next in `*pstep` (NULL once the handshake is done): 0, or a negative errno.
///
/// # Safety
/// As [`quic_handshake_init`]; `*pstep` is the step it or this function handed out.
#[no_mangle]
pub unsafe extern "C" fn quic_handshake_step(session: Session, pstep: *mut *mut Step) -> c_int {
    let Ok(api) = gnutls::api() else {
        return -libc::ENOSYS;
    };
    let Some(h) = of(session) else {
        return -libc::EINVAL;
    };
    if pstep.is_null() {
        return -libc::EINVAL;
    }
    if let Err(e) = absorb(api, session, &h) {
        return e;
    }
    // SAFETY: the caller's pointer.
    unsafe { *pstep = next(&mut lock(&h)) };
    0
}

/// Forgets the handshake state of `session`.
///
/// # Safety
/// `session` is a session given to [`quic_handshake_init`], or any pointer.
#[no_mangle]
pub unsafe extern "C" fn quic_handshake_deinit(session: Session) {
    let h = SESSIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .and_then(|m| m.remove(&(session as usize)));
    drop(h);
}

/// Runs the whole handshake of `session` on its QUIC socket, waiting in poll(2) when the
/// socket is non-blocking: 0, or a negative errno.
///
/// # Safety
/// `session` is a live GnuTLS session whose transport is a connected QUIC socket.
#[no_mangle]
pub unsafe extern "C" fn quic_handshake(session: Session) -> c_int {
    let mut step: *mut Step = std::ptr::null_mut();
    // SAFETY: the caller's session.
    let mut r = unsafe { quic_handshake_init(session, &mut step) };
    let fd = gnutls::api().map_or(-1, |api| {
        // SAFETY: as above.
        unsafe { (api.transport_get_int)(session) }
    });
    while r == 0 && !step.is_null() {
        // SAFETY: the step quic_handshake_init/step handed out, alive until the next
        // call.
        let s = unsafe { &mut *step };
        let got = loop {
            // SAFETY: the step's prepared message.
            let n = unsafe {
                if s.op == OP_SENDMSG {
                    crate::interpose::sendmsg(fd, s.msg, s.flags)
                } else {
                    crate::interpose::recvmsg(fd, s.msg, s.flags)
                }
            };
            if n >= 0 {
                break n;
            }
            let e = crate::errno::get();
            if e != libc::EAGAIN && e != libc::EINTR {
                break -(e as isize);
            }
            let mut p = libc::pollfd {
                fd,
                events: if s.op == OP_SENDMSG {
                    libc::POLLOUT
                } else {
                    libc::POLLIN
                },
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, 1000) };
        };
        s.retval = got;
        // SAFETY: as above.
        r = unsafe { quic_handshake_step(session, &mut step) };
    }
    // SAFETY: as above.
    unsafe { quic_handshake_deinit(session) };
    r
}

/// The session data to resume with: the server's NewSessionTicket, taken from the socket
/// (SESSION_TICKET) and given to GnuTLS, then GnuTLS's session data. 0, or a negative
/// errno; `*size` is set to the length (or the length needed, with -EINVAL... as GnuTLS
/// reports a short buffer).
///
/// # Safety
/// `session` is a live session whose transport is the QUIC socket; `data` is writable for
/// `*size` bytes.
#[no_mangle]
pub unsafe extern "C" fn quic_session_get_data(
    session: Session,
    data: *mut c_void,
    size: *mut size_t,
) -> c_int {
    let Ok(api) = gnutls::api() else {
        return -libc::ENOSYS;
    };
    if size.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: the caller's session.
    let fd = unsafe { (api.transport_get_int)(session) };
    let mut ticket = vec![0u8; 4096];
    let mut len = ticket.len() as libc::socklen_t;
    // SAFETY: a buffer of `len` bytes.
    let r = unsafe {
        crate::interpose::getsockopt(
            fd,
            uapi::SOL_QUIC,
            uapi::QUIC_SOCKOPT_SESSION_TICKET,
            ticket.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r < 0 {
        return -crate::errno::get();
    }
    if len > 0 {
        // SAFETY: the ticket bytes, at the 1-RTT level where the server sent them.
        let r = unsafe {
            (api.handshake_write)(
                session,
                gnutls::LEVEL_APPLICATION,
                ticket.as_ptr().cast(),
                len as usize,
            )
        };
        if r < 0 {
            return -libc::EPROTO;
        }
    }
    let mut d = Datum {
        data: std::ptr::null_mut(),
        size: 0,
    };
    // SAFETY: GnuTLS fills the datum with memory the caller frees with gnutls_free.
    if unsafe { (api.session_get_data2)(session, &mut d) } < 0 {
        return -libc::EINVAL;
    }
    let n = d.size as usize;
    // SAFETY: the caller's size.
    let room = unsafe { *size };
    // SAFETY: as above.
    unsafe { *size = n };
    let r = if room < n || data.is_null() {
        -libc::EINVAL
    } else {
        // SAFETY: `data` has room for `n` bytes; `d.data` holds them.
        unsafe { std::ptr::copy_nonoverlapping(d.data, data.cast(), n) };
        0
    };
    // SAFETY: memory GnuTLS allocated.
    unsafe { (api.free)(d.data.cast()) };
    r
}

/// Sets the session data to resume with (`gnutls_session_set_data`): 0, or a negative
/// errno.
///
/// # Safety
/// `session` is a live session; `data` is readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn quic_session_set_data(
    session: Session,
    data: *const c_void,
    size: size_t,
) -> c_int {
    let Ok(api) = gnutls::api() else {
        return -libc::ENOSYS;
    };
    // SAFETY: the caller's session and buffer.
    if unsafe { (api.session_set_data)(session, data, size) } < 0 {
        return -libc::EINVAL;
    }
    0
}

/// The ALPN GnuTLS selected: 0, or a negative errno; `*size` is set to its length.
///
/// # Safety
/// `session` is a live session; `alpn` is writable for `*size` bytes.
#[no_mangle]
pub unsafe extern "C" fn quic_session_get_alpn(
    session: Session,
    alpn: *mut c_void,
    size: *mut size_t,
) -> c_int {
    let Ok(api) = gnutls::api() else {
        return -libc::ENOSYS;
    };
    if size.is_null() {
        return -libc::EINVAL;
    }
    let mut d = Datum {
        data: std::ptr::null_mut(),
        size: 0,
    };
    // SAFETY: the caller's session; the datum points into the session.
    if unsafe { (api.alpn_get_selected_protocol)(session, &mut d) } < 0 {
        return -libc::EINVAL;
    }
    let n = d.size as usize;
    // SAFETY: the caller's pointers.
    unsafe {
        if *size < n || alpn.is_null() {
            *size = n;
            return -libc::EINVAL;
        }
        std::ptr::copy_nonoverlapping(d.data, alpn.cast(), n);
        *size = n;
    }
    0
}

/// Sets the ALPN list GnuTLS offers or accepts: `alpns` is a comma-separated list of
/// `size` bytes. 0, or a negative errno.
///
/// # Safety
/// `session` is a live session; `alpns` is readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn quic_session_set_alpn(
    session: Session,
    alpns: *const c_void,
    size: size_t,
) -> c_int {
    let Ok(api) = gnutls::api() else {
        return -libc::ENOSYS;
    };
    if alpns.is_null() || size > 128 {
        return -libc::EINVAL;
    }
    // SAFETY: the caller's buffer.
    let bytes = unsafe { std::slice::from_raw_parts(alpns.cast::<u8>(), size) };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return -libc::EINVAL;
    };
    // SAFETY: as above.
    unsafe { set_alpn(api, session, text.trim_end_matches('\0')) }
}

/// Sets the session's ALPN list from a comma-separated one.
///
/// # Safety
/// `session` is a live session.
pub(crate) unsafe fn set_alpn(api: &Api, session: Session, list: &str) -> c_int {
    let mut names = crate::quic::alpn_list(list);
    if names.is_empty() {
        return 0;
    }
    let datums: Vec<Datum> = names
        .iter_mut()
        .map(|n| Datum {
            data: n.as_mut_ptr(),
            size: n.len() as u32,
        })
        .collect();
    // SAFETY: GnuTLS copies the names.
    if unsafe { (api.alpn_set_protocols)(session, datums.as_ptr(), datums.len() as u32, 0) } < 0 {
        return -libc::EINVAL;
    }
    0
}

/// The C string of a priority or file argument.
pub(crate) fn c_string(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).unwrap_or_default()
}

/// `QUIC_PRIORITY` of the header.
pub(crate) const PRIORITY: &CStr = c"NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE";
