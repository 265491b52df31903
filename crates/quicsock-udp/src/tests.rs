//! Real sockets on loopback: every feature, and every fallback.

use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::*;

fn bind(addr: &str) -> UdpSocket {
    bind_with(addr, &SocketConfig::default())
}

fn bind_with(addr: &str, config: &SocketConfig) -> UdpSocket {
    let s = UdpSocket::bind_with(addr.parse().unwrap(), config).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// The address to reach `s` at through loopback.
fn target(s: &UdpSocket, v6: bool) -> SocketAddr {
    let port = s.local_addr().unwrap().port();
    if v6 {
        SocketAddr::new("::1".parse().unwrap(), port)
    } else {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)
    }
}

fn transmit(dest: SocketAddr, data: &[u8]) -> Transmit<'_> {
    Transmit {
        destination: dest,
        ecn: None,
        contents: data,
        segment_size: None,
        src_ip: None,
    }
}

/// Receives until `want` datagrams arrived; returns each with its metadata.
fn recv_datagrams(s: &UdpSocket, want: usize) -> Vec<(Vec<u8>, RecvMeta)> {
    let mut out = Vec::new();
    let mut storage = vec![vec![0u8; GRO_BUFFER_SIZE]; BATCH_SIZE];
    let mut meta = [RecvMeta::default(); BATCH_SIZE];
    while out.len() < want {
        let mut bufs: Vec<IoSliceMut<'_>> =
            storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        let n = s.recv(&mut bufs, &mut meta).expect("datagrams arrive");
        for (buf, m) in storage.iter().zip(&meta).take(n) {
            for d in buf[..m.len].chunks(m.stride) {
                out.push((d.to_vec(), *m));
            }
        }
    }
    out
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn ipv4_ipv6_and_dual_stack_send_and_receive() {
    for (server, client, v6) in [
        ("127.0.0.1:0", "127.0.0.1:0", false),
        ("[::1]:0", "[::1]:0", true),
        // A dual-stack server hears an IPv4 client and reports it as IPv4.
        ("[::]:0", "127.0.0.1:0", false),
    ] {
        let rx = bind(server);
        let tx = bind(client);
        let data = pattern(1200, 1);
        assert_eq!(tx.send(&transmit(target(&rx, v6), &data)).unwrap(), 1200);
        let got = recv_datagrams(&rx, 1);
        assert_eq!(got[0].0, data);
        let from = tx.local_addr().unwrap();
        assert_eq!(got[0].1.addr.port(), from.port(), "{server}");
        assert_eq!(got[0].1.addr.is_ipv6(), v6, "{server}: {:?}", got[0].1.addr);
        // The dual-stack server answers the IPv4 client through the same address.
        if server == "[::]:0" {
            rx.send(&transmit(got[0].1.addr, b"back")).unwrap();
            assert_eq!(recv_datagrams(&tx, 1)[0].0, b"back");
        }
    }
}

#[test]
fn gso_burst_arrives_as_separate_datagrams() {
    let rx = bind_with(
        "127.0.0.1:0",
        &SocketConfig {
            gro: false,
            ..SocketConfig::default()
        },
    );
    let tx = bind("127.0.0.1:0");
    assert!(
        tx.capabilities().gso_segments > 1,
        "this kernel has UDP GSO"
    );
    // 150 datagrams of 1200 bytes and a short one: more than one GSO send's worth.
    let data = pattern(150 * 1200 + 77, 2);
    let t = Transmit {
        segment_size: Some(1200),
        ..transmit(target(&rx, false), &data)
    };
    assert_eq!(tx.send(&t).unwrap(), data.len());
    let got = recv_datagrams(&rx, 151);
    assert!(got
        .iter()
        .all(|(d, m)| m.stride == d.len() || m.len == d.len()));
    assert!(got[..150].iter().all(|(d, _)| d.len() == 1200));
    assert_eq!(got[150].0.len(), 77);
    assert_eq!(
        got.iter().flat_map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        data
    );
    assert!(tx.capabilities().gso_segments > 1, "GSO still in use");
}

#[test]
fn gro_coalesces_a_burst_into_one_buffer() {
    let rx = bind("127.0.0.1:0");
    assert!(rx.capabilities().gro, "this kernel has UDP GRO");
    let tx = bind("127.0.0.1:0");
    let data = pattern(20 * 1200, 3);
    let t = Transmit {
        segment_size: Some(1200),
        ..transmit(target(&rx, false), &data)
    };
    tx.send(&t).unwrap();
    let mut storage = vec![vec![0u8; GRO_BUFFER_SIZE]; BATCH_SIZE];
    let mut bufs: Vec<IoSliceMut<'_>> = storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let mut meta = [RecvMeta::default(); BATCH_SIZE];
    let n = rx.recv(&mut bufs, &mut meta).unwrap();
    // Loopback hands the GSO burst to a GRO socket whole: one buffer, 1200-byte stride.
    assert_eq!(n, 1);
    assert_eq!((meta[0].len, meta[0].stride), (data.len(), 1200));
    assert_eq!(&storage[0][..data.len()], &data[..]);
}

#[test]
fn gso_refused_by_the_device_falls_back_to_single_datagrams() {
    for errno in [libc::EIO, libc::EINVAL] {
        let rx = bind("127.0.0.1:0");
        let tx = bind("127.0.0.1:0");
        tx.fail_next_gso
            .store(errno, std::sync::atomic::Ordering::Relaxed);
        let data = pattern(10 * 1200, 4);
        let t = Transmit {
            segment_size: Some(1200),
            ..transmit(target(&rx, false), &data)
        };
        assert_eq!(tx.send(&t).unwrap(), data.len());
        assert_eq!(
            tx.capabilities().gso_segments,
            1,
            "GSO switched off after {errno}"
        );
        let got = recv_datagrams(&rx, 10);
        assert_eq!(
            got.iter().flat_map(|(d, _)| d.clone()).collect::<Vec<_>>(),
            data
        );
        // Later bursts go out one by one straight away.
        assert_eq!(tx.send(&t).unwrap(), data.len());
        assert_eq!(recv_datagrams(&rx, 10).len(), 10);
    }
}

#[test]
fn gso_disabled_by_config_sends_single_datagrams() {
    let rx = bind("127.0.0.1:0");
    let tx = bind_with(
        "127.0.0.1:0",
        &SocketConfig {
            gso: false,
            ..SocketConfig::default()
        },
    );
    assert_eq!(tx.capabilities().gso_segments, 1);
    let data = pattern(5 * 1000, 5);
    let t = Transmit {
        segment_size: Some(1000),
        ..transmit(target(&rx, false), &data)
    };
    assert_eq!(tx.send(&t).unwrap(), data.len());
    let got = recv_datagrams(&rx, 5);
    // Sent one by one, they are not coalesced even by a GRO receiver.
    assert!(got.iter().all(|(d, m)| d.len() == 1000 && m.len == 1000));
}

#[test]
fn ecn_codepoints_travel_both_families() {
    for (addr, v6) in [("127.0.0.1:0", false), ("[::1]:0", true), ("[::]:0", false)] {
        let rx = bind(addr);
        let tx = bind(if v6 { "[::1]:0" } else { "127.0.0.1:0" });
        for ecn in [
            None,
            Some(EcnCodepoint::Ect0),
            Some(EcnCodepoint::Ect1),
            Some(EcnCodepoint::Ce),
        ] {
            let t = Transmit {
                ecn,
                ..transmit(target(&rx, v6), b"ecn")
            };
            tx.send(&t).unwrap();
            let got = recv_datagrams(&rx, 1);
            assert_eq!(got[0].1.ecn, ecn, "{addr}");
        }
        assert!(tx.capabilities().ecn);
    }
}

#[test]
fn pktinfo_reports_the_destination_and_picks_the_source() {
    // A wildcard IPv4 server learns which loopback address each client used...
    let rx = bind("0.0.0.0:0");
    let port = rx.local_addr().unwrap().port();
    let tx = bind("127.0.0.1:0");
    for dst in ["127.0.0.1", "127.0.0.2"] {
        let to = SocketAddr::new(dst.parse().unwrap(), port);
        tx.send(&transmit(to, b"hi")).unwrap();
        let got = recv_datagrams(&rx, 1);
        assert_eq!(got[0].1.dst_ip, Some(dst.parse::<IpAddr>().unwrap()));
        assert!(got[0].1.ifindex.is_some_and(|i| i > 0));
    }
    // ...and answers from it.
    let client = bind("0.0.0.0:0");
    let client_port = client.local_addr().unwrap().port();
    let src: IpAddr = "127.0.0.3".parse().unwrap();
    let t = Transmit {
        src_ip: Some(src),
        ..transmit(
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), client_port),
            b"from .3",
        )
    };
    rx.send(&t).unwrap();
    let got = recv_datagrams(&client, 1);
    assert_eq!(got[0].1.addr, SocketAddr::new(src, port));

    // The same on IPv6 and through a dual-stack socket for an IPv4 peer.
    let rx6 = bind("[::]:0");
    let tx6 = bind("[::1]:0");
    tx6.send(&transmit(target(&rx6, true), b"v6")).unwrap();
    assert_eq!(
        recv_datagrams(&rx6, 1)[0].1.dst_ip,
        Some("::1".parse().unwrap())
    );
    tx.send(&transmit(target(&rx6, false), b"v4 to dual"))
        .unwrap();
    let got = recv_datagrams(&rx6, 1);
    assert_eq!(got[0].1.dst_ip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let t = Transmit {
        src_ip: Some("127.0.0.4".parse().unwrap()),
        ..transmit(got[0].1.addr, b"dual answers from .4")
    };
    rx6.send(&t).unwrap();
    let from = recv_datagrams(&tx, 1)[0].1.addr;
    assert_eq!(from.ip(), "127.0.0.4".parse::<IpAddr>().unwrap());
}

