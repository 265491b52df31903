//! The local interop runner: the QUIC Interop Runner's test cases
//! (quic-interop/quic-interop-runner, `testcases_quic.py`) run on this machine without
//! Docker, between quicsock and independent implementations, in both roles.
//!
//! A cell is one case, one peer and quicsock's role. It makes the files and certificates
//! ([`fixture`]), starts a relay that reproduces the case's network ([`net`]), the server
//! and then the client ([`endpoint`]: quic-server / quic-client, aioquic's `hq.py`,
//! `quinn-hq`), and when the client is done checks what the runner checks ([`check`]): the
//! files byte for byte, and facts from the relay's record decrypted with both endpoints'
//! key logs ([`trace`]): handshake counts, Retry, 0-RTT, key phases, ECN marks and ACK_ECN,
//! versions, paths and connection IDs.
//!
//! [`Scale::Quick`] keeps the runner's networks and cuts the file sizes and rebinding
//! periods so that the whole matrix runs in the test suite; [`Scale::Full`] is the
//! runner's own sizes.

pub mod check;
pub mod endpoint;
pub mod fixture;
pub mod net;
pub mod trace;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use net::{Blackhole, Conditions, Rebind};

/// A test case of the interop runner.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    /// One small file; no Retry.
    Handshake,
    /// Three files on one connection; flow-control windows grow.
    Transfer,
    /// A handshake over a 1.5 s round trip.
    LongRtt,
    /// TLS_CHACHA20_POLY1305_SHA256 only.
    Chacha20,
    /// Two thousand small files on one connection.
    Multiplexing,
    /// The server sends a Retry.
    Retry,
    /// A second connection resumes the first one's session.
    Resumption,
    /// The second connection sends its requests in 0-RTT.
    ZeroRtt,
    /// A transfer through periodic blackouts.
    Blackhole,
    /// The client updates its keys early in a transfer.
    KeyUpdate,
    /// Both sides mark ECT and send ACK_ECN.
    Ecn,
    /// The server keeps to three times what it received while sending a long chain.
    AmplificationLimit,
    /// Sequential handshakes under 30% loss.
    HandshakeLoss,
    /// A transfer under 2% loss.
    TransferLoss,
    /// Sequential handshakes under 30% corruption.
    HandshakeCorruption,
    /// A transfer under 2% corruption.
    TransferCorruption,
    /// A transfer over IPv6.
    Ipv6,
    /// Compatible version negotiation from v1 to v2.
    V2,
    /// The client's port changes under a NAT during a transfer.
    RebindPort,
    /// The client's address and port change under a NAT during a transfer.
    RebindAddr,
    /// The client moves to the server's preferred address.
    ConnectionMigration,
}

impl Case {
    /// Every case, in the runner's order.
    pub const ALL: [Self; 21] = [
        Self::Handshake,
        Self::Transfer,
        Self::LongRtt,
        Self::Chacha20,
        Self::Multiplexing,
        Self::Retry,
        Self::Resumption,
        Self::ZeroRtt,
        Self::Blackhole,
        Self::KeyUpdate,
        Self::Ecn,
        Self::AmplificationLimit,
        Self::HandshakeLoss,
        Self::TransferLoss,
        Self::HandshakeCorruption,
        Self::TransferCorruption,
        Self::Ipv6,
        Self::V2,
        Self::RebindPort,
        Self::RebindAddr,
        Self::ConnectionMigration,
    ];

