//! Frame decoding over every frame type, in each packet type: no panic, the cursor always
//! advances, and every frame that decodes re-encodes to a frame that decodes equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quicsock_proto::frame::{Frame, Frames};
use quicsock_proto::packet::PacketType;
use quicsock_proto::Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, payload)) = data.split_first() else { return };
    let packet = [PacketType::Initial, PacketType::ZeroRtt, PacketType::Handshake, PacketType::OneRtt]
        [usize::from(kind % 4)];
    for frame in Frames::new(payload, packet).take(payload.len() + 1) {
        let Ok(frame) = frame else { break };
        let mut out = Vec::new();
        frame.encode(&mut out);
        assert_eq!(out.len(), frame.encoded_len());
        let again = Frame::decode(&mut Reader::new(&out)).expect("re-encoded frame decodes");
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
});
