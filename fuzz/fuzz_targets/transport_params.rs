//! Transport parameters from either role: no panic, and whatever decodes re-encodes to the
//! same parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quicsock_proto::transport_params::TransportParameters;
use quicsock_proto::Side;

fuzz_target!(|data: &[u8]| {
    for sender in [Side::Client, Side::Server] {
        if let Ok(params) = TransportParameters::decode(data, sender) {
            let mut out = Vec::new();
            params.encode(&mut out);
            assert_eq!(TransportParameters::decode(&out, sender).expect("re-encoded parameters decode"), params);
        }
    }
});
