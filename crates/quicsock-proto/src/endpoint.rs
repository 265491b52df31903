//! The endpoint: many connections behind one UDP socket (RFC 9000 §5.2). It routes each
//! datagram by destination connection ID, admits new connections on a server, answers
//! unknown versions with Version Negotiation (§6), and drops what it cannot use without
//! keeping state for it.
//!
//! It routes; it does not own. [`Endpoint::handle`] says where a datagram goes
//! ([`DatagramEvent`]): to a known connection, to a new server connection it hands to
//! the caller, or to a connection as a stateless reset. The caller owns every
//! [`Connection`] (one lock each, on any thread) and keeps the endpoint up to date by
//! passing each connection's [`EndpointEvent`]s to [`Endpoint::handle_event`]
//! ([`Endpoint::sync`] does both directions); the endpoint answers with
//! [`ConnectionEvent`]s. This is quinn-proto's split: the endpoint holds only routing
//! metadata, so it can sit behind a short lock that no connection work ever waits on.
//! [`Host`](crate::host::Host) is a single-threaded owner for simulations and tests.
//!
//! The connection-ID table is keyed by IDs the peer chose (a client's first destination
//! ID) as well as ours, so it uses std's SipHash with random keys: a peer cannot pick IDs
//! that collide in the table (CID hash flooding).
//!
//! Stateless responses (Version Negotiation, stateless resets) wait in a queue of at most
//! [`MAX_STATELESS`] datagrams; beyond that they are not generated.
//!
//! Stateless reset (RFC 9000 §10.3): every connection ID's reset token derives from the
//! endpoint's static [`ResetKey`], so a short-header packet for an unknown ID is answered
//! with a reset the peer recognises even after a restart (with the same key). The other
//! way, the endpoint remembers the reset token of the ID each connection sends to, and a
//! datagram for an unknown ID that ends in one from that connection's peer ends it.
//!
//! What each connection costs the endpoint: its routes (at most
//! [`MAX_ISSUED`](crate::connid::MAX_ISSUED) issued IDs plus the client's original
//! destination ID; retired IDs are forgotten at once) and one reset token.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::conn::{
    Connection, ConnectionConfig, ConnectionError, ConnectionEvent, EndpointEvent, HandshakeDriver,
    Transmit,
};
use crate::packet::{
    encode_version_negotiation, Header, ParsedPacket, Version, MIN_INITIAL_DATAGRAM_SIZE,
};
use crate::reset::{self, ResetKey};
use crate::rng::{issued_id, Random};
use crate::stateless;
use crate::time::Timestamp;
use crate::token::TokenKind;
use crate::ConnectionId;
use crate::TransportErrorCode;

/// Stateless responses queued at most.
pub const MAX_STATELESS: usize = 64;

/// Identifies a connection within its endpoint. Handles are small integers, reused after
/// [`Endpoint::remove`]; owners index their own tables with them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionHandle(pub usize);

/// Where [`Endpoint::handle`] sends a datagram.
#[derive(Debug)]
pub enum DatagramEvent {
    /// To this connection: its owner passes the datagram to
    /// [`Connection::handle_datagram`].
    Known(ConnectionHandle),
    /// To a new server connection, now the caller's: it passes the datagram to
    /// [`Connection::handle_datagram`] and keeps the connection if
    /// [`Connection::has_client_hello`], else removes it with [`Endpoint::remove`].
    New(ConnectionHandle, Box<Connection>),
    /// A stateless reset for this connection, if from its peer's address:
    /// [`Connection::handle_stateless_reset`].
    Reset(ConnectionHandle),
}

/// What the endpoint remembers of each connection: enough to route to it and to forget it.
#[derive(Debug)]
struct Meta {
    /// Its live IDs (routes to remove when it drains).
    cids: Vec<ConnectionId>,
    /// The reset token of the peer's ID it sends to.
    peer_token: Option<[u8; reset::RESET_TOKEN_LEN]>,
    /// A server handshake in progress.
    half_open: bool,
    /// The address its handshake came from (servers: the address its token is bound to).
    remote: SocketAddr,
    /// A server connection.
    server: bool,
}