#[test]
fn recvmmsg_fills_a_batch_and_nonblocking_reports_would_block() {
    let rx = bind("127.0.0.1:0");
    let tx = bind("127.0.0.1:0");
    rx.set_nonblocking(true).unwrap();
    let mut storage = vec![vec![0u8; 2048]; BATCH_SIZE];
    let mut meta = [RecvMeta::default(); BATCH_SIZE];
    let mut bufs: Vec<IoSliceMut<'_>> = storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let e = rx.recv(&mut bufs, &mut meta).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    // Separate sends of different sizes are never coalesced; one call takes many.
    for i in 0..40u8 {
        tx.send(&transmit(
            target(&rx, false),
            &pattern(100 + usize::from(i), i),
        ))
        .unwrap();
    }
    let mut got = Vec::new();
    let mut calls = 0;
    while got.len() < 40 {
        let mut bufs: Vec<IoSliceMut<'_>> =
            storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        let n = rx.recv(&mut bufs, &mut meta).unwrap();
        calls += 1;
        for (b, m) in storage.iter().zip(&meta).take(n) {
            got.push(b[..m.len].to_vec());
        }
    }
    assert!(calls <= 3, "{calls} calls for 40 datagrams");
    for (i, d) in got.iter().enumerate() {
        assert_eq!(*d, pattern(100 + i, i as u8));
    }
}

