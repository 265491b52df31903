//! Variable-length integers: at most 2^62 − 1, and every value re-encodes to its shortest
//! form and back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::varint(data));