/// Makes a handshake driver for each connection a server accepts.
pub type DriverFactory = Arc<dyn Fn() -> Box<dyn HandshakeDriver> + Send + Sync>;

/// What a server does with new connections.
#[derive(Clone)]
pub struct ServerConfig {
    /// Settings for each accepted connection.
    pub connection: ConnectionConfig,
    /// The handshake driver of each accepted connection.
    pub driver: DriverFactory,
    /// Handshakes in progress at most; beyond them a new client is refused statelessly
    /// (CONNECTION_REFUSED in an Initial, before any TLS work).
    pub max_half_open: usize,
    /// Once this many handshakes are in progress, clients without a valid token are sent
    /// a Retry first (RFC 9000 §8.1.2), so spoofed Initials cost no state.
    pub retry_threshold: usize,
    /// Every client is sent a Retry before its handshake (Linux QUIC's
    /// `validate_peer_address`).
    pub validate_address: bool,
    /// Connections at most.
    pub max_connections: usize,
}

impl ServerConfig {
    /// Default admission: 4,096 handshakes in progress at most, Retry once 1,024 are.
    pub fn new(connection: ConnectionConfig, driver: DriverFactory) -> Self {
        Self {
            connection,
            driver,
            max_half_open: DEFAULT_MAX_HALF_OPEN,
            retry_threshold: DEFAULT_RETRY_THRESHOLD,
            validate_address: false,
            max_connections: 100_000,
        }
    }
}

/// Handshakes in progress a server allows by default.
pub const DEFAULT_MAX_HALF_OPEN: usize = 4096;
/// Handshakes in progress past which a server sends Retry by default.
pub const DEFAULT_RETRY_THRESHOLD: usize = 1024;

/// What admission decided for a new client.
struct Admission {
    /// The client's first destination ID (from the Retry token when there was one).
    odcid: ConnectionId,
    /// The ID the Retry told the client to use, when it followed one.
    retry_scid: Option<ConnectionId>,
    /// The address is validated (a Retry or NEW_TOKEN token).
    validated: bool,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_half_open", &self.max_half_open)
            .field("retry_threshold", &self.retry_threshold)
            .field("validate_address", &self.validate_address)
            .finish_non_exhaustive()
    }
}

/// The settings of an endpoint.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// The length of the connection IDs this endpoint issues (used to parse short
    /// headers).
    pub cid_len: usize,
    /// The versions this endpoint speaks.
    pub versions: Vec<Version>,
    /// Present on servers.
    pub server: Option<ServerConfig>,
    /// The first byte of every connection ID this endpoint and its connections issue: the
    /// index of a shard, for a kernel steering program to read (`None`: all random).
    pub cid_prefix: Option<u8>,
    /// The static key stateless reset tokens derive from; drawn from the endpoint's
    /// random source when `None`. Give the same key after a restart so that peers of the
    /// connections lost are told with a stateless reset (RFC 9000 §10.3).
    pub reset_key: Option<ResetKey>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            cid_len: 8,
            versions: Version::SUPPORTED.to_vec(),
            server: None,
            cid_prefix: None,
            reset_key: None,
        }
    }
}

/// The routing table of many connections behind one socket.
pub struct Endpoint {
    config: EndpointConfig,
    rng: Box<dyn Random>,
    /// Per connection handle; `None` for free handles.
    metas: Vec<Option<Meta>>,
    free: Vec<usize>,
    by_cid: HashMap<ConnectionId, ConnectionHandle, RandomState>,
    /// The last route used: a burst of datagrams for one connection skips the hash.
    /// Cleared whenever a route is removed.
    last_route: Option<(ConnectionId, ConnectionHandle)>,
    /// Peers' reset tokens, to the connection each belongs to.
    by_peer_token: HashMap<[u8; reset::RESET_TOKEN_LEN], ConnectionHandle, RandomState>,
    reset_key: ResetKey,
    stateless: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Makes and checks address-validation and Retry tokens (servers).
    token_key: crate::token::TokenKey,
    /// Server handshakes in progress.
    half_open: usize,
    live: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("connections", &self.live)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint drawing randomness from `rng`.
    pub fn new(config: EndpointConfig, mut rng: Box<dyn Random>) -> Self {
        let mut secret = [0; 32];
        rng.fill(&mut secret);
        let token_key = crate::token::TokenKey::new(&secret);
        zeroize::Zeroize::zeroize(&mut secret);
        let reset_key = config
            .reset_key
            .clone()
            .unwrap_or_else(|| ResetKey::random(&mut *rng));
        Self {
            config,
            rng,
            token_key,
            reset_key,
            half_open: 0,
            by_peer_token: HashMap::default(),
            metas: Vec::new(),
            free: Vec::new(),
            by_cid: HashMap::default(),
            last_route: None,
            stateless: VecDeque::new(),
            live: 0,
        }
    }

