//! One QUIC connection as a state machine (RFC 9000, RFC 9001, RFC 9002), with no I/O.
//!
//! # Driving a connection
//!
//! The owner (an [`Endpoint`](crate::endpoint::Endpoint), the simulator, or a socket layer)
//! repeats, with `now` from its clock:
//!
//! 1. [`handle_datagram`](Connection::handle_datagram) for each datagram that arrives;
//! 2. [`poll_transmit`](Connection::poll_transmit) until it returns `None`, sending each
//!    datagram no earlier than its `send_at`;
//! 3. [`poll_timeout`](Connection::poll_timeout) to learn when to call
//!    [`handle_timeout`](Connection::handle_timeout) if nothing arrives first;
//! 4. [`poll_event`](Connection::poll_event) for what changed for the application, and
//!    [`poll_endpoint_event`](Connection::poll_endpoint_event) for connection-ID changes.
//!
//! Application calls (streams, datagrams, close) may come at any time; call
//! `poll_transmit` after them.
//!
//! # The handshake boundary
//!
//! As in Linux QUIC, the connection never calls a TLS library. A [`HandshakeDriver`] (TLS,
//! or the fixed-secret test driver) reads the handshake bytes received per level
//! ([`read_handshake`](Connection::read_handshake)), writes those to send
//! ([`write_handshake`](Connection::write_handshake)), exchanges the raw transport
//! parameters extension ([`local_transport_params`](Connection::local_transport_params),
//! [`set_peer_transport_params`](Connection::set_peer_transport_params)), installs
//! secrets ([`install_secret`](Connection::install_secret)) from which the connection
//! derives keys itself, and reports completion
//! ([`handshake_complete`](Connection::handshake_complete)). The connection runs its
//! driver after every datagram.
//!
//! # Module layout
//!
//! `keys` (per-level keys, key update), `recv` (datagrams in, frames), `send` (packets
//! out), `handshake` (the boundary and the driver trait, compatible version negotiation),
//! `zero_rtt` (early data), `migration` (active migration, the CONNECTION_ID calls),
//! `preferred` (the server's preferred address), `timer` and `timers` (deadlines, loss
//! detection and PTO), `trace` (qlog and `tracing`), `fixed` (the fixed-secret driver).
//! What a network path holds is [`crate::path`].

mod ack_frequency;
#[cfg(test)]
mod ack_frequency_tests;
mod close;
mod first_byte;
mod fixed;
mod handshake;
mod keys;
mod migration;
#[cfg(test)]
mod migration_tests;
pub use migration::{ConnectionIdError, MigrationError};
mod preferred;
mod version_probe;
pub use preferred::{PreferredAddressError, PreferredAddresses, PREFERRED_PROBES};
pub use version_probe::VERSION_PROBES;
mod recv;
pub use crate::path::{EcnState, PmtuConfig, PmtuState, ECN_TESTING_PACKETS};
pub use recv::Datagram;
mod send;
mod stats;
#[cfg(test)]
mod tests;
mod timer;
mod timers;
mod trace;
#[cfg(test)]
mod trace_tests;
#[cfg(test)]
mod wire_tests;
mod zero_rtt;
#[cfg(test)]
mod zero_rtt_tests;
pub use zero_rtt::ZeroRttState;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

pub use close::{CloseCode, ConnectionError};
pub use fixed::{fixed_secret, FixedSecretDriver};
pub use handshake::{Direction, HandshakeDriver, Level};
pub use stats::ConnectionStats;

use crate::cong::{Algorithm, Controller, Pacer};
use crate::connid::{LocalCids, RemoteCids};
use crate::crypto::CryptoError;
use crate::frame::RESET_TOKEN_LEN;
use crate::packet::{SpaceId, Version};
use crate::pnspace::PacketSpace;
use crate::recovery::RttEstimator;
use crate::reset::ResetKey;
use crate::rng::{connection_id, Random};
use crate::stream::{ReadOutcome, StreamConfig, StreamError, StreamEvent, Streams};
use crate::time::Timestamp;
use crate::transport_params::TransportParameters;
use crate::{ConnectionId, Dir, Side, StreamId, VarInt};
use keys::KeySet;

/// The packets that arrive before their keys and are kept for them (RFC 9001 §5.7).
pub const MAX_BUFFERED_PACKETS: usize = 16;
/// The bytes of those packets, at most (sixteen full-sized ones).
pub const MAX_BUFFERED_BYTES: usize = 16 * 1500;
/// CRYPTO data buffered per level beyond what the handshake driver has read.
pub const CRYPTO_BUFFER_LIMIT: u64 = 64 * 1024;
/// DATAGRAM frames received and not yet read by the application, at most.
pub const MAX_DATAGRAMS_IN: usize = 256;
/// Bytes of DATAGRAM payload queued to send, at most.
pub const MAX_DATAGRAM_BYTES_OUT: usize = 1 << 20;
/// Packets kept below the confidentiality limit for the CONNECTION_CLOSE of a connection
/// that could not update its keys in time (RFC 9001 §6.6).
pub const AEAD_CLOSE_MARGIN: u64 = 64;
/// PATH_CHALLENGE responses waiting to be sent, at most.
pub const MAX_PATH_RESPONSES: usize = 4;

