//! What the local interface toward a peer carries: the route's MTU, as the kernel knows
//! it, less the IP and UDP headers. DPLPMTUD (RFC 8899) searches no higher than this.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// The largest UDP payload of an IPv4 datagram (65535 less 20 + 8 bytes of headers).
const MAX_V4_PAYLOAD: usize = 65_507;
/// The largest UDP payload QUIC sends over IPv6 (RFC 9000 §18.2, max_udp_payload_size).
const MAX_V6_PAYLOAD: usize = 65_527;

/// The largest UDP payload the local interface carries to `remote`: the MTU of the
/// kernel's route to it (`IP_MTU` / `IPV6_MTU` of a socket connected there, which sends
/// nothing) less the IP and UDP headers. IPv4-mapped IPv6 addresses are asked as IPv4.
pub fn max_udp_payload(remote: SocketAddr) -> io::Result<usize> {
    let remote = match remote {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), a.port()),
            None => remote,
        },
        v4 => v4,
    };
    let socket = Socket::new(
        Domain::for_address(remote),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.connect(&remote.into())?;
    let (level, name, headers, max) = if remote.is_ipv4() {
        (libc::IPPROTO_IP, libc::IP_MTU, 20 + 8, MAX_V4_PAYLOAD)
    } else {
        (libc::IPPROTO_IPV6, libc::IPV6_MTU, 40 + 8, MAX_V6_PAYLOAD)
    };
    let mtu = crate::getsockopt(&socket, level, name)?;
    let mtu = usize::try_from(mtu).map_err(|_| io::Error::other("negative route MTU"))?;
    Ok(mtu.saturating_sub(headers).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_carries_large_datagrams_and_mapped_addresses_ask_as_ipv4() {
        let v4 = max_udp_payload("127.0.0.1:4433".parse().unwrap()).unwrap();
        // The loopback device's MTU is 65536: the IPv4 limit binds.
        assert_eq!(v4, MAX_V4_PAYLOAD);
        let mapped = max_udp_payload("[::ffff:127.0.0.1]:4433".parse().unwrap()).unwrap();
        assert_eq!(mapped, v4);
        if let Ok(v6) = max_udp_payload("[::1]:4433".parse().unwrap()) {
            assert_eq!(v6, 65_536 - 48);
        }
    }
}
