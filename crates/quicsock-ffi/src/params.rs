//! The TRANSPORT_PARAM, CONFIG and CONNECTION_CLOSE structures (reference §1.4, §1.6,
//! §1.7) against quicsock's transport settings: times are microseconds in the
//! structures, and zero numeric fields leave a setting as it was.

use std::time::Duration;

use libc::c_int;
use quicsock::proto::conn::{CloseCode, ConnectionError};
use quicsock::proto::transport_params::TransportParameters;
use quicsock::proto::VarInt;
use quicsock::{QuicConfig, TransportConfig};

use crate::quic::{Quic, State};
use crate::uapi::{QuicConfigC, QuicTransportParam};

fn var(v: u64) -> Result<VarInt, c_int> {
    VarInt::from_u64(v).map_err(|_| libc::EINVAL)
}

/// Sets what `p` gives on `t` (local parameters, before `connect` or `listen`), with
/// Linux QUIC's ranges; EINVAL for a value out of them, and nothing changes then.
pub(crate) fn apply(t: &mut TransportConfig, p: &QuicTransportParam) -> Result<(), c_int> {
    let mut n = t.clone();
    let tp = &mut n.transport;
    tp.disable_active_migration = p.disable_active_migration != 0;
    tp.grease_quic_bit = p.grease_quic_bit != 0;
    tp.disable_1rtt_encryption = p.disable_1rtt_encryption != 0;
    let within = |ok: bool| if ok { Ok(()) } else { Err(libc::EINVAL) };
    if p.active_connection_id_limit != 0 {
        within((2..=8).contains(&p.active_connection_id_limit))?;
        tp.active_connection_id_limit = var(p.active_connection_id_limit.into())?;
    }
    if p.ack_delay_exponent != 0 {
        within(p.ack_delay_exponent <= 20)?;
        tp.ack_delay_exponent = var(p.ack_delay_exponent.into())?;
    }
    if p.max_datagram_frame_size != 0 {
        within(p.max_datagram_frame_size >= 1200)?;
        tp.max_datagram_frame_size = Some(var(p.max_datagram_frame_size.into())?);
    }
    if p.max_udp_payload_size != 0 {
        within((1200..=65527).contains(&p.max_udp_payload_size))?;
        tp.max_udp_payload_size = var(p.max_udp_payload_size.into())?;
    }
    if p.max_idle_timeout != 0 {
        within(p.max_idle_timeout >= 1_000_000)?;
        tp.max_idle_timeout = var(u64::from(p.max_idle_timeout) / 1000)?;
    }
    if p.max_ack_delay != 0 {
        within(p.max_ack_delay < 16_384_000)?;
        tp.max_ack_delay = var(u64::from(p.max_ack_delay) / 1000)?;
    }
    if p.max_streams_bidi != 0 {
        within(p.max_streams_bidi <= 4096)?;
        tp.initial_max_streams_bidi = var(p.max_streams_bidi.into())?;
    }
    if p.max_streams_uni != 0 {
        within(p.max_streams_uni <= 4096)?;
        tp.initial_max_streams_uni = var(p.max_streams_uni.into())?;
    }
    if p.max_data != 0 {
        within((1200..=i32::MAX as u64 / 4).contains(&p.max_data))?;
        tp.initial_max_data = var(p.max_data)?;
        n.streams.max_connection_window = n.streams.max_connection_window.max(p.max_data);
    }
    let stream = [
        (
            p.max_stream_data_bidi_local,
            &mut tp.initial_max_stream_data_bidi_local,
        ),
        (
            p.max_stream_data_bidi_remote,
            &mut tp.initial_max_stream_data_bidi_remote,
        ),
        (p.max_stream_data_uni, &mut tp.initial_max_stream_data_uni),
    ];
    let mut largest = 0;
    for (v, field) in stream {
        if v != 0 {
            within((1200..=i32::MAX as u64 / 8).contains(&v))?;
            *field = var(v)?;
            largest = largest.max(v);
        }
    }
    n.streams.max_stream_window = n.streams.max_stream_window.max(largest);
    *t = n;
    Ok(())
}

