//! Reading the ALPN list of a TLS 1.3 ClientHello (RFC 8446 §4.1.2, RFC 7301 §3.1), so
//! that a new connection can be given to the listener serving its protocol before any TLS
//! state exists (reference §2.1).

/// What a ClientHello prefix says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hello {
    /// More bytes are needed; at least this many in all.
    Incomplete(usize),
    /// The client's ALPN list, in its order of preference (empty: no ALPN extension).
    Alpn(Vec<Vec<u8>>),
    /// Not a well-formed ClientHello.
    Malformed,
}

/// The largest ClientHello waited for.
pub(crate) const MAX_CLIENT_HELLO: usize = 64 * 1024;

const CLIENT_HELLO: u8 = 1;
const EXT_ALPN: u16 = 16;

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
    alpn(body).map_or(Hello::Malformed, Hello::Alpn)
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

fn alpn(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut c = Cursor(body);
    c.take(2 + 32)?; // legacy_version, random
    c.vec(1)?; // legacy_session_id
    c.vec(2)?; // cipher_suites
    c.vec(1)?; // legacy_compression_methods
    if c.0.is_empty() {
        return Some(Vec::new());
    }
    let mut exts = Cursor(c.vec(2)?);
    while !exts.0.is_empty() {
        let ty = exts.u16()?;
        let data = exts.vec(2)?;
        if ty as u16 == EXT_ALPN {
            let mut list = Cursor(Cursor(data).vec(2)?);
            let mut out = Vec::new();
            while !list.0.is_empty() {
                let name = list.vec(1)?;
                if name.is_empty() {
                    return None;
                }
                out.push(name.to_vec());
            }
            return Some(out);
        }
    }
    Some(Vec::new())
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
    fn reads_the_alpn_of_a_real_client_hello() {
        let ch = client_hello(&[b"smb", b"h3"]);
        assert_eq!(
            parse(&ch),
            Hello::Alpn(vec![b"smb".to_vec(), b"h3".to_vec()])
        );
        assert_eq!(parse(&client_hello(&[])), Hello::Alpn(vec![]));
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
