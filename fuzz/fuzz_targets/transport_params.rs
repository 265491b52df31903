//! Transport parameters from either role: whatever decodes re-encodes to the same
//! parameters.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::transport_params(data));
