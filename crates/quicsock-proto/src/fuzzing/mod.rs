//! The fuzz harnesses, shared by the cargo-fuzz targets in `fuzz/` and by the unit test that
//! replays their seeds and every input that once failed (`fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/`). Each harness takes arbitrary bytes, must not panic, and
//! asserts the properties its decoder promises.

mod endpoint;
mod streams;

pub use endpoint::{endpoint_client, endpoint_server};
pub use streams::{recv_reassembly, stream_ops};

use crate::common::{ConnectionId, Reader, Side, VarInt};
use crate::crypto::{initial_keys, protect, unprotect};
use crate::frame::{encode_ack, Frame, Frames};
use crate::packet::{
    encode_long_header, CoalescedPackets, Header, LongHeader, LongType, PacketNumber, PacketType,
    ParsedPacket, TruncatedPacketNumber, Version,
};
use crate::transport_params::TransportParameters;

/// A fuzz harness: takes arbitrary bytes, panics only on a broken promise.
pub type Harness = fn(&[u8]);

/// The harnesses by target name.
pub const TARGETS: [(&str, Harness); 10] = [
    ("packet_header", packet_header),
    ("frames", frames),
    ("transport_params", transport_params),
    ("ack_ranges", ack_ranges),
    ("varint", varint),
    ("initial_unprotect", initial_unprotect),
    ("endpoint_server", endpoint_server),
    ("endpoint_client", endpoint_client),
    ("stream_ops", stream_ops),
    ("recv_reassembly", recv_reassembly),
];

/// Every header form and the coalesced-packet splitter, over any bytes and any short-header
/// connection ID length: every packet stays inside the datagram.
pub fn packet_header(data: &[u8]) {
    let Some((&cid_len, datagram)) = data.split_first() else {
        return;
    };
    let cid_len = usize::from(cid_len % 21);
    if let Ok(p) = ParsedPacket::parse(datagram, cid_len) {
        assert!(p.len <= datagram.len());
        assert!(p.pn_offset.is_none_or(|o| o <= p.len));
        let _ = (
            p.header.dcid(),
            p.header.packet_type(),
            p.header.version(),
            p.fixed_bit(),
        );
    }
    let mut end = 0;
    for (offset, packet) in CoalescedPackets::new(datagram, cid_len) {
        assert!(offset >= end && offset < datagram.len());
        if let Ok(p) = packet {
            end = offset + p.len;
            assert!(end <= datagram.len());
        }
    }
}

/// Frame decoding over every frame type in each packet type: the cursor always advances,
/// and every frame that decodes re-encodes to the same frame.
pub fn frames(data: &[u8]) {
    let Some((&kind, payload)) = data.split_first() else {
        return;
    };
    let packet = [
        PacketType::Initial,
        PacketType::ZeroRtt,
        PacketType::Handshake,
        PacketType::OneRtt,
    ][usize::from(kind % 4)];
    for frame in Frames::new(payload, packet) {
        let Ok(frame) = frame else { break };
        let mut out = Vec::new();
        frame.encode(&mut out);
        assert_eq!(out.len(), frame.encoded_len());
        let again = Frame::decode(&mut Reader::new(&out)).expect("a re-encoded frame decodes");
        assert_eq!(again, frame);
        let _ = frame.to_string();
    }
    let mut r = Reader::new(payload);
    while !r.is_empty() {
        let before = r.remaining();
        if Frame::decode(&mut r).is_err() {
            break;
        }
        assert!(r.remaining() < before, "frame decoding did not advance");
    }
}

/// Transport parameters from either role: whatever decodes re-encodes to the same
/// parameters.
pub fn transport_params(data: &[u8]) {
    for sender in [Side::Client, Side::Server] {
        if let Ok(params) = TransportParameters::decode(data, sender) {
            let mut out = Vec::new();
            params.encode(&mut out);
            let again =
                TransportParameters::decode(&out, sender).expect("re-encoded parameters decode");
            assert_eq!(again, params);
        }
    }
}

