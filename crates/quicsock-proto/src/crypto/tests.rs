use proptest::prelude::*;

use super::*;
use crate::common::{ConnectionId, Side};
use crate::packet::{
    encode_long_header, encode_short_header, LongHeader, LongType, PacketNumber, ParsedPacket,
    TruncatedPacketNumber, Version,
};

fn one_rtt_keys(suite: CipherSuite, version: Version) -> DirectionalKeys {
    let secret = Secret::new(suite, &vec![0x5a; suite.hash_len()]).unwrap();
    secret.keys(version).unwrap()
}

#[test]
fn seal_scatter_equals_seal_in_place() {
    for suite in CipherSuite::ALL {
        let keys = one_rtt_keys(suite, Version::V1);
        let header = [0x41, 1, 2, 3, 4, 5];
        let frames_head = [0x0f, 0x04, 0x40, 0x64];
        let data: Vec<u8> = (0..100u8).collect();

        let mut whole = frames_head.to_vec();
        whole.extend(&data);
        whole.resize(whole.len() + TAG_LEN, 0);
        keys.packet.seal(77, &header, &mut whole).unwrap();

        let mut head = frames_head;
        let mut tail_out = vec![0; data.len() + TAG_LEN];
        keys.packet
            .seal_scatter(77, &header, &mut head, &data, &mut tail_out)
            .unwrap();
        let mut scattered = head.to_vec();
        scattered.extend(tail_out);
        assert_eq!(scattered, whole, "{suite}");

        // A wrongly sized output is refused before anything is written.
        let mut short = vec![0; data.len()];
        assert_eq!(
            keys.packet
                .seal_scatter(77, &header, &mut head, &data, &mut short),
            Err(CryptoError::PacketTooShort)
        );
    }
}

#[test]
fn seal_batch_equals_one_by_one() {
    let keys = one_rtt_keys(CipherSuite::Aes128GcmSha256, Version::V2);
    let headers: Vec<[u8; 3]> = (0..4u8).map(|i| [0x40, i, i]).collect();
    let mut one_by_one: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 50 + TAG_LEN]).collect();
    let mut batched = one_by_one.clone();
    for (i, p) in one_by_one.iter_mut().enumerate() {
        keys.packet.seal(i as u64, &headers[i], p).unwrap();
    }
    let mut jobs: Vec<SealJob<'_>> = batched
        .iter_mut()
        .enumerate()
        .map(|(i, p)| SealJob {
            pn: i as u64,
            header: &headers[i],
            payload: p,
        })
        .collect();
    keys.packet.seal_batch(&mut jobs).unwrap();
    assert_eq!(batched, one_by_one);

    let samples: Vec<&[u8]> = one_by_one.iter().map(|p| &p[..16]).collect();
    let mut masks = vec![[0; 5]; 4];
    keys.header.masks(&samples, &mut masks).unwrap();
    for (sample, mask) in samples.iter().zip(&masks) {
        assert_eq!(keys.header.mask(sample).unwrap(), *mask);
    }
}

#[test]
fn tampered_and_short_packets_fail() {
    let keys = initial_keys(Version::V1, &[1, 2, 3, 4], Side::Client).unwrap();
    let peer = initial_keys(Version::V1, &[1, 2, 3, 4], Side::Server).unwrap();
    let mut packet = vec![0x43, 0, 0, 0, 9];
    packet.resize(60, 0x01);
    protect(
        &mut packet,
        1,
        PacketNumber(9),
        &keys.local.packet,
        &keys.local.header,
    )
    .unwrap();
    for i in [0, 3, 20, 59] {
        let mut bad = packet.clone();
        bad[i] ^= 0x10;
        let result = unprotect(&mut bad, 1, None, &peer.remote.header, &peer.remote.packet);
        assert_eq!(
            result.unwrap_err(),
            CryptoError::AuthenticationFailed,
            "byte {i}"
        );
    }
    // Keys of the wrong direction fail too.
    let mut wrong = packet.clone();
    assert!(unprotect(&mut wrong, 1, None, &peer.local.header, &peer.local.packet).is_err());
    // No room for the sample.
    let mut short = packet[..20].to_vec();
    assert_eq!(
        unprotect(
            &mut short,
            1,
            None,
            &peer.remote.header,
            &peer.remote.packet
        )
        .unwrap_err(),
        CryptoError::PacketTooShort
    );
    let mut tiny = vec![0x40, 0, 0];
    assert_eq!(
        protect(
            &mut tiny,
            1,
            PacketNumber(0),
            &keys.local.packet,
            &keys.local.header
        ),
        Err(CryptoError::PacketTooShort)
    );
    assert_eq!(
        Secret::new(CipherSuite::Aes256GcmSha384, &[0; 32]).unwrap_err(),
        CryptoError::BadKeyLength
    );
}

