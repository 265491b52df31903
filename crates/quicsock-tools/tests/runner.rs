//! The local interop runner's matrix as tests: one test per cell, named
//! `runner_<case>_<peer>_<role>` with quicsock's role (`self`: quicsock on both sides).
//! A cell the peer does not support is ignored with the reason in its name's place, so
//! `cargo test` lists it; `runner_matrix_names_every_cell` keeps this list and the
//! runner's own in step. `quic-runner` prints the same matrix.

mod common;

use quicsock_tools::runner::{self, Case, Cell, Peer, Programs, Role, Scale, Verdict};

fn programs() -> Programs {
    Programs {
        quic_client: env!("CARGO_BIN_EXE_quic-client").into(),
        quic_server: env!("CARGO_BIN_EXE_quic-server").into(),
        quinn_hq: env!("CARGO_BIN_EXE_quinn-hq").into(),
        python: common::aioquic::python(),
        hq_py: common::aioquic::workspace().join("interop/aioquic/hq.py"),
    }
}

fn cell(case: Case, peer: Peer, role: Role) {
    let cell = Cell { case, peer, role };
    match runner::run(cell, &programs(), Scale::Quick) {
        Verdict::Pass(facts) => eprintln!("{}: pass ({facts})", cell.test_name()),
        Verdict::Fail(why) => panic!("{}: {why}", cell.test_name()),
        Verdict::Unsupported(why) => eprintln!("{}: unsupported: {why}", cell.test_name()),
    }
}

macro_rules! cells {
    ($($(#[$attr:meta])* $name:ident: $case:ident, $peer:ident, $role:ident;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                cell(Case::$case, Peer::$peer, Role::$role);
            }
        )*
        /// Every cell's test, with whether it is ignored as unsupported.
        const CELLS: &[(&str, Case, Peer, Role)] = &[$((stringify!($name), Case::$case, Peer::$peer, Role::$role)),*];
    };
}

