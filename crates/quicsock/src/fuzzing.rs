//! The fuzz harness of the ClientHello reader that dispatches new connections by ALPN
//! (`handshake::client_hello`), for the cargo-fuzz target `client_hello`; a unit test
//! replays its seeds and regressions (`fuzz/seeds/client_hello/`,
//! `fuzz/regressions/client_hello/`).

use crate::handshake::client_hello::{parse, Hello, MAX_CLIENT_HELLO};

/// Any bytes as the handshake data received so far: the reader never reads past them,
/// asks for more only up to the largest ClientHello it waits for, returns ALPN names and
/// transport parameters that fit in the input, and reads every prefix of a hello it
/// accepted as incomplete.
pub fn client_hello(data: &[u8]) {
    match parse(data) {
        Hello::Incomplete(n) => assert!(n > data.len() && n <= MAX_CLIENT_HELLO),
        Hello::Complete(hello) => {
            let list = &hello.alpn;
            let params = hello.transport_params.as_ref().map_or(0, Vec::len);
            let total: usize = list.iter().map(|a| a.len() + 1).sum();
            assert!(total + params <= data.len());
            assert!(list.iter().all(|a| !a.is_empty()));
            let len =
                4 + (usize::from(data[1]) << 16 | usize::from(data[2]) << 8 | usize::from(data[3]));
            for cut in [0, 1, 3, 4, len / 2, len - 1] {
                assert!(
                    matches!(parse(&data[..cut.min(len - 1)]), Hello::Incomplete(_)),
                    "a prefix of {cut} bytes of an accepted hello"
                );
            }
        }
        Hello::Malformed => {}
    }
}

#[cfg(test)]
mod tests {
    /// Replays the committed seeds and every fuzzer-found input kept as a regression.
    #[test]
    fn client_hello_seeds_and_regressions_replay_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut replayed = 0;
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join("client_hello")) else {
                continue;
            };
            for entry in entries {
                let data = std::fs::read(entry.unwrap().path()).unwrap();
                super::client_hello(&data);
                replayed += 1;
            }
        }
        assert!(
            replayed > 0,
            "no client_hello seeds under {}",
            root.display()
        );
    }
}