/// The settings of one connection.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// The QUIC version to start with. The versions offered in version_information, most
    /// preferred first, are `transport.version_information`'s (RFC 9368 §3;
    /// [`prefer_versions`](Self::prefer_versions) sets them); by default this one, then
    /// the others this crate speaks.
    pub version: Version,
    /// Our transport parameters; the connection-ID fields are filled in by the connection.
    pub transport: TransportParameters,
    /// Stream windows and buffers.
    pub streams: StreamConfig,
    /// The congestion controller.
    pub congestion: Algorithm,
    /// The RTT assumed before the first sample (RFC 9002 §6.2.2).
    pub initial_rtt: Duration,
    /// The largest UDP payload we send (at least 1200) before, or without, PMTU discovery:
    /// the base size of the search.
    pub max_datagram_size: u16,
    /// Send a PING after this long without sending anything ack-eliciting.
    pub keep_alive: Option<Duration>,
    /// Whether packets are paced (RFC 9002 §7.7).
    pub pacing: bool,
    /// The length of the connection IDs we issue.
    pub cid_len: usize,
    /// The first byte of every connection ID we issue (set by a sharded endpoint to its
    /// shard, [`EndpointConfig::cid_prefix`](crate::endpoint::EndpointConfig::cid_prefix)).
    pub cid_prefix: Option<u8>,
    /// A server connection whose handshake has not completed is dropped silently this
    /// long after its client was last heard (a packet that decrypted), and at most three
    /// times this long after its first Initial, so half-open connections cannot pile up
    /// while a client whose flights are lost keeps trying; `None` leaves only the idle
    /// timeout.
    pub handshake_timeout: Option<Duration>,
    /// Ask a peer that advertised min_ack_delay for fewer ACKs (draft-ietf-quic-ack-frequency;
    /// whether we accept such requests is `transport.min_ack_delay`).
    pub ack_frequency: bool,
    /// Take part in the latency spin bit (RFC 9000 §17.4; a random one in 16 connections
    /// does not in any case). Whether the QUIC bit is greased is
    /// `transport.grease_quic_bit` (RFC 9287), on by default.
    pub spin_bit: bool,
    /// Mark datagrams ECT(0) on paths that pass ECN validation (RFC 9000 §13.4). What the
    /// peer marks is counted and acknowledged whatever this says.
    pub ecn: bool,
    /// Search for a larger datagram size than `max_datagram_size` once the handshake is
    /// confirmed (DPLPMTUD, RFC 8899, [`crate::path::pmtu`]); `None` keeps
    /// `max_datagram_size` throughout.
    pub pmtud: Option<PmtuConfig>,
    /// A server's preferred addresses (RFC 9000 §9.6), announced in its transport
    /// parameters with connection ID 1; the server must receive at them (the same
    /// wildcard-bound socket, a different local IP).
    pub preferred_address: Option<PreferredAddresses>,
    /// Whether a client moves to the server's preferred address once the handshake is
    /// confirmed (after validating it).
    pub follow_preferred_address: bool,
}

impl ConnectionConfig {
    /// Offers `versions` in version_information, most preferred first (RFC 9368 §3). A
    /// client that starts with v1 and prefers v2 (`[V2, V1]`) is switched to v2 by a
    /// server that speaks it, without a round trip (compatible version negotiation,
    /// §2.3); a server switches clients to the first of their offered versions it lists
    /// here.
    pub fn prefer_versions(&mut self, versions: &[Version]) {
        self.transport.version_information = Some(crate::transport_params::VersionInformation {
            chosen: self.version,
            available: versions.to_vec(),
        });
    }
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        let transport = TransportParameters {
            max_idle_timeout: VarInt::from_u32(30_000),
            initial_max_data: VarInt::from_u32(4 << 20),
            initial_max_stream_data_bidi_local: VarInt::from_u32(1 << 20),
            initial_max_stream_data_bidi_remote: VarInt::from_u32(1 << 20),
            initial_max_stream_data_uni: VarInt::from_u32(1 << 20),
            initial_max_streams_bidi: VarInt::from_u32(100),
            initial_max_streams_uni: VarInt::from_u32(100),
            active_connection_id_limit: VarInt::from_u32(4),
            max_udp_payload_size: VarInt::from_u32(65527),
            min_ack_delay: Some(VarInt::from_u32(ack_frequency::MIN_ACK_DELAY_US)),
            grease_quic_bit: true,
            ..TransportParameters::default()
        };
        Self {
            version: Version::V1,
            transport,
            streams: StreamConfig::default(),
            congestion: Algorithm::default(),
            initial_rtt: Duration::from_millis(333),
            max_datagram_size: 1200,
            keep_alive: None,
            pacing: true,
            cid_len: 8,
            cid_prefix: None,
            handshake_timeout: Some(Duration::from_secs(10)),
            ack_frequency: true,
            spin_bit: true,
            ecn: true,
            pmtud: Some(PmtuConfig::default()),
            preferred_address: None,
            follow_preferred_address: true,
        }
    }
}

/// Something that happened on the connection, for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The TLS handshake completed: the connection can carry application data.
    HandshakeComplete,
    /// The handshake is confirmed (RFC 9001 §4.1.2).
    HandshakeConfirmed,
    /// A stream changed.
    Stream(StreamEvent),
    /// A DATAGRAM frame arrived; read it with [`Connection::recv_datagram`].
    DatagramReceived,
    /// The server sent a NEW_TOKEN for future connections.
    NewToken(Vec<u8>),
    /// The peer updated the 1-RTT keys.
    KeyUpdate,
    /// A client learnt whether the server accepted its 0-RTT data; a rejected one was
    /// sent again in 1-RTT packets (RFC 9001 §4.6.2).
    ZeroRtt {
        /// Whether the server accepted it.
        accepted: bool,
    },
    /// A client that probed with a version it does not speak took one the server's
    /// Version Negotiation offered (`version_probe`): its handshake starts now, and its
    /// transport parameters are final.
    VersionNegotiated,
    /// The validation of the path an active migration moved to timed out (RFC 9000
    /// §8.2.4): the owner goes back to its old local address.
    MigrationFailed,
    /// The peer's address changed and the new path is validated (`local` false), as in a
    /// NAT rebinding; `remote_address` gives the new address.
    PathMigrated {
        /// Whether our address changed (active migration); false when the peer's did.
        local: bool,
    },
    /// Connection IDs were retired: ours by the peer's RETIRE_CONNECTION_ID (`dest`
    /// false), or the peer's by its NEW_CONNECTION_ID's Retire Prior To (`dest` true).
    /// `active` is the sequence number in use, `prior_to` the lowest still live.
    ConnectionIdRetired {
        /// Whether the peer's IDs (the ones we send to) changed.
        dest: bool,
        /// The sequence number of the ID in use.
        active: u64,
        /// The lowest sequence number still live.
        prior_to: u64,
    },
    /// The connection is closed (or closing); no more data will flow.
    Closed(ConnectionError),
}

/// What a connection tells its endpoint (the routing table and admission), through its
/// owner: [`Connection::poll_endpoint_event`] to
/// [`Endpoint::handle_event`](crate::endpoint::Endpoint::handle_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// Route this new connection ID to the connection.
    NewCid(ConnectionId, [u8; RESET_TOKEN_LEN]),
    /// Stop routing this connection ID.
    RetiredCid(ConnectionId),
    /// The reset token of the peer's ID the connection sends to changed (RFC 9000
    /// §10.3.1): a stateless reset carrying it ends the connection.
    PeerResetToken(Option<[u8; RESET_TOKEN_LEN]>),
    /// The handshake completed: a server's handshake no longer counts as in progress, and
    /// its client is given an address-validation token.
    Established,
    /// The connection closed (locally, by the peer, or by a timeout); it may still be
    /// closing or draining. A handshake in progress no longer counts.
    Closed,
    /// The connection is gone; forget every ID it had.
    Drained,
}

