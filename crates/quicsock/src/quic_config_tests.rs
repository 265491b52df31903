//! The CONFIG option: Linux's zero-means-unchanged rule and ranges on the configurations,
//! and a connection's settings read back as it runs, over real loopback sockets.

use std::time::Duration;

use quicsock_proto::cong::Algorithm;
use quicsock_proto::packet::Version;

use crate::quic_config::{CIPHER_AES_GCM_128, CIPHER_AES_GCM_256, CIPHER_CHACHA20_POLY1305};
use crate::tests::{client_config, listener};
use crate::{ConfigError, QuicConfig, QuicSocket};

#[test]
fn zero_fields_keep_and_set_fields_apply_within_linux_ranges() {
    let mut c = client_config();
    let before = c.quic_config();
    assert_eq!(before.version, 1);
    assert_eq!(before.congestion_control_algo, 1, "CUBIC by default");
    assert_eq!(before.initial_smoothed_rtt, Duration::from_millis(333));
    // Every suite is offered: no single cipher pinned.
    assert_eq!(before.payload_cipher_type, 0);
    c.set_quic_config(&QuicConfig::default()).unwrap();
    assert_eq!(c.quic_config(), before, "all zero changes nothing");

    let set = QuicConfig {
        version: Version::V2.0,
        plpmtud_probe_interval: Duration::from_secs(30),
        initial_smoothed_rtt: Duration::from_millis(50),
        payload_cipher_type: CIPHER_CHACHA20_POLY1305,
        keepalive_probe_interval: Duration::from_secs(2),
        ..QuicConfig::default()
    };
    c.set_quic_config(&set).unwrap();
    assert_eq!(c.transport.version, Version::V2);
    assert_eq!(
        c.transport.pmtud.as_ref().map(|p| p.interval),
        Some(Duration::from_secs(30))
    );
    assert_eq!(c.transport.initial_rtt, Duration::from_millis(50));
    assert_eq!(c.transport.keep_alive, Some(Duration::from_secs(2)));
    let after = c.quic_config();
    assert_eq!(after.plpmtud_probe_interval, Duration::from_secs(30));
    assert_eq!(after.keepalive_probe_interval, Duration::from_secs(2));

    // A client takes a version quicsock does not speak: it probes with it.
    let mut probing = client_config();
    probing
        .set_quic_config(&QuicConfig {
            version: 123,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(probing.transport.version, Version(123));

    let refused = [
        (
            QuicConfig {
                plpmtud_probe_interval: Duration::from_secs(4),
                ..Default::default()
            },
            ConfigError::ProbeInterval(Duration::from_secs(4)),
        ),
        (
            QuicConfig {
                initial_smoothed_rtt: Duration::from_secs(7),
                ..Default::default()
            },
            ConfigError::InitialRtt(Duration::from_secs(7)),
        ),
        (
            QuicConfig {
                keepalive_probe_interval: Duration::from_secs(1),
                ..Default::default()
            },
            ConfigError::KeepAlive(Duration::from_secs(1)),
        ),
        (
            QuicConfig {
                congestion_control_algo: 2,
                ..Default::default()
            },
            ConfigError::Congestion(2),
        ),
        (
            QuicConfig {
                payload_cipher_type: 53,
                ..Default::default()
            },
            ConfigError::Cipher(53),
        ),
        (
            QuicConfig {
                validate_peer_address: true,
                ..Default::default()
            },
            ConfigError::WrongSide("validate_peer_address"),
        ),
        (
            QuicConfig {
                stream_data_nodelay: true,
                ..Default::default()
            },
            ConfigError::SocketLevel("stream_data_nodelay"),
        ),
    ];
    for (bad, err) in refused {
        let mut c = client_config();
        let before = c.transport.clone();
        assert_eq!(c.set_quic_config(&bad), Err(err));
        assert_eq!(
            format!("{:?}", c.transport),
            format!("{before:?}"),
            "unchanged on error"
        );
    }

    // A ChaCha20-only provider pins the cipher; AES is not offered then.
    let mut only = client_config();
    only.tls = crate::tls::insecure_client_config_with(crate::tls::chacha20_only(), &[b"test"]);
    assert_eq!(
        only.quic_config().payload_cipher_type,
        CIPHER_CHACHA20_POLY1305
    );
    assert_eq!(
        only.set_quic_config(&QuicConfig {
            payload_cipher_type: CIPHER_AES_GCM_128,
            ..Default::default()
        }),
        Err(ConfigError::Cipher(CIPHER_AES_GCM_128))
    );
}

#[test]
fn servers_take_validate_peer_address_and_refuse_client_fields() {
    let mut s = crate::tests::server_config();
    assert!(!s.quic_config().validate_peer_address);
    s.set_quic_config(&QuicConfig {
        validate_peer_address: true,
        congestion_control_algo: 1,
        ..Default::default()
    })
    .unwrap();
    assert!(s.validate_address);
    assert!(s.quic_config().validate_peer_address);
    assert_eq!(
        s.set_quic_config(&QuicConfig {
            receive_session_ticket: 3,
            ..Default::default()
        }),
        Err(ConfigError::WrongSide("receive_session_ticket"))
    );
    assert_eq!(
        s.set_quic_config(&QuicConfig {
            certificate_request: 2,
            ..Default::default()
        }),
        Err(ConfigError::CertificateRequest(2))
    );
    // A server speaks the versions it prefers.
    assert_eq!(
        s.set_quic_config(&QuicConfig {
            version: 123,
            ..Default::default()
        }),
        Err(ConfigError::Version(123))
    );
}

/// A connection reads back what it runs with: the version it negotiated, the cipher, the
/// controller; the socket's own fields set after connect, the others refused then.
#[test]
fn a_connection_reports_its_config_and_takes_only_socket_fields() {
    let (l, addr) = listener();
    let server = std::thread::spawn(move || l.accept().unwrap());
    let mut c = client_config();
    c.transport.congestion = Algorithm::NewReno;
    c.transport.version = Version::V1;
    c.transport.prefer_versions(&[Version::V2, Version::V1]);
    let sock = QuicSocket::connect(addr, &c).unwrap();
    let _accepted = server.join().unwrap();
    let got = sock.quic_config();
    assert_eq!(
        got.version,
        Version::V2.0,
        "switched to v2 by the server (RFC 9368)"
    );
    assert_eq!(got.congestion_control_algo, 0);
    assert_eq!(
        got.payload_cipher_type, CIPHER_AES_GCM_256,
        "aws-lc-rs's first choice"
    );
    assert!(!got.stream_data_nodelay);
    assert_eq!(got.receive_session_ticket, 2);

    sock.set_quic_config(&QuicConfig {
        stream_data_nodelay: true,
        receive_session_ticket: 1,
        ..Default::default()
    })
    .unwrap();
    let got = sock.quic_config();
    assert!(got.stream_data_nodelay);
    assert_eq!(got.receive_session_ticket, 1);
    assert_eq!(
        sock.set_quic_config(&QuicConfig {
            initial_smoothed_rtt: Duration::from_millis(10),
            ..Default::default()
        }),
        Err(ConfigError::ConnectionLevel("initial_smoothed_rtt"))
    );
    // The test listener sends a ticket after the handshake.
    let ticket = sock.wait_session_ticket().unwrap();
    assert_eq!(ticket[0], 4, "a NewSessionTicket message (RFC 8446 §4.6.1)");
}
