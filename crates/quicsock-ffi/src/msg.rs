//! `sendmsg` and `recvmsg` on a QUIC socket (reference §1.2, §1.3, §1.10): stream data
//! with `QUIC_STREAM_INFO`, handshake messages with `QUIC_HANDSHAKE_INFO`, datagrams and
//! events; `send`, `recv`, `read`, `write` and the rest are these with no control
//! messages.

use libc::{c_int, c_void, cmsghdr, msghdr};
use quicsock::proto::conn::Level;
use quicsock::{Error, Flags};

use crate::errno::{self, Call};
use crate::quic::{Conn, Quic};
use crate::uapi::{self, QuicHandshakeInfo, QuicStreamInfo};
use crate::wait::{self, Deadline};

/// The stream flags a send carries in its `QUIC_STREAM_INFO` or, without one, in its
/// message flags.
const STREAM_FLAGS: u32 = uapi::MSG_QUIC_STREAM_NEW
    | uapi::MSG_QUIC_STREAM_FIN
    | uapi::MSG_QUIC_STREAM_UNI
    | uapi::MSG_QUIC_STREAM_DONTWAIT
    | uapi::MSG_QUIC_STREAM_SNDBLOCK;

/// `MSG_BATCH`, which libc does not name: accepted and ignored.
const MSG_BATCH: u32 = 0x40000;

/// The message flags a send takes (reference §1.3); others are EINVAL.
const SEND_FLAGS: u32 = STREAM_FLAGS
    | MSG_BATCH
    | libc::MSG_MORE as u32
    | libc::MSG_DONTWAIT as u32
    | libc::MSG_NOSIGNAL as u32
    | libc::MSG_WAITALL as u32
    | uapi::MSG_QUIC_DATAGRAM;

/// The level of a `QUIC_HANDSHAKE_INFO`.
pub(crate) fn level_of(crypto_level: u8) -> Option<Level> {
    match crypto_level {
        uapi::QUIC_CRYPTO_INITIAL => Some(Level::Initial),
        uapi::QUIC_CRYPTO_HANDSHAKE => Some(Level::Handshake),
        uapi::QUIC_CRYPTO_APP => Some(Level::OneRtt),
        uapi::QUIC_CRYPTO_EARLY => Some(Level::ZeroRtt),
        _ => None,
    }
}

/// The `QUIC_HANDSHAKE_INFO` level of `level`.
pub(crate) fn crypto_level(level: Level) -> u8 {
    match level {
        Level::Initial => uapi::QUIC_CRYPTO_INITIAL,
        Level::Handshake => uapi::QUIC_CRYPTO_HANDSHAKE,
        Level::ZeroRtt => uapi::QUIC_CRYPTO_EARLY,
        Level::OneRtt => uapi::QUIC_CRYPTO_APP,
    }
}

/// What a send's control messages said.
#[derive(Default)]
struct SendInfo {
    stream: Option<QuicStreamInfo>,
    handshake: Option<u8>,
}

/// The control messages of `msg`.
///
/// # Safety
/// `msg` is a valid msghdr whose control buffer is readable.
unsafe fn send_info(msg: &msghdr) -> Result<SendInfo, c_int> {
    let mut info = SendInfo::default();
    if msg.msg_control.is_null() || msg.msg_controllen == 0 {
        return Ok(info);
    }
    // SAFETY: walking the caller's control buffer with libc's macros, which stop at its
    // end.
    let mut c: *const cmsghdr = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !c.is_null() {
        // SAFETY: CMSG_FIRSTHDR/NXTHDR return headers inside the buffer.
        let h = unsafe { std::ptr::read_unaligned(c) };
        // SAFETY: the data follows the header.
        let data = unsafe { libc::CMSG_DATA(c) };
        // SAFETY: CMSG_LEN of 0 is the header's size, computed.
        let payload = h.cmsg_len as usize - unsafe { libc::CMSG_LEN(0) } as usize;
        if h.cmsg_level != uapi::SOL_QUIC {
            return Err(libc::EINVAL);
        }
        match h.cmsg_type {
            uapi::QUIC_STREAM_INFO if payload >= std::mem::size_of::<QuicStreamInfo>() => {
                // SAFETY: the payload holds a quic_stream_info.
                info.stream = Some(unsafe { std::ptr::read_unaligned(data.cast()) });
            }
            uapi::QUIC_HANDSHAKE_INFO if payload >= std::mem::size_of::<QuicHandshakeInfo>() => {
                // SAFETY: the payload holds a quic_handshake_info.
                let hi: QuicHandshakeInfo = unsafe { std::ptr::read_unaligned(data.cast()) };
                info.handshake = Some(hi.crypto_level);
            }
            _ => return Err(libc::EINVAL),
        }
        // SAFETY: as above.
        c = unsafe { libc::CMSG_NXTHDR(msg, c) };
    }
    Ok(info)
}

