//! A server's receive path before any connection exists: split the datagram, derive Initial
//! keys from each Initial's DCID, remove protection and walk the frames. With the low bit
//! of the first byte set, the rest is first sealed as a client Initial payload, so that the
//! fuzzer reaches the frame decoder behind real protection.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock_proto::fuzzing::initial_unprotect(data));