    /// The runner's name of the case.
    pub fn name(self) -> &'static str {
        match self {
            Self::Handshake => "handshake",
            Self::Transfer => "transfer",
            Self::LongRtt => "longrtt",
            Self::Chacha20 => "chacha20",
            Self::Multiplexing => "multiplexing",
            Self::Retry => "retry",
            Self::Resumption => "resumption",
            Self::ZeroRtt => "zerortt",
            Self::Blackhole => "blackhole",
            Self::KeyUpdate => "keyupdate",
            Self::Ecn => "ecn",
            Self::AmplificationLimit => "amplificationlimit",
            Self::HandshakeLoss => "handshakeloss",
            Self::TransferLoss => "transferloss",
            Self::HandshakeCorruption => "handshakecorruption",
            Self::TransferCorruption => "transfercorruption",
            Self::Ipv6 => "ipv6",
            Self::V2 => "v2",
            Self::RebindPort => "rebind-port",
            Self::RebindAddr => "rebind-addr",
            Self::ConnectionMigration => "connectionmigration",
        }
    }

    /// The case of a runner name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The network of the case.
    pub fn conditions(self, scale: Scale) -> Conditions {
        let quick = scale == Scale::Quick;
        let mut c = Conditions::default();
        match self {
            Self::LongRtt => c.delay = Duration::from_millis(750),
            Self::Blackhole => {
                c.blackhole = Some(if quick {
                    Blackhole {
                        on: Duration::from_millis(1000),
                        off: Duration::from_millis(500),
                    }
                } else {
                    Blackhole {
                        on: Duration::from_secs(5),
                        off: Duration::from_secs(2),
                    }
                });
            }
            Self::AmplificationLimit => c.drop_to_server = (2..=7).collect(),
            Self::HandshakeLoss => c.loss = [0.3, 0.3],
            Self::TransferLoss => c.loss = [0.02, 0.02],
            Self::HandshakeCorruption => c.corrupt = [0.3, 0.3],
            Self::TransferCorruption => c.corrupt = [0.02, 0.02],
            Self::RebindPort | Self::RebindAddr => {
                // The first change comes after the handshake, as in the runner, also
                // when a Python client takes its time to start; then one a second, five
                // times as often as the runner, but not so often that a second change
                // lands before the server's one probe of the new path (limited to three
                // times the client's last datagram, RFC 9000 §9.3) has had its answer.
                let (first, every) = if quick {
                    (Duration::from_secs(1), Duration::from_secs(1))
                } else {
                    (Duration::from_secs(1), Duration::from_secs(5))
                };
                c.rebind = Some(Rebind {
                    first,
                    every,
                    address: self == Self::RebindAddr,
                });
            }
            _ => {}
        }
        c
    }

    /// The files the client downloads: (name, length).
    pub fn files(self, scale: Scale) -> Vec<(String, usize)> {
        let k = 1000;
        let m = 1_000_000;
        let quick = scale == Scale::Quick;
        let pick = |q: &[usize], f: &[usize]| if quick { q.to_vec() } else { f.to_vec() };
        let sizes: Vec<usize> = match self {
            Self::Handshake | Self::LongRtt | Self::V2 => vec![k],
            Self::Transfer | Self::Ipv6 => {
                pick(&[200 * k, 300 * k, 500 * k], &[2 * m, 3 * m, 5 * m])
            }
            Self::Chacha20 | Self::KeyUpdate => pick(&[500 * k], &[3 * m]),
            Self::Multiplexing => vec![32; 2000],
            Self::Retry => vec![10 * k],
            Self::Resumption => vec![5 * k, 10 * k],
            Self::ZeroRtt => vec![32; 21],
            Self::Blackhole => pick(&[2 * m], &[10 * m]),
            Self::Ecn => vec![100 * k],
            Self::AmplificationLimit => vec![5 * k],
            Self::HandshakeLoss | Self::HandshakeCorruption => {
                vec![k; if quick { 10 } else { 50 }]
            }
            Self::TransferLoss | Self::TransferCorruption | Self::ConnectionMigration => {
                pick(&[500 * k], &[2 * m])
            }
            Self::RebindPort | Self::RebindAddr => pick(&[2 * m], &[10 * m]),
        };
        sizes
            .into_iter()
            .enumerate()
            .map(|(i, len)| (format!("{}-{i}.bin", self.name()), len))
            .collect()
    }

    /// How long the client may take before the cell fails.
    pub fn timeout(self, scale: Scale) -> Duration {
        match (self, scale) {
            (Self::HandshakeLoss | Self::HandshakeCorruption, Scale::Full) => {
                Duration::from_secs(300)
            }
            (Self::HandshakeLoss | Self::HandshakeCorruption, Scale::Quick) => {
                Duration::from_secs(120)
            }
            _ => Duration::from_secs(60),
        }
    }

    /// Whether the case runs over IPv6.
    pub fn ipv6(self) -> bool {
        self == Self::Ipv6
    }

    /// The certificates in the server's chain.
    pub fn chain_len(self) -> usize {
        if self == Self::AmplificationLimit {
            fixture::LONG_CHAIN
        } else {
            1
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How big a cell's files and how long its rebinding periods are.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    /// The runner's networks with smaller files, for the test suite.
    Quick,
    /// The runner's own sizes.
    Full,
}

/// An implementation on the other side of quicsock.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// quicsock itself (quic-client against quic-server).
    Quicsock,
    /// aioquic (PyPI), through `interop/aioquic/hq.py`.
    Aioquic,
    /// quinn, through `quinn-hq`.
    Quinn,
}

