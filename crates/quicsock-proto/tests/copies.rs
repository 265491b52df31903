//! The copy budget, counted: over the in-memory pipe, each byte of a 16 MiB transfer moves
//! once through every copy site of the stream data path (`quicsock_proto::stream::StreamCopies`).
//! On the sender: application → send buffer (a copy), then send buffer → ciphertext in the
//! packet (the AEAD pass itself, seal-on-copy): one copy and one pass. On the receiver: the
//! packet opened in place (one pass), then packet → receive ring → application: two copies.
//! A site that copies twice, or a new one, changes these counts.

mod common;

use common::Pipe;
use quicsock_proto::stream::StreamCopies;

const LEN: usize = 16 << 20;

/// Runs the transfer; returns the sender's and the receiver's counts.
fn transfer(mut pipe: Pipe) -> (StreamCopies, StreamCopies) {
    pipe.transfer(LEN);
    let c = pipe.client.connection(pipe.h).unwrap().stats();
    let s = pipe.server.connection(pipe.sh.unwrap()).unwrap().stats();
    // A clean path: nothing is sent twice.
    assert_eq!(c.stream_bytes_retransmitted, 0);
    // Nothing flows the other way.
    assert_eq!((s.copies.into_send_buffer, c.copies.to_application), (0, 0));
    (c.copies, s.copies)
}

#[test]
fn the_sender_copies_each_byte_once_and_seals_it_from_the_send_buffer() {
    let (c, s) = transfer(Pipe::new());
    let len = LEN as u64;
    assert_eq!(c.into_send_buffer, len, "{c:?}");
    assert_eq!(c.sealed_from_send_buffer, len, "{c:?}");
    assert_eq!(c.into_packets, 0, "no copy in the clear: {c:?}");
    assert_eq!(s.into_receive_buffer, len, "{s:?}");
    assert_eq!(s.to_application, len, "{s:?}");
}

/// Without encryption (disable_1rtt_encryption on both ends) there is no sealing pass: the
/// data is copied into the packets instead.
#[test]
fn unencrypted_packets_take_the_data_as_a_copy() {
    let (c, s) = transfer(Pipe::with(|c| c.transport.disable_1rtt_encryption = true));
    let len = LEN as u64;
    assert_eq!(c.into_send_buffer, len, "{c:?}");
    assert_eq!(c.into_packets, len, "{c:?}");
    assert_eq!(c.sealed_from_send_buffer, 0, "{c:?}");
    assert_eq!(s.to_application, len, "{s:?}");
}
