//! Transport parameters: the body of the quic_transport_parameters TLS extension
//! (RFC 9000 §18).
//!
//! Beyond RFC 9000 §18.2 this covers version_information (RFC 9368 §3), max_datagram_frame_size
//! (RFC 9221 §3), grease_quic_bit (RFC 9287 §3), min_ack_delay (draft-ietf-quic-ack-frequency
//! §3, its provisional ID 0xff04de1b) and disable_1rtt_encryption (0xbaad, as in Linux QUIC,
//! from draft-banks-quic-disable-encryption).
//!
//! Decoding rejects with TRANSPORT_PARAMETER_ERROR: truncation, a value that does not fill
//! its declared length exactly, a known parameter repeated, values out of their RFC range, and
//! server-only parameters sent by a client (§18.2). Unknown parameters, GREASE ones included,
//! are skipped (§7.4.2). Nothing is allocated beyond what the input holds.

mod preferred_address;

use bytes::BufMut;

pub use preferred_address::PreferredAddress;

use crate::common::{ConnectionId, Reader, Side, VarInt};
use crate::packet::Version;
use crate::TransportError;

/// The parameter IDs this crate knows (RFC 9000 §18.2 and the extensions above).
mod id {
    pub(super) const ORIGINAL_DESTINATION_CONNECTION_ID: u64 = 0x00;
    pub(super) const MAX_IDLE_TIMEOUT: u64 = 0x01;
    pub(super) const STATELESS_RESET_TOKEN: u64 = 0x02;
    pub(super) const MAX_UDP_PAYLOAD_SIZE: u64 = 0x03;
    pub(super) const INITIAL_MAX_DATA: u64 = 0x04;
    pub(super) const INITIAL_MAX_STREAM_DATA_BIDI_LOCAL: u64 = 0x05;
    pub(super) const INITIAL_MAX_STREAM_DATA_BIDI_REMOTE: u64 = 0x06;
    pub(super) const INITIAL_MAX_STREAM_DATA_UNI: u64 = 0x07;
    pub(super) const INITIAL_MAX_STREAMS_BIDI: u64 = 0x08;
    pub(super) const INITIAL_MAX_STREAMS_UNI: u64 = 0x09;
    pub(super) const ACK_DELAY_EXPONENT: u64 = 0x0a;
    pub(super) const MAX_ACK_DELAY: u64 = 0x0b;
    pub(super) const DISABLE_ACTIVE_MIGRATION: u64 = 0x0c;
    pub(super) const PREFERRED_ADDRESS: u64 = 0x0d;
    pub(super) const ACTIVE_CONNECTION_ID_LIMIT: u64 = 0x0e;
    pub(super) const INITIAL_SOURCE_CONNECTION_ID: u64 = 0x0f;
    pub(super) const RETRY_SOURCE_CONNECTION_ID: u64 = 0x10;
    pub(super) const VERSION_INFORMATION: u64 = 0x11;
    pub(super) const MAX_DATAGRAM_FRAME_SIZE: u64 = 0x20;
    pub(super) const GREASE_QUIC_BIT: u64 = 0x2ab2;
    pub(super) const DISABLE_1RTT_ENCRYPTION: u64 = 0xbaad;
    pub(super) const MIN_ACK_DELAY: u64 = 0xff04_de1b;

    /// A bit per known parameter, to detect duplicates without allocating.
    pub(super) const fn bit(id: u64) -> Option<u32> {
        match id {
            0x00..=0x11 => Some(id as u32),
            MAX_DATAGRAM_FRAME_SIZE => Some(18),
            GREASE_QUIC_BIT => Some(19),
            DISABLE_1RTT_ENCRYPTION => Some(20),
            MIN_ACK_DELAY => Some(21),
            _ => None,
        }
    }
}

/// The version_information parameter (RFC 9368 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInformation {
    /// The version the sender uses for this connection.
    pub chosen: Version,
    /// The versions the sender supports, in order of preference (clients) or in any order
    /// (servers).
    pub available: Vec<Version>,
}

