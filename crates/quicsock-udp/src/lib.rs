//! The Linux UDP datapath of quicsock: the only crate of the stack with `unsafe`, and the
//! owner of every socket syscall.
//!
//! A [`UdpSocket`] is one bound UDP socket with what a fast QUIC stack needs from it:
//!
//! * **GSO** (`UDP_SEGMENT`): one `sendmsg` carries a burst of equal-sized datagrams (the
//!   last may be shorter) that the kernel splits as late as possible. [`UdpSocket::send`]
//!   splits bursts at the kernel's segment and size limits.
//! * **GRO** (`UDP_GRO`) and `recvmmsg`: one `recv` call returns up to [`BATCH_SIZE`]
//!   buffers, each of which may hold several datagrams of [`RecvMeta::stride`] bytes.
//! * **ECN**: the codepoint of each sent datagram (`IP_TOS` / `IPV6_TCLASS` control
//!   messages) and of each received one (`IP_RECVTOS` / `IPV6_RECVTCLASS`).
//! * **pktinfo**: the local address each datagram arrived at (`IP_PKTINFO` /
//!   `IPV6_RECVPKTINFO`), and the source address to send from, so a server bound to a
//!   wildcard address answers from the address the client used.
//! * IPv4, IPv6 and dual-stack sockets (IPv4 peers of a dual-stack socket are reported as
//!   plain IPv4 addresses), large socket buffers, and the don't-fragment bit
//!   (`IP_PMTUDISC_PROBE`), as QUIC requires (RFC 9000 §14); [`max_udp_payload`] says
//!   what the local interface toward a peer carries, the ceiling of DPLPMTUD's search.
//!
//! Everything is detected at run time. GSO that the kernel or the device refuses (`EIO`
//! when the device cannot checksum, `EINVAL` on old kernels) is switched off for the socket
//! and the burst goes out one datagram at a time; ECN marking that the kernel refuses is
//! switched off the same way. [`Capabilities`] says what is in use.
//!
//! [`Waker`] and [`wait`] let an engine thread sleep until its socket is readable, another
//! thread wakes it, or its next timer is due.
//!
//! Each `unsafe` block carries a `// SAFETY:` line. The address conversions live in
//! `addr`, the control-message encoding and decoding in `cmsg`.

#![deny(clippy::undocumented_unsafe_blocks)]

mod addr;
mod cmsg;
mod cpu;
mod mtu;
mod sleeper;
mod steer;
#[cfg(test)]
mod tests;
mod wake;

pub use cpu::pin_current_thread;
pub use mtu::max_udp_payload;
pub use sleeper::{wait_any, Sleeper, Woken};
pub use steer::steered_socket;
pub use wake::{poll_fd, wait, wait_writable, Ready, Waker};

use std::io::{self, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use socket2::{Domain, Protocol, Socket, Type};

/// The most buffers one [`UdpSocket::recv`] call fills.
pub const BATCH_SIZE: usize = 32;
/// The most datagrams one GSO `sendmsg` carries (the kernel's `UDP_MAX_SEGMENTS` is 64 on
/// older kernels and 128 on newer ones).
pub const MAX_GSO_SEGMENTS: usize = 64;
/// The largest UDP payload one `sendmsg` may carry (65535 minus the IPv4 and UDP headers).
pub const MAX_SEND_BYTES: usize = 65_507;
/// The size a receive buffer needs so that a GRO batch is never truncated.
pub const GRO_BUFFER_SIZE: usize = 65_535;

/// An ECN codepoint (RFC 3168).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EcnCodepoint {
    /// ECT(0).
    Ect0 = 0b10,
    /// ECT(1).
    Ect1 = 0b01,
    /// Congestion experienced.
    Ce = 0b11,
}

impl EcnCodepoint {
    /// The codepoint in the low two bits of a TOS or traffic-class byte; `None` for Not-ECT.
    pub fn from_bits(tos: u8) -> Option<Self> {
        match tos & 0b11 {
            0b10 => Some(Self::Ect0),
            0b01 => Some(Self::Ect1),
            0b11 => Some(Self::Ce),
            _ => None,
        }
    }
}

