//! [`QuicEndpoint`]: one UDP socket and engine shared by many client connections, as a
//! kernel shares one stack among every socket of a process.
//!
//! [`QuicSocket::connect`] uses a process-wide default endpoint per address family (made
//! on first use, gone when its last connection is), so a client with 1,000 connections
//! has one UDP socket and one engine thread, not 1,000. An application that wants its own
//! socket (a local address, other socket options, a port of its own) binds a
//! `QuicEndpoint`, or sets [`ClientConfig::local_addr`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};

use quicsock_proto::conn::HandshakeDriver;
use quicsock_proto::endpoint::EndpointConfig;
use quicsock_udp::{SocketConfig, UdpSocket};

use crate::config::ClientConfig;
use crate::engine::Engine;
use crate::error::Result;
use crate::socket::QuicSocket;

/// The default endpoints, IPv4 and IPv6.
static DEFAULT: Mutex<[Option<Weak<Engine>>; 2]> = Mutex::new([None, None]);

/// A UDP socket for client connections; every connection made through it shares the
/// socket and its engine thread.
#[derive(Debug)]
pub struct QuicEndpoint {
    engine: Arc<Engine>,
}

impl QuicEndpoint {
    /// Binds a UDP socket at `local` (port 0: an ephemeral port) for client connections.
    pub fn bind(local: SocketAddr, socket: &SocketConfig) -> Result<Self> {
        let udp = UdpSocket::bind_with(local, socket)?;
        let engine = Engine::start(udp, EndpointConfig::default(), Default::default())?;
        Ok(Self { engine })
    }

    /// Connects to `remote` through this endpoint and completes the TLS handshake.
    /// `config.socket` and `config.local_addr` are not used: the endpoint's socket is.
    pub fn connect(&self, remote: SocketAddr, config: &ClientConfig) -> Result<QuicSocket> {
        let driver =
            crate::handshake::RustlsDriver::client(config.tls.clone(), &config.server_name)?;
        self.connect_with_driver(remote, config, Box::new(driver))
    }

    /// As [`connect`](Self::connect), with a handshake driver of the caller's
    /// ([`QuicSocket::connect_with_driver`]).
    pub fn connect_with_driver(
        &self,
        remote: SocketAddr,
        config: &ClientConfig,
        driver: Box<dyn HandshakeDriver>,
    ) -> Result<QuicSocket> {
        let sock = self.open(remote, config, driver)?;
        sock.wait_established(config.handshake_timeout)?;
        Ok(sock)
    }

    /// As [`QuicSocket::connect_without_handshake`], through this endpoint.
    pub fn connect_without_handshake(
        &self,
        remote: SocketAddr,
        config: &ClientConfig,
    ) -> Result<QuicSocket> {
        self.open(
            remote,
            config,
            Box::new(crate::socket_handshake::ManualDriver::default()),
        )
    }

    fn open(
        &self,
        remote: SocketAddr,
        config: &ClientConfig,
        driver: Box<dyn HandshakeDriver>,
    ) -> Result<QuicSocket> {
        if !self.engine.acquire() {
            return Err(crate::Error::EngineFailed(
                self.engine
                    .check()
                    .err()
                    .map_or_else(|| "the endpoint's engine stopped".into(), |e| e.to_string()),
            ));
        }
        QuicSocket::open_on(self.engine.clone(), remote, config, driver)
    }

    /// The local address of the endpoint's UDP socket.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.engine.local_addr()?)
    }

    /// Connections on this endpoint in any state, closing and draining ones included.
    pub fn connection_count(&self) -> usize {
        self.engine.shared().endpoint.connection_count()
    }
}

impl Drop for QuicEndpoint {
    fn drop(&mut self) {
        // Its connections live on; the socket closes when the last one is gone.
        self.engine.release();
    }
}

/// The engine a connection to `remote` uses: the config's own socket when it asks for
/// one (a local address or socket options), else the process-wide default endpoint of
/// `remote`'s family. The engine is acquired for the caller (one handle).
pub(crate) fn engine_for(remote: SocketAddr, config: &ClientConfig) -> Result<Arc<Engine>> {
    let wildcard: SocketAddr = if remote.is_ipv6() {
        "[::]:0".parse().expect("literal")
    } else {
        "0.0.0.0:0".parse().expect("literal")
    };
    let own = |local: SocketAddr| -> Result<Arc<Engine>> {
        let udp = UdpSocket::bind_with(local, &config.socket)?;
        Ok(Engine::start(
            udp,
            EndpointConfig::default(),
            Default::default(),
        )?)
    };
    if let Some(local) = config.local_addr {
        return own(local);
    }
    if config.socket != SocketConfig::default() {
        return own(wildcard);
    }
    let mut default = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
    let slot = &mut default[usize::from(remote.is_ipv6())];
    if let Some(engine) = slot.as_ref().and_then(Weak::upgrade) {
        if engine.acquire() {
            return Ok(engine);
        }
    }
    let engine = own(wildcard)?;
    *slot = Some(Arc::downgrade(&engine));
    Ok(engine)
}
