//! What a client connection and a listener are made with: TLS (rustls), the transport
//! settings of the protocol core, and the UDP socket's.

use std::sync::Arc;
use std::time::Duration;

pub use quicsock_proto::conn::ConnectionConfig as TransportConfig;
pub use quicsock_udp::SocketConfig;

/// How to connect.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// TLS 1.3: trust anchors, ALPN list, client certificate, session cache.
    pub tls: Arc<rustls::ClientConfig>,
    /// The name the server's certificate must carry, also sent as SNI.
    pub server_name: String,
    /// Transport parameters, windows, congestion control.
    pub transport: TransportConfig,
    /// The UDP socket, when the connection has one of its own (socket options other than
    /// the defaults, or `local_addr`, give it one; else it shares the default endpoint).
    pub socket: SocketConfig,
    /// Bind a socket of the connection's own at this address (port 0: ephemeral) instead
    /// of sharing the process's default endpoint.
    pub local_addr: Option<std::net::SocketAddr>,
    /// How long `connect` waits for the handshake.
    pub handshake_timeout: Duration,
    /// An address-validation token from an earlier connection to the same server
    /// ([`QuicSocket::token`](crate::QuicSocket::token)), sent in the Initial packets so the
    /// server can skip its amplification limit (Linux QUIC's TOKEN option, client set).
    pub token: Option<Vec<u8>>,
    /// Write a qlog trace of the connection into this directory
    /// (`<odcid>_client.sqlog`, JSON-SEQ).
    pub qlog_dir: Option<std::path::PathBuf>,
}

impl ClientConfig {
    /// A configuration with default transport and socket settings.
    pub fn new(tls: Arc<rustls::ClientConfig>, server_name: impl Into<String>) -> Self {
        Self {
            tls,
            server_name: server_name.into(),
            transport: TransportConfig::default(),
            socket: SocketConfig::default(),
            local_addr: None,
            handshake_timeout: Duration::from_secs(10),
            token: None,
            qlog_dir: None,
        }
    }
}

/// How to accept connections.
#[derive(Clone)]
pub struct ServerConfig {
    /// TLS 1.3: certificate chain and key, ALPN list, client authentication.
    pub tls: Arc<rustls::ServerConfig>,
    /// Transport parameters, windows, congestion control.
    pub transport: TransportConfig,
    /// The UDP socket.
    pub socket: SocketConfig,
    /// Connections whose handshake completed and that nobody accepted yet, at most, as in
    /// listen(2). Ones completing beyond it wait for room (up to `max_half_open` of them,
    /// like a SYN queue), so a burst of clients gets in while the application accepts;
    /// beyond that they are refused (CONNECTION_REFUSED). With `manual_handshake`,
    /// connections wait for `accept` before their handshake, and the same bounds apply.
    pub backlog: usize,
    /// Handshakes in progress at most (counted apart from the backlog); beyond them a new
    /// client is refused statelessly with CONNECTION_REFUSED, before any TLS work.
    pub max_half_open: usize,
    /// Once this many handshakes are in progress, clients without a valid token are sent
    /// a Retry first (RFC 9000 §8.1.2), so spoofed Initials cost neither state nor TLS.
    pub retry_threshold: usize,
    /// Send every client a Retry before its handshake (Linux QUIC's CONFIG option
    /// `validate_peer_address`): one more round trip, no state for unproven addresses.
    pub validate_address: bool,
    /// The static key stateless-reset tokens derive from (RFC 9000 §10.3.2). Give the
    /// same key to a restarted server (or to every server behind one address) and clients
    /// of connections it lost learn of it from their next packet; `None` draws a fresh
    /// one from the system CSPRNG.
    pub reset_key: Option<quicsock_proto::reset::ResetKey>,
    /// The QUIC versions the listener speaks (default: v1 and v2); a client's Initial of
    /// another version gets Version Negotiation listing these (RFC 9000 §6).
    pub versions: Vec<quicsock_proto::packet::Version>,
    /// Connections at most.
    pub max_connections: usize,
    /// Engines serving the listener, each with its own `SO_REUSEPORT` UDP socket on the
    /// address, routing table and thread (default: one per CPU the process may use; at
    /// most 255). The kernel spreads new connections over them and steers each
    /// connection's packets to its shard by connection ID, also after the client's
    /// address changes. The admission bounds above hold for the listener as a whole.
    pub shards: usize,
    /// A handshake driver of the caller's for each new connection instead of rustls with
    /// `tls` (another TLS library, or the fixed-secret test driver). ALPN dispatch across
    /// listeners needs rustls, so a listener with its own driver does not share its port.
    pub driver: Option<quicsock_proto::endpoint::DriverFactory>,
    /// `accept` hands out connections before their handshake, and the application drives
    /// it through the socket's handshake calls ([`crate::server_handshake`] runs rustls so),
    /// as with a Linux QUIC listener. `tls` is then not used by the transport.
    pub manual_handshake: bool,
    /// Write a qlog trace of every connection into this directory
    /// (`<odcid>_server.sqlog`, JSON-SEQ). Listeners sharing a UDP socket share the
    /// first one's.
    pub qlog_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("backlog", &self.backlog)
            .field("max_half_open", &self.max_half_open)
            .field("retry_threshold", &self.retry_threshold)
            .field("validate_address", &self.validate_address)
            .field("versions", &self.versions)
            .field("max_connections", &self.max_connections)
            .field("shards", &self.shards)
            .field("own_driver", &self.driver.is_some())
            .field("manual_handshake", &self.manual_handshake)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A configuration with default transport and socket settings.
    pub fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        Self {
            tls,
            transport: TransportConfig::default(),
            socket: SocketConfig::default(),
            backlog: 256,
            max_half_open: quicsock_proto::endpoint::DEFAULT_MAX_HALF_OPEN,
            retry_threshold: quicsock_proto::endpoint::DEFAULT_RETRY_THRESHOLD,
            validate_address: false,
            reset_key: None,
            versions: quicsock_proto::packet::Version::SUPPORTED.to_vec(),
            max_connections: 100_000,
            shards: crate::listener::default_shards(),
            driver: None,
            manual_handshake: false,
            qlog_dir: None,
        }
    }
}
