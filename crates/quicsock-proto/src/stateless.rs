//! Packets a server sends without keeping state for the client: Retry (RFC 9000 §17.2.5,
//! §8.1.2) and a refusal, an Initial packet carrying only CONNECTION_CLOSE (§10.2.3), as
//! used for CONNECTION_REFUSED and INVALID_TOKEN before any TLS work.

use bytes::BufMut;

use crate::crypto::{initial_keys, protect, retry_integrity_tag, CryptoError, TAG_LEN};
use crate::frame::{CloseReason, ConnectionClose, Frame};
use crate::packet::{
    encode_long_header, LongHeader, LongType, PacketNumber, RetryHeader, TruncatedPacketNumber,
    Version,
};
use crate::{ConnectionId, Side, TransportErrorCode, VarInt};

/// A Retry for a client whose Initial went from `client_scid` to `odcid`: it is to come
/// back to `retry_scid` with `token`.
pub fn encode_retry(
    version: Version,
    client_scid: &ConnectionId,
    odcid: &ConnectionId,
    retry_scid: &ConnectionId,
    token: &[u8],
    unused: u8,
) -> Result<Vec<u8>, CryptoError> {
    let mut header = RetryHeader {
        version,
        dcid: *client_scid,
        scid: *retry_scid,
        token,
        integrity_tag: [0; TAG_LEN],
    };
    let mut body = Vec::with_capacity(64 + token.len());
    header.encode_without_tag(&mut body, unused);
    header.integrity_tag = retry_integrity_tag(version, odcid, &body)?;
    body.put_slice(&header.integrity_tag);
    Ok(body)
}

/// An Initial packet closing the connection a client's Initial (sent from `client_scid`
/// to `client_dcid`) asked for, with transport error `code` and `reason`, protected with
/// the server's Initial keys for `client_dcid`. About 60 bytes: well within the three
/// times of what the client sent (§8.1).
pub fn encode_initial_close(
    version: Version,
    client_dcid: &ConnectionId,
    client_scid: &ConnectionId,
    code: TransportErrorCode,
    reason: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let keys = initial_keys(version, client_dcid, Side::Server)?;
    let mut payload = Vec::with_capacity(32 + reason.len());
    Frame::ConnectionClose(ConnectionClose {
        reason: CloseReason::Transport {
            code,
            frame_type: VarInt::ZERO,
        },
        phrase: reason,
    })
    .encode(&mut payload);
    // Enough bytes after the packet number for the header-protection sample.
    if payload.len() < 16 {
        payload.resize(16, 0);
    }
    let pn = TruncatedPacketNumber::with_len(PacketNumber(0), 4);
    let mut out = Vec::with_capacity(64 + payload.len());
    let header = LongHeader {
        version,
        dcid: *client_scid,
        scid: *client_dcid,
        token: &[],
    };
    let pn_offset = encode_long_header(
        &mut out,
        LongType::Initial,
        &header,
        pn,
        payload.len() + TAG_LEN,
        true,
    );
    out.extend_from_slice(&payload);
    out.resize(out.len() + TAG_LEN, 0);
    protect(
        &mut out,
        pn_offset,
        PacketNumber(0),
        &keys.local.packet,
        &keys.local.header,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{initial_keys, unprotect, verify_retry};
    use crate::frame::Frames;
    use crate::packet::{Header, PacketType, ParsedPacket};

    #[test]
    fn retry_verifies_for_the_original_id_only() {
        let odcid = ConnectionId::from_slice(&[1; 8]).unwrap();
        let scid = ConnectionId::from_slice(&[2; 8]).unwrap();
        let retry = ConnectionId::from_slice(&[3; 8]).unwrap();
        for v in [Version::V1, Version::V2] {
            let p = encode_retry(v, &scid, &odcid, &retry, b"token", 5).unwrap();
            assert!(verify_retry(v, &odcid, &p));
            assert!(!verify_retry(v, &retry, &p));
            let parsed = ParsedPacket::parse(&p, 8).unwrap();
            let Header::Retry(r) = parsed.header else {
                panic!("not a Retry")
            };
            assert_eq!((r.dcid, r.scid, r.token), (scid, retry, &b"token"[..]));
        }
    }

    #[test]
    fn initial_close_opens_with_the_clients_keys() {
        let dcid = ConnectionId::from_slice(&[4; 8]).unwrap();
        let scid = ConnectionId::from_slice(&[5; 8]).unwrap();
        let code = TransportErrorCode::CONNECTION_REFUSED;
        let mut p = encode_initial_close(Version::V1, &dcid, &scid, code, b"busy").unwrap();
        assert!(p.len() < 100);
        let parsed = ParsedPacket::parse(&p, 8).unwrap();
        assert_eq!(parsed.header.packet_type(), Some(PacketType::Initial));
        let keys = initial_keys(Version::V1, &dcid, Side::Client).unwrap();
        let pn_offset = parsed.pn_offset.unwrap();
        let opened = unprotect(
            &mut p,
            pn_offset,
            None,
            &keys.remote.header,
            &keys.remote.packet,
        )
        .unwrap();
        let frames: Vec<_> = Frames::new(opened.payload, PacketType::Initial)
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(matches!(
            frames[0],
            Frame::ConnectionClose(ConnectionClose {
                reason: CloseReason::Transport { code: c, .. },
                phrase: b"busy",
            }) if c == code
        ));
    }
}