/// The transport parameters of one endpoint. [`Default`] gives the values RFC 9000 §18.2
/// assigns to absent parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportParameters {
    /// original_destination_connection_id (0x00), server only.
    pub original_destination_connection_id: Option<ConnectionId>,
    /// max_idle_timeout (0x01), in milliseconds; 0 disables the idle timeout.
    pub max_idle_timeout: VarInt,
    /// stateless_reset_token (0x02), server only.
    pub stateless_reset_token: Option<[u8; 16]>,
    /// max_udp_payload_size (0x03), at least 1200.
    pub max_udp_payload_size: VarInt,
    /// initial_max_data (0x04).
    pub initial_max_data: VarInt,
    /// initial_max_stream_data_bidi_local (0x05).
    pub initial_max_stream_data_bidi_local: VarInt,
    /// initial_max_stream_data_bidi_remote (0x06).
    pub initial_max_stream_data_bidi_remote: VarInt,
    /// initial_max_stream_data_uni (0x07).
    pub initial_max_stream_data_uni: VarInt,
    /// initial_max_streams_bidi (0x08), at most 2^60.
    pub initial_max_streams_bidi: VarInt,
    /// initial_max_streams_uni (0x09), at most 2^60.
    pub initial_max_streams_uni: VarInt,
    /// ack_delay_exponent (0x0a), at most 20.
    pub ack_delay_exponent: VarInt,
    /// max_ack_delay (0x0b), in milliseconds, below 2^14.
    pub max_ack_delay: VarInt,
    /// disable_active_migration (0x0c).
    pub disable_active_migration: bool,
    /// preferred_address (0x0d), server only.
    pub preferred_address: Option<PreferredAddress>,
    /// active_connection_id_limit (0x0e), at least 2.
    pub active_connection_id_limit: VarInt,
    /// initial_source_connection_id (0x0f).
    pub initial_source_connection_id: Option<ConnectionId>,
    /// retry_source_connection_id (0x10), server only.
    pub retry_source_connection_id: Option<ConnectionId>,
    /// version_information (0x11, RFC 9368).
    pub version_information: Option<VersionInformation>,
    /// max_datagram_frame_size (0x20, RFC 9221); `None` means DATAGRAM frames are not
    /// accepted.
    pub max_datagram_frame_size: Option<VarInt>,
    /// grease_quic_bit (0x2ab2, RFC 9287).
    pub grease_quic_bit: bool,
    /// disable_1rtt_encryption (0xbaad); takes effect only when both endpoints send it.
    pub disable_1rtt_encryption: bool,
    /// min_ack_delay (draft-ietf-quic-ack-frequency), in microseconds, at most max_ack_delay:
    /// the sender accepts ACK_FREQUENCY and IMMEDIATE_ACK frames.
    pub min_ack_delay: Option<VarInt>,
}

impl Default for TransportParameters {
    fn default() -> Self {
        Self {
            original_destination_connection_id: None,
            max_idle_timeout: VarInt::ZERO,
            stateless_reset_token: None,
            max_udp_payload_size: VarInt::from_u32(Self::DEFAULT_MAX_UDP_PAYLOAD_SIZE),
            initial_max_data: VarInt::ZERO,
            initial_max_stream_data_bidi_local: VarInt::ZERO,
            initial_max_stream_data_bidi_remote: VarInt::ZERO,
            initial_max_stream_data_uni: VarInt::ZERO,
            initial_max_streams_bidi: VarInt::ZERO,
            initial_max_streams_uni: VarInt::ZERO,
            ack_delay_exponent: VarInt::from_u32(Self::DEFAULT_ACK_DELAY_EXPONENT),
            max_ack_delay: VarInt::from_u32(Self::DEFAULT_MAX_ACK_DELAY),
            disable_active_migration: false,
            preferred_address: None,
            active_connection_id_limit: VarInt::from_u32(Self::DEFAULT_ACTIVE_CONNECTION_ID_LIMIT),
            initial_source_connection_id: None,
            retry_source_connection_id: None,
            version_information: None,
            max_datagram_frame_size: None,
            grease_quic_bit: false,
            disable_1rtt_encryption: false,
            min_ack_delay: None,
        }
    }
}