/// The bytes of `msg`'s buffers, in one piece (borrowed when there is one buffer).
///
/// # Safety
/// Every iovec of `msg` is readable.
unsafe fn gather(msg: &msghdr) -> Result<std::borrow::Cow<'_, [u8]>, c_int> {
    if msg.msg_iovlen == 0 {
        return Ok(std::borrow::Cow::Borrowed(&[]));
    }
    if msg.msg_iov.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: msg_iovlen iovecs at msg_iov.
    let iovs = unsafe { std::slice::from_raw_parts(msg.msg_iov, msg.msg_iovlen) };
    let slice = |v: &libc::iovec| -> Result<&[u8], c_int> {
        if v.iov_len == 0 {
            return Ok(&[]);
        }
        if v.iov_base.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: the caller's buffer of iov_len bytes.
        Ok(unsafe { std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len) })
    };
    if let [one] = iovs {
        return slice(one).map(std::borrow::Cow::Borrowed);
    }
    let mut all = Vec::new();
    for v in iovs {
        all.extend_from_slice(slice(v)?);
    }
    Ok(std::borrow::Cow::Owned(all))
}

/// `sendmsg`.
///
/// # Safety
/// `msg` is a valid msghdr (readable buffers and control messages).
pub(crate) unsafe fn sendmsg(q: &Quic, msg: &msghdr, flags: c_int) -> Result<usize, c_int> {
    let flags = flags as u32;
    if flags & !SEND_FLAGS != 0 {
        return Err(libc::EINVAL);
    }
    let result = (|| {
        let conn = q.conn().map_err(|_| libc::EPIPE)?;
        // SAFETY: the caller's msghdr.
        let info = unsafe { send_info(msg) }?;
        // SAFETY: as above.
        let data = unsafe { gather(msg) }?;
        if let Some(level) = info.handshake {
            let level = level_of(level).ok_or(libc::EINVAL)?;
            conn.sock
                .send_handshake(level, &data)
                .map_err(|e| errno::of(&e, Call::Send))?;
            return Ok(data.len());
        }
        let (sid, stream_flags) = match info.stream {
            Some(s) => (s.stream_id, s.stream_flags & STREAM_FLAGS),
            None => (-1, flags & STREAM_FLAGS),
        };
        let base =
            Flags(stream_flags | (flags & (libc::MSG_MORE as u32 | uapi::MSG_QUIC_DATAGRAM)));
        let nonblocking = q.is_nonblocking() || flags & libc::MSG_DONTWAIT as u32 != 0;
        send(q, &conn, &data, sid, base, nonblocking)
    })();
    if result == Err(libc::EPIPE) && flags & libc::MSG_NOSIGNAL as u32 == 0 {
        // As the kernel does for a send on a closed socket.
        // SAFETY: raising a signal at this thread.
        unsafe { libc::raise(libc::SIGPIPE) };
    }
    result
}

