//! Steering datagrams among the sockets of one `SO_REUSEPORT` group by the first byte of
//! their QUIC destination connection ID, with a classic BPF program the kernel runs for
//! each datagram (`SO_ATTACH_REUSEPORT_CBPF`): the kernel's own steering, no dispatcher
//! thread. A server that runs one engine per socket makes every connection ID it issues
//! start with its socket's index, so a connection's packets reach the socket that owns it
//! even after the client's address changes (NAT rebinding, migration), where the default
//! 4-tuple hash would send them elsewhere.
//!
//! The program reads the byte after the first for a short header (RFC 9000 §17.3) and the
//! seventh (after the flags, version and DCID length) for a long header (§17.2), and
//! returns it modulo the number of sockets: a client's first Initial, whose DCID it chose
//! at random, goes to some socket, and that socket's IDs keep the connection there. A
//! datagram too short to hold the byte goes to socket 0. [`steered_socket`] is the same
//! rule in Rust.
//!
//! The kernel picks a socket once per packet it looks up, and a GSO burst or a GRO batch
//! is one packet: datagrams of several connections sent in one burst from one address all
//! reach the socket the first one steers to (`gso_burst_lands_on_one_socket`). An engine
//! whose socket is given a datagram steered elsewhere hands it to the right one.

use std::io;
use std::os::fd::AsRawFd;

use crate::UdpSocket;

// Classic BPF opcodes (linux/bpf_common.h, linux/filter.h).
/// BPF_LD | BPF_B | BPF_ABS: load the byte at a fixed offset into A.
const LD_B_ABS: u16 = 0x30;
/// BPF_JMP | BPF_JSET | BPF_K: jump on A & k.
const JMP_JSET_K: u16 = 0x45;
/// BPF_JMP | BPF_JA: jump always.
const JMP_JA: u16 = 0x05;
/// BPF_ALU | BPF_MOD | BPF_K: A %= k.
const ALU_MOD_K: u16 = 0x94;
/// BPF_RET | BPF_A: return A.
const RET_A: u16 = 0x16;

/// The steering program for `sockets` sockets.
fn program(sockets: u8) -> [libc::sock_filter; 7] {
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    [
        op(LD_B_ABS, 0, 0, 0),                   // A = first byte
        op(JMP_JSET_K, 0, 2, 0x80),              // long header?
        op(LD_B_ABS, 0, 0, 6),                   //   A = DCID[0] after flags, version, length
        op(JMP_JA, 0, 0, 1),                     //
        op(LD_B_ABS, 0, 0, 1),                   // short: A = DCID[0] after the flags
        op(ALU_MOD_K, 0, 0, u32::from(sockets)), // A %= sockets
        op(RET_A, 0, 0, 0),                      // the socket's index in the group
    ]
}

/// The socket of a group of `sockets` that the steering program picks for `datagram`
/// (see the module docs).
pub fn steered_socket(datagram: &[u8], sockets: u8) -> usize {
    let at = match datagram.first() {
        Some(b) if b & 0x80 != 0 => 6,
        _ => 1,
    };
    datagram
        .get(at)
        .map_or(0, |b| usize::from(*b % sockets.max(1)))
}

impl UdpSocket {
    /// Steers the datagrams of this socket's `SO_REUSEPORT` group (of `sockets` sockets,
    /// indexed in the order they were bound) by the first byte of their QUIC destination
    /// connection ID, modulo `sockets`. Set on any one socket of the group.
    pub fn steer_by_connection_id(&self, sockets: u8) -> io::Result<()> {
        if sockets == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a reuseport group has at least one socket",
            ));
        }
        let filter = program(sockets);
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // `prog` points at `filter`, which outlives the call; the kernel copies the
        // program and reads `len` instructions.
        crate::set_option(
            self.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            &prog,
        )
    }
}