/// `recv_into` appends a GRO batch to a buffer's spare capacity, after what it holds, and
/// a datagram larger than the spare room is reported empty without growing the buffer.
#[test]
fn recv_into_appends_to_spare_capacity() {
    let rx = bind("127.0.0.1:0");
    let tx = bind("127.0.0.1:0");
    let data = pattern(10 * 1200, 4);
    let t = Transmit {
        segment_size: Some(1200),
        ..transmit(target(&rx, false), &data)
    };
    tx.send(&t).unwrap();
    let mut bufs: Vec<BytesMut> = (0..2)
        .map(|_| BytesMut::with_capacity(GRO_BUFFER_SIZE + 3))
        .collect();
    bufs[0].extend_from_slice(b"old");
    let mut meta = [RecvMeta::default(); 2];
    let n = rx.recv_into(&mut bufs, &mut meta).unwrap();
    assert_eq!(n, 1);
    assert_eq!((meta[0].len, meta[0].stride), (data.len(), 1200));
    assert_eq!(&bufs[0][..3], b"old");
    assert_eq!(&bufs[0][3..], &data[..]);
    assert!(bufs[1].is_empty());

    let mut small = vec![BytesMut::with_capacity(1000)];
    let room = small[0].capacity();
    tx.send(&transmit(target(&rx, false), &pattern(room + 1, 5)))
        .unwrap();
    let n = rx.recv_into(&mut small, &mut meta[..1]).unwrap();
    assert_eq!((n, meta[0].len, small[0].len()), (1, 0, 0));
}

