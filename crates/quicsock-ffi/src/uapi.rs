//! The Linux QUIC uapi (`linux/quic.h`) in Rust: constants and `#[repr(C)]` structures in
//! their natural x86_64 layout (reference: Linux QUIC's uapi header; RFC 9000 §20.1 for
//! the error codes).

/// `socket(AF_INET*, SOCK_STREAM | SOCK_DGRAM, IPPROTO_QUIC)`.
pub const IPPROTO_QUIC: i32 = 261;
/// The option and control-message level (not `IPPROTO_QUIC`).
pub const SOL_QUIC: i32 = 288;

/// Control message: [`QuicStreamInfo`].
pub const QUIC_STREAM_INFO: i32 = 0;
/// Control message: [`QuicHandshakeInfo`].
pub const QUIC_HANDSHAKE_INFO: i32 = 1;

/// Stream ID bit: server-initiated.
pub const QUIC_STREAM_TYPE_SERVER_MASK: i64 = 0x01;
/// Stream ID bit: unidirectional.
pub const QUIC_STREAM_TYPE_UNI_MASK: i64 = 0x02;
/// Both stream-type bits.
pub const QUIC_STREAM_TYPE_MASK: i64 = 0x03;

/// Open the stream (`MSG_SYN`).
pub const MSG_QUIC_STREAM_NEW: u32 = libc::MSG_SYN as u32;
/// Last data of the stream (`MSG_FIN`).
pub const MSG_QUIC_STREAM_FIN: u32 = libc::MSG_FIN as u32;
/// With stream ID -1, the next unidirectional stream (`MSG_CONFIRM`).
pub const MSG_QUIC_STREAM_UNI: u32 = libc::MSG_CONFIRM as u32;
/// Do not wait for MAX_STREAMS (`MSG_WAITFORONE`).
pub const MSG_QUIC_STREAM_DONTWAIT: u32 = libc::MSG_WAITFORONE as u32;
/// Announce being blocked (`MSG_ERRQUEUE`).
pub const MSG_QUIC_STREAM_SNDBLOCK: u32 = libc::MSG_ERRQUEUE as u32;
/// A DATAGRAM frame (`MSG_RST`).
pub const MSG_QUIC_DATAGRAM: u32 = libc::MSG_RST as u32;
/// The message is an event (`MSG_MORE`, on receive).
pub const MSG_QUIC_NOTIFICATION: u32 = libc::MSG_MORE as u32;

/// Crypto levels (`enum quic_crypto_level`).
pub const QUIC_CRYPTO_APP: u8 = 0;
/// The Initial level.
pub const QUIC_CRYPTO_INITIAL: u8 = 1;
/// The Handshake level.
pub const QUIC_CRYPTO_HANDSHAKE: u8 = 2;
/// The 0-RTT level.
pub const QUIC_CRYPTO_EARLY: u8 = 3;
/// One past the last level.
pub const QUIC_CRYPTO_MAX: u8 = 4;

/// QUIC version 1.
pub const QUIC_VERSION_V1: u32 = 0x1;
/// QUIC version 2 (RFC 9369).
pub const QUIC_VERSION_V2: u32 = 0x6b33_43cf;

/// The socket options, in their order (`QUIC_SOCKOPT_EVENT` is 0).
pub const QUIC_SOCKOPT_EVENT: i32 = 0;
/// `QUIC_SOCKOPT_STREAM_OPEN`.
pub const QUIC_SOCKOPT_STREAM_OPEN: i32 = 1;
/// `QUIC_SOCKOPT_STREAM_RESET`.
pub const QUIC_SOCKOPT_STREAM_RESET: i32 = 2;
/// `QUIC_SOCKOPT_STREAM_STOP_SENDING`.
pub const QUIC_SOCKOPT_STREAM_STOP_SENDING: i32 = 3;
/// `QUIC_SOCKOPT_CONNECTION_ID`.
pub const QUIC_SOCKOPT_CONNECTION_ID: i32 = 4;
/// `QUIC_SOCKOPT_CONNECTION_CLOSE`.
pub const QUIC_SOCKOPT_CONNECTION_CLOSE: i32 = 5;
/// `QUIC_SOCKOPT_CONNECTION_MIGRATION`.
pub const QUIC_SOCKOPT_CONNECTION_MIGRATION: i32 = 6;
/// `QUIC_SOCKOPT_KEY_UPDATE`.
pub const QUIC_SOCKOPT_KEY_UPDATE: i32 = 7;
/// `QUIC_SOCKOPT_TRANSPORT_PARAM`.
pub const QUIC_SOCKOPT_TRANSPORT_PARAM: i32 = 8;
/// `QUIC_SOCKOPT_CONFIG`.
pub const QUIC_SOCKOPT_CONFIG: i32 = 9;
/// `QUIC_SOCKOPT_TOKEN`.
pub const QUIC_SOCKOPT_TOKEN: i32 = 10;
/// `QUIC_SOCKOPT_ALPN`.
pub const QUIC_SOCKOPT_ALPN: i32 = 11;
/// `QUIC_SOCKOPT_SESSION_TICKET`.
pub const QUIC_SOCKOPT_SESSION_TICKET: i32 = 12;
/// `QUIC_SOCKOPT_CRYPTO_SECRET`.
pub const QUIC_SOCKOPT_CRYPTO_SECRET: i32 = 13;
/// `QUIC_SOCKOPT_TRANSPORT_PARAM_EXT`.
pub const QUIC_SOCKOPT_TRANSPORT_PARAM_EXT: i32 = 14;

