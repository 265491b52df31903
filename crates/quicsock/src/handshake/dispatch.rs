//! ALPN dispatch (reference §2.1): several listeners share one UDP port, each with its own
//! ALPN list and TLS configuration. The driver of a new server connection reads the
//! client's first ClientHello, picks the listener serving the first protocol the client
//! offers that any listener serves (a listener with no ALPN list takes the rest), and hands
//! the handshake to a rustls driver with that listener's configuration. When none fits, the
//! connection is refused with the TLS no_application_protocol alert.

use std::sync::{Arc, RwLock};

use quicsock_proto::conn::{Connection, HandshakeDriver, Level};
use quicsock_proto::{Timestamp, TransportError, TransportErrorCode};

use super::client_hello::{self, Hello};
use super::RustlsDriver;

/// TLS alert no_application_protocol (RFC 7301 §3.2).
const NO_APPLICATION_PROTOCOL: u8 = 120;
/// TLS alert decode_error.
const DECODE_ERROR: u8 = 50;
/// TLS alert unexpected_message.
const UNEXPECTED_MESSAGE: u8 = 10;

/// One listener's protocols and TLS configuration.
#[derive(Clone, Debug)]
pub(crate) struct ListenerTls {
    /// The listener.
    pub(crate) id: u64,
    /// Its ALPN list (empty: it takes connections no other listener serves).
    pub(crate) alpns: Vec<Vec<u8>>,
    /// Its TLS configuration.
    pub(crate) tls: Arc<rustls::ServerConfig>,
    /// Its application drives the handshake (`manual_handshake`): the ClientHello is
    /// only looked at, and left for the application to read.
    pub(crate) manual: bool,
}

/// The listeners of one UDP socket.
pub(crate) type ListenerTable = Arc<RwLock<Vec<ListenerTls>>>;

/// The listener that serves a connection whose client offered `offered`, in its order.
pub(crate) fn choose(table: &[ListenerTls], offered: &[Vec<u8>]) -> Option<usize> {
    offered
        .iter()
        .find_map(|a| table.iter().position(|l| l.alpns.contains(a)))
        .or_else(|| table.iter().position(|l| l.alpns.is_empty()))
}

/// The listener a connection that negotiated `alpn` belongs to.
pub(crate) fn owner(table: &[ListenerTls], alpn: Option<&[u8]>) -> Option<u64> {
    let offered: Vec<Vec<u8>> = alpn.map(<[u8]>::to_vec).into_iter().collect();
    choose(table, &offered).map(|i| table[i].id)
}

/// The driver of a server connection until its listener is known, then that listener's.
#[derive(Debug)]
pub(crate) struct DispatchDriver {
    table: ListenerTable,
    hello: Vec<u8>,
    inner: Option<RustlsDriver>,
    /// The connection went to a listener whose application drives the handshake, for the
    /// protocol named (None: it is the port's only listener, and nothing was parsed).
    manual: Option<Option<Vec<u8>>>,
}

impl DispatchDriver {
    pub(crate) fn new(table: ListenerTable) -> Self {
        Self {
            table,
            hello: Vec::new(),
            inner: None,
            manual: None,
        }
    }
}

impl HandshakeDriver for DispatchDriver {
    fn drive(&mut self, conn: &mut Connection, now: Timestamp) -> Result<(), TransportError> {
        if let Some(inner) = self.inner.as_mut() {
            return inner.drive(conn, now);
        }
        if self.manual.is_some() {
            // The handshake is the application's.
            return Ok(());
        }
        {
            // A port's only listener whose application drives the handshake takes every
            // connection without a look at the ClientHello (its TLS library may not even
            // send a real one), as Linux QUIC does while no listener dispatches by ALPN.
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            if let [only] = &table[..] {
                if only.manual {
                    self.manual = Some(None);
                    return Ok(());
                }
            }
        }
        while let Some((level, data)) = conn.read_handshake() {
            if level != Level::Initial {
                return Err(TransportError::new(
                    TransportErrorCode::crypto(UNEXPECTED_MESSAGE),
                    "handshake data before the ClientHello",
                ));
            }
            self.hello.extend_from_slice(&data);
        }
        let offered = match client_hello::parse(&self.hello) {
            Hello::Incomplete(_) => return Ok(()),
            Hello::Malformed => {
                return Err(TransportError::new(
                    TransportErrorCode::crypto(DECODE_ERROR),
                    "malformed ClientHello",
                ))
            }
            Hello::Complete(hello) => hello,
        };
        // Compatible version negotiation (RFC 9368 §2.3) before rustls takes our
        // transport parameters, whose version_information then names the version chosen.
        if let Some(params) = &offered.transport_params {
            conn.negotiate_version(params)?;
        }
        let offered = offered.alpn;
        let tls = {
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            let Some(i) = choose(&table, &offered) else {
                return Err(TransportError::new(
                    TransportErrorCode::crypto(NO_APPLICATION_PROTOCOL),
                    "no listener serves the client's application protocols",
                ));
            };
            if table[i].manual {
                // The application reads the ClientHello itself.
                let protocol = offered.iter().find(|a| table[i].alpns.contains(a)).cloned();
                self.manual = Some(protocol);
                conn.unread_handshake(Level::Initial, std::mem::take(&mut self.hello));
                return Ok(());
            }
            table[i].tls.clone()
        };
        let mut inner = RustlsDriver::server(tls);
        let hello = std::mem::take(&mut self.hello);
        let result = inner.drive_with(conn, &hello);
        self.inner = Some(inner);
        result
    }

    fn alpn(&self) -> Option<&[u8]> {
        if let Some(protocol) = &self.manual {
            return protocol.as_deref();
        }
        self.inner.as_ref()?.alpn()
    }

    fn server_name(&self) -> Option<&str> {
        self.inner.as_ref()?.server_name()
    }

    fn is_resumed(&self) -> Option<bool> {
        self.inner.as_ref()?.is_resumed()
    }

    fn session_ticket(&self) -> Option<&[u8]> {
        self.inner.as_ref()?.session_ticket()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_offered_protocol_that_any_listener_serves_wins() {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
        let tls = crate::tls::server_config(vec![key.cert.der().clone()], der.into(), &[]).unwrap();
        let l = |id, alpns: &[&[u8]]| ListenerTls {
            id,
            alpns: alpns.iter().map(|a| a.to_vec()).collect(),
            tls: tls.clone(),
            manual: false,
        };
        let table = vec![l(1, &[b"smb"]), l(2, &[b"h3", b"hq-interop"])];
        let v = |x: &[&[u8]]| x.iter().map(|a| a.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            choose(&table, &v(&[b"nfs", b"hq-interop", b"smb"])),
            Some(1),
            "index of listener 2"
        );
        assert_eq!(choose(&table, &v(&[b"smb", b"h3"])), Some(0));
        assert_eq!(choose(&table, &v(&[b"nfs"])), None);
        assert_eq!(choose(&table, &[]), None);
        let with_default = vec![l(1, &[b"smb"]), l(3, &[])];
        assert_eq!(
            choose(&with_default, &v(&[b"nfs"])),
            Some(1),
            "the listener without ALPN takes the rest"
        );
        assert_eq!(owner(&table, Some(b"h3")), Some(2));
        assert_eq!(owner(&with_default, None), Some(3));
    }
}
