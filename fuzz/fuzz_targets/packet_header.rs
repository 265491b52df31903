//! Every header form and the coalesced-packet splitter, over any bytes and any short-header
//! connection ID length: no panic, and every packet stays inside the datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quicsock_proto::packet::{CoalescedPackets, ParsedPacket};

fuzz_target!(|data: &[u8]| {
    let Some((&cid_len, datagram)) = data.split_first() else { return };
    let cid_len = usize::from(cid_len % 21);
    if let Ok(p) = ParsedPacket::parse(datagram, cid_len) {
        assert!(p.len <= datagram.len());
        assert!(p.pn_offset.is_none_or(|o| o <= p.len));
        let _ = (p.header.dcid(), p.header.packet_type(), p.header.version(), p.fixed_bit());
    }
    let mut end = 0;
    for (offset, packet) in CoalescedPackets::new(datagram, cid_len) {
        assert!(offset >= end && offset < datagram.len());
        if let Ok(p) = packet {
            end = offset + p.len;
            assert!(end <= datagram.len());
        }
    }
});