cells! {
    runner_handshake_quicsock_self: Handshake, Quicsock, Client;
    runner_handshake_aioquic_client: Handshake, Aioquic, Client;
    runner_handshake_aioquic_server: Handshake, Aioquic, Server;
    runner_handshake_quinn_client: Handshake, Quinn, Client;
    runner_handshake_quinn_server: Handshake, Quinn, Server;
    runner_transfer_quicsock_self: Transfer, Quicsock, Client;
    runner_transfer_aioquic_client: Transfer, Aioquic, Client;
    runner_transfer_aioquic_server: Transfer, Aioquic, Server;
    runner_transfer_quinn_client: Transfer, Quinn, Client;
    runner_transfer_quinn_server: Transfer, Quinn, Server;
    runner_longrtt_quicsock_self: LongRtt, Quicsock, Client;
    runner_longrtt_aioquic_client: LongRtt, Aioquic, Client;
    runner_longrtt_aioquic_server: LongRtt, Aioquic, Server;
    runner_longrtt_quinn_client: LongRtt, Quinn, Client;
    runner_longrtt_quinn_server: LongRtt, Quinn, Server;
    runner_chacha20_quicsock_self: Chacha20, Quicsock, Client;
    runner_chacha20_aioquic_client: Chacha20, Aioquic, Client;
    runner_chacha20_aioquic_server: Chacha20, Aioquic, Server;
    runner_chacha20_quinn_client: Chacha20, Quinn, Client;
    runner_chacha20_quinn_server: Chacha20, Quinn, Server;
    runner_multiplexing_quicsock_self: Multiplexing, Quicsock, Client;
    runner_multiplexing_aioquic_client: Multiplexing, Aioquic, Client;
    runner_multiplexing_aioquic_server: Multiplexing, Aioquic, Server;
    runner_multiplexing_quinn_client: Multiplexing, Quinn, Client;
    runner_multiplexing_quinn_server: Multiplexing, Quinn, Server;
    runner_retry_quicsock_self: Retry, Quicsock, Client;
    runner_retry_aioquic_client: Retry, Aioquic, Client;
    runner_retry_aioquic_server: Retry, Aioquic, Server;
    runner_retry_quinn_client: Retry, Quinn, Client;
    runner_retry_quinn_server: Retry, Quinn, Server;
    runner_resumption_quicsock_self: Resumption, Quicsock, Client;
    runner_resumption_aioquic_client: Resumption, Aioquic, Client;
    runner_resumption_aioquic_server: Resumption, Aioquic, Server;
    runner_resumption_quinn_client: Resumption, Quinn, Client;
    runner_resumption_quinn_server: Resumption, Quinn, Server;
    runner_zerortt_quicsock_self: ZeroRtt, Quicsock, Client;
    runner_zerortt_aioquic_client: ZeroRtt, Aioquic, Client;
    runner_zerortt_aioquic_server: ZeroRtt, Aioquic, Server;
    runner_zerortt_quinn_client: ZeroRtt, Quinn, Client;
    runner_zerortt_quinn_server: ZeroRtt, Quinn, Server;
    runner_blackhole_quicsock_self: Blackhole, Quicsock, Client;
    runner_blackhole_aioquic_client: Blackhole, Aioquic, Client;
    runner_blackhole_aioquic_server: Blackhole, Aioquic, Server;
    runner_blackhole_quinn_client: Blackhole, Quinn, Client;
    runner_blackhole_quinn_server: Blackhole, Quinn, Server;
    runner_keyupdate_quicsock_self: KeyUpdate, Quicsock, Client;
    runner_keyupdate_aioquic_client: KeyUpdate, Aioquic, Client;
    runner_keyupdate_aioquic_server: KeyUpdate, Aioquic, Server;
    runner_keyupdate_quinn_client: KeyUpdate, Quinn, Client;
    runner_keyupdate_quinn_server: KeyUpdate, Quinn, Server;
    runner_ecn_quicsock_self: Ecn, Quicsock, Client;
    #[ignore = "unsupported by aioquic: aioquic neither marks ECN nor reads it (asyncio datagram sockets)"]
    runner_ecn_aioquic_client: Ecn, Aioquic, Client;
    #[ignore = "unsupported by aioquic: aioquic neither marks ECN nor reads it (asyncio datagram sockets)"]
    runner_ecn_aioquic_server: Ecn, Aioquic, Server;
    runner_ecn_quinn_client: Ecn, Quinn, Client;
    runner_ecn_quinn_server: Ecn, Quinn, Server;
    runner_amplificationlimit_quicsock_self: AmplificationLimit, Quicsock, Client;
    runner_amplificationlimit_aioquic_client: AmplificationLimit, Aioquic, Client;
    runner_amplificationlimit_aioquic_server: AmplificationLimit, Aioquic, Server;
    runner_amplificationlimit_quinn_client: AmplificationLimit, Quinn, Client;
    runner_amplificationlimit_quinn_server: AmplificationLimit, Quinn, Server;
    runner_handshakeloss_quicsock_self: HandshakeLoss, Quicsock, Client;
    runner_handshakeloss_aioquic_client: HandshakeLoss, Aioquic, Client;
    runner_handshakeloss_aioquic_server: HandshakeLoss, Aioquic, Server;
    runner_handshakeloss_quinn_client: HandshakeLoss, Quinn, Client;
    runner_handshakeloss_quinn_server: HandshakeLoss, Quinn, Server;
    runner_transferloss_quicsock_self: TransferLoss, Quicsock, Client;
    runner_transferloss_aioquic_client: TransferLoss, Aioquic, Client;
    runner_transferloss_aioquic_server: TransferLoss, Aioquic, Server;
    runner_transferloss_quinn_client: TransferLoss, Quinn, Client;
    runner_transferloss_quinn_server: TransferLoss, Quinn, Server;
    runner_handshakecorruption_quicsock_self: HandshakeCorruption, Quicsock, Client;
    runner_handshakecorruption_aioquic_client: HandshakeCorruption, Aioquic, Client;
    runner_handshakecorruption_aioquic_server: HandshakeCorruption, Aioquic, Server;
    runner_handshakecorruption_quinn_client: HandshakeCorruption, Quinn, Client;
    runner_handshakecorruption_quinn_server: HandshakeCorruption, Quinn, Server;
    runner_transfercorruption_quicsock_self: TransferCorruption, Quicsock, Client;
    runner_transfercorruption_aioquic_client: TransferCorruption, Aioquic, Client;
    runner_transfercorruption_aioquic_server: TransferCorruption, Aioquic, Server;
    runner_transfercorruption_quinn_client: TransferCorruption, Quinn, Client;
    runner_transfercorruption_quinn_server: TransferCorruption, Quinn, Server;
    runner_ipv6_quicsock_self: Ipv6, Quicsock, Client;
    runner_ipv6_aioquic_client: Ipv6, Aioquic, Client;
    runner_ipv6_aioquic_server: Ipv6, Aioquic, Server;
    runner_ipv6_quinn_client: Ipv6, Quinn, Client;
    runner_ipv6_quinn_server: Ipv6, Quinn, Server;
    runner_v2_quicsock_self: V2, Quicsock, Client;
    runner_v2_aioquic_client: V2, Aioquic, Client;
    runner_v2_aioquic_server: V2, Aioquic, Server;
    #[ignore = "unsupported by quinn: quinn 0.11 speaks QUIC v1 only"]
    runner_v2_quinn_client: V2, Quinn, Client;
    #[ignore = "unsupported by quinn: quinn 0.11 speaks QUIC v1 only"]
    runner_v2_quinn_server: V2, Quinn, Server;
    runner_rebind_port_quicsock_self: RebindPort, Quicsock, Client;
    runner_rebind_port_aioquic_client: RebindPort, Aioquic, Client;
    runner_rebind_port_aioquic_server: RebindPort, Aioquic, Server;
    runner_rebind_port_quinn_client: RebindPort, Quinn, Client;
    runner_rebind_port_quinn_server: RebindPort, Quinn, Server;
    runner_rebind_addr_quicsock_self: RebindAddr, Quicsock, Client;
    runner_rebind_addr_aioquic_client: RebindAddr, Aioquic, Client;
    runner_rebind_addr_aioquic_server: RebindAddr, Aioquic, Server;
    runner_rebind_addr_quinn_client: RebindAddr, Quinn, Client;
    runner_rebind_addr_quinn_server: RebindAddr, Quinn, Server;
    runner_connectionmigration_quicsock_self: ConnectionMigration, Quicsock, Client;
    #[ignore = "unsupported by aioquic: aioquic's server cannot announce a preferred_address"]
    runner_connectionmigration_aioquic_client: ConnectionMigration, Aioquic, Client;
    runner_connectionmigration_aioquic_server: ConnectionMigration, Aioquic, Server;
    runner_connectionmigration_quinn_client: ConnectionMigration, Quinn, Client;
    #[ignore = "unsupported by quinn: quinn 0.11 takes the preferred address's connection ID but never moves there"]
    runner_connectionmigration_quinn_server: ConnectionMigration, Quinn, Server;
}

