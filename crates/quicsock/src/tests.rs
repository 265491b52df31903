//! The socket API over real UDP on loopback, with real TLS.

use std::sync::Arc;
use std::time::Duration;

use crate::{tls, ClientConfig, Error, Flags, QuicListener, QuicSocket, ServerConfig};

pub(crate) fn server_config() -> ServerConfig {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let chain = vec![key.cert.der().clone()];
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    ServerConfig::new(tls::server_config(chain, der.into(), &[b"test"]).unwrap())
}

pub(crate) fn client_config() -> ClientConfig {
    ClientConfig::new(tls::insecure_client_config(&[b"test"]), "localhost")
}

pub(crate) fn listener() -> (QuicListener, std::net::SocketAddr) {
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &server_config()).unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[test]
fn connect_accept_echo_and_close() {
    let (l, addr) = listener();
    let server = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        assert_eq!(s.alpn().as_deref(), Some(&b"test"[..]));
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        loop {
            let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            assert_eq!(id, 0);
            got.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        // Each byte was kept as a slice of the engine's receive buffer or copied into the
        // stream's ring, then copied once to the application.
        let copies = s.stats().copies;
        let len = got.len() as u64;
        assert_eq!(
            copies.shared_from_packets + copies.into_receive_buffer,
            len,
            "{copies:?}"
        );
        assert_eq!(copies.to_application, len);
        assert!(copies.shared_from_packets > 0, "{copies:?}");
        // The client's datagrams arrived marked ECT(0) through the UDP path (RFC 9000
        // §13.4), and the server's ACK_ECN counts validated them.
        let stats = s.stats();
        assert!(stats.ecn_received[0] > 100, "{stats:?}");
        assert_eq!(stats.ecn_received[2], 0, "no CE on loopback");
        // The client's stream is the active one: a plain send answers on it.
        s.send(&got, -1, Flags::STREAM_FIN).unwrap();
        s.close().unwrap();
    });
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(c.send(&data, -1, Flags::STREAM_FIN).unwrap(), data.len());
    let mut back = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, id, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
        assert_eq!(id, 0);
        back.extend_from_slice(&buf[..n]);
        if flags.contains(Flags::STREAM_FIN) {
            break;
        }
    }
    assert!(back == data);
    server.join().unwrap();
    let stats = c.stats();
    assert_eq!(stats.ecn, quicsock_proto::conn::EcnState::Capable);
    // DPLPMTUD took the client from 1200 bytes to the search's default bound: loopback
    // carries more (RFC 8899).
    assert_eq!(stats.pmtu, quicsock_proto::conn::PmtuState::Complete);
    assert_eq!(stats.max_datagram_size, 8952, "{stats:?}");
    // The server closed with code 0 after its data was acknowledged.
    c.set_read_timeout(Some(Duration::from_secs(5)));
    match c.recv(&mut buf, Flags::NONE) {
        Err(Error::Closed(_)) => {}
        other => panic!("{other:?}"),
    }
}

/// With the search's bound above what loopback carries, DPLPMTUD stops at the interface's
/// limit, which the engine asked the kernel for (the route's MTU of 65536 less the IPv4
/// and UDP headers): one round of probes, none lost, and the transfer uses that size.
#[test]
fn dplpmtud_reaches_the_interface_limit_on_loopback() {
    let wide = |c: &mut quicsock_proto::conn::ConnectionConfig| {
        c.pmtud = Some(quicsock_proto::conn::PmtuConfig {
            max: 65_527,
            ..Default::default()
        });
    };
    let mut sc = server_config();
    wide(&mut sc.transport);
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &sc).unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0;
        loop {
            let (n, _, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            got += n;
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        s.send(b"done", -1, Flags::STREAM_FIN).unwrap();
        got
    });
    let mut cc = client_config();
    wide(&mut cc.transport);
    let c = QuicSocket::connect(addr, &cc).unwrap();
    let data = vec![7u8; 8 << 20];
    c.send(&data, -1, Flags::STREAM_FIN).unwrap();
    let mut buf = [0u8; 16];
    while !c
        .recv(&mut buf, Flags::NONE)
        .unwrap()
        .2
        .contains(Flags::STREAM_FIN)
    {}
    assert_eq!(server.join().unwrap(), data.len());
    let stats = c.stats();
    println!("{stats:?}");
    assert_eq!(stats.max_datagram_size, 65_507, "{stats:?}");
    assert_eq!(stats.pmtu, quicsock_proto::conn::PmtuState::Complete);
    assert_eq!(stats.pmtu_probes[2], 0, "no probe was lost: {stats:?}");
}

/// The records of a JSON-SEQ qlog file.
fn qlog_records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read(path)
        .unwrap_or_default()
        .split(|b| *b == quicsock_proto::qlog::RECORD_SEPARATOR)
        .filter(|r| !r.is_empty())
        .map(|r| serde_json::from_slice(r).expect("a JSON record"))
        .collect()
}

/// qlog over real sockets: a client and a listener configured with a directory each
/// write `<odcid>_<side>.sqlog` there, valid JSON-SEQ whose packet events cover the
/// transfer (written out when the connections close).
#[test]
fn qlog_files_trace_both_sides() {
    let dir = std::env::temp_dir().join(format!("quicsock-qlog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut sc = server_config();
    sc.qlog_dir = Some(dir.clone());
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &sc).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut got = 0;
        loop {
            let (n, _, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            got += n;
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        s.send(b"ok", 0, Flags::STREAM_FIN).unwrap();
        let stats = s.stats();
        s.close().unwrap();
        (got, stats)
    });
    let mut cc = client_config();
    cc.qlog_dir = Some(dir.clone());
    let c = QuicSocket::connect(addr, &cc).unwrap();
    let odcid: String = c
        .lock()
        .conn
        .original_dcid()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let data = vec![1u8; 1 << 20];
    c.send(&data, -1, Flags::STREAM_FIN).unwrap();
    let (got, server_stats) = t.join().unwrap();
    let client_stats = c.stats();
    assert_eq!(got, data.len());
    drop(c);
    for (side, stats) in [("client", client_stats), ("server", server_stats)] {
        let path = dir.join(format!("{odcid}_{side}.sqlog"));
        let count = |records: &[serde_json::Value], name: &str| {
            records.iter().filter(|r| r["name"] == name).count() as u64
        };
        // Written out when the connection closes, connection_closed last.
        wait_for(&format!("the {side}'s qlog"), || {
            std::fs::read(&path).is_ok_and(|b| {
                let tail = &b[b.len().saturating_sub(512)..];
                tail.windows(17).any(|w| w == b"connection_closed")
            })
        });
        let r = qlog_records(&path);
        assert!(count(&r, "transport:packet_sent") >= stats.packets_sent);
        // A server's trace starts once the first datagram proved a ClientHello (junk
        // Initials make no files): its packets, at most two Initials, precede it.
        let before_trace = if side == "server" { 2 } else { 0 };
        assert!(count(&r, "transport:packet_received") + before_trace >= stats.packets_received);
        assert_eq!(count(&r, "connectivity:connection_closed"), 1);
        assert_eq!(r[0]["qlog_format"], "JSON-SEQ");
        assert_eq!(r[0]["trace"]["vantage_point"]["type"], side);
        assert_eq!(count(&r, "transport:parameters_set"), 2);
        assert!(count(&r, "recovery:metrics_updated") > 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits until `cond` holds, checking every millisecond, 10,000 times at most.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("waited 10,000 times for {what}");
}

/// `queue_bytes` (Linux QUIC's SIOCINQ, SIOCOUTQ, SIOCOUTQNSD) over real sockets: what the
/// server holds unread, and the client's unacknowledged bytes going to zero.
#[test]
fn queue_bytes_report_unread_and_unacknowledged_data() {
    let (l, addr) = listener();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    let data = vec![9u8; 200_000];
    assert_eq!(c.send(&data, -1, Flags::NONE).unwrap(), data.len());
    wait_for("the server to hold the data", || {
        s.queue_bytes().receive == 200_000
    });
    wait_for("the client's data to be acknowledged", || {
        c.queue_bytes() == quicsock_proto::stream::QueueBytes::default()
    });
    let mut buf = vec![0u8; 300_000];
    let mut got = 0;
    while got < data.len() {
        got += s.recv(&mut buf, Flags::NONE).unwrap().0;
    }
    assert_eq!(s.queue_bytes().receive, 0);
}

#[test]
fn nonblocking_recv_and_send_flag_errors() {
    let (l, addr) = listener();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(
        c.recv(&mut buf, Flags::DONTWAIT),
        Err(Error::WouldBlock)
    ));
    assert!(matches!(
        c.send(b"", -1, Flags::NONE),
        Err(Error::MessageSize(0))
    ));
    assert!(matches!(
        c.send(b"x", -1, Flags(0x4)),
        Err(Error::InvalidArgument(_))
    ));
    // Not open without STREAM_NEW; a server-initiated id cannot be opened by a client.
    assert!(matches!(
        c.send(b"x", 4, Flags::NONE),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.send(b"x", 1, Flags::STREAM_NEW),
        Err(Error::InvalidArgument(_))
    ));
    // STREAM_NEW on id 8 opens 0, 4 and 8.
    c.send(b"eight", 8, Flags::STREAM_NEW | Flags::STREAM_FIN)
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5)));
    let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(
        (&buf[..n], id, flags),
        (&b"eight"[..], 8, Flags::STREAM_FIN)
    );
    // Datagrams were not enabled by the peer.
    assert!(matches!(
        c.send(b"d", -1, Flags::DATAGRAM),
        Err(Error::Unsupported(_))
    ));
    drop(Arc::new(s));
}