/// What an endpoint tells a connection, the answer to an [`EndpointEvent`]:
/// [`Endpoint::handle_event`](crate::endpoint::Endpoint::handle_event) to
/// [`Connection::handle_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// An address-validation token for the client, to send in NEW_TOKEN (RFC 9000 §8.1.3).
    NewToken(Vec<u8>),
}

/// ECN codepoints (RFC 3168) for a datagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecn {
    /// ECT(0).
    Ect0,
    /// ECT(1).
    Ect1,
    /// Congestion experienced.
    Ce,
}

/// One datagram to send, written into the caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// Its length in bytes.
    pub size: usize,
    /// The ECN codepoint to mark it with.
    pub ecn: Option<Ecn>,
}

/// The phase of a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Handshake,
    Established,
    /// We closed: answer packets with CONNECTION_CLOSE until then (RFC 9000 §10.2.1).
    Closing(Timestamp),
    /// The peer closed: send nothing until then (RFC 9000 §10.2.2).
    Draining(Timestamp),
    Drained,
}

/// What a connection keeps of its [`ConnectionConfig`] once made (the transport parameters
/// live on as `local_params`, the stream settings in `streams`).
#[derive(Clone, Debug)]
struct Settings {
    congestion: Algorithm,
    initial_rtt: Duration,
    keep_alive: Option<Duration>,
    pacing: bool,
    cid_len: usize,
    cid_prefix: Option<u8>,
    handshake_timeout: Option<Duration>,
    ack_frequency: bool,
    ecn: bool,
    follow_preferred_address: bool,
}

/// The settings a connection runs with, as configured (Linux QUIC's CONFIG option reads
/// them back).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// The congestion controller.
    pub congestion: Algorithm,
    /// The RTT assumed before the first sample (RFC 9002 §6.2.2).
    pub initial_rtt: Duration,
    /// The PING interval that keeps an idle connection open, if any.
    pub keep_alive: Option<Duration>,
    /// How often DPLPMTUD searches again, if it is on (RFC 8899 §5.1.1).
    pub pmtud_interval: Option<Duration>,
}

/// One QUIC connection.
pub struct Connection {
    side: Side,
    pub(crate) version: Version,
    /// The version of the client's first flight; `version` differs once compatible
    /// version negotiation switched the connection (RFC 9368 §2.3).
    original_version: Version,
    config: Settings,
    phase: Phase,
    rng: Box<dyn Random>,
    /// The QUIC bit and spin bit we send (RFC 9287, RFC 9000 §17.4).
    first_byte: first_byte::FirstByte,
    /// The network path: the peer's address and its validation, ECN, the datagram size
    /// (`path`).
    path: crate::path::Path,
    /// The ECN codepoint of the datagram being handled.
    packet_ecn: Option<Ecn>,
    /// Whether the datagram being built is marked ECT(0).
    mark_datagram: bool,
    /// Derives the stateless reset token of each connection ID we issue (RFC 9000 §10.3.2).
    reset_key: ResetKey,
    /// The peer's reset token last reported to the endpoint (the token of the connection
    /// ID we send to), for it to recognise a stateless reset sent to an unknown ID.
    announced_peer_token: Option<[u8; RESET_TOKEN_LEN]>,
    pub(crate) spaces: [PacketSpace; 3],
    pub(crate) keys: KeySet,
    streams: Streams,
    local_params: TransportParameters,
    /// Boxed: read now and then, and the connection stays small.
    peer_params: Option<Box<TransportParameters>>,
    /// A resuming client's remembered server parameters, for its 0-RTT data.
    remembered: Option<Box<TransportParameters>>,
    /// Where 0-RTT stands (`zero_rtt`).
    zero_rtt: ZeroRttState,
    /// The number of our first 1-RTT packet (0-RTT packets share the space).
    first_one_rtt_pn: Option<u64>,
    /// A client's probe of the server's preferred address (`preferred`).
    preferred: Option<Box<preferred::PreferredProbe>>,
    /// A client's probe for the server's versions (`version_probe`).
    version_probe: Option<version_probe::VersionProbe>,
    /// The version a client probed with, once the server's Version Negotiation settled
    /// another (`version_probe`).
    probed_version: Option<Version>,
    /// The qlog trace, if one is written (`trace`).
    qlog: Option<Box<crate::qlog::Qlog>>,
    /// Both endpoints sent disable_1rtt_encryption (0xbaad): 1-RTT packets carry neither
    /// AEAD protection nor header protection (an opt-in for measurement and trusted
    /// networks, as in Linux QUIC).
    plaintext_1rtt: bool,
    /// Packets and bytes sent, received and lost ([`stats`](Self::stats)).
    counters: stats::Counters,
    pub(crate) local_cids: LocalCids,
    remote_cids: RemoteCids,
    /// The client's first destination connection ID.
    original_dcid: ConnectionId,
    /// The Retry's source connection ID, if the client followed a Retry.
    pub(crate) retry_scid: Option<ConnectionId>,
    /// The token to put in Initial packets (from a Retry).
    token: Vec<u8>,
    rtt: RttEstimator,
    cc: Box<dyn Controller>,
    pacer: Pacer,
    /// The connection's deadlines.
    timers: timer::TimerTable,
    bytes_in_flight: u64,
    pto_count: u32,
    first_rtt_sample: Option<Timestamp>,
    idle_timeout: Option<Duration>,
    /// When the idle timer was last pushed back: the packets of one receive batch share a
    /// time, and the deadline is computed once for them.
    idle_armed_at: Option<Timestamp>,
    /// The latest a server's handshake may end: three handshake timeouts after its first
    /// Initial (`handshake_timeout`).
    handshake_cap: Option<Timestamp>,
    /// An ack-eliciting packet was received since we last sent one (idle timer rule).
    received_since_send: bool,
    handshake_complete: bool,
    handshake_confirmed: bool,
    handshake_done_pending: bool,
    /// A client received HANDSHAKE_DONE before its handshake was declared complete.
    handshake_done_early: bool,
    /// The client received a packet from the server (its connection ID is known).
    received_any: bool,
    /// The peer's address validation of us is done (client, RFC 9002 §6.2.2.1).
    peer_validated_us: bool,
    events: VecDeque<Event>,
    endpoint_events: VecDeque<EndpointEvent>,
    close: Option<close::Closing>,
    error: Option<ConnectionError>,
    datagrams_in: VecDeque<Vec<u8>>,
    datagrams_out: VecDeque<Vec<u8>>,
    datagrams_out_bytes: usize,
    /// PATH_RESPONSEs to send: the challenge's data, the address it came from (the
    /// answer goes there, RFC 9000 §8.2.2) and the size of the datagram it came in.
    pub(crate) path_responses: VecDeque<([u8; 8], SocketAddr, usize)>,
    /// The source address and size of the datagram whose packets are being processed.
    packet_remote: SocketAddr,
    packet_datagram_len: usize,
    ping_pending: bool,
    driver: Option<Box<dyn HandshakeDriver>>,
    buffered: VecDeque<Vec<u8>>,
    /// New keys were installed since the buffered packets were last tried.
    keys_changed: bool,
    /// Handshake bytes the driver has not read, per level (Initial, Handshake, 1-RTT).
    handshake_unread: [bool; 3],
    /// Handshake bytes a driver read and gave back ([`Connection::unread_handshake`]),
    /// returned before any others.
    handshake_front: Option<(Level, Vec<u8>)>,
    /// A datagram arrived in the closing phase: answer with CONNECTION_CLOSE.
    close_due: bool,
    /// Datagrams received in the closing state (the replies to them are rate-limited).
    closing_received: u64,
    /// Handshake and 1-RTT packets that failed authentication (RFC 9001 §6.6).
    auth_failures: u64,
    /// Lowered AEAD limits (confidentiality, integrity), for tests.
    pub(crate) aead_limits_override: Option<(u64, u64)>,
    /// Key updates we started because the confidentiality limit neared.
    pub(crate) limit_key_updates: u64,
    /// The destination connection ID of the packet whose frames are being processed.
    packet_dcid: ConnectionId,
    /// How to undo the last congestion event if its losses prove spurious.
    undo: Option<recv::CongestionUndo>,
    /// The packets one ACK frame acknowledged, kept between frames so an ACK costs no
    /// allocation.
    acked: Vec<(u64, crate::recovery::SentPacket)>,
    /// Congestion events undone because their losses proved spurious.
    congestion_undos: u64,
    /// The NEW_TOKEN to send (servers), and where it stands.
    new_token: Option<Vec<u8>>,
    new_token_state: TokenState,
    /// The `now` of the latest call that took one.
    last_now: Timestamp,
    /// The largest 1-RTT packet number of a non-probing packet (RFC 9000 §9.3).
    nonprobing_largest: Option<u64>,
    /// Whether the packet whose frames were processed last held only probing frames.
    last_packet_probing: bool,
    /// Whether its only ack-eliciting frames were PINGs (acknowledged at once).
    last_packet_ping_only: bool,
    /// How the peer's latest ACK_FREQUENCY asked us to acknowledge (`None`: RFC 9000's
    /// rules with our max_ack_delay).
    ack_policy: Option<crate::pnspace::AckPolicy>,
    /// The sequence number of the peer's latest ACK_FREQUENCY.
    ack_frequency_seen: Option<u64>,
    /// The packet being processed carried IMMEDIATE_ACK.
    packet_immediate_ack: bool,
    /// What we ask of the peer's ACKs ([`ack_frequency`]).
    ack_request: ack_frequency::AckRequest,
}

