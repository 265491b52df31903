//! The datagram inspector behind `quic-inspect`.
//!
//! Initial packets are protected with keys anyone can derive (RFC 9001 §5.2): a client's
//! Initial from its own Destination Connection ID, a server's from the client's original
//! one, which the server's packet does not carry (give it as `odcid`). Other packet types
//! need TLS secrets, so their headers are shown and their payloads left sealed.

use std::fmt::Write as _;

use quicsock_proto::common::Side;
use quicsock_proto::crypto::{initial_keys, unprotect, verify_retry};
use quicsock_proto::frame::{Frame, Frames};
use quicsock_proto::packet::{
    CoalescedPackets, Header, LongHeader, PacketType, ParsedPacket, LONG_RESERVED_BITS,
};

/// The datagram of RFC 9001 §A.2: a client Initial carrying a ClientHello, shown when
/// `quic-inspect` runs without input.
pub const RFC9001_CLIENT_INITIAL: &str = include_str!("rfc9001_client_initial.hex");

/// What the inspector needs beyond the datagram.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The client's original Destination Connection ID, to open server Initials and check
    /// Retry integrity tags.
    pub odcid: Option<Vec<u8>>,
    /// The length of short-header destination connection IDs; by default, the length of
    /// the first long header's destination connection ID, or 8.
    pub short_dcid_len: Option<usize>,
}

/// The inspector's findings.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The readable report, one line per header field group and per frame.
    pub text: String,
    /// Packets that could not be parsed, or failed authentication with keys that applied.
    pub problems: usize,
}

/// Inspects one datagram.
pub fn inspect(datagram: &[u8], options: &Options) -> Report {
    let mut report = Report::default();
    let short_len = options
        .short_dcid_len
        .unwrap_or_else(|| first_long_dcid_len(datagram).unwrap_or(8));
    let packets: Vec<_> = CoalescedPackets::new(datagram, short_len).collect();
    let _ = writeln!(
        report.text,
        "datagram: {} bytes, {} packet(s)",
        datagram.len(),
        packets.len()
    );
    for (index, (offset, parsed)) in packets.into_iter().enumerate() {
        let _ = write!(report.text, "packet {index} at offset {offset}: ");
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                let _ = writeln!(report.text, "unparseable: {e}");
                report.problems += 1;
                continue;
            }
        };
        let packet = &datagram[offset..offset + parsed.len];
        describe_header(&mut report.text, &parsed, packet, options);
        if let (Header::Initial(h), Some(pn_offset)) = (&parsed.header, parsed.pn_offset) {
            if !open_initial(&mut report, h, packet, pn_offset, options) {
                report.problems += 1;
            }
        }
    }
    report
}

fn first_long_dcid_len(datagram: &[u8]) -> Option<usize> {
    (datagram.first()? & 0x80 != 0).then(|| datagram.get(5).map(|&l| usize::from(l)))?
}