/// One burst to send: `contents` holds one datagram, or several of `segment_size` bytes
/// each (the last may be shorter) for one destination.
#[derive(Clone, Debug)]
pub struct Transmit<'a> {
    /// Where to send.
    pub destination: SocketAddr,
    /// The ECN codepoint to mark every datagram with.
    pub ecn: Option<EcnCodepoint>,
    /// The datagrams, back to back.
    pub contents: &'a [u8],
    /// The size of each datagram when `contents` holds several.
    pub segment_size: Option<usize>,
    /// The local address to send from (must be one of this host's addresses); `None` lets
    /// the kernel choose.
    pub src_ip: Option<IpAddr>,
}

/// What is known of one buffer that [`UdpSocket::recv`] filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvMeta {
    /// The sender.
    pub addr: SocketAddr,
    /// The bytes in the buffer: one datagram, or several of `stride` bytes back to back
    /// (the last may be shorter). Zero for a datagram that did not fit the buffer (it is
    /// dropped: QUIC cannot use a part of one).
    pub len: usize,
    /// The size of each datagram in the buffer (at least 1).
    pub stride: usize,
    /// The ECN codepoint the datagrams arrived with.
    pub ecn: Option<EcnCodepoint>,
    /// The local address they were sent to.
    pub dst_ip: Option<IpAddr>,
    /// The interface they arrived on.
    pub ifindex: Option<u32>,
}

impl Default for RecvMeta {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            len: 0,
            stride: 1,
            ecn: None,
            dst_ip: None,
            ifindex: None,
        }
    }
}

/// How to set up a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketConfig {
    /// The receive buffer to ask for, in bytes. Root may exceed `net.core.rmem_max`.
    pub recv_buffer: usize,
    /// The send buffer to ask for, in bytes.
    pub send_buffer: usize,
    /// An IPv6 socket takes IPv6 only (false: dual-stack, IPv4 peers too).
    pub v6_only: bool,
    /// Use GRO on receive when the kernel has it.
    pub gro: bool,
    /// Use GSO on send when the kernel has it.
    pub gso: bool,
    /// Let several sockets bind the same address and port (`SO_REUSEPORT`).
    pub reuse_port: bool,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            recv_buffer: 8 << 20,
            send_buffer: 8 << 20,
            v6_only: false,
            gro: true,
            gso: true,
            reuse_port: false,
        }
    }
}

/// What a socket uses, as detected when it was made and adjusted by fallbacks since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Datagrams per GSO send (1: no GSO).
    pub gso_segments: usize,
    /// Whether received buffers may hold several datagrams (GRO).
    pub gro: bool,
    /// Whether sent datagrams carry the requested ECN codepoint.
    pub ecn: bool,
    /// The receive buffer the kernel granted, in bytes.
    pub recv_buffer: usize,
    /// The send buffer the kernel granted, in bytes.
    pub send_buffer: usize,
}

/// A UDP socket with GSO, GRO, ECN and pktinfo.
#[derive(Debug)]
pub struct UdpSocket {
    socket: Socket,
    v6: bool,
    gso: AtomicBool,
    gro: bool,
    ecn: AtomicBool,
    /// Test hook: the next GSO send fails with this errno, as a device without checksum
    /// offload makes it fail.
    #[cfg(test)]
    fail_next_gso: std::sync::atomic::AtomicI32,
    /// Test hook: the next send with an ECN codepoint fails with EINVAL, as kernels or
    /// sandboxes that refuse the TOS control message do.
    #[cfg(test)]
    fail_next_ecn: AtomicBool,
}