/// Where a server's NEW_TOKEN stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// Nothing to send.
    Idle,
    /// To be sent (again, after a loss).
    Pending,
    /// Sent, not yet acknowledged.
    InFlight,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("side", &self.side)
            .field("phase", &self.phase)
            .field("remote", &self.path.remote)
            .finish_non_exhaustive()
    }
}

pub(crate) const SPACES: [SpaceId; 3] = [SpaceId::Initial, SpaceId::Handshake, SpaceId::Data];

pub(crate) fn space_index(space: SpaceId) -> usize {
    match space {
        SpaceId::Initial => 0,
        SpaceId::Handshake => 1,
        SpaceId::Data => 2,
    }
}

impl Connection {
    /// A client connection to `remote`. `rng` (a CSPRNG outside tests) supplies connection
    /// IDs and path challenges, `reset_key` the stateless reset tokens of the IDs we issue;
    /// `driver` runs the handshake (started at once, producing the first flight).
    pub fn client(
        config: ConnectionConfig,
        now: Timestamp,
        remote: SocketAddr,
        mut rng: Box<dyn Random>,
        reset_key: ResetKey,
        driver: Box<dyn HandshakeDriver>,
    ) -> Result<Self, ConnectionError> {
        // RFC 9000 §7.2: the first destination ID is at least 8 bytes.
        let dcid = connection_id(&mut *rng, config.cid_len.clamp(8, 16));
        let scid = crate::rng::issued_id(&mut *rng, config.cid_len, config.cid_prefix);
        // A version we do not speak is probed first (`version_probe`); the connection is
        // made for the first we speak until the server says which it takes.
        let mut config = config;
        let probe = (!config.version.is_supported()).then_some(config.version);
        if probe.is_some() {
            config.version = Version::SUPPORTED[0];
        }
        let mut conn = Self::new(
            Side::Client,
            config,
            now,
            remote,
            (rng, reset_key),
            scid,
            dcid,
            dcid,
        )?;
        conn.driver = Some(driver);
        match probe {
            Some(version) => conn.start_version_probe(now, version),
            None => conn.run_driver(now),
        }
        Ok(conn)
    }