    /// The number of live connections.
    pub fn connection_count(&self) -> usize {
        self.live
    }

    /// Routes the endpoint holds (connection IDs it maps to a connection).
    pub fn route_count(&self) -> usize {
        self.by_cid.len()
    }

    /// Connection IDs kept to forget when their connections drain, over all connections.
    pub fn tracked_cids(&self) -> usize {
        self.metas.iter().flatten().map(|m| m.cids.len()).sum()
    }

    /// The connection IDs that route to `h` (ours, and a server's client-chosen first ID
    /// until the handshake settles).
    pub fn connection_ids(&self, h: ConnectionHandle) -> &[ConnectionId] {
        self.metas
            .get(h.0)
            .and_then(Option::as_ref)
            .map_or(&[], |m| &m.cids)
    }

    /// The settings of this endpoint.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Peers' reset tokens remembered (one per connection at most).
    pub fn peer_tokens(&self) -> usize {
        self.by_peer_token.len()
    }

    /// The random source of a new connection: a CSPRNG forks into a CSPRNG (see
    /// [`crate::rng`]).
    fn fork_rng(&mut self) -> Box<dyn Random> {
        self.rng.fork()
    }

    fn insert(&mut self, meta: Meta) -> ConnectionHandle {
        let routes = meta.cids.clone();
        let h = match self.free.pop() {
            Some(i) => {
                self.metas[i] = Some(meta);
                ConnectionHandle(i)
            }
            None => {
                self.metas.push(Some(meta));
                ConnectionHandle(self.metas.len() - 1)
            }
        };
        for cid in routes.iter().filter(|c| !c.is_empty()) {
            self.by_cid.insert(*cid, h);
        }
        self.last_route = None;
        self.live += 1;
        h
    }

    /// Opens a client connection to `remote`; the caller owns it.
    pub fn connect(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        mut config: ConnectionConfig,
        driver: Box<dyn HandshakeDriver>,
    ) -> Result<(ConnectionHandle, Box<Connection>), ConnectionError> {
        config.cid_len = self.config.cid_len;
        config.cid_prefix = self.config.cid_prefix;
        let rng = self.fork_rng();
        let conn = Connection::client(config, now, remote, rng, self.reset_key.clone(), driver)?;
        let h = self.insert(Meta {
            cids: vec![conn.local_cid()],
            peer_token: None,
            half_open: false,
            remote,
            server: false,
        });
        Ok((h, Box::new(conn)))
    }

    /// RFC 9000 §6.1: a server answers a long enough datagram of a version it does not
    /// speak with Version Negotiation listing those it does.
    fn negotiate_version(&mut self, remote: SocketAddr, len: usize, dcid: &[u8], scid: &[u8]) {
        if self.config.server.is_some()
            && len >= MIN_INITIAL_DATAGRAM_SIZE
            && self.stateless.len() < MAX_STATELESS
        {
            let mut out = Vec::with_capacity(64);
            let unused = (self.rng.next_u64() & 0x7f) as u8;
            encode_version_negotiation(&mut out, scid, dcid, &self.config.versions, unused);
            self.stateless.push_back((remote, out));
        }
    }

