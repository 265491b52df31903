//! The endpoint: many connections behind one UDP socket (RFC 9000 §5.2). It routes each
//! datagram by destination connection ID, accepts new connections on a server, answers
//! unknown versions with Version Negotiation (§6), and drops what it cannot use without
//! keeping state for it.
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
    Connection, ConnectionConfig, ConnectionError, Ecn, EndpointEvent, HandshakeDriver, Transmit,
};
use crate::packet::{
    encode_version_negotiation, Header, ParsedPacket, Version, MIN_INITIAL_DATAGRAM_SIZE,
};
use crate::reset::{self, ResetKey};
use crate::rng::{connection_id, Random};
use crate::stateless;
use crate::time::Timestamp;
use crate::token::TokenKind;
use crate::ConnectionId;
use crate::TransportErrorCode;

/// Stateless responses queued at most.
pub const MAX_STATELESS: usize = 64;

/// Identifies a connection within its endpoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionHandle(pub usize);

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
            reset_key: None,
        }
    }
}

/// Many connections behind one socket.
pub struct Endpoint {
    config: EndpointConfig,
    rng: Box<dyn Random>,
    conns: Vec<Option<Connection>>,
    free: Vec<usize>,
    by_cid: HashMap<ConnectionId, ConnectionHandle, RandomState>,
    /// The last route used: a burst of datagrams for one connection skips the hash.
    /// Cleared whenever a route is removed.
    last_route: Option<(ConnectionId, ConnectionHandle)>,
    /// Routing keys per connection (its live IDs), to remove them when it drains.
    cids_of: HashMap<ConnectionHandle, Vec<ConnectionId>>,
    /// The reset token of the ID each connection sends to, and the reverse map.
    peer_token_of: HashMap<ConnectionHandle, [u8; reset::RESET_TOKEN_LEN]>,
    by_peer_token: HashMap<[u8; reset::RESET_TOKEN_LEN], ConnectionHandle, RandomState>,
    reset_key: ResetKey,
    stateless: VecDeque<(SocketAddr, Vec<u8>)>,
    accept_queue: VecDeque<ConnectionHandle>,
    /// Makes and checks address-validation and Retry tokens (servers).
    token_key: crate::token::TokenKey,
    /// Which connections are server handshakes in progress, and how many.
    half_open_of: Vec<bool>,
    half_open: usize,
    /// Where the last poll_transmit stopped, for round-robin fairness.
    next_poll: usize,
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
            peer_token_of: HashMap::new(),
            half_open_of: Vec::new(),
            half_open: 0,
            by_peer_token: HashMap::default(),
            conns: Vec::new(),
            free: Vec::new(),
            by_cid: HashMap::default(),
            last_route: None,
            cids_of: HashMap::new(),
            stateless: VecDeque::new(),
            accept_queue: VecDeque::new(),
            next_poll: 0,
            live: 0,
        }
    }

    /// The number of live connections.
    pub fn connection_count(&self) -> usize {
        self.live
    }

    /// The connection behind `h`, if it still exists.
    pub fn connection(&mut self, h: ConnectionHandle) -> Option<&mut Connection> {
        self.conns.get_mut(h.0).and_then(Option::as_mut)
    }

    /// Handles of every live connection.
    pub fn handles(&self) -> Vec<ConnectionHandle> {
        (0..self.conns.len())
            .filter(|i| self.conns[*i].is_some())
            .map(ConnectionHandle)
            .collect()
    }

    /// The next connection a server accepted.
    pub fn accept(&mut self) -> Option<ConnectionHandle> {
        self.accept_queue.pop_front()
    }

    /// Routes the endpoint holds (connection IDs it maps to a connection).
    pub fn route_count(&self) -> usize {
        self.by_cid.len()
    }

    /// Connection IDs kept to forget when their connections drain, over all connections.
    pub fn tracked_cids(&self) -> usize {
        self.cids_of.values().map(Vec::len).sum()
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

    fn insert(&mut self, conn: Connection, routes: &[ConnectionId]) -> ConnectionHandle {
        let h = match self.free.pop() {
            Some(i) => {
                self.conns[i] = Some(conn);
                ConnectionHandle(i)
            }
            None => {
                self.conns.push(Some(conn));
                ConnectionHandle(self.conns.len() - 1)
            }
        };
        for cid in routes {
            if !cid.is_empty() {
                self.by_cid.insert(*cid, h);
                self.last_route = None;
            }
        }
        self.cids_of.insert(h, routes.to_vec());
        self.live += 1;
        h
    }

    /// Opens a client connection to `remote`.
    pub fn connect(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        mut config: ConnectionConfig,
        driver: Box<dyn HandshakeDriver>,
    ) -> Result<ConnectionHandle, ConnectionError> {
        config.cid_len = self.config.cid_len;
        let rng = self.fork_rng();
        let conn = Connection::client(config, now, remote, rng, self.reset_key.clone(), driver)?;
        let cid = conn.local_cid();
        let h = self.insert(conn, &[cid]);
        self.after(h);
        Ok(h)
    }

    /// Handles one datagram from `remote`; `data` is decrypted in place. Returns the
    /// connection it went to, if any.
    pub fn handle(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        data: &mut [u8],
    ) -> Option<ConnectionHandle> {
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
            if let Some(conn) = self.conns[h.0].as_mut() {
                conn.handle_datagram(now, remote, ecn, data);
                self.after(h);
                return Some(h);
            }
        }
        match &parsed.header {
            Header::Unsupported(u) => {
                // RFC 9000 §6.1: answer a long enough datagram with Version Negotiation.
                if self.config.server.is_some()
                    && data.len() >= MIN_INITIAL_DATAGRAM_SIZE
                    && self.stateless.len() < MAX_STATELESS
                {
                    let mut out = Vec::with_capacity(64);
                    let unused = (self.rng.next_u64() & 0x7f) as u8;
                    encode_version_negotiation(
                        &mut out,
                        u.scid,
                        u.dcid,
                        &self.config.versions,
                        unused,
                    );
                    self.stateless.push_back((remote, out));
                }
                None
            }
            Header::Initial(h) => {
                let (version, dcid, scid) = (h.version, h.dcid, h.scid);
                let token = h.token.to_vec();
                let admitted = self.admit(now, remote, data.len(), version, dcid, scid, &token)?;
                self.accept_initial(now, remote, ecn, data, version, dcid, scid, admitted)
            }
            Header::Short(_) => {
                self.on_unknown_short(remote, dcid, data);
                None
            }
            // Anything else for an unknown ID is dropped, keeping no state.
            _ => None,
        }
    }

    /// A short-header datagram for an ID no connection has (RFC 9000 §10.3): a stateless
    /// reset ending one of ours, or a packet of a connection we lost, answered with one.
    fn on_unknown_short(&mut self, remote: SocketAddr, dcid: ConnectionId, data: &[u8]) {
        if let Some(token) = reset::trailing_token(data) {
            let token: [u8; reset::RESET_TOKEN_LEN] = token.try_into().expect("16 bytes");
            if let Some(&h) = self.by_peer_token.get(&token) {
                let conn = self.conns[h.0]
                    .as_mut()
                    .expect("tokens of live connections");
                // Tokens count only from the address the connection talks to.
                if conn.remote_address() == remote {
                    conn.on_stateless_reset();
                    self.after(h);
                    return;
                }
            }
        }
        if dcid.is_empty() || self.stateless.len() >= MAX_STATELESS {
            return;
        }
        let token = self.reset_key.token(&dcid);
        let mut out = Vec::with_capacity(reset::MAX_RESET_LEN);
        if reset::encode_stateless_reset(&token, data.len(), &mut *self.rng, &mut out).is_some() {
            self.stateless.push_back((remote, out));
        }
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
        let retry_scid = connection_id(&mut *self.rng, self.config.cid_len.max(8));
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

    #[allow(clippy::too_many_arguments)]
    fn accept_initial(
        &mut self,
        now: Timestamp,
        remote: SocketAddr,
        ecn: Option<Ecn>,
        data: &mut [u8],
        version: Version,
        dcid: ConnectionId,
        scid: ConnectionId,
        admission: Admission,
    ) -> Option<ConnectionHandle> {
        let server = self.config.server.clone()?;
        let mut config = server.connection.clone();
        config.cid_len = self.config.cid_len;
        config.version = version;
        let local = connection_id(&mut *self.rng, self.config.cid_len);
        let rng = self.fork_rng();
        let mut conn = Connection::server(
            config,
            now,
            remote,
            rng,
            self.reset_key.clone(),
            (server.driver)(),
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
        let h = self.insert(conn, &[local, dcid]);
        self.set_half_open(h, true);
        let conn = self.conns[h.0].as_mut().expect("just inserted");
        conn.handle_datagram(now, remote, ecn, data);
        if !conn.has_received() || !conn.has_initial_crypto() {
            // Nothing in it authenticated, or no ClientHello in it: keep no state for it.
            self.remove(h);
            return None;
        }
        self.accept_queue.push_back(h);
        self.after(h);
        Some(h)
    }

    /// Handshakes in progress on this server (connections not yet complete and not
    /// closed).
    pub fn half_open(&self) -> usize {
        self.half_open
    }

    fn set_half_open(&mut self, h: ConnectionHandle, on: bool) {
        if self.half_open_of.len() <= h.0 {
            self.half_open_of.resize(h.0 + 1, false);
        }
        if self.half_open_of[h.0] != on {
            self.half_open_of[h.0] = on;
            if on {
                self.half_open += 1;
            } else {
                self.half_open -= 1;
            }
        }
    }

    /// Gives server connection `h` a fresh address-validation token now, in a NEW_TOKEN
    /// frame (the endpoint already gives one after each handshake).
    pub fn send_new_token(
        &mut self,
        h: ConnectionHandle,
        now: Timestamp,
    ) -> Result<(), crate::conn::NewTokenError> {
        let conn = self
            .conns
            .get_mut(h.0)
            .and_then(Option::as_mut)
            .ok_or(crate::conn::NewTokenError::NotEstablished)?;
        let token = self.token_key.mint(conn.remote_address().ip(), now);
        conn.send_new_token(token)
    }

    /// Applies a connection's routing changes, gives a new server connection its
    /// address-validation token, and removes it once drained.
    fn after(&mut self, h: ConnectionHandle) {
        if self.half_open_of.get(h.0).copied().unwrap_or(false)
            && self.conns[h.0]
                .as_ref()
                .is_none_or(|c| c.is_handshake_complete() || c.is_closed())
        {
            self.set_half_open(h, false);
        }
        if let Some(conn) = self.conns[h.0].as_mut().filter(|c| c.wants_token()) {
            // The clock of the tokens is the endpoint's: `now` is not at hand here, but a
            // connection's own timestamps are on it.
            let now = conn.last_activity();
            let token = self.token_key.mint(conn.remote_address().ip(), now);
            let _ = conn.send_new_token(token);
        }
        let mut drained = false;
        while let Some(e) = self.conns[h.0]
            .as_mut()
            .and_then(Connection::poll_endpoint_event)
        {
            match e {
                EndpointEvent::NewCid(cid, _) => {
                    self.by_cid.insert(cid, h);
                    self.last_route = None;
                    self.cids_of.entry(h).or_default().push(cid);
                }
                EndpointEvent::RetiredCid(cid) => {
                    if self.by_cid.get(&cid) == Some(&h) {
                        self.by_cid.remove(&cid);
                        self.last_route = None;
                    }
                    if let Some(cids) = self.cids_of.get_mut(&h) {
                        cids.retain(|c| *c != cid);
                    }
                }
                EndpointEvent::Drained => drained = true,
            }
        }
        if let Some(change) = self.conns[h.0]
            .as_mut()
            .and_then(Connection::peer_token_change)
        {
            self.forget_peer_token(h);
            if let Some(token) = change {
                self.by_peer_token.insert(token, h);
                self.peer_token_of.insert(h, token);
            }
        }
        if drained {
            self.forget_routes(h);
            self.accept_queue.retain(|x| *x != h);
            // The connection object stays until the owner collects it with `remove`.
        }
    }

    fn forget_peer_token(&mut self, h: ConnectionHandle) {
        if let Some(old) = self.peer_token_of.remove(&h) {
            if self.by_peer_token.get(&old) == Some(&h) {
                self.by_peer_token.remove(&old);
            }
        }
    }

    /// Stops routing to `h`: its IDs and its peer's reset token.
    fn forget_routes(&mut self, h: ConnectionHandle) {
        for cid in self.cids_of.remove(&h).unwrap_or_default() {
            if self.by_cid.get(&cid) == Some(&h) {
                self.by_cid.remove(&cid);
            }
        }
        self.last_route = None;
        self.forget_peer_token(h);
    }

    /// Removes a drained connection (or any connection, dropping it silently).
    pub fn remove(&mut self, h: ConnectionHandle) -> Option<Connection> {
        let conn = self.conns.get_mut(h.0)?.take()?;
        self.forget_routes(h);
        self.set_half_open(h, false);
        self.free.push(h.0);
        self.live -= 1;
        Some(conn)
    }

    /// The next datagram to send: stateless responses first, then connections in turn.
    pub fn poll_transmit(
        &mut self,
        now: Timestamp,
        buf: &mut Vec<u8>,
    ) -> Option<(Option<ConnectionHandle>, Transmit)> {
        if let Some((dest, d)) = self.stateless.pop_front() {
            buf.extend_from_slice(&d);
            return Some((
                None,
                Transmit {
                    destination: dest,
                    size: d.len(),
                    ecn: None,
                },
            ));
        }
        let n = self.conns.len();
        for k in 0..n {
            let i = (self.next_poll + k) % n;
            let Some(conn) = self.conns[i].as_mut() else {
                continue;
            };
            if let Some(t) = conn.poll_transmit(now, buf) {
                self.next_poll = (i + 1) % n.max(1);
                self.after(ConnectionHandle(i));
                return Some((Some(ConnectionHandle(i)), t));
            }
        }
        None
    }

    /// The earliest deadline of any connection.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.conns
            .iter()
            .flatten()
            .filter_map(Connection::poll_timeout)
            .min()
    }

    /// Handles the deadlines that passed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.handle_timeout_into(now, &mut Vec::new());
    }

    /// As [`handle_timeout`](Self::handle_timeout), adding the connections whose deadlines
    /// passed to `touched`, so that the owner looks only at those.
    pub fn handle_timeout_into(&mut self, now: Timestamp, touched: &mut Vec<ConnectionHandle>) {
        for i in 0..self.conns.len() {
            let due = self.conns[i]
                .as_ref()
                .and_then(Connection::poll_timeout)
                .is_some_and(|t| t <= now);
            if due {
                self.conns[i].as_mut().expect("checked").handle_timeout(now);
                self.after(ConnectionHandle(i));
                touched.push(ConnectionHandle(i));
            }
        }
    }
}