impl Peer {
    /// Every peer.
    pub const ALL: [Self; 3] = [Self::Quicsock, Self::Aioquic, Self::Quinn];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quicsock => "quicsock",
            Self::Aioquic => "aioquic",
            Self::Quinn => "quinn",
        }
    }

    /// Why the peer cannot take part in `case` in `role` (the peer's role), if it cannot.
    pub fn unsupported(self, case: Case, role: Role) -> Option<&'static str> {
        match (self, case, role) {
            (Self::Aioquic, Case::Ecn, _) => {
                Some("aioquic neither marks ECN nor reads it (asyncio datagram sockets)")
            }
            (Self::Aioquic, Case::ConnectionMigration, Role::Server) => {
                Some("aioquic's server cannot announce a preferred_address")
            }
            (Self::Quinn, Case::V2, _) => Some("quinn 0.11 speaks QUIC v1 only"),
            (Self::Quinn, Case::ConnectionMigration, Role::Client) => {
                Some("quinn 0.11 takes the preferred address's connection ID but never moves there")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An endpoint's role.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The client.
    Client,
    /// The server.
    Server,
}

impl Role {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }

    /// The other role.
    pub fn other(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

/// One cell of the matrix: a case, a peer, and quicsock's role against it (for
/// [`Peer::Quicsock`], quicsock plays both and the role is [`Role::Client`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    /// The case.
    pub case: Case,
    /// The other side.
    pub peer: Peer,
    /// quicsock's role.
    pub role: Role,
}

impl Cell {
    /// Every cell: each case against quicsock itself, then against each peer in both roles.
    pub fn all() -> Vec<Self> {
        let mut cells = Vec::new();
        for case in Case::ALL {
            cells.push(Self {
                case,
                peer: Peer::Quicsock,
                role: Role::Client,
            });
            for peer in [Peer::Aioquic, Peer::Quinn] {
                for role in [Role::Client, Role::Server] {
                    cells.push(Self { case, peer, role });
                }
            }
        }
        cells
    }

    /// The test's name: `runner_<case>_<peer>_<role>`, `self` for quicsock against itself.
    pub fn test_name(&self) -> String {
        let role = if self.peer == Peer::Quicsock {
            "self"
        } else {
            self.role.name()
        };
        format!(
            "runner_{}_{}_{role}",
            self.case.name().replace('-', "_"),
            self.peer
        )
    }

    /// Why the cell cannot run, if the peer does not support the case.
    pub fn unsupported(&self) -> Option<&'static str> {
        self.peer.unsupported(self.case, self.role.other())
    }
}

/// What a cell came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed; with a line of facts.
    Pass(String),
    /// A check failed, or an endpoint did.
    Fail(String),
    /// The peer does not support the case.
    Unsupported(&'static str),
}

/// Where the endpoints' programs are.
#[derive(Clone, Debug)]
pub struct Programs {
    /// quic-client.
    pub quic_client: PathBuf,
    /// quic-server.
    pub quic_server: PathBuf,
    /// quinn-hq.
    pub quinn_hq: PathBuf,
    /// A Python with aioquic.
    pub python: PathBuf,
    /// `interop/aioquic/hq.py`.
    pub hq_py: PathBuf,
}

/// Runs one cell.
pub fn run(cell: Cell, programs: &Programs, scale: Scale) -> Verdict {
    if let Some(why) = cell.unsupported() {
        return Verdict::Unsupported(why);
    }
    match endpoint::run_cell(cell, programs, scale) {
        Ok(facts) => Verdict::Pass(facts),
        Err(e) => Verdict::Fail(e),
    }
}
