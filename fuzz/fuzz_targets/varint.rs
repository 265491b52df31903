//! Variable-length integers: decoding reads at most 8 bytes and never exceeds 2^62 - 1, and
//! every value re-encodes to its shortest form and back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quicsock_proto::{Reader, VarInt};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    while let Ok((v, minimal)) = VarInt::decode_with_minimality(&mut r) {
        assert!(v <= VarInt::MAX);
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out.len(), v.size());
        let mut again = Reader::new(&out);
        assert_eq!(VarInt::decode_with_minimality(&mut again), Ok((v, true)));
        let _ = minimal;
    }
    if let Some(chunk) = data.get(..8) {
        let value = u64::from_le_bytes(chunk.try_into().unwrap());
        match VarInt::from_u64(value) {
            Ok(v) => assert_eq!(v.into_inner(), value),
            Err(_) => assert!(value > VarInt::MAX.into_inner()),
        }
    }
});