    /// Says where one datagram from `remote` goes; `None` when it was dropped or answered
    /// statelessly (see [`poll_transmit`](Self::poll_transmit)).
    pub fn handle(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        data: &[u8],
    ) -> Option<DatagramEvent> {
        let parsed = ParsedPacket::parse(data, self.config.cid_len).ok()?;
        let dcid = match &parsed.header {
            // A Version Negotiation packet carries IDs as raw bytes.
            Header::VersionNegotiation(vn) => {
                ConnectionId::from_slice(vn.dcid).unwrap_or(ConnectionId::EMPTY)
            }
            h => h.dcid().copied().unwrap_or(ConnectionId::EMPTY),
        };
        let route = match self.last_route {
            Some((cid, h)) if cid == dcid => Some(h),
            _ => self.by_cid.get(&dcid).copied(),
        };
        if let Some(h) = route {
            self.last_route = Some((dcid, h));
            return Some(DatagramEvent::Known(h));
        }
        match &parsed.header {
            Header::Unsupported(u) => {
                self.negotiate_version(remote, data.len(), u.dcid, u.scid);
                None
            }
            // A version we can parse but this endpoint does not speak (v2 on a v1-only
            // server) is negotiated the same way.
            Header::Initial(h) if !self.config.versions.contains(&h.version) => {
                self.negotiate_version(remote, data.len(), &h.dcid, &h.scid);
                None
            }
            Header::Initial(h) => {
                let (version, dcid, scid) = (h.version, h.dcid, h.scid);
                let token = h.token.to_vec();
                let admitted = self.admit(now, remote, data.len(), version, dcid, scid, &token)?;
                self.accept_initial(now, remote, version, dcid, scid, admitted)
            }
            Header::Short(_) => self.on_unknown_short(remote, dcid, data),
            // Anything else for an unknown ID is dropped, keeping no state.
            _ => None,
        }
    }

    /// A short-header datagram for an ID no connection has (RFC 9000 §10.3): a stateless
    /// reset ending one of ours, or a packet of a connection we lost, answered with one.
    fn on_unknown_short(
        &mut self,
        remote: SocketAddr,
        dcid: ConnectionId,
        data: &[u8],
    ) -> Option<DatagramEvent> {
        if let Some(token) = reset::trailing_token(data) {
            let token: [u8; reset::RESET_TOKEN_LEN] = token.try_into().expect("16 bytes");
            if let Some(&h) = self.by_peer_token.get(&token) {
                // The connection checks that it came from the address it talks to.
                return Some(DatagramEvent::Reset(h));
            }
        }
        if dcid.is_empty() || self.stateless.len() >= MAX_STATELESS {
            return None;
        }
        let token = self.reset_key.token(&dcid);
        let mut out = Vec::with_capacity(reset::MAX_RESET_LEN);
        if reset::encode_stateless_reset(&token, data.len(), &mut *self.rng, &mut out).is_some() {
            self.stateless.push_back((remote, out));
        }
        None
    }

    /// Decides, before any state or TLS work, what happens to a client Initial for an
    /// unknown ID (RFC 9000 §8.1, §17.2.5): a Retry when the address must be validated
    /// (always, or once `retry_threshold` handshakes are in progress), a stateless
    /// CONNECTION_CLOSE for a Retry token that does not check (INVALID_TOKEN, §8.1.3) or
    /// when `max_half_open` handshakes are in progress (CONNECTION_REFUSED), or admission.
    #[allow(clippy::too_many_arguments)]
    fn admit(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        len: usize,
        version: Version,
        dcid: ConnectionId,
        scid: ConnectionId,
        token: &[u8],
    ) -> Option<Admission> {
        let server = self.config.server.as_ref()?;
        // RFC 9000 §14.1 and §7.2: a client Initial fills 1200 bytes and its destination
        // ID is at least 8 bytes.
        if len < MIN_INITIAL_DATAGRAM_SIZE
            || dcid.len() < 8
            || !self.config.versions.contains(&version)
        {
            return None;
        }
        let (always, threshold) = (server.validate_address, server.retry_threshold);
        let (max_half_open, max_connections) = (server.max_half_open, server.max_connections);
        let mut admission = Admission {
            odcid: dcid,
            retry_scid: None,
            validated: false,
        };
        match TokenKind::of(token) {
            TokenKind::Retry => match self.token_key.check_retry(token, remote, &dcid, now) {
                Ok(odcid) => {
                    admission = Admission {
                        odcid,
                        retry_scid: Some(dcid),
                        validated: true,
                    };
                }
                Err(_) => {
                    let code = TransportErrorCode::INVALID_TOKEN;
                    self.refuse(remote, version, dcid, scid, code, b"invalid retry token");
                    return None;
                }
            },
            // RFC 9000 §8.1.3: a token from an earlier connection validates the address;
            // one that does not check is as good as none.
            TokenKind::NewToken => {
                admission.validated = self.token_key.check(token, remote.ip(), now)
            }
            TokenKind::None => {}
        }
        if !admission.validated && (always || self.half_open >= threshold) {
            self.retry(now, remote, version, dcid, scid);
            return None;
        }
        if self.half_open >= max_half_open || self.live >= max_connections {
            let code = TransportErrorCode::CONNECTION_REFUSED;
            self.refuse(remote, version, dcid, scid, code, b"server busy");
            return None;
        }
        Some(admission)
    }

