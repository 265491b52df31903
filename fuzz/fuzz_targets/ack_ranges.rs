//! ACK frames with arbitrary range fields: decoding never underflows, the ranges are
//! disjoint and descending, and they re-encode to an ACK with the same ranges.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::ack_ranges(data));
