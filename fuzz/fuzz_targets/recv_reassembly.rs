//! Receive reassembly: fragments in any order and overlap against a model byte buffer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::recv_reassembly(data));
