//! s2n-quic with quicperf's bulk exchange: a server on a single-threaded tokio runtime and
//! a client on another, each pinned to its CPU, every packet at the same UDP payload.

use std::net::SocketAddr;
use std::time::Duration;

use s2n_quic::client::Connect;
use s2n_quic::provider::io::tokio::{Builder, Provider as Io};
use s2n_quic::{Client, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::quinn_peer::{pin, MTU};

/// s2n-quic sets the path MTU, IP and UDP headers included (IPv4 here).
const IP_MTU: u16 = MTU + 28;

fn io(addr: SocketAddr) -> Io {
    Builder::default()
        .with_receive_address(addr)
        .and_then(|b| b.with_base_mtu(IP_MTU))
        .and_then(|b| b.with_initial_mtu(IP_MTU))
        .and_then(|b| b.with_max_mtu(IP_MTU))
        .and_then(|b| b.build())
        .expect("s2n-quic io")
}

/// Serves quicperf's bulk exchange until killed, printing `listening on ADDR` first.
pub(crate) fn server(cert_pem: &str, key_pem: &str) {
    pin(1);
    let rt = crate::quinn_peer::runtime();
    rt.block_on(async {
        let mut server = Server::builder()
            .with_tls((cert_pem, key_pem))
            .expect("tls")
            .with_io(io("127.0.0.1:0".parse().unwrap()))
            .expect("io")
            .start()
            .expect("s2n-quic server");
        println!("listening on {}", server.local_addr().unwrap());
        while let Some(mut conn) = server.accept().await {
            tokio::spawn(async move {
                let Ok(Some(stream)) = conn.accept_bidirectional_stream().await else {
                    return;
                };
                let (mut recv, mut send) = stream.split();
                let mut header = [0u8; 8];
                if recv.read_exact(&mut header).await.is_err() {
                    return;
                }
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                while let Ok(n) = recv.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
                let _ = send.write_all(&total.to_le_bytes()).await;
                let _ = send.close().await;
                // The client closes once it has the count.
                let _ = conn.accept_bidirectional_stream().await;
            });
        }
    });
}

/// One bulk upload of `time` in `msg_len` writes; the server's goodput in Gbit/s.
pub(crate) fn client(addr: SocketAddr, cert_pem: &str, msg_len: usize, time: Duration) -> f64 {
    pin(0);
    let rt = crate::quinn_peer::runtime();
    rt.block_on(async {
        let client = Client::builder()
            .with_tls(cert_pem)
            .expect("tls")
            .with_io(io("127.0.0.1:0".parse().unwrap()))
            .expect("io")
            .start()
            .expect("s2n-quic client");
        let mut conn = client
            .connect(Connect::new(addr).with_server_name("localhost"))
            .await
            .expect("s2n-quic connects");
        let stream = conn.open_bidirectional_stream().await.unwrap();
        let (mut recv, mut send) = stream.split();
        let gbps = crate::quinn_peer::bulk_upload(&mut send, &mut recv, msg_len, time).await;
        conn.close(0u32.into());
        gbps
    })
}
