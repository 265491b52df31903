//! Many client connections share one UDP socket and one engine thread (a test binary of
//! its own, so that the threads and descriptors it counts are its own): 1,000 connections
//! through the process's default endpoint, and 1,000 through an endpoint the application
//! bound, each carrying a request, add one UDP socket and one engine thread each way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quicsock::proto::conn::FixedSecretDriver;
use quicsock::proto::crypto::CipherSuite;
use quicsock::proto::Side;
use quicsock::{ClientConfig, Flags, QuicEndpoint, QuicListener, QuicSocket, ServerConfig};

const N: usize = 1000;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// UDP sockets this process holds.
fn udp_sockets() -> usize {
    let inodes: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_owned)
        })
        .collect();
    let table = std::fs::read_to_string("/proc/self/net/udp").unwrap()
        + &std::fs::read_to_string("/proc/self/net/udp6").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(9))
        .filter(|inode| inodes.iter().any(|i| i == inode))
        .count()
}

fn listener() -> (Arc<QuicListener>, SocketAddr) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    let tls =
        quicsock::tls::server_config(vec![key.cert.der().clone()], der.into(), &[b"x"]).unwrap();
    let mut config = ServerConfig::new(tls);
    config.backlog = 2 * N;
    config.driver = Some(Arc::new(|| {
        Box::new(FixedSecretDriver::new(
            Side::Server,
            CipherSuite::Aes128GcmSha256,
        ))
    }));
    let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
    let addr = l.local_addr().unwrap();
    (Arc::new(l), addr)
}

fn driver() -> Box<FixedSecretDriver> {
    Box::new(FixedSecretDriver::new(
        Side::Client,
        CipherSuite::Aes128GcmSha256,
    ))
}

/// Opens `N` connections with `connect`, checks each one carries a request to the
/// server, and returns them with the threads and UDP sockets added meanwhile.
fn many(
    l: &Arc<QuicListener>,
    connect: impl Fn() -> QuicSocket,
) -> (Vec<QuicSocket>, Vec<QuicSocket>, usize, usize) {
    let (threads_before, udp_before) = (threads(), udp_sockets());
    let l2 = l.clone();
    let accept =
        std::thread::spawn(move || (0..N).map(|_| l2.accept().unwrap()).collect::<Vec<_>>());
    let clients: Vec<QuicSocket> = (0..N).map(|_| connect()).collect();
    let servers = accept.join().unwrap();
    let (threads_with, udp_with) = (threads(), udp_sockets());
    for (i, c) in clients.iter().enumerate() {
        c.send(format!("request {i}").as_bytes(), -1, Flags::STREAM_FIN)
            .unwrap();
    }
    let mut buf = [0u8; 64];
    let mut got: Vec<String> = servers
        .iter()
        .map(|s| {
            s.set_read_timeout(Some(Duration::from_secs(10)));
            let (n, _, _) = s.recv(&mut buf, Flags::NONE).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("request {i}")).collect();
    want.sort();
    assert_eq!(got, want);
    (
        clients,
        servers,
        threads_with - threads_before,
        udp_with - udp_before,
    )
}

#[test]
fn thousand_connections_share_one_socket_and_thread() {
    let (l, addr) = listener();
    let config = ClientConfig::new(quicsock::tls::insecure_client_config(&[b"x"]), "localhost");

    // An endpoint of the application's, bound where it says.
    let ep = QuicEndpoint::bind("127.0.0.1:0".parse().unwrap(), &Default::default()).unwrap();
    let bound = ep.local_addr().unwrap();
    let (clients, servers, threads_added, udp_added) = many(&l, || {
        ep.connect_with_driver(addr, &config, driver()).unwrap()
    });
    println!("bound endpoint: {N} connections, {threads_added} threads and {udp_added} UDP sockets added");
    assert!(clients.iter().all(|c| c.local_addr().unwrap() == bound));
    assert_eq!(threads_added, 0, "the endpoint's thread serves them all");
    assert_eq!(udp_added, 0, "the endpoint's socket serves them all");
    assert_eq!(ep.connection_count(), N);
    drop((clients, servers));

    // The default endpoint.
    let (clients, servers, threads_added, udp_added) = many(&l, || {
        QuicSocket::connect_with_driver(addr, &config, driver()).unwrap()
    });
    println!("default endpoint: {N} connections, {threads_added} threads and {udp_added} UDP sockets added");
    let local = clients[0].local_addr().unwrap();
    assert!(clients.iter().all(|c| c.local_addr().unwrap() == local));
    assert_eq!(threads_added, 1, "one engine thread for every connection");
    assert_eq!(udp_added, 1, "one UDP socket for every connection");
    drop((clients, servers));
    drop(ep);
}
