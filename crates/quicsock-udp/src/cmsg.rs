//! Control messages: writing the ancillary data of `sendmsg` (GSO segment size, ECN,
//! source address) and reading that of `recvmsg` (GRO segment size, ECN, destination
//! address). Every access to a control buffer goes through here.

// msg_controllen and cmsg_len are usize on glibc and u32 on musl: the casts are needed on one.
#![allow(clippy::unnecessary_cast)]

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Room for every control message either direction uses, 8-byte aligned as `cmsghdr` needs.
pub(crate) const CMSG_BUF: usize = 128;

/// A control-message buffer with `cmsghdr` alignment.
#[repr(C, align(8))]
pub(crate) struct ControlBuf(pub(crate) [u8; CMSG_BUF]);

impl ControlBuf {
    pub(crate) const fn new() -> Self {
        Self([0; CMSG_BUF])
    }
}

/// Appends control messages to a `msghdr` whose `msg_control` points at a [`ControlBuf`].
pub(crate) struct Encoder<'a> {
    hdr: &'a mut libc::msghdr,
    cmsg: *mut libc::cmsghdr,
    len: usize,
}

impl<'a> Encoder<'a> {
    /// Starts writing into `hdr`'s control buffer, which must be a zeroed [`ControlBuf`]
    /// with `msg_controllen` set to its size.
    pub(crate) fn new(hdr: &'a mut libc::msghdr) -> Self {
        // SAFETY: `hdr.msg_control` points at a live ControlBuf of `msg_controllen` bytes;
        // CMSG_FIRSTHDR only reads those two fields.
        let cmsg = unsafe { libc::CMSG_FIRSTHDR(hdr) };
        Self { hdr, cmsg, len: 0 }
    }

    /// Appends one control message carrying `value`.
    pub(crate) fn push<T: Copy>(&mut self, level: libc::c_int, ty: libc::c_int, value: T) {
        let space = cmsg_space::<T>();
        assert!(
            !self.cmsg.is_null() && self.len + space <= self.hdr.msg_controllen as usize,
            "control buffer too small"
        );
        // SAFETY: the assertion above keeps the header and its data inside the control
        // buffer; CMSG_DATA points past the header and write_unaligned copes with any
        // alignment of T.
        unsafe {
            (*self.cmsg).cmsg_level = level;
            (*self.cmsg).cmsg_type = ty;
            (*self.cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<T>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(self.cmsg).cast::<T>(), value);
        }
        self.len += space;
        // SAFETY: msg_controllen still covers the whole buffer, so CMSG_NXTHDR checks the
        // next header against its end and returns null when none fits.
        self.cmsg = unsafe { libc::CMSG_NXTHDR(self.hdr, self.cmsg) };
    }

    /// Sets `msg_controllen` to what was written (none: no control data at all).
    pub(crate) fn finish(self) {
        self.hdr.msg_controllen = self.len as _;
        if self.len == 0 {
            self.hdr.msg_control = std::ptr::null_mut();
        }
    }
}

fn cmsg_space<T>() -> usize {
    // SAFETY: CMSG_SPACE is pure arithmetic.
    unsafe { libc::CMSG_SPACE(mem::size_of::<T>() as u32) as usize }
}

/// What the control messages of one received datagram said.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Received {
    /// The TOS or traffic-class byte.
    pub(crate) tos: Option<u8>,
    /// The destination address of the datagram.
    pub(crate) dst_ip: Option<IpAddr>,
    /// The interface it arrived on.
    pub(crate) ifindex: Option<u32>,
    /// The GRO segment size.
    pub(crate) gro_segment: Option<usize>,
}

/// Reads the control messages the kernel wrote into `hdr`.
pub(crate) fn decode(hdr: &libc::msghdr) -> Received {
    let mut out = Received::default();
    if hdr.msg_control.is_null() || (hdr.msg_controllen as usize) < mem::size_of::<libc::cmsghdr>()
    {
        return out;
    }
    // SAFETY: msg_control/msg_controllen describe the buffer the kernel filled; CMSG_FIRSTHDR
    // and CMSG_NXTHDR never step past msg_controllen.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(hdr) };
    while !cmsg.is_null() {
        // SAFETY: a non-null cmsg from CMSG_FIRSTHDR/NXTHDR points at a whole header.
        let c = unsafe { &*cmsg };
        match (c.cmsg_level, c.cmsg_type) {
            (libc::IPPROTO_IP, libc::IP_TOS) => out.tos = read::<u8>(c).or(out.tos),
            (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => {
                out.tos = read::<libc::c_int>(c).map(|v| v as u8).or(out.tos);
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                if let Some(info) = read::<libc::in_pktinfo>(c) {
                    let ip = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                    out.dst_ip = Some(IpAddr::V4(ip));
                    out.ifindex = Some(info.ipi_ifindex as u32);
                }
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                if let Some(info) = read::<libc::in6_pktinfo>(c) {
                    let ip = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                    out.dst_ip = Some(IpAddr::V6(ip).to_canonical());
                    out.ifindex = Some(info.ipi6_ifindex);
                }
            }
            (libc::SOL_UDP, libc::UDP_GRO) => {
                out.gro_segment = read::<libc::c_int>(c).and_then(|v| usize::try_from(v).ok());
            }
            _ => {}
        }
        // SAFETY: as above; returns null past the last header.
        cmsg = unsafe { libc::CMSG_NXTHDR(hdr, cmsg) };
    }
    out
}

/// The data of a control message as a `T`, if the message is long enough to hold one.
fn read<T: Copy>(c: &libc::cmsghdr) -> Option<T> {
    // SAFETY: CMSG_LEN is pure arithmetic.
    let need = unsafe { libc::CMSG_LEN(mem::size_of::<T>() as u32) } as usize;
    if (c.cmsg_len as usize) < need {
        return None;
    }
    // SAFETY: cmsg_len says the kernel wrote at least size_of::<T>() bytes of data after
    // the header, inside the control buffer; read_unaligned copes with any alignment, and
    // every T used here is plain old data valid for any bit pattern.
    Some(unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<T>()) })
}