/// The tests above are the runner's cells, each once, under the runner's names, and the
/// ignored ones are exactly those the runner marks unsupported.
#[test]
fn runner_matrix_names_every_cell() {
    let all = Cell::all();
    assert_eq!(CELLS.len(), all.len());
    for (&(name, case, peer, role), cell) in CELLS.iter().zip(&all) {
        assert_eq!(Cell { case, peer, role }, *cell);
        assert_eq!(name, cell.test_name());
    }
    let source = include_str!("runner.rs");
    for cell in &all {
        let ignored = source.contains(&format!(
            "unsupported by {}: {}\"]\n    {}:",
            cell.peer,
            cell.unsupported().unwrap_or("-"),
            cell.test_name()
        ));
        assert_eq!(
            ignored,
            cell.unsupported().is_some(),
            "{}",
            cell.test_name()
        );
    }
}

/// The checks see what a case asks for, not merely a finished download: the record of a
/// plain handshake fails every check of a case whose mechanism it did not use.
#[test]
fn runner_checks_reject_what_the_connection_did_not_do() {
    let cell = Cell {
        case: Case::Handshake,
        peer: Peer::Quicsock,
        role: Role::Client,
    };
    let c = runner::endpoint::capture(cell, &programs(), Scale::Quick).unwrap();
    let check = |case| runner::check::check(case, &c.files, &c.records, &c.trace, &c.fronts);
    assert!(check(Case::Handshake).is_ok());
    for (case, why) in [
        (Case::Chacha20, "cipher suites"),
        (Case::Retry, "no Retry"),
        (Case::Resumption, "1 handshakes, expected 2"),
        (Case::ZeroRtt, "1 handshakes, expected 2"),
        (Case::KeyUpdate, "no key-phase-1 packet"),
        (Case::AmplificationLimit, "Handshake flight"),
        (Case::Ipv6, "IPv4"),
        (Case::V2, "not v2"),
        (Case::RebindPort, "before the first rebinding"),
        (Case::ConnectionMigration, "preferred address"),
        (Case::Multiplexing, "MAX_STREAMS"),
    ] {
        let got = check(case).expect_err(case.name());
        assert!(got.contains(why), "{case}: {got}");
    }
    // The trace opened every protected packet with the two key logs.
    let protected = c
        .trace
        .packets
        .iter()
        .filter(|p| p.kind != runner::trace::Kind::Retry);
    assert!(protected.clone().count() > 5);
    assert!(
        protected.clone().all(|p| p.opened),
        "{}",
        c.trace.log(&c.records)
    );
}
