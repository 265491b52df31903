//! Every header form and the coalesced-packet splitter, over any bytes and any short-header
//! connection ID length: every packet stays inside the datagram.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::packet_header(data));