/// Congestion control: NewReno.
pub const QUIC_CONG_ALG_RENO: u8 = 0;
/// Congestion control: CUBIC.
pub const QUIC_CONG_ALG_CUBIC: u8 = 1;
/// One past the last algorithm.
pub const QUIC_CONG_ALG_MAX: u8 = 2;

/// `TLS_CIPHER_AES_GCM_128` (linux/tls.h).
pub const TLS_CIPHER_AES_GCM_128: u32 = 51;
/// `TLS_CIPHER_AES_GCM_256`.
pub const TLS_CIPHER_AES_GCM_256: u32 = 52;
/// `TLS_CIPHER_AES_CCM_128`.
pub const TLS_CIPHER_AES_CCM_128: u32 = 53;
/// `TLS_CIPHER_CHACHA20_POLY1305`.
pub const TLS_CIPHER_CHACHA20_POLY1305: u32 = 54;

/// Event types (`enum quic_event_type`).
pub const QUIC_EVENT_NONE: u8 = 0;
/// A stream changed state ([`QuicStreamUpdate`]).
pub const QUIC_EVENT_STREAM_UPDATE: u8 = 1;
/// The peer raised a stream's credit ([`QuicStreamMaxData`]).
pub const QUIC_EVENT_STREAM_MAX_DATA: u8 = 2;
/// The peer raised the stream limit (the highest openable ID, `u64`).
pub const QUIC_EVENT_STREAM_MAX_STREAM: u8 = 3;
/// A connection ID was retired ([`QuicConnectionIdInfo`]).
pub const QUIC_EVENT_CONNECTION_ID: u8 = 4;
/// The connection closed ([`QuicConnectionClose`]).
pub const QUIC_EVENT_CONNECTION_CLOSE: u8 = 5;
/// A path was validated and taken (`u8` local).
pub const QUIC_EVENT_CONNECTION_MIGRATION: u8 = 6;
/// The peer updated its keys (`u8` phase).
pub const QUIC_EVENT_KEY_UPDATE: u8 = 7;
/// A NEW_TOKEN arrived (raw token).
pub const QUIC_EVENT_NEW_TOKEN: u8 = 8;
/// A NewSessionTicket arrived (raw message).
pub const QUIC_EVENT_NEW_SESSION_TICKET: u8 = 9;
/// One past the last event.
pub const QUIC_EVENT_END: u8 = 10;
/// The last event.
pub const QUIC_EVENT_MAX: u8 = QUIC_EVENT_END - 1;

/// Stream states (`enum quic_stream_state`), send side then receive side.
pub const QUIC_STREAM_SEND_STATE_READY: u8 = 0;
/// Sending.
pub const QUIC_STREAM_SEND_STATE_SEND: u8 = 1;
/// All data sent.
pub const QUIC_STREAM_SEND_STATE_SENT: u8 = 2;
/// All data acknowledged.
pub const QUIC_STREAM_SEND_STATE_RECVD: u8 = 3;
/// RESET_STREAM sent.
pub const QUIC_STREAM_SEND_STATE_RESET_SENT: u8 = 4;
/// RESET_STREAM acknowledged.
pub const QUIC_STREAM_SEND_STATE_RESET_RECVD: u8 = 5;
/// Receiving.
pub const QUIC_STREAM_RECV_STATE_RECV: u8 = 6;
/// The final size is known.
pub const QUIC_STREAM_RECV_STATE_SIZE_KNOWN: u8 = 7;
/// All data received.
pub const QUIC_STREAM_RECV_STATE_RECVD: u8 = 8;
/// All data read.
pub const QUIC_STREAM_RECV_STATE_READ: u8 = 9;
/// RESET_STREAM received.
pub const QUIC_STREAM_RECV_STATE_RESET_RECVD: u8 = 10;
/// The reset was read.
pub const QUIC_STREAM_RECV_STATE_RESET_READ: u8 = 11;

