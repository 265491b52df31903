//! The preferred_address transport parameter (RFC 9000 §18.2, Figure 22).
//!
//! ```text
//! Preferred Address {
//!   IPv4 Address (32), IPv4 Port (16),
//!   IPv6 Address (128), IPv6 Port (16),
//!   Connection ID Length (8), Connection ID (..),
//!   Stateless Reset Token (128),
//! }
//! ```

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use bytes::BufMut;

use crate::common::{ConnectionId, Reader};
use crate::TransportError;

/// A server's preferred address, to which the client may migrate after the handshake.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PreferredAddress {
    /// The IPv4 address, if the server offers one (all zeros on the wire otherwise).
    pub ipv4: Option<SocketAddrV4>,
    /// The IPv6 address, if the server offers one.
    pub ipv6: Option<SocketAddrV6>,
    /// The connection ID to use at the new address, sequence number 1; never empty.
    pub connection_id: ConnectionId,
    /// The stateless reset token for that connection ID.
    pub stateless_reset_token: [u8; 16],
}

impl PreferredAddress {
    pub(super) fn decode(value: &[u8]) -> Result<Self, TransportError> {
        let err = || TransportError::transport_parameter("malformed preferred_address");
        let mut r = Reader::new(value);
        let ip4 = Ipv4Addr::from(r.array::<4>().map_err(|_| err())?);
        let port4 = r.u16().map_err(|_| err())?;
        let ip6 = Ipv6Addr::from(r.array::<16>().map_err(|_| err())?);
        let port6 = r.u16().map_err(|_| err())?;
        let cid = r.u8_prefixed().map_err(|_| err())?;
        // §18.2: a zero-length connection ID here is a TRANSPORT_PARAMETER_ERROR.
        if cid.is_empty() {
            return Err(TransportError::transport_parameter(
                "preferred_address with an empty connection ID",
            ));
        }
        let connection_id = ConnectionId::from_slice(cid).map_err(|_| err())?;
        let stateless_reset_token = r.array().map_err(|_| err())?;
        if !r.is_empty() {
            return Err(err());
        }
        let ipv4 = (!ip4.is_unspecified() || port4 != 0).then(|| SocketAddrV4::new(ip4, port4));
        let ipv6 =
            (!ip6.is_unspecified() || port6 != 0).then(|| SocketAddrV6::new(ip6, port6, 0, 0));
        Ok(Self {
            ipv4,
            ipv6,
            connection_id,
            stateless_reset_token,
        })
    }

    pub(super) fn encode<B: BufMut>(&self, out: &mut B) {
        let v4 = self
            .ipv4
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let v6 = self
            .ipv6
            .unwrap_or(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0));
        out.put_slice(&v4.ip().octets());
        out.put_u16(v4.port());
        out.put_slice(&v6.ip().octets());
        out.put_u16(v6.port());
        out.put_u8(self.connection_id.len() as u8);
        out.put_slice(&self.connection_id);
        out.put_slice(&self.stateless_reset_token);
    }

    pub(super) const fn encoded_len(&self) -> usize {
        4 + 2 + 16 + 2 + 1 + self.connection_id.len() + 16
    }
}
