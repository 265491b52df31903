//! Reading the ALPN list and the QUIC transport parameters of a TLS 1.3 ClientHello (RFC
//! 8446 §4.1.2, RFC 7301 §3.1, RFC 9001 §8.2), so that a new connection can be given to
//! the listener serving its protocol, and switched to the version the client prefers
//! (RFC 9368 §2.3), before any TLS state exists (reference §2.1).

/// What a complete ClientHello says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientHello {
    /// The client's ALPN list, in its order of preference (empty: no ALPN extension).
    pub(crate) alpn: Vec<Vec<u8>>,
    /// The body of its quic_transport_parameters extension, if it has one.
    pub(crate) transport_params: Option<Vec<u8>>,
}

/// What a ClientHello prefix says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hello {
    /// More bytes are needed; at least this many in all.
    Incomplete(usize),
    /// The whole ClientHello.
    Complete(ClientHello),
    /// Not a well-formed ClientHello.
    Malformed,
}

/// The largest ClientHello waited for.
pub(crate) const MAX_CLIENT_HELLO: usize = 64 * 1024;

const CLIENT_HELLO: u8 = 1;
const EXT_ALPN: u16 = 16;
const EXT_QUIC_TRANSPORT_PARAMETERS: u16 = 57;

/// Parses the handshake bytes received so far at the Initial level.
pub(crate) fn parse(data: &[u8]) -> Hello {
    let Some(&[ty, a, b, c]) = data
        .get(..4)
        .map(|h| <&[u8; 4]>::try_from(h).expect("4 bytes"))
    else {
        return Hello::Incomplete(4);
    };
    if ty != CLIENT_HELLO {
        return Hello::Malformed;
    }
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    if len + 4 > MAX_CLIENT_HELLO {
        return Hello::Malformed;
    }
    let Some(body) = data.get(4..4 + len) else {
        return Hello::Incomplete(4 + len);
    };
    extensions(body).map_or(Hello::Malformed, Hello::Complete)
}

/// A cursor over a byte slice that fails instead of reading past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(b[0]) << 8 | usize::from(b[1]))
    }

    /// A vector with a `width`-byte length prefix.
    fn vec(&mut self, width: usize) -> Option<&'a [u8]> {
        let n = if width == 1 { self.u8()? } else { self.u16()? };
        self.take(n)
    }
}

/// The extensions that matter here; the first of each type counts (TLS forbids
/// repeats, and rustls refuses a ClientHello that has them).
fn extensions(body: &[u8]) -> Option<ClientHello> {
    let mut c = Cursor(body);
    c.take(2 + 32)?; // legacy_version, random
    c.vec(1)?; // legacy_session_id
    c.vec(2)?; // cipher_suites
    c.vec(1)?; // legacy_compression_methods
    let mut hello = ClientHello::default();
    if c.0.is_empty() {
        return Some(hello);
    }
    let mut exts = Cursor(c.vec(2)?);
    let mut alpn_seen = false;
    while !exts.0.is_empty() {
        let ty = exts.u16()? as u16;
        let data = exts.vec(2)?;
        if ty == EXT_ALPN && !alpn_seen {
            alpn_seen = true;
            let mut list = Cursor(Cursor(data).vec(2)?);
            while !list.0.is_empty() {
                let name = list.vec(1)?;
                if name.is_empty() {
                    return None;
                }
                hello.alpn.push(name.to_vec());
            }
        } else if ty == EXT_QUIC_TRANSPORT_PARAMETERS && hello.transport_params.is_none() {
            hello.transport_params = Some(data.to_vec());
        }
    }
    Some(hello)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A real ClientHello from rustls's QUIC client, offering `alpn`.
    fn client_hello(alpn: &[&[u8]]) -> Vec<u8> {
        let mut config = (*crate::tls::insecure_client_config(alpn)).clone();
        config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
        let mut tls = rustls::quic::ClientConnection::new(
            Arc::new(config),
            rustls::quic::Version::V1,
            "localhost".try_into().unwrap(),
            vec![0x01, 0x01, 0x00],
        )
        .unwrap();
        let mut out = Vec::new();
        tls.write_hs(&mut out);
        out
    }

    #[test]
    fn reads_the_alpn_and_transport_parameters_of_a_real_client_hello() {
        let ch = client_hello(&[b"smb", b"h3"]);
        let complete = |alpn: Vec<Vec<u8>>| {
            Hello::Complete(ClientHello {
                alpn,
                transport_params: Some(vec![0x01, 0x01, 0x00]),
            })
        };
        assert_eq!(parse(&ch), complete(vec![b"smb".to_vec(), b"h3".to_vec()]));
        assert_eq!(parse(&client_hello(&[])), complete(vec![]));
        // Every prefix asks for more, never misreads.
        for cut in 0..ch.len() {
            assert!(
                matches!(parse(&ch[..cut]), Hello::Incomplete(n) if n > cut),
                "{cut}"
            );
        }
    }

    #[test]
    fn malformed_hellos_are_refused() {
        let ch = client_hello(&[b"hq-interop"]);
        let mut other = ch.clone();
        other[0] = 2; // ServerHello
        assert_eq!(parse(&other), Hello::Malformed);
        assert_eq!(
            parse(&[1, 0xff, 0xff, 0xff]),
            Hello::Malformed,
            "longer than the cap"
        );
        // A body whose inner lengths overrun it.
        let mut bad = vec![1, 0, 0, 40];
        bad.extend_from_slice(&[0x03, 0x03]);
        bad.extend_from_slice(&[0; 32]);
        bad.extend_from_slice(&[0xff, 0, 0, 0, 0, 0]);
        assert_eq!(parse(&bad), Hello::Malformed);
        // Random bodies never panic.
        let mut x: u32 = 1;
        for len in 0..300usize {
            let mut b = vec![1, 0, (len >> 8) as u8, len as u8];
            for _ in 0..len {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b.push((x >> 16) as u8);
            }
            let _ = parse(&b);
        }
    }
}
