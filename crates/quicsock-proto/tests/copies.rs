//! The copy budget, counted: over the in-memory pipe, each byte of a 16 MiB transfer moves
//! once through every copy site of the stream data path (`quicsock_proto::stream::StreamCopies`):
//! application → send buffer → packet on the sender, packet → receive ring → application on
//! the receiver. That is two copies per byte on each side (plus one AEAD pass in place); a
//! site that copies twice, or a new one, changes these counts.

mod common;

use common::Pipe;

#[test]
fn each_byte_is_copied_twice_on_each_side() {
    let mut pipe = Pipe::new();
    let len = 16 << 20;
    pipe.transfer(len);
    let len = len as u64;
    let c = pipe.client.connection(pipe.h).unwrap().stats();
    let s = pipe.server.connection(pipe.sh.unwrap()).unwrap().stats();
    // A clean path: nothing is sent twice.
    assert_eq!(c.stream_bytes_retransmitted, 0);
    assert_eq!(c.copies.into_send_buffer, len, "{:?}", c.copies);
    assert_eq!(c.copies.into_packets, len, "{:?}", c.copies);
    assert_eq!(s.copies.into_receive_buffer, len, "{:?}", s.copies);
    assert_eq!(s.copies.to_application, len, "{:?}", s.copies);
    // And nothing flows the other way.
    assert_eq!((s.copies.into_send_buffer, c.copies.to_application), (0, 0));
}