/// ACK frames with arbitrary range fields: decoding never underflows, the ranges are
/// disjoint and descending, and they re-encode to an ACK with the same ranges.
pub fn ack_ranges(data: &[u8]) {
    let Some((&ecn, body)) = data.split_first() else {
        return;
    };
    let mut bytes = vec![if ecn & 1 == 0 { 0x02 } else { 0x03 }];
    bytes.extend_from_slice(body);
    let mut r = Reader::new(&bytes);
    let Ok(Frame::Ack(ack)) = Frame::decode(&mut r) else {
        return;
    };
    let consumed = bytes.len() - r.remaining();
    let ranges: Vec<_> = ack.ranges().collect();
    assert_eq!(ranges.len() as u64, ack.range_count());
    assert_eq!(*ranges[0].end(), ack.largest.into_inner());
    for pair in ranges.windows(2) {
        assert!(pair[0].start() <= pair[0].end());
        assert!(*pair[1].end() + 2 <= *pair[0].start());
    }
    let mut out = Vec::new();
    encode_ack(&mut out, &ranges, ack.delay, ack.ecn.as_ref()).expect("decoded ranges are valid");
    let Ok(Frame::Ack(again)) = Frame::decode(&mut Reader::new(&out)) else {
        panic!("re-encoded ACK")
    };
    assert!(again.ranges().eq(ranges.iter().cloned()));
    // The input may use longer varint encodings than the encoder's shortest ones.
    assert!(out.len() <= consumed);
}

/// Variable-length integers: at most 2^62 − 1, and every value re-encodes to its shortest
/// form and back.
pub fn varint(data: &[u8]) {
    let mut r = Reader::new(data);
    while let Ok(v) = VarInt::decode(&mut r) {
        assert!(v <= VarInt::MAX);
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out.len(), v.size());
        assert_eq!(
            VarInt::decode_with_minimality(&mut Reader::new(&out)),
            Ok((v, true))
        );
    }
    if let Some(chunk) = data.get(..8) {
        let value = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        match VarInt::from_u64(value) {
            Ok(v) => assert_eq!(v.into_inner(), value),
            Err(_) => assert!(value > VarInt::MAX.into_inner()),
        }
    }
}

/// A server's receive path before any connection exists: split the datagram, derive Initial
/// keys from each Initial's DCID, remove protection and walk the frames. With the low bit
/// of the first byte set, the rest is first sealed as a client Initial payload, so that the
/// fuzzer reaches the frame decoder behind real protection.
pub fn initial_unprotect(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let datagram = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        seal_as_client(mode, rest)
    };
    let mut buf = datagram.clone();
    for (offset, packet) in CoalescedPackets::new(&datagram, 8) {
        let Ok(packet) = packet else { continue };
        let (Header::Initial(h), Some(pn_offset)) = (&packet.header, packet.pn_offset) else {
            continue;
        };
        let Ok(keys) = initial_keys(h.version, &h.dcid, Side::Server) else {
            continue;
        };
        let bytes = &mut buf[offset..offset + packet.len];
        let sealed_here = mode & 1 == 1 && offset == 0;
        match unprotect(
            bytes,
            pn_offset,
            None,
            &keys.remote.header,
            &keys.remote.packet,
        ) {
            Ok(opened) => Frames::new(opened.payload, PacketType::Initial)
                .take_while(Result::is_ok)
                .for_each(drop),
            Err(e) => assert!(
                !sealed_here,
                "a packet sealed with the client keys failed to open: {e}"
            ),
        }
    }
}

/// A protected client Initial whose payload is `payload`.
fn seal_as_client(mode: u8, payload: &[u8]) -> Vec<u8> {
    let version = if mode & 2 == 0 {
        Version::V1
    } else {
        Version::V2
    };
    let dcid = ConnectionId::from_slice(&[mode; 8]).expect("8 bytes");
    let header = LongHeader {
        version,
        dcid,
        scid: ConnectionId::EMPTY,
        token: &[],
    };
    let pn = PacketNumber(u64::from(mode >> 2));
    let tpn = TruncatedPacketNumber::with_len(pn, 4);
    let payload = &payload[..payload.len().min(1400)];
    let padded_len = payload.len().max(4);
    let mut out = Vec::new();
    let pn_offset = encode_long_header(
        &mut out,
        LongType::Initial,
        &header,
        tpn,
        padded_len + 16,
        true,
    );
    out.extend_from_slice(payload);
    out.resize(pn_offset + 4 + padded_len + 16, 0);
    let keys = initial_keys(version, &dcid, Side::Client).expect("Initial keys");
    protect(
        &mut out,
        pn_offset,
        pn,
        &keys.local.packet,
        &keys.local.header,
    )
    .expect("sealing");
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Replays the committed seeds and every fuzzer-found input kept as a regression.
    #[test]
    fn fuzz_seeds_and_regressions_replay_clean() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut replayed = 0;
        for (name, harness) in TARGETS {
            for dir in ["seeds", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    let data = std::fs::read(&path).unwrap();
                    harness(&data);
                    replayed += 1;
                }
            }
        }
        assert!(
            replayed >= TARGETS.len(),
            "no fuzz inputs found under {}",
            root.display()
        );
    }
}