/// Sends `data` on a stream (or as a datagram), waiting for room unless `nonblocking`:
/// a blocking send queues everything (or what it queued before a signal or the
/// SO_SNDTIMEO came), a non-blocking one what fits.
fn send(
    q: &Quic,
    conn: &Conn,
    data: &[u8],
    sid: i64,
    flags: Flags,
    nonblocking: bool,
) -> Result<usize, c_int> {
    let deadline = Deadline::after(q.options().write_timeout);
    let mut sent = 0;
    let mut flags = flags;
    loop {
        let outcome = conn.sock.send(&data[sent..], sid, flags | Flags::DONTWAIT);
        let waited = match outcome {
            Ok(n) => {
                sent += n;
                // The stream is open now; the rest goes on it.
                flags = Flags(flags.0 & !Flags::STREAM_NEW.0);
                if sent == data.len() || nonblocking {
                    return Ok(sent);
                }
                continue;
            }
            Err(Error::WouldBlock) if nonblocking => Err(libc::EAGAIN),
            // STREAM_DONTWAIT: no waiting for the peer to allow the stream (quicsock's
            // non-blocking send does not say which limit it met, so none is waited for).
            Err(Error::WouldBlock) if sent == 0 && flags.contains(Flags::STREAM_DONTWAIT) => {
                Err(libc::EAGAIN)
            }
            Err(Error::WouldBlock) => wait::until(conn.pollable()?, true, deadline),
            Err(e) => Err(errno::of(&e, Call::Send)),
        };
        match waited {
            Ok(()) => {}
            Err(_) if sent > 0 => return Ok(sent),
            Err(e) => return Err(e),
        }
    }
}

/// `recvmsg`: a handshake message while the handshake runs, then events and data in the
/// order quicsock queues them (reference §1.10).
///
/// # Safety
/// `msg` is a valid msghdr (writable buffers and control buffer).
pub(crate) unsafe fn recvmsg(q: &Quic, msg: &mut msghdr, flags: c_int) -> Result<usize, c_int> {
    let conn = q.conn()?;
    let nonblocking = q.is_nonblocking() || flags & libc::MSG_DONTWAIT != 0;
    let peek = flags & libc::MSG_PEEK != 0;
    let deadline = Deadline::after(q.options().read_timeout);
    let mut buf = Scatter::new(msg)?;
    msg.msg_flags = 0;
    loop {
        if let Some(n) = recv_handshake(&conn, msg, buf.space(), peek)? {
            buf.done(n);
            return Ok(n);
        }
        let rflags = if peek { Flags::PEEK } else { Flags::NONE } | Flags::DONTWAIT;
        match conn.sock.recv(buf.space(), rflags) {
            Ok((n, sid, f)) => {
                buf.done(n);
                let item = Flags(Flags::NOTIFICATION.0 | Flags::DATAGRAM.0);
                if f.0 & item.0 != 0 {
                    msg.msg_flags |= f.0 as c_int;
                } else {
                    let info = QuicStreamInfo {
                        stream_id: sid,
                        stream_flags: f.0 & uapi::MSG_QUIC_STREAM_FIN,
                    };
                    // SAFETY: the caller's control buffer.
                    if !unsafe { put_cmsg(msg, uapi::QUIC_STREAM_INFO, &info) } {
                        msg.msg_flags |= (f.0 & uapi::MSG_QUIC_STREAM_FIN) as c_int;
                    }
                }
                return Ok(n);
            }
            // A stream the peer reset is not an error of the socket: its data is dropped
            // (the STREAM_UPDATE event says so when enabled) and reading goes on.
            Err(Error::StreamReset(..)) => {
                if peek {
                    // Peeking leaves the reset in place: take it out.
                    let _ = conn.sock.recv(&mut [], Flags::DONTWAIT);
                }
            }
            Err(Error::WouldBlock) if nonblocking => return Err(libc::EAGAIN),
            Err(Error::WouldBlock) => wait::until(conn.pollable()?, false, deadline)?,
            Err(e) => return Err(errno::of(&e, Call::Recv)),
        }
    }
}