/// The structure of `tp`, with `remote` as asked.
pub(crate) fn of_params(tp: &TransportParameters, remote: u8) -> QuicTransportParam {
    let small = |v: VarInt| v.into_inner().min(u64::from(u16::MAX)) as u16;
    QuicTransportParam {
        remote,
        disable_active_migration: u8::from(tp.disable_active_migration),
        grease_quic_bit: u8::from(tp.grease_quic_bit),
        stateless_reset: u8::from(tp.stateless_reset_token.is_some()),
        disable_1rtt_encryption: u8::from(tp.disable_1rtt_encryption),
        disable_compatible_version: u8::from(tp.version_information.is_none()),
        active_connection_id_limit: tp.active_connection_id_limit.into_inner().min(255) as u8,
        ack_delay_exponent: tp.ack_delay_exponent.into_inner().min(255) as u8,
        max_datagram_frame_size: tp.max_datagram_frame_size.map_or(0, small),
        max_udp_payload_size: small(tp.max_udp_payload_size),
        max_idle_timeout: (tp.max_idle_timeout.into_inner() * 1000).min(u64::from(u32::MAX)) as u32,
        max_ack_delay: (tp.max_ack_delay.into_inner() * 1000).min(u64::from(u32::MAX)) as u32,
        max_streams_bidi: small(tp.initial_max_streams_bidi).min(4096),
        max_streams_uni: small(tp.initial_max_streams_uni).min(4096),
        max_data: tp.initial_max_data.into_inner(),
        max_stream_data_bidi_local: tp.initial_max_stream_data_bidi_local.into_inner(),
        max_stream_data_bidi_remote: tp.initial_max_stream_data_bidi_remote.into_inner(),
        max_stream_data_uni: tp.initial_max_stream_data_uni.into_inner(),
    }
}

fn micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

fn us(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// quicsock's CONFIG value of the structure.
pub(crate) fn config_of(c: &QuicConfigC) -> QuicConfig {
    QuicConfig {
        version: c.version,
        plpmtud_probe_interval: micros(c.plpmtud_probe_interval),
        initial_smoothed_rtt: micros(c.initial_smoothed_rtt),
        payload_cipher_type: c.payload_cipher_type,
        congestion_control_algo: c.congestion_control_algo,
        validate_peer_address: c.validate_peer_address != 0,
        stream_data_nodelay: c.stream_data_nodelay != 0,
        receive_session_ticket: c.receive_session_ticket,
        certificate_request: c.certificate_request,
        keepalive_probe_interval: micros(c.keepalive_probe_interval),
    }
}

/// The structure of a CONFIG value.
pub(crate) fn config_c(c: &QuicConfig) -> QuicConfigC {
    QuicConfigC {
        version: c.version,
        plpmtud_probe_interval: us(c.plpmtud_probe_interval),
        initial_smoothed_rtt: us(c.initial_smoothed_rtt),
        payload_cipher_type: c.payload_cipher_type,
        congestion_control_algo: c.congestion_control_algo,
        validate_peer_address: u8::from(c.validate_peer_address),
        stream_data_nodelay: u8::from(c.stream_data_nodelay),
        receive_session_ticket: c.receive_session_ticket,
        certificate_request: c.certificate_request,
        keepalive_probe_interval: us(c.keepalive_probe_interval),
    }
}

/// `base` (or a fresh client's values) with every non-zero field of `over`.
pub(crate) fn merge(base: Option<QuicConfig>, over: &QuicConfig) -> QuicConfig {
    let mut c = base.unwrap_or_else(|| {
        quicsock::ClientConfig::new(quicsock::tls::insecure_client_config(&[]), "").quic_config()
    });
    let zero = Duration::ZERO;
    if over.version != 0 {
        c.version = over.version;
    }
    if over.plpmtud_probe_interval != zero {
        c.plpmtud_probe_interval = over.plpmtud_probe_interval;
    }
    if over.initial_smoothed_rtt != zero {
        c.initial_smoothed_rtt = over.initial_smoothed_rtt;
    }
    if over.payload_cipher_type != 0 {
        c.payload_cipher_type = over.payload_cipher_type;
    }
    if over.congestion_control_algo != 0 {
        c.congestion_control_algo = over.congestion_control_algo;
    }
    c.validate_peer_address |= over.validate_peer_address;
    c.stream_data_nodelay |= over.stream_data_nodelay;
    if over.receive_session_ticket != 0 {
        c.receive_session_ticket = over.receive_session_ticket;
    }
    if over.certificate_request != 0 {
        c.certificate_request = over.certificate_request;
    }
    if over.keepalive_probe_interval != zero {
        c.keepalive_probe_interval = over.keepalive_probe_interval;
    }
    c
}

/// CONNECTION_CLOSE, get: the close the connection ended with (the peer's or ours), or
/// else what `close` will send.
pub(crate) fn close_info(q: &Quic) -> (u32, Vec<u8>) {
    if let State::Connected(c) = q.state() {
        let code = match c.sock.close_reason() {
            Some(ConnectionError::Peer(code) | ConnectionError::Local(code)) => Some(code),
            _ => None,
        };
        match code {
            Some(CloseCode::Application { code, reason }) => {
                return (code.min(u64::from(u32::MAX)) as u32, reason.into_bytes())
            }
            Some(CloseCode::Transport { code, reason, .. }) => {
                return (code.0.min(u64::from(u32::MAX)) as u32, reason.into_bytes())
            }
            _ => {}
        }
    }
    q.options().close.clone()
}