#[test]
fn a_refused_handshake_is_a_typed_error() {
    let (_l, addr) = listener();
    let mut cfg = client_config();
    cfg.tls = tls::insecure_client_config(&[b"other"]);
    match QuicSocket::connect(addr, &cfg) {
        Err(Error::Handshake(e)) => {
            assert!(e.to_string().contains("alert 120"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Nothing listens here: the handshake times out.
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut cfg = client_config();
    cfg.handshake_timeout = Duration::from_millis(300);
    match QuicSocket::connect(quiet.local_addr().unwrap(), &cfg) {
        Err(e @ Error::Handshake(_)) => assert_eq!(e.errno(), 110),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stream_handles_read_and_write_one_stream() {
    use std::io::{Read, Write};
    let (l, addr) = listener();
    let server = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let mut got = Vec::new();
        s.stream(0).read_to_end(&mut got).unwrap();
        let mut h = s.stream(0);
        h.write_all(&(got.len() as u64).to_le_bytes()).unwrap();
        h.finish().unwrap();
        s.close().unwrap();
        got
    });
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let id = c.open_stream(Flags::NONE).unwrap();
    assert_eq!(id, 0);
    let mut h = c.stream(id);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(65536) {
        h.write_all(chunk).unwrap();
    }
    h.finish().unwrap();
    let mut count = Vec::new();
    h.read_to_end(&mut count).unwrap();
    assert_eq!(count, (data.len() as u64).to_le_bytes());
    assert!(server.join().unwrap() == data);
}

/// Polls `fd` until `want` holds for (readable, writable), at most two seconds.
#[allow(clippy::disallowed_methods)]
fn poll_until(fd: &impl std::os::fd::AsFd, want: impl Fn((bool, bool)) -> bool) -> (bool, bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let got = quicsock_udp::poll_fd(fd, Duration::from_millis(10)).unwrap();
        if want(got) || std::time::Instant::now() > deadline {
            return got;
        }
    }
}

#[test]
fn pollable_descriptors_follow_accept_recv_and_send() {
    let mut config = server_config();
    config.transport.transport.initial_max_data = quicsock_proto::VarInt::from_u32(64 * 1024);
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let lfd = l.pollable().unwrap();
    assert_eq!(
        quicsock_udp::poll_fd(&lfd, Duration::ZERO).unwrap(),
        (false, false)
    );
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    assert_eq!(
        poll_until(&lfd, |r| r.0),
        (true, false),
        "a handshake completed: accept would not block"
    );
    let s = l.accept().unwrap();
    assert_eq!(
        quicsock_udp::poll_fd(&l, Duration::ZERO).unwrap(),
        (false, false)
    );

    // Nothing to read yet; room to write.
    assert_eq!(poll_until(&c, |r| r == (false, true)), (false, true));
    assert_eq!(poll_until(&s, |r| r == (false, true)), (false, true));
    c.send(b"ping", -1, Flags::NONE).unwrap();
    assert!(
        poll_until(&s, |r| r.0).0,
        "data arrived: recv would not block"
    );
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(&mut buf, Flags::NONE).unwrap().0, 4);
    assert!(
        !quicsock_udp::poll_fd(&s, Duration::ZERO).unwrap().0,
        "read everything"
    );

    // Writable needs connection flow-control credit (reference §1.1): the server allows
    // 64 KiB and does not read, so once they are sent the client is not writable.
    let chunk = vec![7u8; 100_000];
    c.send(&chunk, 0, Flags::NONE).unwrap();
    assert!(!poll_until(&c, |r| !r.1).1, "no credit left: not writable");
    // The server reads; its MAX_DATA brings credit back.
    let mut got = 0;
    let mut big = vec![0u8; 65536];
    while got < chunk.len() {
        got += s.recv(&mut big, Flags::NONE).unwrap().0;
    }
    assert!(poll_until(&c, |r| r.1).1, "credit again: writable");

    // Closed: both report ready, and the calls return the error at once.
    c.abort(5, b"done");
    assert_eq!(poll_until(&s, |r| r == (true, true)), (true, true));
    assert!(matches!(
        s.recv(&mut buf, Flags::NONE),
        Err(Error::Closed(_))
    ));
}

/// A connected pair with `listener_events` enabled on the listener before the connection.
fn pair_with_events(listener_events: &[crate::EventType]) -> (QuicSocket, QuicSocket) {
    let (l, addr) = listener();
    for ty in listener_events {
        l.set_event(*ty, true);
    }
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5)));
    s.set_read_timeout(Some(Duration::from_secs(5)));
    (c, s)
}

fn next_event(s: &QuicSocket) -> crate::QuicEvent {
    let mut buf = [0u8; 256];
    let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(
        (id, flags),
        (-1, Flags::NOTIFICATION | Flags::EOR),
        "an event comes first"
    );
    crate::QuicEvent::from_bytes(&buf[..n]).expect("a known event")
}

/// Active migration over real sockets (Linux QUIC's CONNECTION_MIGRATION, RFC 9000 §9.2):
/// the client, on a wildcard-bound socket, moves from 127.0.0.1 to 127.0.0.2; the server
/// follows it, and both report the migration (the client with `local = 1`). Data flows
/// before and after.
#[test]
fn a_client_migrates_to_another_local_address() {
    use crate::{EventType, QuicEvent};
    let (c, s) = pair_with_events(&[EventType::ConnectionMigration]);
    c.set_event(EventType::ConnectionMigration, true);
    let mut buf = [0u8; 64];
    c.send(b"before", -1, Flags::NONE).unwrap();
    assert_eq!(s.recv(&mut buf, Flags::NONE).unwrap().0, 6);
    let old = s.peer_addr().unwrap();
    assert_eq!(old.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
    // The server's handshake is confirmed before the client's: wait for its IDs to spare.
    wait_for("the server's spare connection IDs", || {
        c.lock().conn.is_handshake_confirmed() && c.lock().conn.spare_connection_ids() > 0
    });
    // A socket bound to one address cannot send from another.
    assert!(matches!(
        s.migrate(std::net::IpAddr::from([127, 0, 0, 3])),
        Err(Error::InvalidArgument(_))
    ));
    c.migrate(std::net::IpAddr::from([127, 0, 0, 2])).unwrap();
    c.send(b"after", 0, Flags::NONE).unwrap();
    // The data may be read before the server's validation of the new path completes.
    let (mut event, mut data) = (false, false);
    while !(event && data) {
        let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
        if flags.contains(Flags::NOTIFICATION) {
            assert_eq!(
                QuicEvent::from_bytes(&buf[..n]),
                Some(QuicEvent::ConnectionMigration { local: 0 })
            );
            event = true;
        } else {
            assert_eq!((n, id), (5, 0));
            data = true;
        }
    }
    let new = s.peer_addr().unwrap();
    assert_eq!(
        new,
        std::net::SocketAddr::new([127, 0, 0, 2].into(), old.port())
    );
    s.send(b"reply", 0, Flags::NONE).unwrap();
    assert_eq!(next_event(&c), QuicEvent::ConnectionMigration { local: 1 });
    let (n, _, _) = c.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(&buf[..n], b"reply");
}

/// The server's preferred address (RFC 9000 §9.6): a listener on the wildcard address
/// announces 127.0.0.2 on its port; a client that reached it at 127.0.0.1 validates the
/// preferred address once its handshake is confirmed and moves there (the
/// CONNECTION_MIGRATION event, `local = 0`: the peer's address changed). A client told not
/// to follow stays.
#[test]
fn clients_move_to_the_servers_preferred_address() {
    use crate::{EventType, QuicEvent};
    for follow in [true, false] {
        let port = std::net::UdpSocket::bind("0.0.0.0:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let preferred = std::net::SocketAddrV4::new([127, 0, 0, 2].into(), port);
        let mut sc = server_config();
        sc.transport.preferred_address = Some(quicsock_proto::conn::PreferredAddresses {
            ipv4: Some(preferred),
            ipv6: None,
        });
        let l = QuicListener::bind(std::net::SocketAddr::from(([0, 0, 0, 0], port)), &sc).unwrap();
        let t = std::thread::spawn(move || {
            let s = l.accept().unwrap();
            let mut buf = [0u8; 16];
            let (n, id, _) = s.recv(&mut buf, Flags::NONE).unwrap();
            s.send(&buf[..n], id, Flags::STREAM_FIN).unwrap();
            s
        });
        let mut cc = client_config();
        cc.transport.follow_preferred_address = follow;
        let c =
            QuicSocket::connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)), &cc).unwrap();
        c.set_event(EventType::ConnectionMigration, true);
        c.set_read_timeout(Some(Duration::from_secs(5)));
        let moved = std::net::SocketAddr::V4(preferred);
        if follow {
            wait_for("the move to the preferred address", || {
                c.peer_addr().unwrap() == moved
            });
        }
        c.send(b"ping", -1, Flags::NONE).unwrap();
        let mut buf = [0u8; 64];
        if follow {
            assert_eq!(next_event(&c), QuicEvent::ConnectionMigration { local: 0 });
        }
        let (n, _, _) = c.recv(&mut buf, Flags::NONE).unwrap();
        assert_eq!(&buf[..n], b"ping");
        let expected = if follow {
            moved
        } else {
            std::net::SocketAddr::from(([127, 0, 0, 1], port))
        };
        assert_eq!(c.peer_addr().unwrap(), expected);
        let s = t.join().unwrap();
        // The server answers from the address the client uses.
        assert_eq!(s.local_addr().unwrap().ip(), expected.ip());
    }
}