    /// Queues a Retry sending the client back with a token (RFC 9000 §17.2.5).
    fn retry(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        version: Version,
        odcid: ConnectionId,
        client_scid: ConnectionId,
    ) {
        if self.stateless.len() >= MAX_STATELESS {
            return;
        }
        let retry_scid = issued_id(
            &mut *self.rng,
            self.config.cid_len.max(8),
            self.config.cid_prefix,
        );
        let token = self.token_key.mint_retry(remote, &odcid, &retry_scid, now);
        let unused = (self.rng.next_u64() & 0x0f) as u8;
        if let Ok(p) =
            stateless::encode_retry(version, &client_scid, &odcid, &retry_scid, &token, unused)
        {
            self.stateless.push_back((remote, p));
        }
    }

    /// Queues an Initial packet closing the connection a client asked for, with no state
    /// kept and no TLS work done.
    fn refuse(
        &mut self,
        remote: SocketAddr,
        version: Version,
        dcid: ConnectionId,
        scid: ConnectionId,
        code: TransportErrorCode,
        reason: &[u8],
    ) {
        if self.stateless.len() >= MAX_STATELESS {
            return;
        }
        if let Ok(p) = stateless::encode_initial_close(version, &dcid, &scid, code, reason) {
            self.stateless.push_back((remote, p));
        }
    }

    fn accept_initial(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        version: Version,
        dcid: ConnectionId,
        scid: ConnectionId,
        admission: Admission,
    ) -> Option<DatagramEvent> {
        let server = self.config.server.as_ref()?;
        let mut config = server.connection.clone();
        let driver = (server.driver)();
        config.cid_len = self.config.cid_len;
        config.cid_prefix = self.config.cid_prefix;
        config.version = version;
        config.transport.version_information = Some(crate::transport_params::VersionInformation {
            chosen: version,
            available: self.config.versions.clone(),
        });
        let local = issued_id(&mut *self.rng, self.config.cid_len, self.config.cid_prefix);
        let rng = self.fork_rng();
        let mut conn = Connection::server(
            config,
            now,
            remote,
            rng,
            self.reset_key.clone(),
            driver,
            admission.odcid,
            scid,
            local,
        )
        .ok()?;
        if let Some(retry_scid) = admission.retry_scid {
            conn.set_retried(retry_scid).ok()?;
        }
        if admission.validated {
            conn.validate_address();
        }
        // The client routes to the ID it sent this Initial to until it learns ours.
        let h = self.insert(Meta {
            cids: vec![local, dcid],
            peer_token: None,
            half_open: true,
            remote,
            server: true,
        });
        self.half_open += 1;
        Some(DatagramEvent::New(h, Box::new(conn)))
    }

    /// Handshakes in progress on this server (connections not yet complete and not
    /// closed).
    pub fn half_open(&self) -> usize {
        self.half_open
    }

    /// Ends `h`'s count as a handshake in progress.
    fn settle(&mut self, h: ConnectionHandle) {
        if let Some(m) = self.meta(h).filter(|m| m.half_open) {
            m.half_open = false;
            self.half_open -= 1;
        }
    }

