//! The receive path of a server before any connection exists: split a datagram, derive
//! Initial keys from each Initial's DCID, remove protection and walk the frames. No panic
//! on any input. Half of the inputs are sealed first with the client keys so that the
//! fuzzer reaches the frame decoder behind real protection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quicsock_proto::crypto::{initial_keys, protect, unprotect};
use quicsock_proto::frame::Frames;
use quicsock_proto::packet::{
    encode_long_header, CoalescedPackets, Header, LongHeader, LongType, PacketNumber, PacketType,
    TruncatedPacketNumber, Version,
};
use quicsock_proto::{ConnectionId, Side};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let datagram = if mode & 1 == 0 { rest.to_vec() } else { seal_as_client(mode, rest) };
    let mut buf = datagram.clone();
    for (offset, packet) in CoalescedPackets::new(&datagram, 8) {
        let Ok(packet) = packet else { continue };
        let (Header::Initial(h), Some(pn_offset)) = (&packet.header, packet.pn_offset) else { continue };
        let Ok(keys) = initial_keys(h.version, &h.dcid, Side::Server) else { continue };
        let bytes = &mut buf[offset..offset + packet.len];
        if let Ok(opened) = unprotect(bytes, pn_offset, None, &keys.remote.header, &keys.remote.packet) {
            for frame in Frames::new(opened.payload, PacketType::Initial) {
                if frame.is_err() {
                    break;
                }
            }
        }
    }
});

/// Builds a protected client Initial whose payload is the fuzz input.
fn seal_as_client(mode: u8, payload: &[u8]) -> Vec<u8> {
    let version = if mode & 2 == 0 { Version::V1 } else { Version::V2 };
    let dcid = ConnectionId::from_slice(&[mode; 8]).unwrap();
    let header = LongHeader { version, dcid, scid: ConnectionId::EMPTY, token: &[] };
    let pn = PacketNumber(u64::from(mode >> 2));
    let tpn = TruncatedPacketNumber::with_len(pn, 4);
    let payload = &payload[..payload.len().min(1400)];
    let padded_len = payload.len().max(4);
    let mut out = Vec::new();
    let pn_offset = encode_long_header(&mut out, LongType::Initial, &header, tpn, padded_len + 16, true);
    out.extend_from_slice(payload);
    out.resize(pn_offset + 4 + padded_len + 16, 0);
    let keys = initial_keys(version, &dcid, Side::Client).unwrap();
    protect(&mut out, pn_offset, pn, &keys.local.packet, &keys.local.header).unwrap();
    out
}