    /// A server connection for a client whose first Initial was sent to `original_dcid`
    /// from `client_scid`; we answer from `local_cid`. `rng` and `reset_key` as for
    /// [`client`](Self::client).
    #[allow(clippy::too_many_arguments)]
    pub fn server(
        config: ConnectionConfig,
        now: Timestamp,
        remote: SocketAddr,
        rng: Box<dyn Random>,
        reset_key: ResetKey,
        driver: Box<dyn HandshakeDriver>,
        original_dcid: ConnectionId,
        client_scid: ConnectionId,
        local_cid: ConnectionId,
    ) -> Result<Self, ConnectionError> {
        let preferred = config.preferred_address;
        let mut conn = Self::new(
            Side::Server,
            config,
            now,
            remote,
            (rng, reset_key),
            local_cid,
            client_scid,
            original_dcid,
        )?;
        conn.driver = Some(driver);
        if let Some(t) = conn.config.handshake_timeout {
            conn.timers.set(timer::Timer::Handshake, now + t);
            conn.handshake_cap = Some(now + t * 3);
        }
        if let Some(addrs) = preferred.filter(|a| a.ipv4.is_some() || a.ipv6.is_some()) {
            conn.announce_preferred_address(addrs);
        }
        Ok(conn)
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        side: Side,
        config: ConnectionConfig,
        now: Timestamp,
        remote: SocketAddr,
        (mut rng, reset_key): (Box<dyn Random>, ResetKey),
        scid: ConnectionId,
        dcid: ConnectionId,
        original_dcid: ConnectionId,
    ) -> Result<Self, ConnectionError> {
        let token = reset_key.token(&scid);
        let first_byte = first_byte::FirstByte::new(config.spin_bit, &mut *rng);
        let ConnectionConfig {
            version,
            transport: mut local,
            streams,
            congestion,
            initial_rtt,
            max_datagram_size,
            keep_alive,
            pacing,
            cid_len,
            cid_prefix,
            handshake_timeout,
            ack_frequency,
            spin_bit: _,
            ecn: ecn_enabled,
            pmtud,
            preferred_address: _,
            follow_preferred_address,
        } = config;
        local.initial_source_connection_id = Some(scid);
        // RFC 9368 §3: the version we use and those we speak (the endpoint's, for a
        // server), most preferred first: as configured, or by default the one we start
        // with and then the rest. A client that lists another compatible version before
        // the one it starts with asks the server to switch to it (§2.3).
        let info = local.version_information.get_or_insert_with(|| {
            let mut available = vec![version];
            available.extend(Version::SUPPORTED.iter().filter(|v| **v != version));
            crate::transport_params::VersionInformation {
                chosen: version,
                available,
            }
        });
        info.chosen = version;
        if !info.available.contains(&version) {
            info.available.insert(0, version);
        }
        if side == Side::Server {
            local.original_destination_connection_id = Some(original_dcid);
            local.stateless_reset_token = Some(token);
        }
        let mut keys = KeySet::default();
        keys.set_initial(version, &original_dcid, side)
            .map_err(|_| ConnectionError::Local(CloseCode::internal("initial keys")))?;
        let mss = u64::from(max_datagram_size.max(1200));
        let cc = congestion.build(mss);
        let window = cc.window();
        let idle = Duration::from_millis(local.max_idle_timeout.into_inner());
        let cid_limit = local.active_connection_id_limit.into_inner().max(2);
        Ok(Self {
            side,
            version,
            original_version: version,
            streams: Streams::new(side, &local, streams),
            rtt: RttEstimator::new(initial_rtt),
            cc,
            pacer: Pacer::new(window, mss),
            idle_timeout: (!idle.is_zero()).then_some(idle),
            idle_armed_at: None,
            handshake_cap: None,
            timers: {
                let mut t = timer::TimerTable::default();
                if !idle.is_zero() {
                    t.set(timer::Timer::Idle, now + idle);
                }
                t
            },
            config: Settings {
                congestion,
                initial_rtt,
                keep_alive,
                pacing,
                cid_len,
                cid_prefix,
                handshake_timeout,
                ack_frequency,
                ecn: ecn_enabled,
                follow_preferred_address,
            },
            phase: Phase::Handshake,
            rng,
            first_byte,
            path: crate::path::Path::new(
                remote,
                side == Side::Client,
                ecn_enabled,
                crate::path::pmtu::Pmtud::new(max_datagram_size, pmtud),
            ),
            packet_ecn: None,
            mark_datagram: false,
            reset_key,
            announced_peer_token: None,
            spaces: Default::default(),
            keys,
            local_params: local,
            peer_params: None,
            remembered: None,
            zero_rtt: ZeroRttState::None,
            preferred: None,
            version_probe: None,
            probed_version: None,
            first_one_rtt_pn: None,
            qlog: None,
            plaintext_1rtt: false,
            counters: stats::Counters::default(),
            local_cids: LocalCids::new(scid, token),
            remote_cids: RemoteCids::new(dcid, cid_limit),
            original_dcid,
            retry_scid: None,
            token: Vec::new(),
            bytes_in_flight: 0,
            pto_count: 0,
            first_rtt_sample: None,
            received_since_send: false,
            handshake_complete: false,
            handshake_confirmed: false,
            handshake_done_pending: false,
            handshake_done_early: false,
            received_any: false,
            peer_validated_us: side == Side::Server,
            events: VecDeque::new(),
            endpoint_events: VecDeque::new(),
            close: None,
            error: None,
            datagrams_in: VecDeque::new(),
            datagrams_out: VecDeque::new(),
            datagrams_out_bytes: 0,
            path_responses: VecDeque::new(),
            packet_remote: remote,
            packet_datagram_len: 0,
            ping_pending: false,
            driver: None,
            buffered: VecDeque::new(),
            keys_changed: false,
            handshake_unread: [false; 3],
            handshake_front: None,
            close_due: false,
            closing_received: 0,
            auth_failures: 0,
            aead_limits_override: None,
            limit_key_updates: 0,
            packet_dcid: ConnectionId::EMPTY,
            undo: None,
            acked: Vec::new(),
            congestion_undos: 0,
            new_token: None,
            new_token_state: TokenState::Idle,
            last_now: now,
            nonprobing_largest: None,
            last_packet_probing: false,
            last_packet_ping_only: false,
            ack_policy: None,
            ack_frequency_seen: None,
            packet_immediate_ack: false,
            ack_request: ack_frequency::AckRequest::default(),
        })
    }

    // ----- state -----