#[test]
fn a_datagram_larger_than_the_buffer_is_reported_empty() {
    let rx = bind_with(
        "127.0.0.1:0",
        &SocketConfig {
            gro: false,
            ..SocketConfig::default()
        },
    );
    let tx = bind("127.0.0.1:0");
    tx.send(&transmit(target(&rx, false), &pattern(3000, 6)))
        .unwrap();
    tx.send(&transmit(target(&rx, false), b"next")).unwrap();
    let mut small = [vec![0u8; 1500], vec![0u8; 1500]];
    let mut meta = [RecvMeta::default(); 2];
    let mut got = Vec::new();
    while got.len() < 2 {
        let mut bufs: Vec<IoSliceMut<'_>> = small.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        let n = rx.recv(&mut bufs, &mut meta).unwrap();
        for (b, m) in small.iter().zip(&meta).take(n) {
            got.push(b[..m.len].to_vec());
        }
    }
    assert_eq!(got[0], b"");
    assert_eq!(got[1], b"next");
}

#[test]
fn socket_buffers_are_enlarged() {
    let s = bind("127.0.0.1:0");
    let caps = s.capabilities();
    // The kernel doubles what it grants; at least the sysctl default (208 KiB) is exceeded.
    assert!(caps.recv_buffer > 1 << 20, "{caps:?}");
    assert!(caps.send_buffer > 1 << 20, "{caps:?}");
}

#[test]
fn reuse_port_lets_two_sockets_share_an_address() {
    let config = SocketConfig {
        reuse_port: true,
        ..SocketConfig::default()
    };
    let a = bind_with("127.0.0.1:0", &config);
    let addr = a.local_addr().unwrap();
    let b = UdpSocket::bind_with(addr, &config).unwrap();
    assert_eq!(b.local_addr().unwrap(), addr);
    assert!(
        UdpSocket::bind(addr).is_err(),
        "without SO_REUSEPORT the address is taken"
    );
}

