//! Linux QUIC's CONFIG option (`struct quic_config`, reference §1.7) as one typed value:
//! read from a client or server configuration before connect or listen, set on it with
//! Linux's rule that a zero field leaves the setting as it is and with Linux's ranges, and
//! read back from a connection ([`QuicSocket::quic_config`](crate::QuicSocket::quic_config))
//! as it actually runs.

use std::time::Duration;

use quicsock_proto::cong::Algorithm;
use quicsock_proto::crypto::CipherSuite;
use quicsock_proto::packet::Version;
use quicsock_proto::path::PmtuConfig;

use crate::{ClientConfig, ServerConfig, TransportConfig};

/// `TLS_CIPHER_AES_GCM_128` of `linux/tls.h`.
pub const CIPHER_AES_GCM_128: u32 = 51;
/// `TLS_CIPHER_AES_GCM_256`.
pub const CIPHER_AES_GCM_256: u32 = 52;
/// `TLS_CIPHER_AES_CCM_128` (packet protection has it; rustls does not negotiate it, a
/// TLS library driving the handshake through the secrets interface may).
pub const CIPHER_AES_CCM_128: u32 = 53;
/// `TLS_CIPHER_CHACHA20_POLY1305`.
pub const CIPHER_CHACHA20_POLY1305: u32 = 54;

/// The shortest PLPMTUD probe interval Linux QUIC takes.
pub const MIN_PLPMTUD_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest keep-alive interval Linux QUIC takes.
pub const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_millis(1500);
/// The range of the initial smoothed RTT Linux QUIC takes.
pub const INITIAL_RTT_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(6);

/// Linux QUIC's `struct quic_config`. As a setting, a zero (or `false`) field means "keep
/// the current value".
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicConfig {
    /// The QUIC version a client starts in (1 or 0x6b3343cf; another value is probed
    /// with, and the connection takes one the server offers), or a server prefers.
    pub version: u32,
    /// How often DPLPMTUD searches again; zero when it is off.
    pub plpmtud_probe_interval: Duration,
    /// The RTT assumed before the first sample.
    pub initial_smoothed_rtt: Duration,
    /// The payload cipher (51 AES-128-GCM, 52 AES-256-GCM, 54 ChaCha20-Poly1305): a
    /// configuration reports it when its TLS offers only that suite, a connection the
    /// suite it negotiated. Setting it checks that the TLS configuration offers it.
    pub payload_cipher_type: u32,
    /// 0 NewReno, 1 CUBIC.
    pub congestion_control_algo: u8,
    /// Servers: a Retry before every handshake without a token.
    pub validate_peer_address: bool,
    /// Each write leaves at once instead of small writes coalescing while packets are in
    /// flight (a socket's setting, [`QuicSocket::set_nodelay`](crate::QuicSocket::set_nodelay)).
    pub stream_data_nodelay: bool,
    /// Clients: how many seconds
    /// [`QuicSocket::wait_session_ticket`](crate::QuicSocket::wait_session_ticket) waits
    /// for a NewSessionTicket (a socket's setting).
    pub receive_session_ticket: u8,
    /// Servers: 0 no client certificate, 1 requested, 2 required. quicsock takes client
    /// authentication from the rustls configuration's client verifier, which needs trust
    /// anchors and which this value cannot see: it reads 0 and setting it is refused.
    pub certificate_request: u8,
    /// The PING interval that keeps an idle connection open; zero when off.
    pub keepalive_probe_interval: Duration,
}

