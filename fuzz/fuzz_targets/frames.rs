//! Frame decoding over every frame type in each packet type: the cursor always advances,
//! and every frame that decodes re-encodes to the same frame.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::frames(data));