/// The transport error codes (RFC 9000 §20.1), as `QUIC_TRANSPORT_ERROR_*`.
pub const QUIC_TRANSPORT_ERRORS: [(&str, u32); 18] = [
    ("NONE", 0x00),
    ("INTERNAL", 0x01),
    ("CONNECTION_REFUSED", 0x02),
    ("FLOW_CONTROL", 0x03),
    ("STREAM_LIMIT", 0x04),
    ("STREAM_STATE", 0x05),
    ("FINAL_SIZE", 0x06),
    ("FRAME_ENCODING", 0x07),
    ("TRANSPORT_PARAM", 0x08),
    ("CONNECTION_ID_LIMIT", 0x09),
    ("PROTOCOL_VIOLATION", 0x0a),
    ("INVALID_TOKEN", 0x0b),
    ("APPLICATION", 0x0c),
    ("CRYPTO_BUF_EXCEEDED", 0x0d),
    ("KEY_UPDATE", 0x0e),
    ("AEAD_LIMIT_REACHED", 0x0f),
    ("NO_VIABLE_PATH", 0x10),
    ("CRYPTO", 0x100),
];

/// `struct quic_handshake_info`: the crypto level of a handshake message.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicHandshakeInfo {
    /// A `QUIC_CRYPTO_*` level.
    pub crypto_level: u8,
}

/// `struct quic_stream_info`: the stream of a message.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicStreamInfo {
    /// The stream, or -1 for the active or next one.
    /// The stream.
    pub stream_id: i64,
    /// `MSG_QUIC_STREAM_*` flags.
    pub stream_flags: u32,
}

/// `struct quic_transport_param` (times in microseconds).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicTransportParam {
    /// Get: 0 for ours, 1 for the peer's; set 1 only to restore a peer's for 0-RTT.
    pub remote: u8,
    /// disable_active_migration (0x0c).
    pub disable_active_migration: u8,
    /// grease_quic_bit (0x2ab2, RFC 9287).
    pub grease_quic_bit: u8,
    /// Servers: send a stateless_reset_token (0x02).
    pub stateless_reset: u8,
    /// disable_1rtt_encryption (0xbaad): both sides must set it.
    pub disable_1rtt_encryption: u8,
    /// Omit version_information (0x11).
    pub disable_compatible_version: u8,
    /// active_connection_id_limit (0x0e), 2 to 8.
    pub active_connection_id_limit: u8,
    /// ack_delay_exponent (0x0a), at most 20.
    pub ack_delay_exponent: u8,
    /// max_datagram_frame_size (0x20); 0: no datagrams.
    pub max_datagram_frame_size: u16,
    /// max_udp_payload_size (0x03), 1200 to 65527.
    pub max_udp_payload_size: u16,
    /// max_idle_timeout (0x01), in microseconds.
    pub max_idle_timeout: u32,
    /// max_ack_delay (0x0b), in microseconds.
    pub max_ack_delay: u32,
    /// initial_max_streams_bidi (0x08).
    pub max_streams_bidi: u16,
    /// initial_max_streams_uni (0x09).
    pub max_streams_uni: u16,
    /// The new limit.
    pub max_data: u64,
    /// initial_max_stream_data_bidi_local (0x05).
    pub max_stream_data_bidi_local: u64,
    /// initial_max_stream_data_bidi_remote (0x06).
    pub max_stream_data_bidi_remote: u64,
    /// initial_max_stream_data_uni (0x07).
    pub max_stream_data_uni: u64,
}

