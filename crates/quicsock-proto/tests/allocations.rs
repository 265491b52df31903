//! No allocation per packet in steady state: a client and a server endpoint joined in
//! memory (the `pipe` benchmark's exchange, on a virtual clock, one round of delay each
//! way) move 64 MiB over one stream, and the heap blocks allocated while they do are
//! counted with DHAT's allocator. Sent packets sit in a ring indexed by packet number, a
//! packet's one frame is held inline and further ones in lists from a per-space pool,
//! freed send-buffer chunks serve later writes, received data is kept as slices of the
//! receive buffer it arrived in (reused once read), and datagrams are built into and
//! opened in the caller's buffers: the count is a small constant that does not grow with
//! the transfer. Once the connection is quiet, what the
//! transfer held is given back.
//!
//! A test binary of its own: the allocator is process-wide.

mod common;

use common::Pipe;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn steady_state_transfer_allocates_a_bounded_number_of_blocks() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut pipe = Pipe::new();
    // Warm up: buffers, rings and pools grow to their working size.
    pipe.transfer(4 << 20);
    let blocks = || dhat::HeapStats::get().total_blocks;
    let before = blocks();
    pipe.transfer(16 << 20);
    let for_16 = blocks() - before;
    let before = blocks();
    pipe.transfer(64 << 20);
    let for_64 = blocks() - before;
    eprintln!("heap blocks allocated: {for_16} for 16 MiB, {for_64} for 64 MiB");
    // 64 MiB is 46,000 packets or more; one allocation each would be that many.
    assert!(for_64 <= 32, "{for_64} heap blocks for 64 MiB");
    assert!(
        for_64 <= for_16 + 8,
        "{for_16} for 16 MiB, {for_64} for 64 MiB"
    );

    // Quiet for a virtual second: the send buffer's chunks (4 MiB), the sent ring and the
    // frame lists are given back. (The receiver kept its data as slices of the datagrams'
    // buffer, which were reused once read; what stays is mostly this test's own datagram
    // buffers.)
    let busy = dhat::HeapStats::get().curr_bytes;
    for _ in 0..10_000 {
        pipe.round(0, &mut 0, &mut 0);
    }
    let quiet = dhat::HeapStats::get().curr_bytes;
    eprintln!("heap bytes held: {busy} after the transfer, {quiet} once quiet");
    assert!(
        busy - quiet >= 4 << 20,
        "{busy} bytes held busy, {quiet} quiet"
    );
}