    fn meta(&mut self, h: ConnectionHandle) -> Option<&mut Meta> {
        self.metas.get_mut(h.0).and_then(Option::as_mut)
    }

    /// A fresh address-validation token for a client at `ip` (RFC 9000 §8.1.3), for
    /// [`Connection::send_new_token`]; the endpoint already gives one after each handshake.
    pub fn mint_token(&self, ip: std::net::IpAddr, now: Timestamp) -> Vec<u8> {
        self.token_key.mint(ip, now)
    }

    /// Applies one of connection `h`'s events, and answers it when the connection needs
    /// something from the endpoint.
    pub fn handle_event(
        &mut self,
        h: ConnectionHandle,
        now: Timestamp,
        event: EndpointEvent,
    ) -> Option<ConnectionEvent> {
        self.meta(h)?;
        match event {
            EndpointEvent::NewCid(cid, _) => {
                // A random ID that routes elsewhere already (p ≈ n/2^64) is not taken over.
                if self.by_cid.get(&cid).is_none_or(|x| *x == h) {
                    self.by_cid.insert(cid, h);
                    self.last_route = None;
                    self.meta(h)?.cids.push(cid);
                }
            }
            EndpointEvent::RetiredCid(cid) => {
                if self.by_cid.get(&cid) == Some(&h) {
                    self.by_cid.remove(&cid);
                    self.last_route = None;
                }
                self.meta(h)?.cids.retain(|c| *c != cid);
            }
            EndpointEvent::PeerResetToken(token) => {
                self.forget_peer_token(h);
                if let Some(token) = token {
                    self.by_peer_token.insert(token, h);
                    self.meta(h)?.peer_token = Some(token);
                }
            }
            EndpointEvent::Established => {
                self.settle(h);
                let m = self.meta(h)?;
                if m.server {
                    let ip = m.remote.ip();
                    return Some(ConnectionEvent::NewToken(self.token_key.mint(ip, now)));
                }
            }
            EndpointEvent::Closed => self.settle(h),
            // The connection stays its owner's until [`remove`](Self::remove).
            EndpointEvent::Drained => {
                self.settle(h);
                self.forget_routes(h);
            }
        }
        None
    }

    /// Passes every pending [`EndpointEvent`] of connection `h` to the endpoint and the
    /// answers back: call it after each call on the connection that handled input, time or
    /// a command.
    pub fn sync(&mut self, h: ConnectionHandle, now: Timestamp, conn: &mut Connection) {
        while let Some(e) = conn.poll_endpoint_event() {
            if let Some(answer) = self.handle_event(h, now, e) {
                conn.handle_event(answer);
            }
        }
    }

    fn forget_peer_token(&mut self, h: ConnectionHandle) {
        if let Some(old) = self.meta(h).and_then(|m| m.peer_token.take()) {
            if self.by_peer_token.get(&old) == Some(&h) {
                self.by_peer_token.remove(&old);
            }
        }
    }

    /// Stops routing to `h`: its IDs and its peer's reset token.
    fn forget_routes(&mut self, h: ConnectionHandle) {
        let cids = self.meta(h).map(|m| std::mem::take(&mut m.cids));
        for cid in cids.unwrap_or_default() {
            if self.by_cid.get(&cid) == Some(&h) {
                self.by_cid.remove(&cid);
            }
        }
        self.last_route = None;
        self.forget_peer_token(h);
    }

    /// Forgets connection `h` (drained, or dropped by its owner): its routes, its peer's
    /// reset token and its handle, which a later connection may reuse.
    pub fn remove(&mut self, h: ConnectionHandle) {
        if self.meta(h).is_none() {
            return;
        }
        self.settle(h);
        self.forget_routes(h);
        self.metas[h.0] = None;
        self.free.push(h.0);
        self.live -= 1;
    }

    /// The next stateless datagram to send (Version Negotiation, Retry, a refusal, a
    /// stateless reset), written to `buf`.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        let (destination, d) = self.stateless.pop_front()?;
        buf.extend_from_slice(&d);
        Some(Transmit {
            destination,
            size: d.len(),
            ecn: None,
        })
    }
}