/// A handshake message for the program, if one waits (with its `QUIC_HANDSHAKE_INFO`).
/// A message larger than the buffer is returned in pieces; MSG_EOR marks the last.
///
/// # Safety
/// `msg`'s control buffer is writable.
fn recv_handshake(
    conn: &Conn,
    msg: &mut msghdr,
    buf: &mut [u8],
    peek: bool,
) -> Result<Option<usize>, c_int> {
    let mut partial = conn.partial.lock().unwrap_or_else(|e| e.into_inner());
    if partial.is_none() {
        if conn.sock.is_established() {
            return Ok(None);
        }
        match conn.sock.recv_handshake() {
            Ok((level, bytes)) => *partial = Some((crypto_level(level), bytes, 0)),
            Err(Error::WouldBlock) => return Ok(None),
            Err(e) => return Err(errno::of(&e, Call::Recv)),
        }
    }
    let Some((level, bytes, read)) = partial.as_mut() else {
        return Ok(None);
    };
    let n = buf.len().min(bytes.len() - *read);
    buf[..n].copy_from_slice(&bytes[*read..*read + n]);
    let info = QuicHandshakeInfo {
        crypto_level: *level,
    };
    // SAFETY: the caller's control buffer.
    if !unsafe { put_cmsg(msg, uapi::QUIC_HANDSHAKE_INFO, &info) } {
        msg.msg_flags |= libc::MSG_CTRUNC;
    }
    if !peek {
        *read += n;
    }
    if *read + if peek { n } else { 0 } == bytes.len() {
        msg.msg_flags |= libc::MSG_EOR;
        if !peek {
            *partial = None;
        }
    }
    Ok(Some(n))
}

/// Writes one SOL_QUIC control message into `msg`'s control buffer; false (and
/// MSG_CTRUNC) when it does not fit.
///
/// # Safety
/// `msg`'s control buffer is writable for `msg_controllen` bytes.
unsafe fn put_cmsg<T>(msg: &mut msghdr, ty: c_int, value: &T) -> bool {
    let size = std::mem::size_of::<T>() as u32;
    // SAFETY: computing sizes.
    let space = unsafe { libc::CMSG_SPACE(size) } as usize;
    if msg.msg_control.is_null() || msg.msg_controllen < space {
        msg.msg_flags |= libc::MSG_CTRUNC;
        msg.msg_controllen = 0;
        return false;
    }
    // SAFETY: the buffer has room for one message of `size` bytes.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(msg);
        (*c).cmsg_level = uapi::SOL_QUIC;
        (*c).cmsg_type = ty;
        (*c).cmsg_len = libc::CMSG_LEN(size) as usize;
        std::ptr::copy_nonoverlapping(
            (value as *const T).cast::<u8>(),
            libc::CMSG_DATA(c),
            size as usize,
        );
    }
    msg.msg_controllen = space;
    true
}

/// The receive buffers of a msghdr: the first, or a staging buffer scattered over all of
/// them once filled.
struct Scatter {
    iovs: Vec<(*mut c_void, usize)>,
    staging: Vec<u8>,
}

impl Scatter {
    fn new(msg: &msghdr) -> Result<Self, c_int> {
        let mut iovs = Vec::new();
        if msg.msg_iovlen > 0 {
            if msg.msg_iov.is_null() {
                return Err(libc::EFAULT);
            }
            // SAFETY: msg_iovlen iovecs at msg_iov (the caller's contract).
            for v in unsafe { std::slice::from_raw_parts(msg.msg_iov, msg.msg_iovlen) } {
                if v.iov_len > 0 && v.iov_base.is_null() {
                    return Err(libc::EFAULT);
                }
                if v.iov_len > 0 {
                    iovs.push((v.iov_base, v.iov_len));
                }
            }
        }
        let staging = if iovs.len() > 1 {
            vec![0; iovs.iter().map(|v| v.1).sum()]
        } else {
            Vec::new()
        };
        Ok(Self { iovs, staging })
    }

    /// Where to receive into.
    fn space(&mut self) -> &mut [u8] {
        match self.iovs[..] {
            [] => &mut [],
            // SAFETY: the caller's buffer of this length (checked non-NULL).
            [(p, n)] => unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), n) },
            _ => &mut self.staging,
        }
    }

    /// `n` bytes were received: copy them out to the buffers.
    fn done(&mut self, n: usize) {
        if self.iovs.len() < 2 {
            return;
        }
        let mut at = 0;
        for &(p, len) in &self.iovs {
            let take = len.min(n - at);
            // SAFETY: the caller's buffer has `len` >= take bytes.
            unsafe { std::ptr::copy_nonoverlapping(self.staging[at..].as_ptr(), p.cast(), take) };
            at += take;
            if at == n {
                break;
            }
        }
    }
}