/// A CONFIG value that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A server's version is neither v1 nor v2.
    #[error("version {0:#x} is not one quicsock speaks (1 or 0x6b3343cf)")]
    Version(u32),
    /// The probe interval is below Linux's minimum.
    #[error("plpmtud_probe_interval {0:?} is below the minimum of 5 s")]
    ProbeInterval(Duration),
    /// The initial RTT is outside 1 ms..=6 s.
    #[error("initial_smoothed_rtt {0:?} is outside 1 ms to 6 s")]
    InitialRtt(Duration),
    /// The keep-alive interval is below Linux's minimum.
    #[error("keepalive_probe_interval {0:?} is below the minimum of 1.5 s")]
    KeepAlive(Duration),
    /// The congestion controller is not 0 (NewReno) or 1 (CUBIC).
    #[error("congestion_control_algo {0} is not 0 (NewReno) or 1 (CUBIC)")]
    Congestion(u8),
    /// The TLS configuration does not offer the cipher.
    #[error("payload_cipher_type {0}: the TLS configuration does not offer that suite (build it with a provider that has it)")]
    Cipher(u32),
    /// A client certificate request needs trust anchors, set on the TLS configuration.
    #[error(
        "certificate_request {0}: give the TLS configuration a client verifier with trust anchors"
    )]
    CertificateRequest(u8),
    /// The field does not apply to this side.
    #[error("{0} applies to the other side")]
    WrongSide(&'static str),
    /// The field is a socket's, set with `QuicSocket::set_quic_config`.
    #[error("{0} is set on the socket (QuicSocket::set_quic_config)")]
    SocketLevel(&'static str),
    /// The field shapes the connection and is set before connect or listen, on the
    /// client or server configuration (as Linux QUIC refuses it once established).
    #[error("{0} is set before connect or listen, on the ClientConfig or ServerConfig")]
    ConnectionLevel(&'static str),
}

/// The Linux cipher type of a suite.
pub fn cipher_type(suite: CipherSuite) -> u32 {
    match suite {
        CipherSuite::Aes128GcmSha256 => CIPHER_AES_GCM_128,
        CipherSuite::Aes256GcmSha384 => CIPHER_AES_GCM_256,
        CipherSuite::ChaCha20Poly1305Sha256 => CIPHER_CHACHA20_POLY1305,
        CipherSuite::Aes128CcmSha256 => CIPHER_AES_CCM_128,
        _ => 0,
    }
}

fn rustls_cipher_type(s: &rustls::SupportedCipherSuite) -> u32 {
    match s.suite() {
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => CIPHER_AES_GCM_128,
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => CIPHER_AES_GCM_256,
        rustls::CipherSuite::TLS13_AES_128_CCM_SHA256 => CIPHER_AES_CCM_128,
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => CIPHER_CHACHA20_POLY1305,
        _ => 0,
    }
}

/// The cipher type a provider pins, if it offers one suite only.
fn pinned_cipher(provider: &rustls::crypto::CryptoProvider) -> u32 {
    match provider.cipher_suites.as_slice() {
        [one] => rustls_cipher_type(one),
        _ => 0,
    }
}

fn check_cipher(provider: &rustls::crypto::CryptoProvider, want: u32) -> Result<(), ConfigError> {
    if want == 0
        || provider
            .cipher_suites
            .iter()
            .any(|s| rustls_cipher_type(s) == want)
    {
        Ok(())
    } else {
        Err(ConfigError::Cipher(want))
    }
}

fn secs(d: Option<Duration>) -> Duration {
    d.unwrap_or(Duration::ZERO)
}

impl QuicConfig {
    /// The transport part of a configuration.
    fn of_transport(t: &TransportConfig) -> Self {
        Self {
            version: t.version.0,
            plpmtud_probe_interval: secs(t.pmtud.as_ref().map(|p| p.interval)),
            initial_smoothed_rtt: t.initial_rtt,
            congestion_control_algo: match t.congestion {
                Algorithm::NewReno => 0,
                Algorithm::Cubic => 1,
            },
            keepalive_probe_interval: secs(t.keep_alive),
            ..Self::default()
        }
    }

    /// Checks every non-zero field and applies them to `t`; nothing changes on error. A
    /// client may start in a version quicsock does not speak (it then probes for the
    /// server's versions first, as Linux QUIC sends such a version as it is); a server's
    /// is v1 or v2.
    fn apply_transport(&self, t: &mut TransportConfig, client: bool) -> Result<(), ConfigError> {
        if self.stream_data_nodelay {
            return Err(ConfigError::SocketLevel("stream_data_nodelay"));
        }
        if self.receive_session_ticket != 0 {
            return Err(ConfigError::SocketLevel("receive_session_ticket"));
        }
        let version = match self.version {
            0 => t.version,
            v if client || Version(v).is_supported() => Version(v),
            v => return Err(ConfigError::Version(v)),
        };
        let probe = self.plpmtud_probe_interval;
        if !probe.is_zero() && probe < MIN_PLPMTUD_INTERVAL {
            return Err(ConfigError::ProbeInterval(probe));
        }
        let rtt = self.initial_smoothed_rtt;
        if !rtt.is_zero() && !INITIAL_RTT_RANGE.contains(&rtt) {
            return Err(ConfigError::InitialRtt(rtt));
        }
        let keep = self.keepalive_probe_interval;
        if !keep.is_zero() && keep < MIN_KEEPALIVE_INTERVAL {
            return Err(ConfigError::KeepAlive(keep));
        }
        let congestion = match self.congestion_control_algo {
            0 => t.congestion,
            1 => Algorithm::Cubic,
            other => return Err(ConfigError::Congestion(other)),
        };
        // NewReno is algorithm 0, which as a setting means "unchanged": Linux's default
        // is NewReno, so a zero there keeps ours.
        t.version = version;
        t.congestion = congestion;
        if !probe.is_zero() {
            let base = t.pmtud.clone().unwrap_or_default();
            t.pmtud = Some(PmtuConfig {
                interval: probe,
                ..base
            });
        }
        if !rtt.is_zero() {
            t.initial_rtt = rtt;
        }
        if !keep.is_zero() {
            t.keep_alive = Some(keep);
        }
        Ok(())
    }
}

impl QuicConfig {
    /// A connection's CONFIG as it runs: its version (after any negotiation), settings and
    /// negotiated cipher, with the socket's own fields.
    pub(crate) fn of_connection(
        conn: &quicsock_proto::conn::Connection,
        nodelay: bool,
        ticket_wait: Duration,
    ) -> Self {
        let s = conn.settings();
        Self {
            version: conn.version().0,
            plpmtud_probe_interval: secs(s.pmtud_interval),
            initial_smoothed_rtt: s.initial_rtt,
            payload_cipher_type: conn.one_rtt_suite().map_or(0, cipher_type),
            congestion_control_algo: match s.congestion {
                Algorithm::NewReno => 0,
                Algorithm::Cubic => 1,
            },
            validate_peer_address: false,
            stream_data_nodelay: nodelay,
            receive_session_ticket: u8::try_from(ticket_wait.as_secs()).unwrap_or(u8::MAX),
            certificate_request: 0,
            keepalive_probe_interval: secs(s.keep_alive),
        }
    }

    /// The first field that only a configuration before connect or listen takes.
    pub(crate) fn connection_level_field(&self) -> Option<&'static str> {
        [
            (self.version != 0, "version"),
            (
                !self.plpmtud_probe_interval.is_zero(),
                "plpmtud_probe_interval",
            ),
            (!self.initial_smoothed_rtt.is_zero(), "initial_smoothed_rtt"),
            (self.payload_cipher_type != 0, "payload_cipher_type"),
            (self.congestion_control_algo != 0, "congestion_control_algo"),
            (self.validate_peer_address, "validate_peer_address"),
            (self.certificate_request != 0, "certificate_request"),
            (
                !self.keepalive_probe_interval.is_zero(),
                "keepalive_probe_interval",
            ),
        ]
        .into_iter()
        .find_map(|(set, name)| set.then_some(name))
    }
}

impl ClientConfig {
    /// This configuration as Linux QUIC's CONFIG option reads it.
    pub fn quic_config(&self) -> QuicConfig {
        QuicConfig {
            payload_cipher_type: pinned_cipher(self.tls.crypto_provider()),
            ..QuicConfig::of_transport(&self.transport)
        }
    }

    /// Sets the non-zero fields of `c` (Linux QUIC's CONFIG option before connect).
    pub fn set_quic_config(&mut self, c: &QuicConfig) -> Result<(), ConfigError> {
        if c.validate_peer_address {
            return Err(ConfigError::WrongSide("validate_peer_address"));
        }
        if c.certificate_request != 0 {
            return Err(ConfigError::WrongSide("certificate_request"));
        }
        check_cipher(self.tls.crypto_provider(), c.payload_cipher_type)?;
        c.apply_transport(&mut self.transport, true)
    }
}

impl ServerConfig {
    /// This configuration as Linux QUIC's CONFIG option reads it.
    pub fn quic_config(&self) -> QuicConfig {
        QuicConfig {
            payload_cipher_type: pinned_cipher(self.tls.crypto_provider()),
            validate_peer_address: self.validate_address,
            ..QuicConfig::of_transport(&self.transport)
        }
    }

    /// Sets the non-zero fields of `c` (Linux QUIC's CONFIG option before listen). A
    /// client-certificate request comes with the TLS configuration's client verifier,
    /// which needs trust anchors: `certificate_request` is refused here.
    pub fn set_quic_config(&mut self, c: &QuicConfig) -> Result<(), ConfigError> {
        if c.receive_session_ticket != 0 {
            return Err(ConfigError::WrongSide("receive_session_ticket"));
        }
        if c.certificate_request != 0 {
            return Err(ConfigError::CertificateRequest(c.certificate_request));
        }
        check_cipher(self.tls.crypto_provider(), c.payload_cipher_type)?;
        c.apply_transport(&mut self.transport, false)?;
        if c.validate_peer_address {
            self.validate_address = true;
        }
        Ok(())
    }
}
