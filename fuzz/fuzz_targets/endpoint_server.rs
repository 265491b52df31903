//! A server endpoint before and after a fixed-secret handshake, fed raw, sealed and mutated
//! datagrams; every connection's books must balance.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::endpoint_server(data));