    /// Which side this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The settings the connection runs with.
    pub fn settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            congestion: self.config.congestion,
            initial_rtt: self.config.initial_rtt,
            keep_alive: self.config.keep_alive,
            pmtud_interval: self.path.mtu.raise_interval(),
        }
    }

    /// The QUIC version in use.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The version the client's first flight used: [`version`](Self::version) differs
    /// when compatible version negotiation switched the connection (RFC 9368).
    pub fn original_version(&self) -> Version {
        self.original_version
    }

    /// The cipher suite protecting 1-RTT packets, once their keys are installed.
    pub fn one_rtt_suite(&self) -> Option<crate::crypto::CipherSuite> {
        self.keys.one_rtt.as_ref().map(|k| k.suite)
    }

    /// The peer's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.path.remote
    }

    /// The connection ID the connection was created with (the one the endpoint first
    /// routed to it).
    pub fn local_cid(&self) -> ConnectionId {
        self.local_cids
            .active
            .get(&0)
            .map_or(ConnectionId::EMPTY, |(c, _)| *c)
    }

    /// The client's original destination connection ID.
    pub fn original_dcid(&self) -> ConnectionId {
        self.original_dcid
    }

    /// Whether the TLS handshake completed.
    pub fn is_handshake_complete(&self) -> bool {
        self.handshake_complete
    }

    /// Whether the handshake is confirmed.
    pub fn is_handshake_confirmed(&self) -> bool {
        self.handshake_confirmed
    }

    /// Whether the connection is closing, draining or gone.
    pub fn is_closed(&self) -> bool {
        matches!(
            self.phase,
            Phase::Closing(_) | Phase::Draining(_) | Phase::Drained
        )
    }

    /// Whether the connection is gone: nothing more will be sent or received.
    pub fn is_drained(&self) -> bool {
        self.phase == Phase::Drained
    }

    /// Why the connection closed, once it did.
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_ref()
    }

    /// The RTT estimator.
    pub fn rtt(&self) -> &RttEstimator {
        &self.rtt
    }

    /// The congestion window in bytes.
    pub fn congestion_window(&self) -> u64 {
        self.cc.window()
    }

    /// Packets declared lost that were acknowledged after all (reordering), and the
    /// congestion events undone for that (RFC 9438 §4.9).
    pub fn spurious_losses(&self) -> (u64, u64) {
        let lost = self.spaces.iter().map(|s| s.recovery.spurious_losses).sum();
        (lost, self.congestion_undos)
    }

    /// The bytes of memory held for data received out of order or not yet read: every
    /// stream's receive buffer and the CRYPTO buffers of every level.
    pub fn reassembly_memory(&self) -> usize {
        self.crypto_reassembly_memory() + self.streams.reassembly_memory()
    }

    /// Checks the books the connection keeps (for the fuzz harnesses): bytes in flight are
    /// the sum of the in-flight packets' sizes, flow control is within its credit and
    /// windows, and the CRYPTO buffers within their cap.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn check_invariants(&self) {
        let in_flight: u64 = self
            .spaces
            .iter()
            .flat_map(|s| s.recovery.sent.values())
            .filter(|p| p.in_flight)
            .map(|p| u64::from(p.size))
            .sum();
        assert_eq!(in_flight, self.bytes_in_flight, "bytes in flight");
        self.streams.check_invariants();
        for s in &self.spaces {
            let bound = 2 * CRYPTO_BUFFER_LIMIT as usize
                + crate::stream::CRYPTO_MAX_RANGES * crate::stream::RANGE_COST
                + 64;
            assert!(s.crypto_recv.memory() <= bound, "CRYPTO buffer memory");
        }
    }

    /// The bytes of memory the CRYPTO receive buffers of every level hold.
    pub fn crypto_reassembly_memory(&self) -> usize {
        self.spaces.iter().map(|s| s.crypto_recv.memory()).sum()
    }

    /// Bytes in flight.
    pub fn bytes_in_flight(&self) -> u64 {
        self.bytes_in_flight
    }

    /// Our transport parameters.
    pub fn local_params(&self) -> &TransportParameters {
        &self.local_params
    }

    /// The peer's transport parameters, once received.
    pub fn peer_params(&self) -> Option<&TransportParameters> {
        self.peer_params.as_deref()
    }

    /// Whether the peer's address is validated (servers; always true for clients).
    pub fn is_validated(&self) -> bool {
        self.path.is_validated()
    }

    /// The next application event.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        self.streams.poll_event().map(Event::Stream)
    }

    /// The next change the endpoint must apply. The owner passes each to
    /// [`Endpoint::handle_event`](crate::endpoint::Endpoint::handle_event) after every call
    /// that handled input or time, and its answer to [`handle_event`](Self::handle_event).
    pub fn poll_endpoint_event(&mut self) -> Option<EndpointEvent> {
        if let Some(e) = self.endpoint_events.pop_front() {
            return Some(e);
        }
        self.peer_token_change().map(EndpointEvent::PeerResetToken)
    }

    /// Takes the endpoint's answer to one of our [`EndpointEvent`]s.
    pub fn handle_event(&mut self, event: ConnectionEvent) {
        match event {
            // A token refused here (an application already sent one) is not needed.
            ConnectionEvent::NewToken(token) => {
                let _ = self.send_new_token(token);
            }
        }
    }

    // ----- streams -----

    /// The streams, for opening, writing, resetting and inspecting.
    pub fn streams(&mut self) -> &mut Streams {
        &mut self.streams
    }

    /// The bytes held each way, Linux QUIC's `SIOCINQ`, `SIOCOUTQ` and `SIOCOUTQNSD`: stream
    /// data (received and unread; written and unacknowledged; written and never sent) and
    /// DATAGRAM payloads (received and unread; queued to send, counted as never sent).
    pub fn queue_bytes(&self) -> crate::stream::QueueBytes {
        let mut q = self.streams.queue_bytes();
        q.receive += self
            .datagrams_in
            .iter()
            .map(|d| d.len() as u64)
            .sum::<u64>();
        let out = self.datagrams_out_bytes as u64;
        q.send += out;
        q.unsent += out;
        q
    }

    /// Opens the next stream of `dir`.
    pub fn open_stream(&mut self, dir: Dir) -> Result<StreamId, StreamError> {
        self.streams.open(dir)
    }

    /// Writes to a stream; see [`Streams::write`].
    pub fn write(&mut self, id: StreamId, data: &[u8], fin: bool) -> Result<usize, StreamError> {
        if self.is_closed() {
            return Err(StreamError::InvalidState(id));
        }
        self.streams.write(id, data, fin)
    }

    /// Reads from a stream; reading returns flow-control credit to the peer.
    pub fn read(
        &mut self,
        now: Timestamp,
        id: StreamId,
        buf: &mut [u8],
    ) -> Result<ReadOutcome, StreamError> {
        let rtt = self.rtt.smoothed();
        self.streams.read(id, buf, now, rtt)
    }

    /// The largest UDP payload this connection sends: a buffer this long takes any
    /// datagram [`poll_transmit`](Self::poll_transmit) writes.
    pub fn udp_payload_size(&self) -> usize {
        usize::from(self.path.mtu.largest())
    }

    /// Bounds the datagram size by what the local interface carries toward the peer
    /// (its MTU less the IP and UDP headers), which the owner learns from the kernel.
    pub fn limit_datagram_size(&mut self, max: u16) {
        self.path.mtu.set_limit(max);
        self.on_datagram_size_changed();
    }

    /// Tells the congestion controller and the pacer the datagram size in use.
    pub(crate) fn on_datagram_size_changed(&mut self) {
        let mss = u64::from(self.path.mtu.current());
        tracing::trace!(side = ?self.side, size = mss, "datagram size");
        self.cc.set_mss(mss);
        self.pacer.set_mss(mss);
    }

    // ----- datagrams (RFC 9221) -----

    /// The largest DATAGRAM payload the peer accepts and that fits in one packet, or
    /// `None` if the peer does not accept DATAGRAM frames.
    pub fn max_datagram_size(&self) -> Option<usize> {
        // Before the server's parameters arrive, a 0-RTT client has the remembered ones.
        let peer = self
            .peer_params
            .as_deref()
            .or(self.remembered.as_deref())?
            .max_datagram_frame_size?
            .into_inner();
        // Short header (1 + 20 + 4) + frame type + length (2) + tag, in a datagram of
        // the path's base size: a datagram the application queued must still fit after
        // a black hole takes the path back to it.
        let fits = usize::from(self.path.mtu.base()).saturating_sub(1 + 20 + 4 + 1 + 2 + 16);
        Some((peer.saturating_sub(3) as usize).min(fits))
    }

    /// Queues a DATAGRAM frame. Errors: the peer does not accept datagrams, the payload is
    /// too large, or the send queue is full.
    pub fn send_datagram(&mut self, data: &[u8]) -> Result<(), DatagramError> {
        let max = self.max_datagram_size().ok_or(DatagramError::Unsupported)?;
        if data.len() > max {
            return Err(DatagramError::TooLarge(max));
        }
        if self.datagrams_out_bytes + data.len() > MAX_DATAGRAM_BYTES_OUT {
            return Err(DatagramError::Blocked);
        }
        self.datagrams_out_bytes += data.len();
        self.datagrams_out.push_back(data.to_vec());
        Ok(())
    }

    /// Whether a received DATAGRAM payload waits to be read.
    pub fn has_datagram(&self) -> bool {
        !self.datagrams_in.is_empty()
    }

    /// The next received DATAGRAM payload.
    pub fn recv_datagram(&mut self) -> Option<Vec<u8>> {
        self.datagrams_in.pop_front()
    }

    /// The next received DATAGRAM payload, left in place (MSG_PEEK).
    pub fn peek_datagram(&self) -> Option<&[u8]> {
        self.datagrams_in.front().map(Vec::as_slice)
    }

    // ----- lifecycle -----

    /// Sends `token` in a NEW_TOKEN frame (servers, after the handshake; RFC 9000 §8.1.3),
    /// for the client to present in a later connection's Initial.
    pub fn send_new_token(&mut self, token: Vec<u8>) -> Result<(), NewTokenError> {
        if self.side != Side::Server {
            return Err(NewTokenError::NotServer);
        }
        if !self.handshake_complete || self.is_closed() {
            return Err(NewTokenError::NotEstablished);
        }
        if token.is_empty() {
            return Err(NewTokenError::Empty);
        }
        if self.new_token_state != TokenState::Idle {
            return Err(NewTokenError::InFlight);
        }
        self.new_token = Some(token);
        self.new_token_state = TokenState::Pending;
        Ok(())
    }

    /// The address-validation token to put in the client's Initial packets (from an
    /// earlier connection's NEW_TOKEN). Set it before the first datagram is sent; a Retry
    /// replaces it.
    pub fn set_initial_token(&mut self, token: Vec<u8>) {
        if self.side == Side::Client && self.retry_scid.is_none() {
            self.token = token;
        }
    }

    /// This server connection follows a Retry (RFC 9000 §17.2.5): the client now sends to
    /// `retry_scid`, from which the Initial keys derive, and our transport parameters
    /// carry it as retry_source_connection_id (§7.3). The address is validated.
    pub(crate) fn set_retried(&mut self, retry_scid: ConnectionId) -> Result<(), CryptoError> {
        self.keys
            .set_initial(self.version, &retry_scid, self.side)?;
        self.local_params.retry_source_connection_id = Some(retry_scid);
        self.retry_scid = Some(retry_scid);
        self.path.validate();
        Ok(())
    }

    /// Whether CRYPTO data arrived in Initial packets (a ClientHello, or part of one).
    pub(crate) fn has_initial_crypto(&self) -> bool {
        let c = &self.spaces[0].crypto_recv;
        c.read_offset() > 0 || c.buffered() > 0
    }

    /// Whether a new server connection is worth its state after its first datagram: a
    /// packet in it authenticated and carried (part of) a ClientHello. The owner drops one
    /// that is not, keeping no state for it (with
    /// [`Endpoint::remove`](crate::endpoint::Endpoint::remove)).
    pub fn has_client_hello(&self) -> bool {
        self.has_received() && self.has_initial_crypto()
    }

    /// The address counts as validated (a valid token came with the first Initial): the
    /// anti-amplification limit no longer applies (RFC 9000 §8.1).
    pub(crate) fn validate_address(&mut self) {
        self.path.validate();
    }

    /// Sends PING (an ack-eliciting packet) at the next opportunity.
    pub fn ping(&mut self) {
        self.ping_pending = true;
    }

    /// Starts a 1-RTT key update (RFC 9001 §6.1). Refused before the handshake is
    /// confirmed or while the previous update is not yet acknowledged.
    pub fn initiate_key_update(&mut self, now: Timestamp) -> Result<(), KeyUpdateError> {
        if !self.handshake_confirmed {
            return Err(KeyUpdateError::NotConfirmed);
        }
        if self.plaintext_1rtt {
            return Err(KeyUpdateError::Plaintext);
        }
        let pto = self.pto_period();
        let version = self.version;
        let keys = self
            .keys
            .one_rtt
            .as_mut()
            .ok_or(KeyUpdateError::NotConfirmed)?;
        if !keys.phase_acked && keys.first_sent_in_phase.is_some() || keys.prev_remote.is_some() {
            return Err(KeyUpdateError::InProgress);
        }
        keys.update(version, now + pto * 3)
            .map_err(|_| KeyUpdateError::Crypto)?;
        Ok(())
    }

    /// Whether this connection takes part in the latency spin bit (RFC 9000 §17.4): as
    /// configured, less a random one in 16 connections.
    pub fn is_spinning(&self) -> bool {
        self.first_byte.spinning()
    }

    /// Whether 1-RTT packets go unencrypted and without header protection: both endpoints
    /// sent disable_1rtt_encryption.
    pub fn is_1rtt_plaintext(&self) -> bool {
        self.plaintext_1rtt
    }

    /// The AEAD tag length of packets of `space`.
    pub(crate) fn tag_len(&self, space: SpaceId) -> usize {
        if space == SpaceId::Data && self.plaintext_1rtt {
            0
        } else {
            crate::crypto::TAG_LEN
        }
    }

    /// The AEAD limits of the 1-RTT cipher suite (confidentiality, integrity; RFC 9001
    /// §6.6), or the Initial suite's before 1-RTT keys exist.
    pub(crate) fn aead_limits(&self) -> (u64, u64) {
        if let Some(l) = self.aead_limits_override {
            return l;
        }
        let suite = self
            .keys
            .one_rtt
            .as_ref()
            .map_or(crate::crypto::CipherSuite::Aes128GcmSha256, |k| k.suite);
        (suite.confidentiality_limit(), suite.integrity_limit())
    }

    /// RFC 9001 §6.6: a key update starts once half the confidentiality limit is sealed
    /// with the current key (the other half leaves time for the previous update to be
    /// acknowledged and its old keys dropped, three PTOs); if none can start (the last one is not yet
    /// acknowledged) by [`AEAD_CLOSE_MARGIN`] packets before the limit, the connection
    /// closes with AEAD_LIMIT_REACHED, keeping the margin for its CONNECTION_CLOSE.
    pub(crate) fn enforce_confidentiality_limit(&mut self, now: Timestamp) {
        if self.plaintext_1rtt {
            return;
        }
        let Some(sealed) = self.keys.one_rtt.as_ref().map(|k| k.sealed) else {
            return;
        };
        let limit = self.aead_limits().0;
        if sealed < limit / 2 || self.is_closed() {
            return;
        }
        if self.initiate_key_update(now).is_ok() {
            self.limit_key_updates += 1;
        } else if sealed >= limit.saturating_sub(AEAD_CLOSE_MARGIN) {
            let e = crate::TransportError::new(
                crate::TransportErrorCode::AEAD_LIMIT_REACHED,
                "confidentiality limit reached and no key update possible",
            );
            self.close_with_error(now, e);
        }
    }

    /// The current 1-RTT key phase.
    pub fn key_phase(&self) -> Option<bool> {
        self.keys.one_rtt.as_ref().map(|k| k.phase)
    }

    fn pto_period(&self) -> Duration {
        let max_ack_delay = self
            .peer_params
            .as_ref()
            .map_or(Duration::from_millis(25), |p| {
                Duration::from_millis(p.max_ack_delay.into_inner())
            });
        self.rtt.pto_base() + max_ack_delay
    }

    /// The PTO period with the current exponential backoff.
    pub(crate) fn backed_off_pto(&self) -> Duration {
        self.pto_period() * (1u32 << self.pto_count.min(16))
    }

    /// Whether an authenticated packet from the peer was processed.
    pub fn has_received(&self) -> bool {
        self.received_any
    }

    fn local_max_ack_delay(&self) -> Duration {
        Duration::from_millis(self.local_params.max_ack_delay.into_inner())
    }

    fn space(&mut self, space: SpaceId) -> &mut PacketSpace {
        &mut self.spaces[space_index(space)]
    }

    fn new_cid(&mut self) -> (ConnectionId, [u8; RESET_TOKEN_LEN]) {
        let cid =
            crate::rng::issued_id(&mut *self.rng, self.config.cid_len, self.config.cid_prefix);
        (cid, self.reset_key.token(&cid))
    }

    /// The reset token of the peer's connection ID we send to, when it changed since the
    /// last call (the endpoint keeps it to recognise a stateless reset, RFC 9000 §10.3.1).
    pub(crate) fn peer_token_change(&mut self) -> Option<Option<[u8; RESET_TOKEN_LEN]>> {
        let now = self.remote_cids.current_token();
        (now != self.announced_peer_token).then(|| {
            self.announced_peer_token = now;
            now
        })
    }

    /// A datagram from `remote` ended in the reset token of the peer's ID we send to
    /// (the endpoint found it, [`DatagramEvent::Reset`](crate::endpoint::DatagramEvent)):
    /// from the address we talk to, it is a stateless reset and the connection ends at
    /// once (RFC 9000 §10.3.1); from elsewhere it is ignored.
    pub fn handle_stateless_reset(&mut self, remote: SocketAddr) {
        if remote == self.path.remote {
            self.drain_now(ConnectionError::Reset);
        }
    }

    /// Issues connection IDs up to the peer's limit (after the handshake).
    fn issue_cids(&mut self) {
        if !self.handshake_complete || self.config.cid_len == 0 {
            return;
        }
        for _ in 0..self.local_cids.wanted() {
            let (cid, token) = self.new_cid();
            self.local_cids.issue(cid, token);
            self.endpoint_events
                .push_back(EndpointEvent::NewCid(cid, token));
        }
    }
}