/// `struct quic_config` (zero fields keep the value; times in microseconds).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicConfigC {
    /// The version a client starts in.
    pub version: u32,
    /// How often PLPMTUD probes, in microseconds; 0: off.
    pub plpmtud_probe_interval: u32,
    /// The RTT before the first sample, in microseconds.
    pub initial_smoothed_rtt: u32,
    /// A TLS_CIPHER_* hint for the handshake.
    pub payload_cipher_type: u32,
    /// A QUIC_CONG_ALG_* controller.
    pub congestion_control_algo: u8,
    /// Servers: Retry every Initial without a token.
    pub validate_peer_address: u8,
    /// Send each write at once.
    pub stream_data_nodelay: u8,
    /// Clients: seconds to wait for a NewSessionTicket.
    pub receive_session_ticket: u8,
    /// Servers: 0 none, 1 request, 2 require a client certificate.
    pub certificate_request: u8,
    /// The keep-alive PING interval, in microseconds; 0: off.
    pub keepalive_probe_interval: u32,
}

/// `struct quic_crypto_secret`: a secret installed for one level and direction.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct QuicCryptoSecret {
    /// 1 for the sending direction, 0 for receiving.
    pub send: u8,
    /// A QUIC_CRYPTO_* level.
    pub level: u8,
    /// Zero.
    pub reserved: u16,
    /// C `type`: a TLS_CIPHER_* suite (secret) or a QUIC_EVENT_* type (event option).
    pub type_: u32,
    /// The traffic secret, its suite's hash length used.
    pub secret: [u8; 48],
}

/// `struct quic_event_option`: turns one event type on or off.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicEventOption {
    /// C `type`: a TLS_CIPHER_* suite (secret) or a QUIC_EVENT_* type (event option).
    pub type_: u8,
    /// 1 to deliver the event, 0 not to.
    pub on: u8,
}

/// `struct quic_stream_update`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicStreamUpdate {
    /// The stream.
    pub id: i64,
    /// A QUIC_STREAM_*_STATE_* value.
    pub state: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// The error code.
    pub errcode: u32,
    /// The stream's final size, when known.
    pub finalsz: u64,
}

/// `struct quic_stream_max_data`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicStreamMaxData {
    /// The stream.
    pub id: i64,
    /// The new limit.
    pub max_data: u64,
}

/// `struct quic_connection_close`: the close's code, frame and reason phrase.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct QuicConnectionClose {
    /// The error code.
    pub errcode: u32,
    /// The frame type that caused the close (0 for an application's).
    pub frame: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// The reason phrase, NUL-padded.
    pub phrase: [u8; 64],
}

impl Default for QuicConnectionClose {
    fn default() -> Self {
        Self {
            errcode: 0,
            frame: 0,
            reserved: [0; 3],
            phrase: [0; 64],
        }
    }
}

/// `struct quic_connection_id_info`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicConnectionIdInfo {
    /// 1 for the peer's (destination) IDs, 0 for ours.
    pub dest: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// The sequence number of the ID in use.
    pub active: u32,
    /// Retire the IDs numbered below it; get: the lowest live number.
    pub prior_to: u32,
}

/// `struct quic_errinfo`: a stream and an application error code.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicErrinfo {
    /// The stream.
    pub stream_id: i64,
    /// The error code.
    pub errcode: u32,
}

/// `union quic_event`: an event's payload after its type byte.
#[repr(C)]
#[derive(Copy, Clone)]
pub union QuicEvent {
    /// QUIC_EVENT_STREAM_UPDATE.
    pub update: QuicStreamUpdate,
    /// QUIC_EVENT_STREAM_MAX_DATA.
    pub max_data: QuicStreamMaxData,
    /// QUIC_EVENT_CONNECTION_CLOSE.
    pub close: QuicConnectionClose,
    /// QUIC_EVENT_CONNECTION_ID.
    pub info: QuicConnectionIdInfo,
    /// QUIC_EVENT_STREAM_MAX_STREAM: the highest openable stream ID.
    pub max_stream: u64,
    /// QUIC_EVENT_CONNECTION_MIGRATION: 1 when our address changed.
    pub local_migration: u8,
    /// QUIC_EVENT_KEY_UPDATE: the new key phase.
    pub key_update_phase: u8,
}

