//! ACK frames with arbitrary range fields: decoding never underflows, iterating the ranges
//! yields disjoint descending ranges, and re-encoding them gives the same frame bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quicsock_proto::frame::{encode_ack, Frame};
use quicsock_proto::Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&ecn, body)) = data.split_first() else { return };
    let mut bytes = vec![if ecn & 1 == 0 { 0x02 } else { 0x03 }];
    bytes.extend_from_slice(body);
    let mut r = Reader::new(&bytes);
    let Ok(Frame::Ack(ack)) = Frame::decode(&mut r) else { return };
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
    // The original may use longer varint encodings; the decoded values must agree.
    let Ok(Frame::Ack(again)) = Frame::decode(&mut Reader::new(&out)) else { panic!("re-encoded ACK") };
    assert!(again.ranges().eq(ranges.iter().cloned()));
    assert!(out.len() <= consumed);
});