#[test]
fn key_update_changes_packet_keys_not_header_keys() {
    for version in Version::SUPPORTED {
        let secret = Secret::new(CipherSuite::Aes256GcmSha384, &[3; 48]).unwrap();
        let next = secret.next(version).unwrap();
        assert_ne!(next.as_bytes(), secret.as_bytes());
        assert_eq!(next.as_bytes().len(), 48);
        let (a, b) = (secret.keys(version).unwrap(), next.keys(version).unwrap());
        let mut p1 = vec![0; 40];
        let mut p2 = p1.clone();
        a.packet.seal(1, b"h", &mut p1).unwrap();
        b.packet.seal(1, b"h", &mut p2).unwrap();
        assert_ne!(p1, p2);
        assert_eq!(
            a.header.mask(&[9; 16]).unwrap(),
            secret.header_key(version).unwrap().mask(&[9; 16]).unwrap()
        );
    }
}

fn arb_suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL.to_vec())
}

proptest! {
    // Any packet protected with one side's keys unprotects with the other side's, for
    // every suite, both versions and both header forms.
    #[test]
    fn protect_unprotect_round_trip(
        suite in arb_suite(),
        version in prop::sample::select(Version::SUPPORTED.to_vec()),
        long in any::<bool>(),
        dcid in prop::collection::vec(any::<u8>(), 0..=20),
        pn in 0u64..(1 << 40),
        pn_len in 1usize..=4,
        payload in prop::collection::vec(any::<u8>(), 4..1300),
    ) {
        let dcid = ConnectionId::from_slice(&dcid).unwrap();
        let keys = one_rtt_keys(suite, version);
        let tpn = TruncatedPacketNumber::with_len(PacketNumber(pn), pn_len);
        let mut packet = Vec::new();
        let pn_offset = if long {
            let header = LongHeader { version, dcid, scid: ConnectionId::EMPTY, token: &[] };
            encode_long_header(&mut packet, LongType::Handshake, &header, tpn, payload.len() + TAG_LEN, true)
        } else {
            encode_short_header(&mut packet, &dcid, tpn, false, true, true)
        };
        let header_len = packet.len();
        packet.extend(&payload);
        packet.resize(packet.len() + TAG_LEN, 0);
        let clear_header = packet[..header_len].to_vec();
        protect(&mut packet, pn_offset, PacketNumber(pn), &keys.packet, &keys.header).unwrap();

        let parsed = ParsedPacket::parse(&packet, dcid.len()).unwrap();
        prop_assert_eq!(parsed.pn_offset, Some(pn_offset));
        prop_assert_eq!(parsed.len, packet.len());
        // The receiver has seen the packet before this one.
        let largest = pn.checked_sub(1).map(PacketNumber);
        let opened = unprotect(&mut packet, pn_offset, largest, &keys.header, &keys.packet).unwrap();
        prop_assert_eq!(opened.pn, PacketNumber(pn));
        prop_assert_eq!(&*opened.payload, &payload[..]);
        prop_assert_eq!(&packet[..header_len], &clear_header[..]);
    }

    #[test]
    fn unprotect_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), pn_offset in 0usize..40) {
        let keys = initial_keys(Version::V1, &[0; 8], Side::Server).unwrap();
        let mut bytes = bytes;
        if !bytes.is_empty() {
            let pn_offset = pn_offset.min(bytes.len() - 1);
            let _ = unprotect(&mut bytes, pn_offset, None, &keys.remote.header, &keys.remote.packet);
        }
    }
}
