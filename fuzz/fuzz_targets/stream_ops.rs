//! Application stream operations interleaved with peer frames, against a model.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::stream_ops(data));