/// A DATAGRAM frame could not be queued.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramError {
    /// The peer did not enable DATAGRAM frames (max_datagram_frame_size).
    #[error("the peer does not accept datagrams")]
    Unsupported,
    /// The payload exceeds what fits in one packet or what the peer accepts.
    #[error("datagram larger than the {0}-byte maximum")]
    TooLarge(usize),
    /// The send queue is full.
    #[error("datagram send queue is full")]
    Blocked,
}

/// A NEW_TOKEN could not be queued.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NewTokenError {
    /// Only servers send NEW_TOKEN.
    #[error("only a server sends NEW_TOKEN")]
    NotServer,
    /// The handshake is not complete, or the connection is closed.
    #[error("the connection is not established")]
    NotEstablished,
    /// A token must not be empty.
    #[error("empty token")]
    Empty,
    /// The previous NEW_TOKEN is not yet acknowledged.
    #[error("a NEW_TOKEN is already in flight")]
    InFlight,
}

/// A key update could not start.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyUpdateError {
    /// The handshake is not confirmed yet.
    #[error("key update before the handshake is confirmed")]
    NotConfirmed,
    /// The previous update is not yet acknowledged by the peer.
    #[error("a key update is already in progress")]
    InProgress,
    /// Deriving the next keys failed.
    #[error("key derivation failed")]
    Crypto,
    /// 1-RTT packets are not encrypted (disable_1rtt_encryption): there is no key to update.
    #[error("1-RTT encryption is disabled on this connection")]
    Plaintext,
}

impl From<CryptoError> for ConnectionError {
    fn from(_: CryptoError) -> Self {
        Self::Local(CloseCode::internal("key derivation failed"))
    }
}