impl UdpSocket {
    /// Binds a socket to `addr` with the default [`SocketConfig`]. An IPv6 wildcard
    /// address (`[::]`) makes a dual-stack socket.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_with(addr, &SocketConfig::default())
    }

    /// Binds a socket to `addr` with `config`.
    pub fn bind_with(addr: SocketAddr, config: &SocketConfig) -> io::Result<Self> {
        let v6 = addr.is_ipv6();
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_cloexec(true)?;
        if v6 {
            socket.set_only_v6(config.v6_only)?;
        }
        if config.reuse_port {
            socket.set_reuse_port(true)?;
        }
        set_buffer(&socket, libc::SO_RCVBUFFORCE, config.recv_buffer, |s, n| {
            s.set_recv_buffer_size(n)
        });
        set_buffer(&socket, libc::SO_SNDBUFFORCE, config.send_buffer, |s, n| {
            s.set_send_buffer_size(n)
        });
        let dual = v6 && !config.v6_only;
        if !v6 || dual {
            // IPv4 (or IPv4 peers of a dual-stack socket): ECN and destination address of
            // each datagram; set DF and ignore the path-MTU cache (we probe ourselves).
            setsockopt(&socket, libc::IPPROTO_IP, libc::IP_RECVTOS, 1)?;
            setsockopt(&socket, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
            setsockopt(
                &socket,
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                libc::IP_PMTUDISC_PROBE,
            )?;
        }
        if v6 {
            setsockopt(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 1)?;
            setsockopt(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            setsockopt(
                &socket,
                libc::IPPROTO_IPV6,
                libc::IPV6_MTU_DISCOVER,
                libc::IPV6_PMTUDISC_PROBE,
            )?;
        }
        let gro = config.gro && setsockopt(&socket, libc::SOL_UDP, libc::UDP_GRO, 1).is_ok();
        let gso = config.gso && getsockopt(&socket, libc::SOL_UDP, libc::UDP_SEGMENT).is_ok();
        socket.bind(&addr.into())?;
        Ok(Self {
            socket,
            v6,
            gso: AtomicBool::new(gso),
            gro,
            ecn: AtomicBool::new(true),
            #[cfg(test)]
            fail_next_gso: std::sync::atomic::AtomicI32::new(0),
            #[cfg(test)]
            fail_next_ecn: AtomicBool::new(false),
        })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("socket has no IP address"))
    }

    /// What the socket uses now.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            gso_segments: if self.gso.load(Ordering::Relaxed) {
                MAX_GSO_SEGMENTS
            } else {
                1
            },
            gro: self.gro,
            ecn: self.ecn.load(Ordering::Relaxed),
            recv_buffer: self.socket.recv_buffer_size().unwrap_or(0),
            send_buffer: self.socket.send_buffer_size().unwrap_or(0),
        }
    }

    /// Makes `send` and `recv` return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)
    }

    /// Bounds how long a blocking `recv` waits (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    /// Sends a burst; returns the bytes of `contents` sent, a whole number of datagrams. An
    /// error means nothing was sent (`WouldBlock` on a full send buffer of a non-blocking
    /// socket); a burst interrupted part-way returns what went out.
    pub fn send(&self, t: &Transmit<'_>) -> io::Result<usize> {
        let len = t.contents.len();
        let seg = t.segment_size.filter(|s| *s > 0 && *s < len).unwrap_or(len);
        if seg == len {
            return self.send_raw(t, t.contents, None).map(|()| len);
        }
        let per_send = (MAX_SEND_BYTES / seg).clamp(1, MAX_GSO_SEGMENTS) * seg;
        let mut sent = 0;
        while sent < len {
            let chunk = &t.contents[sent..(sent + per_send).min(len)];
            let r = if self.gso.load(Ordering::Relaxed) && chunk.len() > seg {
                match self.send_raw(t, chunk, Some(seg)) {
                    Err(e) if gso_unsupported(&e) => {
                        // The kernel or the device cannot segment: stop asking.
                        self.gso.store(false, Ordering::Relaxed);
                        self.send_each(t, chunk, seg)
                    }
                    r => r.map(|()| chunk.len()),
                }
            } else {
                self.send_each(t, chunk, seg)
            };
            match r {
                Ok(n) => {
                    sent += n;
                    if n < chunk.len() {
                        break;
                    }
                }
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }

    /// Sends `chunk` one datagram at a time; returns the bytes sent.
    fn send_each(&self, t: &Transmit<'_>, chunk: &[u8], seg: usize) -> io::Result<usize> {
        let mut sent = 0;
        for d in chunk.chunks(seg) {
            match self.send_raw(t, d, None) {
                Ok(()) => sent += d.len(),
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }

    /// One `sendmsg`, with ECN falling back to unmarked when the kernel refuses it.
    fn send_raw(&self, t: &Transmit<'_>, data: &[u8], segment: Option<usize>) -> io::Result<()> {
        #[cfg(test)]
        if segment.is_some() {
            let errno = self.fail_next_gso.swap(0, Ordering::Relaxed);
            if errno != 0 {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        let ecn = t.ecn.filter(|_| self.ecn.load(Ordering::Relaxed));
        #[cfg(test)]
        let first = if ecn.is_some() && self.fail_next_ecn.swap(false, Ordering::Relaxed) {
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        } else {
            self.sendmsg(t.destination, ecn, t.src_ip, data, segment)
        };
        #[cfg(not(test))]
        let first = self.sendmsg(t.destination, ecn, t.src_ip, data, segment);
        match first {
            Err(e) if ecn.is_some() && e.raw_os_error() == Some(libc::EINVAL) => {
                let r = self.sendmsg(t.destination, None, t.src_ip, data, segment);
                if r.is_ok() {
                    self.ecn.store(false, Ordering::Relaxed);
                }
                r
            }
            r => r,
        }
    }

    fn sendmsg(
        &self,
        dest: SocketAddr,
        ecn: Option<EcnCodepoint>,
        src_ip: Option<IpAddr>,
        data: &[u8],
        segment: Option<usize>,
    ) -> io::Result<()> {
        let (mut name, name_len) = addr::to_raw(dest, self.v6);
        let mut iov = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        let mut control = cmsg::ControlBuf::new();
        // SAFETY: msghdr is plain old data; all zeroes is a valid (empty) value.
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        hdr.msg_name = (&raw mut name).cast();
        hdr.msg_namelen = name_len;
        hdr.msg_iov = &raw mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.0.as_mut_ptr().cast();
        hdr.msg_controllen = cmsg::CMSG_BUF as _;
        // An IPv4 destination, plain or v4-mapped on a dual-stack socket, takes IPv4-level
        // control messages.
        let v4_path = match dest {
            SocketAddr::V4(_) => true,
            SocketAddr::V6(a) => a.ip().to_ipv4_mapped().is_some(),
        };
        let mut enc = cmsg::Encoder::new(&mut hdr);
        if let Some(ecn) = ecn {
            let tos = ecn as libc::c_int;
            if v4_path {
                enc.push(libc::IPPROTO_IP, libc::IP_TOS, tos);
            } else {
                enc.push(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tos);
            }
        }
        if let Some(seg) = segment {
            enc.push(libc::SOL_UDP, libc::UDP_SEGMENT, seg as u16);
        }
        match src_ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(ip)) if v4_path => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(ip).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                enc.push(libc::IPPROTO_IP, libc::IP_PKTINFO, info);
            }
            Some(IpAddr::V6(ip)) if !v4_path => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: ip.octets(),
                    },
                    ipi6_ifindex: 0,
                };
                enc.push(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, info);
            }
            // A source of the other family than the destination cannot be used.
            _ => {}
        }
        enc.finish();
        loop {
            // SAFETY: hdr points at `name`, `iov` (over `data`) and `control`, all alive
            // for the call; the kernel only reads them.
            let r = unsafe { libc::sendmsg(self.socket.as_raw_fd(), &hdr, 0) };
            if r >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receives into up to [`BATCH_SIZE`] buffers with one `recvmmsg`; returns how many
    /// were filled, each described by the `meta` entry of the same index. Blocks until at
    /// least one datagram arrives unless the socket is non-blocking. With GRO each buffer
    /// should be [`GRO_BUFFER_SIZE`] bytes.
    pub fn recv(&self, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> io::Result<usize> {
        let n = bufs.len().min(meta.len()).min(BATCH_SIZE);
        let mut iovs: [libc::iovec; BATCH_SIZE] = std::array::from_fn(|i| libc::iovec {
            iov_base: bufs
                .get_mut(i)
                .map_or(std::ptr::null_mut(), |b| b.as_mut_ptr().cast()),
            iov_len: bufs.get(i).map_or(0, |b| b.len()),
        });
        // SAFETY: each of the first `n` iovecs covers one of the caller's initialised
        // buffers, borrowed mutably for this call.
        unsafe { self.recv_iovecs(&mut iovs[..n], meta) }
    }

    /// As [`recv`](Self::recv), appending each datagram (or GRO batch) to the spare
    /// capacity of one of `bufs`, without initialising that memory first. Each buffer
    /// should have [`GRO_BUFFER_SIZE`] bytes of spare capacity; a buffer with less takes a
    /// shorter datagram or reports it truncated (`len` 0).
    pub fn recv_into(&self, bufs: &mut [BytesMut], meta: &mut [RecvMeta]) -> io::Result<usize> {
        let n = bufs.len().min(meta.len()).min(BATCH_SIZE);
        let mut iovs: [libc::iovec; BATCH_SIZE] = std::array::from_fn(|i| {
            let spare = bufs.get_mut(i).map(|b| b.spare_capacity_mut());
            libc::iovec {
                iov_len: spare.as_ref().map_or(0, |s| s.len()),
                iov_base: spare.map_or(std::ptr::null_mut(), |s| s.as_mut_ptr().cast()),
            }
        });
        // SAFETY: each of the first `n` iovecs covers the spare capacity of one of the
        // caller's buffers, borrowed mutably for this call; the kernel only writes there.
        let got = unsafe { self.recv_iovecs(&mut iovs[..n], meta) }?;
        for (b, m) in bufs.iter_mut().zip(&meta[..got]) {
            // SAFETY: the kernel wrote `m.len` bytes (0 if truncated, which is within
            // what it wrote) at the start of the spare capacity, which it does not exceed.
            unsafe { b.set_len(b.len() + m.len) };
        }
        Ok(got)
    }

    /// `recvmmsg` into `iovs`, one datagram (or GRO batch) each.
    ///
    /// # Safety
    /// Each iovec must describe memory the kernel may write for the call's duration.
    unsafe fn recv_iovecs(
        &self,
        iovs: &mut [libc::iovec],
        meta: &mut [RecvMeta],
    ) -> io::Result<usize> {
        let n = iovs.len().min(meta.len()).min(BATCH_SIZE);
        if n == 0 {
            return Ok(0);
        }
        let mut names = [MaybeUninit::<libc::sockaddr_storage>::zeroed(); BATCH_SIZE];
        let mut controls: [cmsg::ControlBuf; BATCH_SIZE] =
            std::array::from_fn(|_| cmsg::ControlBuf::new());
        // SAFETY: mmsghdr is plain old data; all zeroes is a valid value.
        let mut hdrs: [libc::mmsghdr; BATCH_SIZE] = unsafe { mem::zeroed() };
        for i in 0..n {
            let h = &mut hdrs[i].msg_hdr;
            h.msg_name = names[i].as_mut_ptr().cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as _;
            h.msg_iov = &raw mut iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = controls[i].0.as_mut_ptr().cast();
            h.msg_controllen = cmsg::CMSG_BUF as _;
        }
        let got = loop {
            // SAFETY: each of the first `n` headers points at its own name, one of the
            // caller's iovecs (writable memory, as this function requires) and its own
            // control buffer, all alive for the call.
            let r = unsafe {
                libc::recvmmsg(
                    self.socket.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    n as libc::c_uint,
                    // Return as soon as one datagram is there rather than wait for `n`.
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if r >= 0 {
                break r as usize;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        for i in 0..got {
            let h = &hdrs[i];
            // SAFETY: the kernel initialised the name it reported the length of (the
            // storage was zeroed before the call in any case).
            let name = unsafe { names[i].assume_init_ref() };
            let info = cmsg::decode(&h.msg_hdr);
            let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let len = if truncated { 0 } else { h.msg_len as usize };
            meta[i] = RecvMeta {
                addr: addr::from_raw(name, h.msg_hdr.msg_namelen)
                    .unwrap_or_else(|| RecvMeta::default().addr),
                len,
                stride: info.gro_segment.filter(|s| *s > 0).unwrap_or(len).max(1),
                ecn: info.tos.and_then(EcnCodepoint::from_bits),
                dst_ip: info.dst_ip,
                ifindex: info.ifindex,
            };
        }
        Ok(got)
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// Whether a GSO send failed because segmentation is not available (rather than because
/// of the datagram or the network).
fn gso_unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EIO) | Some(libc::EINVAL))
}

/// Sets a socket buffer: the forcing option first (root may exceed the sysctl limit),
/// else the ordinary one. Failure leaves the kernel's default, which still works.
fn set_buffer(
    socket: &Socket,
    force: libc::c_int,
    size: usize,
    plain: impl Fn(&Socket, usize) -> io::Result<()>,
) {
    let size = size.min(i32::MAX as usize / 2);
    if setsockopt(socket, libc::SOL_SOCKET, force, size as libc::c_int).is_err() {
        let _ = plain(socket, size);
    }
}

fn setsockopt(
    socket: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    set_option(socket.as_raw_fd(), level, name, &value)
}

/// `setsockopt` with a value of any plain type.
pub(crate) fn set_option<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` is a live `T` and its size is passed with it; the kernel copies at
    // most that many bytes out of it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn getsockopt(socket: &Socket, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `value` and updates `len`.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if r == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}