/// Linux QUIC's CONNECTION_ID option over real sockets: the client asks the server to
/// retire the client's IDs below 2; the server moves to a newer one and reports the
/// retirement (CONNECTION_ID event, destination side); the client switches its own
/// destination ID and the calls outside the rules fail with EINVAL.
#[test]
fn connection_id_option_switches_and_retires() {
    use crate::{EventType, QuicEvent};
    let (c, s) = pair_with_events(&[EventType::ConnectionId]);
    let mut buf = [0u8; 16];
    c.send(b"hi", -1, Flags::NONE).unwrap();
    assert_eq!(s.recv(&mut buf, Flags::NONE).unwrap().0, 2);
    wait_for("the server's spare IDs", || {
        c.connection_id(true) == (0, 0) && c.lock().conn.spare_connection_ids() >= 2
    });
    assert_eq!(
        c.set_connection_id(true, Some(0), None)
            .map_err(|e| e.errno()),
        Err(22)
    );
    assert_eq!(
        c.set_connection_id(false, Some(1), None)
            .map_err(|e| e.errno()),
        Err(22)
    );
    c.set_connection_id(true, Some(2), None).unwrap();
    assert_eq!(c.connection_id(true).0, 2);
    c.set_connection_id(false, None, Some(2)).unwrap();
    c.send(b"again", 0, Flags::NONE).unwrap();
    // The server's own ID 0 was retired by the client's switch; then it retired the
    // client's IDs below 2 as asked.
    assert_eq!(
        next_event(&s),
        QuicEvent::ConnectionId {
            dest: false,
            active: 2,
            prior_to: 1
        }
    );
    match next_event(&s) {
        QuicEvent::ConnectionId {
            dest,
            active,
            prior_to,
        } => {
            assert!(
                dest && active >= 2 && prior_to == 2,
                "{dest} {active} {prior_to}"
            );
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(s.recv(&mut buf, Flags::NONE).unwrap().0, 5);
}

#[test]
fn events_come_before_data_in_linux_layout() {
    use crate::events::stream_state;
    use crate::{EventType, QuicEvent};
    let (c, s) = pair_with_events(&[EventType::StreamUpdate, EventType::ConnectionClose]);
    assert!(
        s.event_enabled(EventType::StreamUpdate),
        "inherited from the listener"
    );
    assert!(!c.event_enabled(EventType::StreamUpdate), "off by default");
    c.send(b"x", -1, Flags::STREAM_FIN).unwrap();
    // A short buffer reads an event in pieces; the last piece carries EOR.
    let mut piece = [0u8; 10];
    let (n, id, flags) = s.recv(&mut piece, Flags::NONE).unwrap();
    assert_eq!((n, id, flags), (10, -1, Flags::NOTIFICATION));
    let mut whole = piece.to_vec();
    let (n, _, flags) = s.recv(&mut piece, Flags::NONE).unwrap();
    assert_eq!(flags, Flags::NOTIFICATION);
    whole.extend_from_slice(&piece[..n]);
    let (n, _, flags) = s.recv(&mut piece, Flags::NONE).unwrap();
    assert_eq!(flags, Flags::NOTIFICATION | Flags::EOR);
    whole.extend_from_slice(&piece[..n]);
    assert_eq!(
        QuicEvent::from_bytes(&whole).unwrap(),
        QuicEvent::StreamUpdate {
            id: 0,
            state: stream_state::RECV_RECV,
            errcode: 0,
            final_size: 0
        }
    );
    // The FIN came with the data: every byte is in, with the final size.
    assert_eq!(
        next_event(&s),
        QuicEvent::StreamUpdate {
            id: 0,
            state: stream_state::RECV_RECVD,
            errcode: 0,
            final_size: 1
        }
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        s.recv(&mut buf, Flags::NONE).unwrap(),
        (1, 0, Flags::STREAM_FIN)
    );
    // The server resets its side of stream 0; the client, with the event on, hears it.
    c.set_event(EventType::StreamUpdate, true);
    s.send(b"abc", 0, Flags::NONE).unwrap();
    s.reset_stream(0, 77).unwrap();
    // Refused while the reset is in flight; once it is acknowledged the stream is gone.
    assert!(matches!(
        s.send(b"more", 0, Flags::NONE),
        Err(Error::InvalidArgument(_) | Error::StreamClosed(0))
    ));
    let mut buf = [0u8; 256];
    let ev = loop {
        match c.recv(&mut buf, Flags::NONE) {
            Ok((n, -1, f)) if f.contains(Flags::NOTIFICATION) => {
                let ev = QuicEvent::from_bytes(&buf[..n]).unwrap();
                // SEND_RECVD for the client's own stream may come first.
                if matches!(ev, QuicEvent::StreamUpdate { state, .. } if state == stream_state::RECV_RESET_RECVD)
                {
                    break ev;
                }
            }
            // The data sent before the reset may or may not arrive first.
            Ok(_) | Err(Error::StreamReset(0, 77)) => continue,
            Err(e) => panic!("{e}"),
        }
    };
    assert!(
        matches!(
            ev,
            QuicEvent::StreamUpdate {
                id: 0,
                state: stream_state::RECV_RESET_RECVD,
                errcode: 77,
                // The data's size if it left before the reset, else nothing of it.
                final_size: 0 | 3,
            }
        ),
        "{ev:?}"
    );
    // The server hears that its reset was acknowledged.
    assert_eq!(
        next_event(&s),
        QuicEvent::StreamUpdate {
            id: 0,
            state: stream_state::SEND_RESET_RECVD,
            errcode: 0,
            final_size: 0
        }
    );
    // The client closes with a code and phrase: the server's event carries them.
    c.set_close_info(9, b"bye").unwrap();
    c.close().unwrap();
    assert_eq!(
        next_event(&s),
        QuicEvent::ConnectionClose {
            errcode: 9,
            frame: 0,
            phrase: b"bye".to_vec()
        }
    );
    assert!(matches!(
        s.recv(&mut buf, Flags::NONE),
        Err(Error::Closed(_))
    ));
}

#[test]
fn options_follow_their_state_rules() {
    use crate::{EventType, QuicEvent};
    let (c, s) = pair_with_events(&[]);
    // Stream options need a stream that exists and a state that allows them.
    assert!(matches!(c.reset_stream(8, 1), Err(Error::StreamClosed(8))));
    assert!(matches!(
        c.stop_sending(-5, 1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.reset_stream(0, 1 << 62),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.set_close_info(1, &[b'x'; 65]),
        Err(Error::InvalidArgument(_))
    ));
    // STOP_SENDING from the server: the client's next send on the stream fails with it.
    c.send(b"hello", -1, Flags::NONE).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(&mut buf, Flags::NONE).unwrap().0, 5);
    s.stop_sending(0, 33).unwrap();
    let mut stopped = false;
    for _ in 0..200 {
        match c.send(b"more", 0, Flags::NONE) {
            Err(Error::StreamStopped(0, 33)) => {
                stopped = true;
                break;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(stopped, "STOP_SENDING reached the client");
    // The client answered with RESET_STREAM carrying the same code (RFC 9000 §3.5).
    loop {
        match s.recv(&mut buf, Flags::NONE) {
            Ok(_) => continue,
            Err(Error::StreamReset(0, 33)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // Transport parameters: ours and the peer's.
    let mine = c.transport_params(false).unwrap();
    let peer = c.transport_params(true).unwrap();
    assert_eq!(
        peer.initial_max_data,
        s.transport_params(false).unwrap().initial_max_data
    );
    assert_eq!(
        mine.initial_source_connection_id,
        s.transport_params(true)
            .unwrap()
            .initial_source_connection_id
    );
    // A key update: the peer's event; a second one at once is refused.
    s.set_event(EventType::KeyUpdate, true);
    let mut updated = false;
    for _ in 0..200 {
        match c.update_key() {
            Ok(()) => {
                updated = true;
                break;
            }
            // The client's handshake is confirmed when HANDSHAKE_DONE arrives.
            Err(Error::InvalidArgument(_)) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(updated);
    assert!(
        matches!(c.update_key(), Err(Error::InvalidArgument(_))),
        "one update at a time"
    );
    c.send(b"in the new phase", -1, Flags::STREAM_NEW).ok();
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(b"new keys", id, Flags::STREAM_FIN).unwrap();
    assert_eq!(next_event(&s), QuicEvent::KeyUpdate { phase: 1 });
    // After close, sends fail with the reason.
    c.abort(3, b"done");
    assert!(matches!(
        c.send(b"x", id, Flags::NONE),
        Err(Error::Closed(_))
    ));
    assert!(matches!(c.reset_stream(id, 1), Err(Error::Closed(_))));
}

fn server_config_alpn(alpn: &[&[u8]]) -> ServerConfig {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    ServerConfig::new(tls::server_config(vec![key.cert.der().clone()], der.into(), alpn).unwrap())
}

fn connect_offering(addr: std::net::SocketAddr, alpn: &[&[u8]]) -> crate::Result<QuicSocket> {
    let mut config = ClientConfig::new(tls::insecure_client_config(alpn), "localhost");
    config.handshake_timeout = Duration::from_secs(5);
    QuicSocket::connect(addr, &config)
}

#[test]
fn listeners_share_a_port_and_split_connections_by_alpn() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let smb = QuicListener::bind(addr, &server_config_alpn(&[b"smb"])).unwrap();
    let web = QuicListener::bind(addr, &server_config_alpn(&[b"h3", b"hq-interop"])).unwrap();
    assert_eq!(
        smb.local_addr().unwrap(),
        web.local_addr().unwrap(),
        "one UDP socket"
    );
    match QuicListener::bind(addr, &server_config_alpn(&[b"hq-interop"])) {
        Err(Error::InvalidArgument(_)) => {}
        other => panic!("an overlapping ALPN list must be refused: {other:?}"),
    }
    // The first protocol the client offers that a listener serves decides.
    let c = connect_offering(addr, &[b"nfs", b"hq-interop", b"smb"]).unwrap();
    let s = web.accept_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(s.alpn().as_deref(), Some(&b"hq-interop"[..]));
    let c2 = connect_offering(addr, &[b"smb"]).unwrap();
    let s2 = smb.accept_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(s2.alpn().as_deref(), Some(&b"smb"[..]));
    smb.set_nonblocking(true);
    web.set_nonblocking(true);
    assert!(matches!(smb.accept(), Err(Error::WouldBlock)));
    assert!(matches!(web.accept(), Err(Error::WouldBlock)));
    // Both connections work.
    for (c, s) in [(&c, &s), (&c2, &s2)] {
        c.send(b"hi", -1, Flags::STREAM_FIN).unwrap();
        let mut buf = [0u8; 8];
        s.set_read_timeout(Some(Duration::from_secs(5)));
        assert_eq!(
            s.recv(&mut buf, Flags::NONE).unwrap(),
            (2, 0, Flags::STREAM_FIN)
        );
    }
    // No listener serves "nfs": refused with no_application_protocol.
    match connect_offering(addr, &[b"nfs"]) {
        Err(Error::Handshake(e)) => assert!(e.to_string().contains("alert 120"), "{e}"),
        other => panic!("{other:?}"),
    }
    // Once the smb listener is gone its protocol is refused; the other still serves.
    drop(smb);
    assert!(matches!(
        connect_offering(addr, &[b"smb"]),
        Err(Error::Handshake(_))
    ));
    let _c3 = connect_offering(addr, &[b"h3"]).unwrap();
    web.set_nonblocking(false);
    assert!(web.accept_timeout(Some(Duration::from_secs(5))).is_ok());
}

#[cfg(feature = "tokio")]
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_connect_accept_and_async_streams() {
    use crate::tokio_io::{AsyncQuicListener, AsyncQuicSocket};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio_runtime();
    rt.block_on(async {
        let l = AsyncQuicListener::bind("127.0.0.1:0".parse().unwrap(), &server_config()).unwrap();
        let addr = l.get_ref().local_addr().unwrap();
        let server = tokio::spawn(async move {
            let s = l.accept().await.unwrap();
            let mut stream = s.stream(0);
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await.unwrap();
            stream
                .write_all(&(got.len() as u64).to_le_bytes())
                .await
                .unwrap();
            stream.shutdown().await.unwrap();
            // Keep the connection until the client has the answer.
            let mut buf = [0u8; 8];
            let _ = s.recv(&mut buf).await;
            got
        });
        let c = AsyncQuicSocket::connect(addr, client_config())
            .await
            .unwrap();
        let id = c.open_stream(Flags::NONE).await.unwrap();
        let mut stream = c.stream(id);
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 249) as u8).collect();
        stream.write_all(&data).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut count = Vec::new();
        stream.read_to_end(&mut count).await.unwrap();
        assert_eq!(count, (data.len() as u64).to_le_bytes());
        c.get_ref().abort(0, b"");
        assert!(server.await.unwrap() == data);
    });
}

/// Linux QUIC's selftest handshake over real UDP: fixed secrets, no TLS library, through
/// the same handshake boundary.
#[test]
fn fixed_secret_driver_over_real_sockets() {
    use quicsock_proto::conn::FixedSecretDriver;
    use quicsock_proto::crypto::CipherSuite;
    use quicsock_proto::Side;
    for suite in [
        CipherSuite::Aes128GcmSha256,
        CipherSuite::Aes256GcmSha384,
        CipherSuite::ChaCha20Poly1305Sha256,
    ] {
        let mut config = server_config();
        config.driver = Some(std::sync::Arc::new(move || {
            Box::new(FixedSecretDriver::new(Side::Server, suite))
        }));
        let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || l.accept().unwrap());
        let c = QuicSocket::connect_with_driver(
            addr,
            &client_config(),
            Box::new(FixedSecretDriver::new(Side::Client, suite)),
        )
        .unwrap();
        let s = t.join().unwrap();
        assert_eq!(c.cipher_suite(), Some(suite));
        c.send(b"fixed secrets", -1, Flags::STREAM_FIN).unwrap();
        let mut buf = [0u8; 32];
        s.set_read_timeout(Some(Duration::from_secs(5)));
        assert_eq!(
            s.recv(&mut buf, Flags::NONE).unwrap(),
            (13, 0, Flags::STREAM_FIN)
        );
        assert_eq!(&buf[..13], b"fixed secrets");
    }
}

/// libquic's model: the socket exists before its handshake, and TLS runs over the
/// socket's handshake calls (CRYPTO_SECRET, TRANSPORT_PARAM_EXT and handshake messages).
#[test]
fn handshakes_driven_through_socket_calls() {
    use crate::{client_handshake, server_handshake};
    // A client that drives rustls itself, against an ordinary listener.
    let (l, addr) = listener();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect_without_handshake(addr, &client_config()).unwrap();
    assert!(!c.is_established());
    assert!(!c.transport_param_ext().unwrap().is_empty());
    client_handshake(
        &c,
        tls::insecure_client_config(&[b"test"]),
        "localhost",
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(c.is_established());
    let s = t.join().unwrap();
    c.send(b"over a hand-driven handshake", -1, Flags::STREAM_FIN)
        .unwrap();
    let mut buf = [0u8; 64];
    s.set_read_timeout(Some(Duration::from_secs(5)));
    assert_eq!(s.recv(&mut buf, Flags::NONE).unwrap().0, 28);
    // The handshake calls belong to the handshake.
    use quicsock_proto::conn::{Direction, Level};
    use quicsock_proto::crypto::CipherSuite;
    assert!(matches!(
        c.set_crypto_secret(
            Level::Handshake,
            Direction::Read,
            CipherSuite::Aes128GcmSha256,
            &[0; 32]
        ),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.transport_param_ext(),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.complete_handshake(),
        Err(Error::InvalidArgument(_))
    ));

    // A listener whose application drives each server handshake, with an ordinary client.
    let mut config = server_config();
    config.manual_handshake = true;
    let tls_config = config.tls.clone();
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        assert!(
            !s.is_established(),
            "accepted before the handshake, as Linux QUIC does"
        );
        server_handshake(&s, tls_config, Duration::from_secs(5)).unwrap();
        let mut buf = [0u8; 64];
        s.set_read_timeout(Some(Duration::from_secs(5)));
        let (n, _, _) = s.recv(&mut buf, Flags::NONE).unwrap();
        buf[..n].to_vec()
    });
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    assert_eq!(c.alpn().as_deref(), Some(&b"test"[..]));
    c.send(b"hello", -1, Flags::STREAM_FIN).unwrap();
    assert_eq!(t.join().unwrap(), b"hello");

    // A TLS failure is the handshake's error, and the peer hears the alert.
    let (_l, addr) = listener();
    let c = QuicSocket::connect_without_handshake(addr, &client_config()).unwrap();
    match client_handshake(
        &c,
        tls::insecure_client_config(&[b"nope"]),
        "localhost",
        Duration::from_secs(5),
    ) {
        Err(Error::Handshake(e)) => assert!(e.to_string().contains("alert 120"), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// The errors of reference §1.10 for send misuse, and datagrams both ways.
#[test]
fn send_misuse_is_typed_and_datagrams_round_trip() {
    let mut config = server_config();
    config.transport.transport.max_datagram_frame_size =
        Some(quicsock_proto::VarInt::from_u32(1500));
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let mut cc = client_config();
    cc.transport.transport.max_datagram_frame_size = Some(quicsock_proto::VarInt::from_u32(1500));
    let c = QuicSocket::connect(addr, &cc).unwrap();
    let s = t.join().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5)));
    c.set_read_timeout(Some(Duration::from_secs(5)));
    // After FIN the stream takes no more (EINVAL); STREAM_NEW on an open stream is EINVAL.
    c.send(b"last", 0, Flags::STREAM_NEW | Flags::STREAM_FIN)
        .unwrap();
    assert!(matches!(
        c.send(b"more", 0, Flags::NONE),
        Err(Error::InvalidArgument(_))
    ));
    c.send(b"x", 4, Flags::STREAM_NEW).unwrap();
    assert!(matches!(
        c.send(b"y", 4, Flags::STREAM_NEW),
        Err(Error::InvalidArgument(_))
    ));
    // A stream id beyond 2^62 or negative other than -1.
    assert!(matches!(
        c.send(b"z", -2, Flags::NONE),
        Err(Error::InvalidArgument(_))
    ));
    // Datagrams: too large for a packet is EMSGSIZE with the limit; others arrive whole.
    match c.send(&[0u8; 1400], -1, Flags::DATAGRAM) {
        Err(Error::MessageSize(max)) => assert!(max < 1400 && max > 1000, "{max}"),
        other => panic!("{other:?}"),
    }
    c.send(b"unreliable", -1, Flags::DATAGRAM).unwrap();
    let mut buf = [0u8; 64];
    let got = loop {
        let (n, id, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
        if flags.contains(Flags::DATAGRAM) {
            assert_eq!(id, -1);
            assert!(flags.contains(Flags::EOR));
            break buf[..n].to_vec();
        }
    };
    assert_eq!(got, b"unreliable");
    s.send(b"back", -1, Flags::DATAGRAM).unwrap();
    let got = loop {
        let (n, _, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
        if flags.contains(Flags::DATAGRAM) {
            break buf[..n].to_vec();
        }
    };
    assert_eq!(got, b"back");
    // Errors carry Linux QUIC's errno.
    assert_eq!(Error::MessageSize(0).errno(), 90);
    assert_eq!(Error::StreamClosed(0).errno(), 60);
    assert_eq!(Error::WouldBlock.errno(), 11);
}

/// SESSION_TICKET: the client sees the server's ticket, and a second connection with the
/// same configuration resumes.
#[test]
#[allow(clippy::disallowed_methods)]
fn session_tickets_and_resumption() {
    let (l, addr) = listener();
    let l = std::sync::Arc::new(l);
    let config = client_config();
    let accept = |l: &std::sync::Arc<QuicListener>| {
        let l = l.clone();
        std::thread::spawn(move || l.accept().unwrap())
    };
    let t = accept(&l);
    let c = QuicSocket::connect(addr, &config).unwrap();
    let _s = t.join().unwrap();
    assert_eq!(c.is_resumed(), Some(false));
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let ticket = loop {
        // The ticket travels in CRYPTO frames after the handshake.
        if let Some(t) = c.session_ticket() {
            break t;
        }
        assert!(std::time::Instant::now() < end, "no session ticket");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(ticket[0], 4, "a NewSessionTicket message");
    let t = accept(&l);
    let c2 = QuicSocket::connect(addr, &config).unwrap();
    let _s2 = t.join().unwrap();
    assert_eq!(c2.is_resumed(), Some(true));
}

/// An early-data listener: its tickets allow 0-RTT, which it accepts.
fn early_listener() -> (std::sync::Arc<QuicListener>, std::net::SocketAddr) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let chain = vec![key.cert.der().clone()];
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    let mut tls = tls::server_config(chain, der.into(), &[b"test"]).unwrap();
    tls::server_accept_early_data(&mut tls);
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &ServerConfig::new(tls)).unwrap();
    let addr = l.local_addr().unwrap();
    (std::sync::Arc::new(l), addr)
}

/// Accepts one connection and reads stream 0 to its FIN; returns the socket and the
/// bytes, and whether the handshake had completed when the first of them was readable.
fn read_one_stream(
    l: &std::sync::Arc<QuicListener>,
) -> std::thread::JoinHandle<(QuicSocket, Vec<u8>)> {
    let l = l.clone();
    std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let (n, _, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            got.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        (s, got)
    })
}

/// A first connection, returning once the client holds a session ticket.
fn connect_for_a_ticket(addr: std::net::SocketAddr, config: &ClientConfig) -> QuicSocket {
    let c = QuicSocket::connect(addr, config).unwrap();
    wait_for("a session ticket", || c.session_ticket().is_some());
    c
}

/// 0-RTT over real sockets with rustls (RFC 9001 §4.6): a client resuming a session
/// whose ticket allows early data sends before the handshake completes
/// (`connect_early`), the server accepts it, and both say so. Against a server that does
/// not know the ticket (a fresh listener with its own session cache) the early data is
/// rejected and arrives anyway, sent again in 1-RTT.
#[test]
fn zero_rtt_accepted_and_rejected_over_rustls() {
    use quicsock_proto::conn::ZeroRttState;
    let (l, addr) = early_listener();
    let mut config = client_config();
    tls::enable_early_data(&mut config.tls);
    let t = read_one_stream(&l);
    let first = connect_for_a_ticket(addr, &config);
    first.send(b"first", -1, Flags::STREAM_FIN).unwrap();
    t.join().unwrap();
    assert_eq!(first.zero_rtt(), ZeroRttState::None);
    let request: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();

    let t = read_one_stream(&l);
    let c = QuicSocket::connect_early(addr, &config).unwrap();
    assert_eq!(
        c.zero_rtt(),
        ZeroRttState::Attempted,
        "the ticket allows early data"
    );
    assert_eq!(
        c.send(&request, -1, Flags::STREAM_FIN).unwrap(),
        request.len()
    );
    c.wait_established(Duration::from_secs(5)).unwrap();
    let (s, got) = t.join().unwrap();
    assert!(got == request);
    assert_eq!(c.zero_rtt(), ZeroRttState::Accepted);
    assert_eq!(s.zero_rtt(), ZeroRttState::Accepted);
    assert_eq!(c.is_resumed(), Some(true));

    // The same ticket cache, a server that never issued its ticket.
    let (other, other_addr) = early_listener();
    let t = read_one_stream(&other);
    let c = QuicSocket::connect_early(other_addr, &config).unwrap();
    assert_eq!(c.zero_rtt(), ZeroRttState::Attempted);
    c.send(&request, -1, Flags::STREAM_FIN).unwrap();
    c.wait_established(Duration::from_secs(5)).unwrap();
    let (s, got) = t.join().unwrap();
    assert!(got == request, "rejected early data arrives in 1-RTT");
    assert_eq!(c.zero_rtt(), ZeroRttState::Rejected);
    assert_eq!(s.zero_rtt(), ZeroRttState::None);
    assert!(c.stats().stream_bytes_retransmitted >= request.len() as u64);
}

/// TOKEN: the server's NEW_TOKEN reaches the client, which presents it next time.
#[test]
#[allow(clippy::disallowed_methods)]
fn address_validation_tokens() {
    let (l, addr) = listener();
    let l = std::sync::Arc::new(l);
    let l2 = l.clone();
    let t = std::thread::spawn(move || l2.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let token = loop {
        if let Some(t) = c.token() {
            break t;
        }
        assert!(std::time::Instant::now() < end, "no NEW_TOKEN");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Clients do not send tokens; a server sends one more on request.
    assert!(matches!(c.send_token(), Err(Error::InvalidArgument(_))));
    let mut sent = false;
    for _ in 0..200 {
        match s.send_token() {
            Ok(()) => {
                sent = true;
                break;
            }
            // The automatic one is still in flight.
            Err(Error::WouldBlock) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent);
    // The next connection presents it.
    let mut config = client_config();
    config.token = Some(token);
    let l2 = l.clone();
    let t = std::thread::spawn(move || l2.accept().unwrap());
    let c2 = QuicSocket::connect(addr, &config).unwrap();
    let s2 = t.join().unwrap();
    c2.send(b"validated", -1, Flags::STREAM_FIN).unwrap();
    let mut buf = [0u8; 16];
    s2.set_read_timeout(Some(Duration::from_secs(5)));
    assert_eq!(s2.recv(&mut buf, Flags::NONE).unwrap().0, 9);
}

#[test]
fn ticket_and_credit_events() {
    use crate::{EventType, QuicEvent};
    let (l, addr) = listener();
    let t = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        // Read everything the client sends: each read returns credit (MAX_STREAM_DATA).
        let mut buf = vec![0u8; 65536];
        s.set_read_timeout(Some(Duration::from_secs(5)));
        loop {
            match s.recv(&mut buf, Flags::NONE) {
                Ok((_, _, f)) if f.contains(Flags::STREAM_FIN) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        s
    });
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    c.set_event(EventType::NewSessionTicket, true);
    c.set_event(EventType::StreamMaxData, true);
    c.set_read_timeout(Some(Duration::from_secs(5)));
    // More than the initial stream window (1 MiB), so the server must raise it.
    c.send(&vec![1u8; 3 << 20], -1, Flags::STREAM_FIN).unwrap();
    let _s = t.join().unwrap();
    let (mut ticket, mut credit) = (false, false);
    let mut buf = [0u8; 4096];
    while !(ticket && credit) {
        let (n, _, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
        assert!(flags.contains(Flags::NOTIFICATION));
        match QuicEvent::from_bytes(&buf[..n]).unwrap() {
            QuicEvent::NewSessionTicket(t) => {
                assert_eq!(t[0], 4);
                ticket = true;
            }
            QuicEvent::StreamMaxData { id: 0, max_data } => {
                assert!(max_data > 1 << 20);
                credit = true;
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Unidirectional streams with stream id -1, shutdown after queued data, and a write
/// timeout while the peer does not read.
#[test]
fn uni_streams_shutdown_and_write_timeout() {
    let mut config = server_config();
    config.transport.transport.initial_max_data = quicsock_proto::VarInt::from_u32(64 * 1024);
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5)));
    c.set_read_timeout(Some(Duration::from_secs(5)));
    // -1 with STREAM_UNI opens the client's first unidirectional stream, id 2.
    c.send(b"one way", -1, Flags::STREAM_UNI | Flags::STREAM_FIN)
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        s.recv(&mut buf, Flags::NONE).unwrap(),
        (7, 2, Flags::STREAM_FIN)
    );
    // The server cannot send on the client's unidirectional stream.
    let r = s.send(b"x", 2, Flags::NONE);
    assert!(
        matches!(r, Err(Error::InvalidArgument(_) | Error::StreamClosed(2))),
        "{r:?}"
    );
    // A write timeout: the server reads nothing, the client's credit (64 KiB) runs out and
    // its 4 MiB stream buffer fills; the send returns what it queued.
    c.set_write_timeout(Some(Duration::from_millis(300)));
    let big = vec![1u8; 8 << 20];
    let queued = c.send(&big, -1, Flags::NONE).unwrap();
    assert!(queued > 0 && queued < big.len(), "{queued}");
    c.set_nonblocking(true);
    assert!(matches!(
        c.send(&big, 0, Flags::NONE),
        Err(Error::WouldBlock)
    ));
    c.set_nonblocking(false);
    // Shutdown: the queued data still arrives, then the close.
    c.set_close_info(21, b"done").unwrap();
    c.shutdown();
    let mut got = 0;
    let mut big_buf = vec![0u8; 65536];
    let err = loop {
        match s.recv(&mut big_buf, Flags::NONE) {
            Ok((n, _, _)) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!(got, queued, "everything send accepted was delivered");
    match err {
        Error::Closed(quicsock_proto::conn::ConnectionError::Peer(
            quicsock_proto::conn::CloseCode::Application { code, reason },
        )) => assert_eq!((code, reason.as_str()), (21, "done")),
        other => panic!("{other:?}"),
    }
}

/// A panic in the engine thread fails the engine: a call blocked on one of its connections
/// wakes with `Error::EngineFailed` naming the panic, later calls get the same, the
/// listener's `accept` too, and the peer hears a CONNECTION_CLOSE (INTERNAL_ERROR) from
/// the application thread that still transmits.
#[test]
fn hostile_engine_panic_fails_every_call() {
    let (l, addr) = listener();
    let t = std::thread::spawn(move || (l.accept().unwrap(), l));
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let (s, l) = t.join().unwrap();
    let engine = s.engine().clone();
    let blocked = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        let r = s.recv(&mut buf, Flags::NONE);
        (r.map(|(n, _, _)| n), s)
    });
    std::thread::sleep(Duration::from_millis(50));
    engine
        .fault
        .store(true, std::sync::atomic::Ordering::Relaxed);
    engine.wake();
    let (r, s) = blocked.join().unwrap();
    match r {
        Err(Error::EngineFailed(why)) => assert!(why.contains("fault injected"), "{why}"),
        other => panic!("the blocked recv got {other:?}"),
    }
    assert!(matches!(
        s.send(b"x", -1, Flags::NONE),
        Err(Error::EngineFailed(_))
    ));
    assert!(matches!(l.accept(), Err(Error::EngineFailed(_))));
    assert_eq!(Error::EngineFailed(String::new()).errno(), 5);
    c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 16];
    match c.recv(&mut buf, Flags::NONE) {
        Err(Error::Closed(quicsock_proto::conn::ConnectionError::Peer(close))) => assert_eq!(
            close.transport_code(),
            Some(quicsock_proto::TransportErrorCode::INTERNAL_ERROR)
        ),
        other => panic!("the peer got {other:?}"),
    }
    drop(s);
}

/// A `QuicPoll` reports the listener when connections wait for `accept` and each socket
/// by its own token when data arrives for it, once however much arrived, and again for
/// news after its token was taken.
#[test]
fn poll_reports_accept_and_data_by_token() {
    let (l, addr) = listener();
    l.set_nonblocking(true);
    let poll = crate::QuicPoll::new();
    poll.register_listener(&l, 0);
    let mut events = Vec::new();
    // The registration itself reports once.
    assert_eq!(poll.wait(&mut events, 16, Some(Duration::from_secs(5))), 1);
    assert!(matches!(l.accept(), Err(Error::WouldBlock)));
    let c1 = QuicSocket::connect(addr, &client_config()).unwrap();
    let c2 = QuicSocket::connect(addr, &client_config()).unwrap();
    let mut accepted = Vec::new();
    while accepted.len() < 2 {
        events.clear();
        poll.wait(&mut events, 16, Some(Duration::from_secs(5)));
        assert_eq!(events, vec![0]);
        while let Ok(s) = l.accept() {
            accepted.push(s);
        }
    }
    let (s1, s2) = (&accepted[0], &accepted[1]);
    s1.set_nonblocking(true);
    s2.set_nonblocking(true);
    poll.register(s1, 1);
    poll.register(s2, 2);
    events.clear();
    // Both are reported (once each, or again if news came after one was taken).
    while !(events.contains(&1) && events.contains(&2)) {
        assert!(poll.wait(&mut events, 16, Some(Duration::from_secs(5))) > 0);
    }
    // (The listener may be reported once more: a connection arrived while it was taken.)
    assert!(events.iter().all(|t| *t <= 2), "{events:?}");
    // Which server socket is whose: the first one to hear from c1 is its peer.
    for (i, m) in [b"one", b"two", b"six"].iter().enumerate() {
        c1.send(
            &m[..],
            -1,
            if i == 2 {
                Flags::STREAM_FIN
            } else {
                Flags::NONE
            },
        )
        .unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let (mine, token) = loop {
        events.clear();
        poll.wait(&mut events, 16, Some(Duration::from_secs(5)));
        let s = if events.contains(&1) { s1 } else { s2 };
        let token = if events.contains(&1) { 1 } else { 2 };
        let mut fin = false;
        while let Ok((n, _, flags)) = s.recv(&mut buf, Flags::NONE) {
            got.extend_from_slice(&buf[..n]);
            fin |= flags.contains(Flags::STREAM_FIN);
        }
        if fin {
            break (s, token);
        }
    };
    assert_eq!(got, b"onetwosix");
    // The other connection had no news: nothing is reported for it.
    events.clear();
    poll.wait(&mut events, 16, Some(Duration::from_millis(200)));
    assert!(!events.contains(&(3 - token)), "{events:?}");
    drop((mine, c2));
}

/// A server handshake driver that waits at a gate before its first step (a TLS library
/// stuck on a slow certificate lookup, say).
struct GatedDriver {
    inner: quicsock_proto::conn::FixedSecretDriver,
    gate: Option<Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>>,
}

impl quicsock_proto::conn::HandshakeDriver for GatedDriver {
    fn drive(
        &mut self,
        conn: &mut quicsock_proto::conn::Connection,
        now: quicsock_proto::Timestamp,
    ) -> std::result::Result<(), quicsock_proto::TransportError> {
        if let Some(gate) = self.gate.take() {
            let (open, cond) = &*gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cond.wait(open).unwrap();
            }
        }
        self.inner.drive(conn, now)
    }
}

fn fixed(side: quicsock_proto::Side) -> quicsock_proto::conn::FixedSecretDriver {
    quicsock_proto::conn::FixedSecretDriver::new(
        side,
        quicsock_proto::crypto::CipherSuite::Aes128GcmSha256,
    )
}

/// A handshake stuck in its TLS work holds up only itself: on the same shard, an
/// established connection moves a megabyte each way meanwhile (the TLS work runs on the
/// handshake worker, under the new connection's lock, not on the engine thread).
#[test]
fn a_stuck_handshake_does_not_stall_established_connections() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let made = Arc::new(AtomicUsize::new(0));
    let mut config = server_config();
    config.shards = 1;
    let (g, m) = (gate.clone(), made.clone());
    config.driver = Some(Arc::new(move || {
        let first = m.fetch_add(1, Ordering::Relaxed) == 0;
        Box::new(GatedDriver {
            inner: fixed(quicsock_proto::Side::Server),
            gate: (!first).then(|| g.clone()),
        })
    }));
    let l = Arc::new(QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap());
    let addr = l.local_addr().unwrap();
    let cfg = client_config();
    let c1 =
        QuicSocket::connect_with_driver(addr, &cfg, Box::new(fixed(quicsock_proto::Side::Client)))
            .unwrap();
    let s1 = l.accept().unwrap();
    // The second client's ClientHello gets its server connection stuck in TLS.
    let cfg2 = cfg.clone();
    let second = std::thread::spawn(move || {
        QuicSocket::connect_with_driver(addr, &cfg2, Box::new(fixed(quicsock_proto::Side::Client)))
    });
    while made.load(Ordering::Relaxed) < 2 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let data = vec![0x42u8; 1 << 20];
    s1.set_read_timeout(Some(Duration::from_secs(10)));
    c1.set_read_timeout(Some(Duration::from_secs(10)));
    c1.set_write_timeout(Some(Duration::from_secs(10)));
    std::thread::scope(|scope| {
        let echo = scope.spawn(|| {
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            loop {
                let (n, id, flags) = s1.recv(&mut buf, Flags::NONE).unwrap();
                got.extend_from_slice(&buf[..n]);
                if flags.contains(Flags::STREAM_FIN) {
                    s1.send(&got, id, Flags::STREAM_FIN).unwrap();
                    return got.len();
                }
            }
        });
        c1.send(&data, -1, Flags::STREAM_FIN).unwrap();
        let mut buf = vec![0u8; 65536];
        let mut back = 0;
        loop {
            let (n, _, flags) = c1.recv(&mut buf, Flags::NONE).unwrap();
            back += n;
            if flags.contains(Flags::STREAM_FIN) {
                break;
            }
        }
        assert_eq!(echo.join().unwrap(), data.len());
        assert_eq!(back, data.len());
    });
    assert_eq!(
        l.handshake_count(),
        1,
        "the stuck handshake is still in progress"
    );
    // Once its TLS work finishes, the second connection completes too.
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    let c2 = second.join().unwrap().unwrap();
    let s2 = l.accept().unwrap();
    c2.send(b"late", -1, Flags::STREAM_FIN).unwrap();
    let mut buf = [0u8; 8];
    let (n, _, _) = s2.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(&buf[..n], b"late");
}

/// The handshake worker holds at most `MAX_QUEUED` datagrams; beyond them a flood's are
/// dropped (their clients send again), so the queue cannot grow without bound.
#[test]
fn hostile_handshake_queue_is_capped() {
    use crate::handshakes::{Handshakes, Job, MAX_QUEUED};
    use quicsock_proto::endpoint::{Endpoint, EndpointConfig};
    let mut ep = Endpoint::new(
        EndpointConfig::default(),
        Box::new(quicsock_proto::rng::SystemRandom),
    );
    let remote = "127.0.0.1:9".parse().unwrap();
    let (h, conn) = ep
        .connect(
            quicsock_proto::Timestamp::ZERO,
            remote,
            Default::default(),
            Box::new(fixed(quicsock_proto::Side::Client)),
        )
        .unwrap();
    let slot = Arc::new(crate::slot::Slot::new(h, conn, Default::default()));
    let hs = Handshakes::default();
    let job = || Job {
        slot: slot.clone(),
        data: vec![0; 1200],
        remote,
        ecn: None,
        dst_ip: None,
        new: false,
    };
    for _ in 0..MAX_QUEUED {
        assert!(hs.push(job()));
    }
    assert!(!hs.push(job()), "one past the cap is dropped");
    assert_eq!(hs.len(), MAX_QUEUED);
    println!("handshake queue: {MAX_QUEUED} datagrams at most");
}

/// Each stream's descriptor shows that stream's readiness: with the active stream stuck
/// (its send buffer full, the peer not reading it), another stream still polls writable
/// and takes data; on the server, the stream drained polls not readable while the one
/// left unread still polls readable.
#[test]
fn stream_descriptors_show_their_own_stream() {
    use std::os::fd::AsFd;
    let poll = |p: &crate::StreamPoll, t: u64| {
        quicsock_udp::poll_fd(&p.as_fd(), Duration::from_millis(t)).unwrap()
    };
    // `poll` returns as soon as the descriptor is readable or writable: wait for readable.
    let readable = |p: &crate::StreamPoll| {
        (0..5000).any(|_| {
            let r = poll(p, 0).0;
            if !r {
                std::thread::sleep(Duration::from_millis(1));
            }
            r
        })
    };
    let mut config = server_config();
    // The server lets each stream have 64 KiB in flight until it reads some.
    config
        .transport
        .transport
        .initial_max_stream_data_bidi_remote = quicsock_proto::VarInt::from_u32(64 << 10);
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let mut cc = client_config();
    cc.transport.streams.send_buffer = 256 << 10;
    let c = QuicSocket::connect(addr, &cc).unwrap();
    let s = t.join().unwrap();
    c.set_nonblocking(true);
    // Stream A, the active one, fills: its window is used up and its send buffer full of
    // data the window does not allow, so it stays full however the ACKs go.
    let chunk = vec![1u8; 65536];
    c.send(&chunk, -1, Flags::NONE).unwrap();
    let a = 0;
    let mut taken = chunk.len();
    while taken < (64 << 10) + (256 << 10) {
        match c.send(&chunk, a, Flags::NONE) {
            Ok(n) => taken += n,
            Err(Error::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(matches!(
        c.send(&chunk, a, Flags::NONE),
        Err(Error::WouldBlock)
    ));
    let b = c.open_stream(Flags::NONE).unwrap();
    let pb = c.stream_pollable(b).unwrap();
    let pa = c.stream_pollable(a).unwrap();
    assert!(poll(&pb, 5000).1, "stream B polls writable");
    assert!(!poll(&pa, 0).1, "stream A does not");
    // The connection's descriptor shows the stream whose send found no room.
    assert!(
        !quicsock_udp::poll_fd(&c.pollable().unwrap(), Duration::ZERO)
            .unwrap()
            .1
    );
    let msg = vec![2u8; 100_000];
    let mut sent = 0;
    while sent < msg.len() {
        assert!(poll(&pb, 5000).1);
        match c.send(&msg[sent..], b, Flags::NONE) {
            Ok(n) => sent += n,
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    c.send(b"", b, Flags::STREAM_FIN).unwrap();
    // The server reads B to its end and leaves A unread.
    let (sa, sb) = (s.stream_pollable(a).unwrap(), s.stream_pollable(b).unwrap());
    s.set_nonblocking(true);
    let mut got = 0;
    let mut buf = vec![0u8; 65536];
    loop {
        assert!(readable(&sb), "stream B polls readable while it has data");
        match s.recv_stream(b, &mut buf, Flags::NONE) {
            Ok((n, fin)) => {
                got += n;
                if fin {
                    break;
                }
            }
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(got, msg.len());
    assert!(readable(&sa), "stream A, unread, polls readable");
    // Read to its end, B answers at once (with its end): it polls readable too.
    assert!(readable(&sb));
    assert!(s.recv_stream(b, &mut buf, Flags::NONE).is_err());
}

/// Two tokio tasks per side drive two streams of one connection, each waiting on its own
/// stream's descriptor, and both transfers complete.
#[cfg(feature = "tokio")]
#[test]
fn tokio_streams_wait_on_their_own_readiness() {
    use crate::tokio_io::{AsyncQuicListener, AsyncQuicSocket};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio_runtime();
    rt.block_on(async {
        let l = AsyncQuicListener::bind("127.0.0.1:0".parse().unwrap(), &server_config()).unwrap();
        let addr = l.get_ref().local_addr().unwrap();
        let server = tokio::spawn(async move {
            let s = l.accept().await.unwrap();
            let readers: Vec<_> = [0i64, 4]
                .into_iter()
                .map(|id| {
                    let mut stream = s.stream(id);
                    tokio::spawn(async move {
                        let mut got = Vec::new();
                        stream.read_to_end(&mut got).await.unwrap();
                        got.len()
                    })
                })
                .collect();
            let mut lens = Vec::new();
            for r in readers {
                lens.push(r.await.unwrap());
            }
            lens
        });
        let c = AsyncQuicSocket::connect(addr, client_config())
            .await
            .unwrap();
        let a = c.open_stream(Flags::NONE).await.unwrap();
        let b = c.open_stream(Flags::NONE).await.unwrap();
        let writers: Vec<_> = [(a, 2_000_000usize), (b, 1_000_000)]
            .into_iter()
            .map(|(id, len)| {
                let mut stream = c.stream(id);
                tokio::spawn(async move {
                    stream.write_all(&vec![9u8; len]).await.unwrap();
                    stream.shutdown().await.unwrap();
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), vec![2_000_000, 1_000_000]);
        c.get_ref().abort(0, b"");
    });
}

/// A key log named by path (no `SSLKEYLOGFILE`): one handshake appends the TLS 1.3 traffic
/// secrets in the NSS format, one line each, under the handshake's client random.
#[test]
fn key_log_to_a_path_gets_the_handshake_secrets() {
    let path = std::env::temp_dir().join(format!("quicsock-keylog-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (l, addr) = listener();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let mut tls = tls::insecure_client_config(&[b"test"]);
    tls::log_keys_to_path(&mut tls, &path).unwrap();
    let c = QuicSocket::connect(addr, &ClientConfig::new(tls, "localhost")).unwrap();
    let _s = t.join().unwrap();
    drop(c);
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<Vec<&str>> = log.lines().map(|l| l.split(' ').collect()).collect();
    let labels: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    for want in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ] {
        assert!(labels.contains(&want), "{want} missing from {log}");
    }
    for l in &lines {
        assert_eq!(l.len(), 3, "{l:?}");
        assert_eq!(l[1].len(), 64, "a 32-byte client random in hex");
        assert!(l[2].len() >= 64 && l[2].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(l[1], lines[0][1], "one handshake");
    }
    // A path that cannot be opened is an error, not a silent loss.
    let mut tls = tls::insecure_client_config(&[b"test"]);
    assert!(tls::log_keys_to_path(&mut tls, std::path::Path::new("/nonexistent-dir/k")).is_err());
}

/// getsockname on a wildcard-bound socket gives the path's address (Linux QUIC returns
/// the active path's): the address the peer's datagrams arrive at, with the socket's port.
#[test]
fn local_addr_is_the_paths_not_the_wildcard() {
    let l = QuicListener::bind("0.0.0.0:0".parse().unwrap(), &server_config()).unwrap();
    let port = l.local_addr().unwrap().port();
    assert!(l.local_addr().unwrap().ip().is_unspecified());
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        &client_config(),
    )
    .unwrap();
    let s = t.join().unwrap();
    assert_eq!(
        s.local_addr().unwrap(),
        std::net::SocketAddr::from(([127, 0, 0, 1], port))
    );
    let local = c.local_addr().unwrap();
    assert_eq!(local.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
    assert_eq!(s.peer_addr().unwrap(), local);
}

/// Connects with `client` to a loopback listener made with `server`, and sends "ping",
/// which the server echoes; returns the client's socket and the server's.
fn ping_echo(server: &ServerConfig, client: &ClientConfig) -> (QuicSocket, QuicSocket) {
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), server).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let mut buf = [0u8; 16];
        let (n, _, _) = s.recv(&mut buf, Flags::NONE).unwrap();
        s.send(&buf[..n], 0, Flags::STREAM_FIN).unwrap();
        s
    });
    let c = QuicSocket::connect(addr, client).unwrap();
    c.send(b"ping", -1, Flags::NONE).unwrap();
    let mut buf = [0u8; 16];
    let (n, _, _) = c.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(&buf[..n], b"ping");
    (c, t.join().unwrap())
}

/// A listener that speaks v1 alone answers a v2 Initial with Version Negotiation; the
/// client connects again in v1 (RFC 9368 §4) and the connection works.
#[test]
fn version_negotiation_falls_back_to_a_version_both_speak() {
    use quicsock_proto::packet::Version;
    let mut server = server_config();
    server.versions = vec![Version::V1];
    let mut config = client_config();
    config.transport.version = Version::V2;
    let (c, s) = ping_echo(&server, &config);
    assert_eq!(c.version(), Version::V1);
    assert_eq!(s.version(), Version::V1);
}

/// A client asked to start in a version nobody speaks (Linux QUIC's CONFIG version 123)
/// probes with it, takes the listener's v1 from its Version Negotiation and runs the
/// rustls handshake in v1 on the same connection.
#[test]
fn a_client_in_an_unknown_version_connects_in_the_listeners() {
    use quicsock_proto::packet::Version;
    let mut config = client_config();
    config.transport.version = Version(123);
    let (c, s) = ping_echo(&server_config(), &config);
    assert_eq!(c.version(), Version::V1);
    assert_eq!(s.version(), Version::V1);
}

/// Compatible version negotiation through the rustls driver (RFC 9368 §2.3): the
/// listener reads the client's version_information from its ClientHello before rustls
/// takes our transport parameters, and a v1 client that prefers v2 ends up in v2; a
/// listener that speaks v1 alone keeps it in v1.
#[test]
fn compatible_version_negotiation_switches_a_v1_client_to_v2() {
    use quicsock_proto::packet::Version;
    for (server_versions, expected) in [
        (vec![Version::V1, Version::V2], Version::V2),
        (vec![Version::V1], Version::V1),
    ] {
        let mut server = server_config();
        server.versions = server_versions;
        let mut config = client_config();
        config
            .transport
            .prefer_versions(&[Version::V2, Version::V1]);
        let (c, s) = ping_echo(&server, &config);
        assert_eq!(c.version(), expected);
        assert_eq!(s.version(), expected);
    }
}

/// A forged Version Negotiation (an on-path attacker answering the client's v2 Initial
/// with "v1 only") is caught: the client connects again in v1, the server's
/// version_information lists v2 as well, and the client closes with
/// VERSION_NEGOTIATION_ERROR instead of using a downgraded connection.
#[test]
fn a_forged_version_negotiation_is_refused() {
    use quicsock_proto::packet::{encode_version_negotiation, Header, ParsedPacket, Version};
    let (l, server) = listener();
    std::thread::spawn(move || {
        let _ = l.accept();
    });
    // A relay between client and server that answers the first Initial itself.
    let relay = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let relay_addr = relay.local_addr().unwrap();
    relay
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    std::thread::spawn(move || {
        let mut client = None;
        let mut forged = false;
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = relay.recv_from(&mut buf) {
            if from == server {
                if let Some(c) = client {
                    let _ = relay.send_to(&buf[..n], c);
                }
                continue;
            }
            client = Some(from);
            if !forged {
                if let Ok(p) = ParsedPacket::parse(&buf[..n], 0) {
                    if let Header::Initial(h) = &p.header {
                        let mut vn = Vec::new();
                        encode_version_negotiation(&mut vn, &h.scid, &h.dcid, &[Version::V1], 0x2a);
                        let _ = relay.send_to(&vn, from);
                        forged = true;
                        continue;
                    }
                }
            }
            let _ = relay.send_to(&buf[..n], server);
        }
    });
    let mut config = client_config();
    config.transport.version = Version::V2;
    match QuicSocket::connect(relay_addr, &config) {
        Err(Error::Handshake(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("VERSION_NEGOTIATION_ERROR") || text.contains("0x11"),
                "{e:?}"
            );
        }
        other => panic!(
            "a downgraded connection was used: {:?}",
            other.map(|s| s.version())
        ),
    }
}

/// MSG_PEEK (Linux QUIC's recv flags): a peek returns what the next recv will, with its
/// stream id or DATAGRAM flag, and leaves it there.
#[test]
fn peek_leaves_stream_data_and_datagrams_in_place() {
    let mut config = server_config();
    config.transport.transport.max_datagram_frame_size =
        Some(quicsock_proto::VarInt::from_u32(1500));
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        let id = s.open_stream(Flags::NONE).unwrap();
        s.send(b"hello", id, Flags::STREAM_FIN).unwrap();
        s
    });
    let mut cc = client_config();
    cc.transport.transport.max_datagram_frame_size = Some(quicsock_proto::VarInt::from_u32(1500));
    let c = QuicSocket::connect(addr, &cc).unwrap();
    let s = t.join().unwrap();
    let mut buf = [0u8; 64];
    // Wait for the data with a blocking peek; a second peek sees the same.
    let (n, id, flags) = c.recv(&mut buf, Flags::PEEK).unwrap();
    assert_eq!(
        (&buf[..n], id, flags),
        (&b"hello"[..], 1, Flags::STREAM_FIN)
    );
    let mut short = [0u8; 3];
    let (n, id2, _) = c.recv(&mut short, Flags::PEEK).unwrap();
    assert_eq!((&short[..n], id2), (&b"hel"[..], 1));
    let (n, id3, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(
        (&buf[..n], id3, flags),
        (&b"hello"[..], 1, Flags::STREAM_FIN)
    );
    assert!(matches!(
        c.recv(&mut buf, Flags::PEEK | Flags::DONTWAIT),
        Err(Error::WouldBlock)
    ));
    // A datagram: peeked whole (EOR), then read.
    s.send(b"dgram", -1, Flags::DATAGRAM).unwrap();
    let (n, _, flags) = c.recv(&mut buf, Flags::PEEK).unwrap();
    assert_eq!(
        (&buf[..n], flags),
        (&b"dgram"[..], Flags::DATAGRAM | Flags::EOR)
    );
    let (n, _, flags) = c.recv(&mut buf, Flags::NONE).unwrap();
    assert_eq!(
        (&buf[..n], flags),
        (&b"dgram"[..], Flags::DATAGRAM | Flags::EOR)
    );
}

/// MSG_MORE corks (Linux QUIC's send flags): stream data sent with it stays queued, unsent,
/// until a send without it; then everything leaves together. SNDBLOCK is accepted.
#[test]
fn more_corks_until_a_send_without_it() {
    let (l, addr) = listener();
    let t = std::thread::spawn(move || l.accept().unwrap());
    let c = QuicSocket::connect(addr, &client_config()).unwrap();
    let s = t.join().unwrap();
    let id = c.open_stream(Flags::NONE).unwrap();
    c.send(b"one ", id, Flags::MORE).unwrap();
    c.send(b"two ", id, Flags::MORE | Flags::STREAM_SNDBLOCK)
        .unwrap();
    // Nothing left: the bytes wait, never sent, and the server has none.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.queue_bytes().unsent, 8);
    let mut buf = [0u8; 64];
    assert!(matches!(
        s.recv(&mut buf, Flags::DONTWAIT),
        Err(Error::WouldBlock)
    ));
    c.send(b"three", id, Flags::STREAM_FIN).unwrap();
    let got = {
        let mut got = Vec::new();
        loop {
            let (n, _, flags) = s.recv(&mut buf, Flags::NONE).unwrap();
            got.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                break got;
            }
        }
    };
    assert_eq!(got, b"one two three");
}

/// A call that finds no stream data leaves the descriptor readable while handshake
/// messages wait: a C program's recvmsg looks for both, and a poll between them must not
/// miss the messages.
#[test]
fn handshake_messages_keep_the_descriptor_readable_past_a_recv_that_found_nothing() {
    let mut config = server_config();
    config.manual_handshake = true;
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    let c = QuicSocket::connect_without_handshake(addr, &client_config()).unwrap();
    c.send_handshake(quicsock_proto::conn::Level::Initial, b"\x01\x00\x00\x02hi")
        .unwrap();
    let s = l.accept().unwrap();
    s.set_nonblocking(true);
    let fd = s.pollable().unwrap();
    poll_until(&fd, |(readable, _)| readable);
    assert!(matches!(
        s.recv(&mut [0u8; 16], Flags::NONE),
        Err(Error::WouldBlock)
    ));
    let (readable, _) = quicsock_udp::poll_fd(&fd, Duration::ZERO).unwrap();
    assert!(readable, "the ClientHello still waits to be read");
    let (level, bytes) = s.recv_handshake().unwrap();
    assert_eq!(level, quicsock_proto::conn::Level::Initial);
    assert_eq!(bytes, b"\x01\x00\x00\x02hi");
}

/// A listener whose application drives the handshake queues a connection only once it
/// keeps it. An Initial without a ClientHello (here the CONNECTION_CLOSE of clients that
/// close before sending theirs) leaves no state, so it never shows in the accept queue,
/// where `poll` would report it and a blocking `accept` would then wait for nothing.
#[test]
fn manual_listener_shows_only_connections_it_keeps() {
    use quicsock_proto::conn::Level;
    let mut config = server_config();
    config.manual_handshake = true;
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    l.set_nonblocking(true);
    let addr = l.local_addr().unwrap();
    let poll = crate::QuicPoll::new();
    poll.register_listener(&l, 0);
    let mut events = Vec::new();
    assert_eq!(poll.wait(&mut events, 16, Some(Duration::from_secs(5))), 1);
    for _ in 0..20 {
        let c = QuicSocket::connect_without_handshake(addr, &client_config()).unwrap();
        let _ = c.close();
    }
    events.clear();
    assert_eq!(
        poll.wait(&mut events, 16, Some(Duration::from_millis(500))),
        0,
        "a connection that was never kept was shown to accept"
    );
    assert!(matches!(l.accept(), Err(Error::WouldBlock)));
    // A client that sends its ClientHello is reported, and accept takes it.
    let c = QuicSocket::connect_without_handshake(addr, &client_config()).unwrap();
    c.send_handshake(Level::Initial, b"\x01\x00\x00\x02hi")
        .unwrap();
    assert_eq!(poll.wait(&mut events, 16, Some(Duration::from_secs(5))), 1);
    let s = l.accept().unwrap();
    assert_eq!(s.recv_handshake().unwrap().1, b"\x01\x00\x00\x02hi");
    assert!(matches!(l.accept(), Err(Error::WouldBlock)));
}