fn describe_header(out: &mut String, parsed: &ParsedPacket<'_>, packet: &[u8], options: &Options) {
    let long = |out: &mut String, name: &str, h: &LongHeader<'_>| {
        let _ = writeln!(
            out,
            "{name} {} dcid={} scid={} length={}",
            h.version,
            h.dcid,
            h.scid,
            parsed.len - parsed.pn_offset.unwrap_or(parsed.len)
        );
        if !h.token.is_empty() {
            let _ = writeln!(
                out,
                "  token: {} bytes {}",
                h.token.len(),
                hex::encode(h.token)
            );
        }
    };
    match &parsed.header {
        Header::Initial(h) => long(out, "Initial", h),
        Header::ZeroRtt(h) => long(out, "0-RTT", h),
        Header::Handshake(h) => long(out, "Handshake", h),
        Header::Short(h) => {
            let _ = writeln!(
                out,
                "1-RTT dcid={} spin={} length={}",
                h.dcid,
                u8::from(h.spin),
                parsed.len
            );
        }
        Header::Retry(h) => {
            let _ = writeln!(out, "Retry {} dcid={} scid={}", h.version, h.dcid, h.scid);
            let _ = writeln!(
                out,
                "  token: {} bytes {}",
                h.token.len(),
                hex::encode(h.token)
            );
            let _ = write!(out, "  integrity tag: {}", hex::encode(h.integrity_tag));
            match &options.odcid {
                Some(odcid) if verify_retry(h.version, odcid, packet) => {
                    let _ = writeln!(out, " (valid for odcid {})", hex::encode(odcid));
                }
                Some(odcid) => {
                    let _ = writeln!(out, " (INVALID for odcid {})", hex::encode(odcid));
                }
                None => {
                    let _ = writeln!(out, " (give --odcid to check it)");
                }
            }
        }
        Header::VersionNegotiation(vn) => {
            let versions: Vec<String> = vn.versions().map(|v| v.to_string()).collect();
            let _ = writeln!(
                out,
                "Version Negotiation dcid={} scid={} versions=[{}]",
                hex::encode(vn.dcid),
                hex::encode(vn.scid),
                versions.join(", ")
            );
        }
        Header::Unsupported(u) => {
            let _ = writeln!(
                out,
                "long header of unsupported version {} dcid={} scid={}",
                u.version,
                hex::encode(u.dcid),
                hex::encode(u.scid)
            );
        }
    }
    if !parsed.fixed_bit() && !matches!(parsed.header, Header::VersionNegotiation(_)) {
        let _ = writeln!(out, "  QUIC bit clear (greased, RFC 9287)");
    }
    if matches!(
        parsed.header,
        Header::ZeroRtt(_) | Header::Handshake(_) | Header::Short(_)
    ) {
        let _ = writeln!(
            out,
            "  payload protected with TLS-derived keys; not decrypted"
        );
    }
}

/// Opens an Initial with the client keys of its own DCID, else the server keys of the
/// original DCID. Returns whether it opened.
fn open_initial(
    report: &mut Report,
    h: &LongHeader<'_>,
    packet: &[u8],
    pn_offset: usize,
    options: &Options,
) -> bool {
    let mut candidates = vec![(Side::Client, h.dcid.to_vec())];
    if let Some(odcid) = &options.odcid {
        candidates.push((Side::Server, odcid.clone()));
    }
    for (sender, cid) in candidates {
        let Ok(keys) = initial_keys(h.version, &cid, sender) else {
            continue;
        };
        let mut attempt = packet.to_vec();
        let Ok(opened) = unprotect(
            &mut attempt,
            pn_offset,
            None,
            &keys.local.header,
            &keys.local.packet,
        ) else {
            continue;
        };
        let (pn, header_len, payload_len) = (opened.pn, opened.header_len, opened.payload.len());
        let who = if sender == Side::Client {
            "client"
        } else {
            "server"
        };
        let _ = writeln!(
            report.text,
            "  decrypted with the {who} Initial keys of dcid {}: packet number {pn}, {payload_len} payload bytes",
            hex::encode(&cid),
        );
        if attempt[0] & LONG_RESERVED_BITS != 0 {
            let _ = writeln!(
                report.text,
                "  reserved bits set: PROTOCOL_VIOLATION (RFC 9000 §17.2)"
            );
            report.problems += 1;
        }
        let payload = &attempt[header_len..header_len + payload_len];
        describe_frames(report, payload);
        return true;
    }
    let hint = if options.odcid.is_none() {
        " (a server Initial needs --odcid)"
    } else {
        ""
    };
    let _ = writeln!(report.text, "  could not remove Initial protection{hint}");
    false
}

fn describe_frames(report: &mut Report, payload: &[u8]) {
    for frame in Frames::new(payload, PacketType::Initial) {
        match frame {
            Ok(frame) => {
                let _ = write!(report.text, "  {frame}");
                if let Frame::Crypto(c) = &frame {
                    if let Some(name) = c
                        .data
                        .first()
                        .and_then(|&t| tls_message(t))
                        .filter(|_| c.offset.into_inner() == 0)
                    {
                        let _ = write!(report.text, " ({name})");
                    }
                }
                let _ = writeln!(report.text);
            }
            Err(e) => {
                let _ = writeln!(report.text, "  frame error: {e}");
                report.problems += 1;
            }
        }
    }
}