#[test]
fn v6_only_refuses_ipv4_peers() {
    let rx = bind_with(
        "[::]:0",
        &SocketConfig {
            v6_only: true,
            ..SocketConfig::default()
        },
    );
    rx.set_nonblocking(true).unwrap();
    let tx = bind("127.0.0.1:0");
    tx.send(&transmit(target(&rx, false), b"v4")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut buf = [0u8; 64];
    let mut bufs = [IoSliceMut::new(&mut buf)];
    let mut meta = [RecvMeta::default()];
    assert!(rx.recv(&mut bufs, &mut meta).is_err());
}

#[test]
fn ecn_refused_by_the_kernel_falls_back_to_unmarked() {
    let rx = bind("127.0.0.1:0");
    let tx = bind("127.0.0.1:0");
    tx.fail_next_ecn
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let t = Transmit {
        ecn: Some(EcnCodepoint::Ect0),
        ..transmit(target(&rx, false), b"marked?")
    };
    assert_eq!(tx.send(&t).unwrap(), 7, "sent anyway, unmarked");
    assert!(!tx.capabilities().ecn, "ECN switched off");
    let got = recv_datagrams(&rx, 1);
    assert_eq!((got[0].0.as_slice(), got[0].1.ecn), (&b"marked?"[..], None));
    // Later sends go out unmarked without trying again.
    tx.send(&t).unwrap();
    assert_eq!(recv_datagrams(&rx, 1)[0].1.ecn, None);
}

/// Three sockets of one reuseport group with the steering program: each datagram goes to
/// the socket its connection ID's first byte names (modulo three), short and long headers
/// alike, whichever source port it comes from.
#[test]
fn reuseport_group_steers_by_connection_id() {
    let config = SocketConfig {
        reuse_port: true,
        ..SocketConfig::default()
    };
    let first = bind_with("127.0.0.1:0", &config);
    let addr = first.local_addr().unwrap();
    let group = [
        first,
        bind_with(&addr.to_string(), &config),
        bind_with(&addr.to_string(), &config),
    ];
    group[0].steer_by_connection_id(3).unwrap();
    let senders: Vec<UdpSocket> = (0..4).map(|_| bind("127.0.0.1:0")).collect();
    let mut expected = [0usize; 3];
    for (i, cid0) in [0u8, 1, 2, 3, 4, 5, 0xff, 7].iter().enumerate() {
        let short = [0x40, *cid0, 9, 9, 9, 9, 9, 9, 9];
        let long = [0xc0, 0, 0, 0, 1, 8, *cid0, 9, 9, 9, 9, 9, 9, 9];
        let from = &senders[i % senders.len()];
        from.send(&transmit(addr, &short)).unwrap();
        from.send(&transmit(addr, &long)).unwrap();
        assert_eq!(steered_socket(&short, 3), usize::from(*cid0) % 3);
        assert_eq!(steered_socket(&long, 3), usize::from(*cid0) % 3);
        expected[usize::from(*cid0) % 3] += 2;
    }
    for (i, s) in group.iter().enumerate() {
        let got = recv_datagrams(s, expected[i]);
        assert_eq!(got.len(), expected[i], "socket {i}");
        for (d, _) in got {
            assert_eq!(steered_socket(&d, 3), i, "datagram {d:?} on socket {i}");
        }
    }
    assert_eq!(steered_socket(&[0x40], 3), 0, "too short for the byte");
    assert!(group[0].steer_by_connection_id(0).is_err());
}

/// The kernel steers a GSO burst once, by its first datagram: two datagrams for different
/// sockets of a group, sent in one burst, both reach the first one's socket. (Why an
/// engine hands on a datagram its socket was given for another.)
#[test]
fn gso_burst_lands_on_one_socket() {
    let config = SocketConfig {
        reuse_port: true,
        ..SocketConfig::default()
    };
    let first = bind_with("127.0.0.1:0", &config);
    let addr = first.local_addr().unwrap();
    let group = [first, bind_with(&addr.to_string(), &config)];
    group[0].steer_by_connection_id(2).unwrap();
    let sender = bind("127.0.0.1:0");
    if sender.capabilities().gso_segments < 2 {
        return;
    }
    let mut burst = [9u8; 32];
    burst[..2].copy_from_slice(&[0x40, 1]);
    burst[16..18].copy_from_slice(&[0x40, 0]);
    assert_eq!(steered_socket(&burst[..16], 2), 1);
    assert_eq!(steered_socket(&burst[16..], 2), 0);
    sender
        .send(&Transmit {
            segment_size: Some(16),
            ..transmit(addr, &burst)
        })
        .unwrap();
    let got = recv_datagrams(&group[1], 2);
    assert_eq!(got.len(), 2);
    assert_eq!(
        steered_socket(&got[1].0, 2),
        0,
        "steered elsewhere, delivered here"
    );
    let mut bufs = vec![vec![0u8; GRO_BUFFER_SIZE]; 1];
    let mut slices: Vec<IoSliceMut<'_>> = bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let mut meta = [RecvMeta::default(); 1];
    group[0].set_nonblocking(true).unwrap();
    assert!(
        group[0].recv(&mut slices, &mut meta).is_err(),
        "nothing on socket 0"
    );
}