/// Every constant the header defines, by name, with its value (the transport error codes
/// are in [`QUIC_TRANSPORT_ERRORS`]): what the C test compares.
pub fn constants() -> Vec<(&'static str, i64)> {
    macro_rules! c {
        ($($n:ident,)*) => {
            vec![$((stringify!($n), i64::from($n))),*]
        };
    }
    c! {
        IPPROTO_QUIC,
        SOL_QUIC,
        QUIC_STREAM_INFO,
        QUIC_HANDSHAKE_INFO,
        QUIC_STREAM_TYPE_SERVER_MASK,
        QUIC_STREAM_TYPE_UNI_MASK,
        QUIC_STREAM_TYPE_MASK,
        MSG_QUIC_STREAM_NEW,
        MSG_QUIC_STREAM_FIN,
        MSG_QUIC_STREAM_UNI,
        MSG_QUIC_STREAM_DONTWAIT,
        MSG_QUIC_STREAM_SNDBLOCK,
        MSG_QUIC_DATAGRAM,
        MSG_QUIC_NOTIFICATION,
        QUIC_CRYPTO_APP,
        QUIC_CRYPTO_INITIAL,
        QUIC_CRYPTO_HANDSHAKE,
        QUIC_CRYPTO_EARLY,
        QUIC_CRYPTO_MAX,
        QUIC_VERSION_V1,
        QUIC_VERSION_V2,
        QUIC_SOCKOPT_EVENT,
        QUIC_SOCKOPT_STREAM_OPEN,
        QUIC_SOCKOPT_STREAM_RESET,
        QUIC_SOCKOPT_STREAM_STOP_SENDING,
        QUIC_SOCKOPT_CONNECTION_ID,
        QUIC_SOCKOPT_CONNECTION_CLOSE,
        QUIC_SOCKOPT_CONNECTION_MIGRATION,
        QUIC_SOCKOPT_KEY_UPDATE,
        QUIC_SOCKOPT_TRANSPORT_PARAM,
        QUIC_SOCKOPT_CONFIG,
        QUIC_SOCKOPT_TOKEN,
        QUIC_SOCKOPT_ALPN,
        QUIC_SOCKOPT_SESSION_TICKET,
        QUIC_SOCKOPT_CRYPTO_SECRET,
        QUIC_SOCKOPT_TRANSPORT_PARAM_EXT,
        QUIC_CONG_ALG_RENO,
        QUIC_CONG_ALG_CUBIC,
        QUIC_CONG_ALG_MAX,
        TLS_CIPHER_AES_GCM_128,
        TLS_CIPHER_AES_GCM_256,
        TLS_CIPHER_AES_CCM_128,
        TLS_CIPHER_CHACHA20_POLY1305,
        QUIC_EVENT_NONE,
        QUIC_EVENT_STREAM_UPDATE,
        QUIC_EVENT_STREAM_MAX_DATA,
        QUIC_EVENT_STREAM_MAX_STREAM,
        QUIC_EVENT_CONNECTION_ID,
        QUIC_EVENT_CONNECTION_CLOSE,
        QUIC_EVENT_CONNECTION_MIGRATION,
        QUIC_EVENT_KEY_UPDATE,
        QUIC_EVENT_NEW_TOKEN,
        QUIC_EVENT_NEW_SESSION_TICKET,
        QUIC_EVENT_END,
        QUIC_EVENT_MAX,
        QUIC_STREAM_SEND_STATE_READY,
        QUIC_STREAM_SEND_STATE_SEND,
        QUIC_STREAM_SEND_STATE_SENT,
        QUIC_STREAM_SEND_STATE_RECVD,
        QUIC_STREAM_SEND_STATE_RESET_SENT,
        QUIC_STREAM_SEND_STATE_RESET_RECVD,
        QUIC_STREAM_RECV_STATE_RECV,
        QUIC_STREAM_RECV_STATE_SIZE_KNOWN,
        QUIC_STREAM_RECV_STATE_RECVD,
        QUIC_STREAM_RECV_STATE_READ,
        QUIC_STREAM_RECV_STATE_RESET_RECVD,
        QUIC_STREAM_RECV_STATE_RESET_READ,
    }
}

