//! Socket addresses between C's `sockaddr` and Rust's `SocketAddr`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use libc::{c_int, sockaddr, sockaddr_in, sockaddr_in6, socklen_t};

/// The address at `addr` (`len` bytes); EINVAL when it is short or not IPv4/IPv6,
/// EFAULT when NULL.
///
/// # Safety
/// `addr` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn read(addr: *const sockaddr, len: socklen_t) -> Result<SocketAddr, c_int> {
    if addr.is_null() {
        return Err(libc::EFAULT);
    }
    let len = len as usize;
    if len < std::mem::size_of::<libc::sa_family_t>() {
        return Err(libc::EINVAL);
    }
    // SAFETY: at least the family is readable.
    let family = c_int::from(unsafe { std::ptr::read_unaligned(addr).sa_family });
    match family {
        libc::AF_INET if len >= std::mem::size_of::<sockaddr_in>() => {
            // SAFETY: len covers a sockaddr_in.
            let a: sockaddr_in = unsafe { std::ptr::read_unaligned(addr.cast()) };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<sockaddr_in6>() => {
            // SAFETY: len covers a sockaddr_in6.
            let a: sockaddr_in6 = unsafe { std::ptr::read_unaligned(addr.cast()) };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        libc::AF_INET | libc::AF_INET6 => Err(libc::EINVAL),
        _ => Err(libc::EAFNOSUPPORT),
    }
}

/// Writes `a` to `addr` as getsockname(2) does: at most `*len` bytes, and `*len` set to
/// the address's full size. A socket of family AF_INET6 reports IPv4 addresses mapped.
///
/// # Safety
/// `addr` and `len` are NULL or valid for writes (`addr` for `*len` bytes).
pub(crate) unsafe fn write(
    a: SocketAddr,
    family: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> Result<(), c_int> {
    if addr.is_null() || len.is_null() {
        return Err(libc::EFAULT);
    }
    let a = match a {
        SocketAddr::V4(v4) if family == libc::AF_INET6 => {
            SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
        }
        SocketAddr::V6(v6) if family == libc::AF_INET => match v6.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::V4(SocketAddrV4::new(ip, v6.port())),
            None => a,
        },
        a => a,
    };
    let bytes: Vec<u8> = match a {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_in is plain data; all zeroes is valid.
            let mut s: sockaddr_in = unsafe { std::mem::zeroed() };
            s.sin_family = libc::AF_INET as libc::sa_family_t;
            s.sin_port = v4.port().to_be();
            s.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            // SAFETY: viewing a plain-data struct as its bytes.
            unsafe { as_bytes(&s) }.to_vec()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above.
            let mut s: sockaddr_in6 = unsafe { std::mem::zeroed() };
            s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            s.sin6_port = v6.port().to_be();
            s.sin6_addr.s6_addr = v6.ip().octets();
            s.sin6_flowinfo = v6.flowinfo();
            s.sin6_scope_id = v6.scope_id();
            // SAFETY: as above.
            unsafe { as_bytes(&s) }.to_vec()
        }
    };
    // SAFETY: the caller gave `len` valid for reads and writes.
    let room = unsafe { *len } as usize;
    let n = room.min(bytes.len());
    // SAFETY: `addr` has room for `room` >= n bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.cast::<u8>(), n) };
    // SAFETY: as above.
    unsafe { *len = bytes.len() as socklen_t };
    Ok(())
}

/// The bytes of a plain-data value.
///
/// # Safety
/// `T` has no padding whose reading matters (the bytes are copied out, never
/// interpreted).
pub(crate) unsafe fn as_bytes<T>(v: &T) -> &[u8] {
    // SAFETY: a live reference covers size_of::<T>() bytes.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}