fn error(reason: &'static str) -> TransportError {
    TransportError::transport_parameter(reason)
}

impl TransportParameters {
    /// The default max_udp_payload_size.
    pub const DEFAULT_MAX_UDP_PAYLOAD_SIZE: u32 = 65527;
    /// The default ack_delay_exponent.
    pub const DEFAULT_ACK_DELAY_EXPONENT: u32 = 3;
    /// The default max_ack_delay, in milliseconds.
    pub const DEFAULT_MAX_ACK_DELAY: u32 = 25;
    /// The default active_connection_id_limit.
    pub const DEFAULT_ACTIVE_CONNECTION_ID_LIMIT: u32 = 2;

    /// Decodes the parameters sent by the endpoint on side `sender`.
    pub fn decode(bytes: &[u8], sender: Side) -> Result<Self, TransportError> {
        let mut params = Self::default();
        let mut seen = 0u32;
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let id = r
                .varint()
                .map_err(|_| error("truncated parameter ID"))?
                .into_inner();
            let value = r
                .varint_prefixed()
                .map_err(|_| error("truncated parameter value"))?;
            let Some(bit) = id::bit(id) else { continue };
            if seen & 1 << bit != 0 {
                return Err(error("duplicate transport parameter"));
            }
            seen |= 1 << bit;
            params.decode_one(id, value, sender)?;
        }
        // draft-ietf-quic-ack-frequency §3: min_ack_delay (µs) above max_ack_delay (ms).
        if params
            .min_ack_delay
            .is_some_and(|m| m.into_inner() > params.max_ack_delay.into_inner() * 1000)
        {
            return Err(error("min_ack_delay above max_ack_delay"));
        }
        Ok(params)
    }

    fn decode_one(&mut self, param: u64, value: &[u8], sender: Side) -> Result<(), TransportError> {
        let server_only = matches!(
            param,
            id::ORIGINAL_DESTINATION_CONNECTION_ID
                | id::STATELESS_RESET_TOKEN
                | id::PREFERRED_ADDRESS
                | id::RETRY_SOURCE_CONNECTION_ID
        );
        if server_only && sender == Side::Client {
            return Err(error("server-only transport parameter sent by a client"));
        }
        let int = || -> Result<VarInt, TransportError> {
            let mut r = Reader::new(value);
            let v = r
                .varint()
                .map_err(|_| error("truncated integer parameter"))?;
            if !r.is_empty() {
                return Err(error("integer parameter longer than its value"));
            }
            Ok(v)
        };
        let cid =
            || ConnectionId::from_slice(value).map_err(|_| error("connection ID over 20 bytes"));
        let flag = || {
            if value.is_empty() {
                Ok(true)
            } else {
                Err(error("flag parameter with a value"))
            }
        };
        match param {
            id::ORIGINAL_DESTINATION_CONNECTION_ID => {
                self.original_destination_connection_id = Some(cid()?)
            }
            id::MAX_IDLE_TIMEOUT => self.max_idle_timeout = int()?,
            id::STATELESS_RESET_TOKEN => {
                let token = value
                    .try_into()
                    .map_err(|_| error("stateless reset token not 16 bytes"))?;
                self.stateless_reset_token = Some(token);
            }
            id::MAX_UDP_PAYLOAD_SIZE => {
                self.max_udp_payload_size = int()?;
                if self.max_udp_payload_size.into_inner() < 1200 {
                    return Err(error("max_udp_payload_size below 1200"));
                }
            }
            id::INITIAL_MAX_DATA => self.initial_max_data = int()?,
            id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL => {
                self.initial_max_stream_data_bidi_local = int()?
            }
            id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE => {
                self.initial_max_stream_data_bidi_remote = int()?
            }
            id::INITIAL_MAX_STREAM_DATA_UNI => self.initial_max_stream_data_uni = int()?,
            id::INITIAL_MAX_STREAMS_BIDI | id::INITIAL_MAX_STREAMS_UNI => {
                let v = int()?;
                if v.into_inner() > crate::frame::MAX_STREAM_COUNT {
                    return Err(error("initial stream limit above 2^60"));
                }
                if param == id::INITIAL_MAX_STREAMS_BIDI {
                    self.initial_max_streams_bidi = v;
                } else {
                    self.initial_max_streams_uni = v;
                }
            }
            id::ACK_DELAY_EXPONENT => {
                self.ack_delay_exponent = int()?;
                if self.ack_delay_exponent.into_inner() > 20 {
                    return Err(error("ack_delay_exponent above 20"));
                }
            }
            id::MAX_ACK_DELAY => {
                self.max_ack_delay = int()?;
                if self.max_ack_delay.into_inner() >= 1 << 14 {
                    return Err(error("max_ack_delay of 2^14 ms or more"));
                }
            }
            id::DISABLE_ACTIVE_MIGRATION => self.disable_active_migration = flag()?,
            id::PREFERRED_ADDRESS => {
                self.preferred_address = Some(PreferredAddress::decode(value)?)
            }
            id::ACTIVE_CONNECTION_ID_LIMIT => {
                self.active_connection_id_limit = int()?;
                if self.active_connection_id_limit.into_inner() < 2 {
                    return Err(error("active_connection_id_limit below 2"));
                }
            }
            id::INITIAL_SOURCE_CONNECTION_ID => self.initial_source_connection_id = Some(cid()?),
            id::RETRY_SOURCE_CONNECTION_ID => self.retry_source_connection_id = Some(cid()?),
            id::VERSION_INFORMATION => {
                self.version_information = Some(decode_version_information(value)?)
            }
            id::MAX_DATAGRAM_FRAME_SIZE => self.max_datagram_frame_size = Some(int()?),
            id::GREASE_QUIC_BIT => self.grease_quic_bit = flag()?,
            id::DISABLE_1RTT_ENCRYPTION => self.disable_1rtt_encryption = flag()?,
            id::MIN_ACK_DELAY => self.min_ack_delay = Some(int()?),
            _ => {}
        }
        Ok(())
    }

    /// Writes the parameters, omitting those at their default value.
    pub fn encode<B: BufMut>(&self, out: &mut B) {
        let defaults = Self::default();
        let int = |out: &mut B, param: u64, v: VarInt, default: VarInt| {
            if v != default {
                put_param(out, param, v.size(), |out| v.encode(out));
            }
        };
        let cid = |out: &mut B, param: u64, cid: &Option<ConnectionId>| {
            if let Some(cid) = cid {
                put_param(out, param, cid.len(), |out| out.put_slice(cid));
            }
        };
        let flag = |out: &mut B, param: u64, set: bool| {
            if set {
                put_param(out, param, 0, |_| {});
            }
        };
        cid(
            out,
            id::ORIGINAL_DESTINATION_CONNECTION_ID,
            &self.original_destination_connection_id,
        );
        int(
            out,
            id::MAX_IDLE_TIMEOUT,
            self.max_idle_timeout,
            defaults.max_idle_timeout,
        );
        if let Some(token) = &self.stateless_reset_token {
            put_param(out, id::STATELESS_RESET_TOKEN, token.len(), |out| {
                out.put_slice(token)
            });
        }
        int(
            out,
            id::MAX_UDP_PAYLOAD_SIZE,
            self.max_udp_payload_size,
            defaults.max_udp_payload_size,
        );
        int(
            out,
            id::INITIAL_MAX_DATA,
            self.initial_max_data,
            VarInt::ZERO,
        );
        int(
            out,
            id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
            self.initial_max_stream_data_bidi_local,
            VarInt::ZERO,
        );
        int(
            out,
            id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
            self.initial_max_stream_data_bidi_remote,
            VarInt::ZERO,
        );
        int(
            out,
            id::INITIAL_MAX_STREAM_DATA_UNI,
            self.initial_max_stream_data_uni,
            VarInt::ZERO,
        );
        int(
            out,
            id::INITIAL_MAX_STREAMS_BIDI,
            self.initial_max_streams_bidi,
            VarInt::ZERO,
        );
        int(
            out,
            id::INITIAL_MAX_STREAMS_UNI,
            self.initial_max_streams_uni,
            VarInt::ZERO,
        );
        int(
            out,
            id::ACK_DELAY_EXPONENT,
            self.ack_delay_exponent,
            defaults.ack_delay_exponent,
        );
        int(
            out,
            id::MAX_ACK_DELAY,
            self.max_ack_delay,
            defaults.max_ack_delay,
        );
        flag(
            out,
            id::DISABLE_ACTIVE_MIGRATION,
            self.disable_active_migration,
        );
        if let Some(pa) = &self.preferred_address {
            put_param(out, id::PREFERRED_ADDRESS, pa.encoded_len(), |out| {
                pa.encode(out)
            });
        }
        int(
            out,
            id::ACTIVE_CONNECTION_ID_LIMIT,
            self.active_connection_id_limit,
            defaults.active_connection_id_limit,
        );
        cid(
            out,
            id::INITIAL_SOURCE_CONNECTION_ID,
            &self.initial_source_connection_id,
        );
        cid(
            out,
            id::RETRY_SOURCE_CONNECTION_ID,
            &self.retry_source_connection_id,
        );
        if let Some(info) = &self.version_information {
            put_param(
                out,
                id::VERSION_INFORMATION,
                4 * (1 + info.available.len()),
                |out| {
                    out.put_u32(info.chosen.0);
                    for v in &info.available {
                        out.put_u32(v.0);
                    }
                },
            );
        }
        if let Some(size) = self.max_datagram_frame_size {
            put_param(out, id::MAX_DATAGRAM_FRAME_SIZE, size.size(), |out| {
                size.encode(out)
            });
        }
        flag(out, id::GREASE_QUIC_BIT, self.grease_quic_bit);
        flag(
            out,
            id::DISABLE_1RTT_ENCRYPTION,
            self.disable_1rtt_encryption,
        );
        if let Some(v) = self.min_ack_delay {
            put_param(out, id::MIN_ACK_DELAY, v.size(), |out| v.encode(out));
        }
    }

    /// Writes a reserved parameter (ID 31 × N + 27, RFC 9000 §18.1) carrying `value`, which
    /// every conforming peer skips. Sending one keeps peers honest about unknown parameters.
    pub fn encode_grease<B: BufMut>(out: &mut B, n: u32, value: &[u8]) {
        let param = 31 * u64::from(n) + 27;
        put_param(out, param, value.len(), |out| out.put_slice(value));
    }
}

fn put_param<B: BufMut>(out: &mut B, param: u64, len: usize, value: impl FnOnce(&mut B)) {
    VarInt::saturating(param).encode(out);
    VarInt::saturating(len as u64).encode(out);
    value(out);
}

/// RFC 9368 §3: a chosen version and a list of available versions, none of them 0.
fn decode_version_information(value: &[u8]) -> Result<VersionInformation, TransportError> {
    if value.len() < 4 || value.len() % 4 != 0 {
        return Err(error("version_information not a whole list of versions"));
    }
    let mut versions = value
        .chunks_exact(4)
        .map(|v| Version(u32::from_be_bytes([v[0], v[1], v[2], v[3]])));
    let chosen = versions.next().unwrap_or(Version::NEGOTIATION);
    let available: Vec<Version> = versions.collect();
    if chosen == Version::NEGOTIATION || available.contains(&Version::NEGOTIATION) {
        return Err(error("version_information with version 0"));
    }
    Ok(VersionInformation { chosen, available })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