/// Every structure's size and alignment, by its C name: what the C layout test checks.
pub fn layouts() -> Vec<(&'static str, usize, usize)> {
    use std::mem::{align_of, size_of};
    macro_rules! l {
        ($c:literal, $t:ty) => {
            ($c, size_of::<$t>(), align_of::<$t>())
        };
    }
    vec![
        l!("quic_handshake_info", QuicHandshakeInfo),
        l!("quic_stream_info", QuicStreamInfo),
        l!("quic_transport_param", QuicTransportParam),
        l!("quic_config", QuicConfigC),
        l!("quic_crypto_secret", QuicCryptoSecret),
        l!("quic_event_option", QuicEventOption),
        l!("quic_stream_update", QuicStreamUpdate),
        l!("quic_stream_max_data", QuicStreamMaxData),
        l!("quic_connection_close", QuicConnectionClose),
        l!("quic_connection_id_info", QuicConnectionIdInfo),
        l!("quic_errinfo", QuicErrinfo),
        l!("quic_event", QuicEvent),
    ]
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};

    use super::*;

    /// The sizes and offsets of reference §1.2–§1.7.
    #[test]
    fn structures_have_the_linux_x86_64_layout() {
        assert_eq!(size_of::<QuicStreamInfo>(), 16);
        assert_eq!(offset_of!(QuicStreamInfo, stream_flags), 8);
        assert_eq!(size_of::<QuicHandshakeInfo>(), 1);
        assert_eq!(size_of::<QuicTransportParam>(), 56);
        assert_eq!(offset_of!(QuicTransportParam, max_datagram_frame_size), 8);
        assert_eq!(offset_of!(QuicTransportParam, max_udp_payload_size), 10);
        assert_eq!(offset_of!(QuicTransportParam, max_idle_timeout), 12);
        assert_eq!(offset_of!(QuicTransportParam, max_ack_delay), 16);
        assert_eq!(offset_of!(QuicTransportParam, max_streams_bidi), 20);
        assert_eq!(offset_of!(QuicTransportParam, max_streams_uni), 22);
        assert_eq!(offset_of!(QuicTransportParam, max_data), 24);
        assert_eq!(
            offset_of!(QuicTransportParam, max_stream_data_bidi_local),
            32
        );
        assert_eq!(
            offset_of!(QuicTransportParam, max_stream_data_bidi_remote),
            40
        );
        assert_eq!(offset_of!(QuicTransportParam, max_stream_data_uni), 48);
        assert_eq!(size_of::<QuicConfigC>(), 28);
        assert_eq!(offset_of!(QuicConfigC, congestion_control_algo), 16);
        assert_eq!(offset_of!(QuicConfigC, certificate_request), 20);
        assert_eq!(offset_of!(QuicConfigC, keepalive_probe_interval), 24);
        assert_eq!(size_of::<QuicCryptoSecret>(), 56);
        assert_eq!(offset_of!(QuicCryptoSecret, type_), 4);
        assert_eq!(offset_of!(QuicCryptoSecret, secret), 8);
        assert_eq!(size_of::<QuicEventOption>(), 2);
        assert_eq!(size_of::<QuicStreamUpdate>(), 24);
        assert_eq!(offset_of!(QuicStreamUpdate, state), 8);
        assert_eq!(offset_of!(QuicStreamUpdate, errcode), 12);
        assert_eq!(offset_of!(QuicStreamUpdate, finalsz), 16);
        assert_eq!(size_of::<QuicStreamMaxData>(), 16);
        assert_eq!(size_of::<QuicConnectionClose>(), 72);
        assert_eq!(offset_of!(QuicConnectionClose, frame), 4);
        assert_eq!(offset_of!(QuicConnectionClose, phrase), 8);
        assert_eq!(size_of::<QuicConnectionIdInfo>(), 12);
        assert_eq!(offset_of!(QuicConnectionIdInfo, active), 4);
        assert_eq!(offset_of!(QuicConnectionIdInfo, prior_to), 8);
        assert_eq!(size_of::<QuicErrinfo>(), 16);
        assert_eq!(offset_of!(QuicErrinfo, errcode), 8);
        assert_eq!(
            size_of::<QuicEvent>(),
            72,
            "the union is its largest member"
        );
    }

    #[test]
    fn message_flags_reuse_the_linux_msg_bits() {
        assert_eq!(MSG_QUIC_STREAM_NEW, 0x400);
        assert_eq!(MSG_QUIC_STREAM_FIN, 0x200);
        assert_eq!(MSG_QUIC_STREAM_UNI, 0x800);
        assert_eq!(MSG_QUIC_STREAM_DONTWAIT, 0x10000);
        assert_eq!(MSG_QUIC_STREAM_SNDBLOCK, 0x2000);
        assert_eq!(MSG_QUIC_DATAGRAM, 0x1000);
        assert_eq!(MSG_QUIC_NOTIFICATION, 0x8000);
    }
}