/// The TLS handshake message types that appear at the start of Initial CRYPTO data.
fn tls_message(ty: u8) -> Option<&'static str> {
    match ty {
        1 => Some("TLS ClientHello"),
        2 => Some("TLS ServerHello"),
        _ => None,
    }
}

/// Decodes command-line or file input: hex (whitespace, colons and a leading 0x ignored),
/// or raw bytes when `allow_binary` and the input is not hex.
pub fn decode_input(input: &[u8], allow_binary: bool) -> Result<Vec<u8>, String> {
    let text: Option<String> = std::str::from_utf8(input).ok().map(|s| {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect()
    });
    match text.map(hex::decode) {
        Some(Ok(bytes)) if !bytes.is_empty() => Ok(bytes),
        _ if allow_binary && !input.is_empty() => Ok(input.to_vec()),
        Some(Err(e)) => Err(format!("the datagram is not valid hex: {e}")),
        _ => Err("the datagram is empty".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_rfc9001_client_initial() {
        let datagram = decode_input(RFC9001_CLIENT_INITIAL.as_bytes(), false).unwrap();
        assert_eq!(datagram.len(), 1200);
        let report = inspect(&datagram, &Options::default());
        assert_eq!(report.problems, 0, "{}", report.text);
        assert!(
            report
                .text
                .contains("Initial v1 dcid=8394c8f03e515708 scid=(empty)"),
            "{}",
            report.text
        );
        assert!(
            report.text.contains("packet number 2, 1162 payload bytes"),
            "{}",
            report.text
        );
        assert!(
            report
                .text
                .contains("CRYPTO offset=0 len=241 (TLS ClientHello)"),
            "{}",
            report.text
        );
        assert!(report.text.contains("PADDING ×917"), "{}", report.text);
    }

    #[test]
    fn server_initial_needs_the_original_dcid() {
        let datagram = decode_input(
            b"cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a\
              5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3\
              dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84\
              022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4\
              2158407dd074ee",
            false,
        )
        .unwrap();
        let without = inspect(&datagram, &Options::default());
        assert_eq!(without.problems, 1);
        assert!(without.text.contains("needs --odcid"));
        let with = inspect(
            &datagram,
            &Options {
                odcid: Some(hex::decode("8394c8f03e515708").unwrap()),
                ..Default::default()
            },
        );
        assert_eq!(with.problems, 0, "{}", with.text);
        assert!(with.text.contains("server Initial keys"));
        assert!(with.text.contains("ACK delay=0 ranges=0"), "{}", with.text);
        assert!(with.text.contains("(TLS ServerHello)"));
    }

    #[test]
    fn retry_tag_is_checked() {
        let datagram =
            hex::decode("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
                .unwrap();
        let odcid = Some(hex::decode("8394c8f03e515708").unwrap());
        let report = inspect(
            &datagram,
            &Options {
                odcid,
                ..Default::default()
            },
        );
        assert!(
            report.text.contains("(valid for odcid 8394c8f03e515708)"),
            "{}",
            report.text
        );
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        let report = inspect(&[0xc0, 0, 0, 0, 1, 30, 1, 2], &Options::default());
        assert_eq!(report.problems, 1);
        assert!(report.text.contains("unparseable"));
    }

    #[test]
    fn input_forms() {
        assert_eq!(decode_input(b"0x01:02 03\n", false).unwrap(), [1, 2, 3]);
        assert!(decode_input(b"zz", false)
            .unwrap_err()
            .contains("not valid hex"));
        assert_eq!(decode_input(&[0xff, 0x00], true).unwrap(), [0xff, 0x00]);
        assert!(decode_input(b"", true).is_err());
    }
}
