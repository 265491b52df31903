//! The ClientHello reader that picks a listener by ALPN.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quicsock::fuzzing::client_hello(data));
