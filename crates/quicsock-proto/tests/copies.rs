//! The copy budget, counted: over the in-memory pipe, each byte of a 16 MiB transfer moves
//! once through every copy site of the stream data path (`quicsock_proto::stream::StreamCopies`).
//! On the sender: application → send buffer (a copy), then send buffer → ciphertext in the
//! packet (the AEAD pass itself, seal-on-copy): one copy and one pass (a frame shorter than
//! 512 bytes is copied in with its headers instead). On the receiver: the packet opened in
//! place in its receive buffer (one pass) and kept there as a slice, then copied to the
//! application: one copy (data out of order, or behind data that is, goes through the
//! stream's ring instead).
//! A site that copies twice, or a new one, changes these counts.

mod common;

use common::Pipe;
use quicsock_proto::stream::StreamCopies;
use quicsock_proto::Dir;

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
    // Each byte once: sealed from the send buffer, or (the short frames where the data
    // meets a chunk boundary, under 1 %) copied in with the frame headers.
    assert_eq!(c.sealed_from_send_buffer + c.into_packets, len, "{c:?}");
    assert!(c.into_packets <= len / 100, "{c:?}");
    assert_eq!(s.to_application, len, "{s:?}");
}

#[test]
fn the_receiver_opens_in_place_and_copies_each_byte_once() {
    let (_, s) = transfer(Pipe::new());
    let len = LEN as u64;
    // Each byte once: kept as a slice of its packet (here, with nothing lost or reordered
    // and the application reading each round, every byte), or copied into the ring.
    assert_eq!(s.shared_from_packets + s.into_receive_buffer, len, "{s:?}");
    assert_eq!(s.into_receive_buffer, 0, "{s:?}");
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

/// Two streams' frames in one packet: the first frame's data is copied in (something follows
/// it), the last one's sealed from the send buffer, and both arrive intact.
#[test]
fn a_packet_of_two_stream_frames_copies_the_first_and_seals_the_last() {
    let mut pipe = Pipe::new();
    let c = pipe.client.connection(pipe.h).unwrap();
    let a = c.open_stream(Dir::Uni).unwrap();
    let b = c.open_stream(Dir::Uni).unwrap();
    let data_a: Vec<u8> = (0..100u8).collect();
    let data_b: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(c.write(a, &data_a, true).unwrap(), 100);
    assert_eq!(c.write(b, &data_b, true).unwrap(), 1000);
    let (mut written, mut read) = (0, 0);
    for _ in 0..4 {
        pipe.round(0, &mut written, &mut read);
    }
    let now = pipe.now();
    let s = pipe.server.connection(pipe.sh.unwrap()).unwrap();
    for (id, want) in [(a, &data_a), (b, &data_b)] {
        let mut got = vec![0; 2000];
        let r = s.read(now, id, &mut got).unwrap();
        assert_eq!((&got[..r.len], r.fin), (&want[..], true), "stream {id:?}");
    }
    let copies = pipe.client.connection(pipe.h).unwrap().stats().copies;
    assert_eq!(copies.into_packets, 100, "{copies:?}");
    assert_eq!(copies.sealed_from_send_buffer, 1000, "{copies:?}");
}
