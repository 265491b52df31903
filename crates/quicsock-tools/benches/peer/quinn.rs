//! quinn with quicperf's bulk exchange (an 8-byte header, the messages, the server's byte
//! count), for the benchmarks that compare with it: a server on a single-threaded tokio
//! runtime pinned to CPU 1 and a client pinned to CPU 0, with a fixed UDP payload.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

/// The UDP payload every stack uses.
pub(crate) const MTU: u16 = 1452;

fn transport() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.initial_mtu(MTU);
    t.min_mtu(MTU);
    t.mtu_discovery_config(None);
    Arc::new(t)
}

/// Pins this thread to `cpu` when the machine has it.
pub(crate) fn pin(cpu: usize) {
    if std::thread::available_parallelism().is_ok_and(|n| n.get() > cpu) {
        quicsock_udp::pin_current_thread(cpu).expect("pin");
    }
}

/// quinn's fastest set-up here: one thread per process (a two-worker runtime measured
/// slower on the one pinned CPU).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Serves quicperf's bulk exchange until killed, printing `listening on ADDR` first.
pub(crate) fn quinn_server() {
    pin(1);
    let rt = runtime();
    rt.block_on(async {
        let (chain, key) = quicsock_tools::perf::self_signed();
        let tls = quicsock_tools::perf::server_tls(chain, key).unwrap();
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(
            QuicServerConfig::try_from((*tls).clone()).unwrap(),
        ));
        config.transport_config(transport());
        let ep = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
        println!("listening on {}", ep.local_addr().unwrap());
        while let Some(incoming) = ep.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                let Ok((mut send, mut recv)) = conn.accept_bi().await else {
                    return;
                };
                let mut header = [0u8; 8];
                if recv.read_exact(&mut header).await.is_err() {
                    return;
                }
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                while let Ok(Some(n)) = recv.read(&mut buf).await {
                    total += n as u64;
                }
                let _ = send.write_all(&total.to_le_bytes()).await;
                let _ = send.finish();
                let _ = conn.closed().await;
            });
        }
    });
}

/// One bulk upload of `time` in `msg_len` writes; the server's goodput in Gbit/s.
pub(crate) fn quinn_client(addr: SocketAddr, msg_len: usize, time: Duration) -> f64 {
    pin(0);
    let rt = runtime();
    rt.block_on(async {
        let tls = quicsock::tls::insecure_client_config(&[quicsock_tools::perf::ALPN]);
        let mut config = quinn::ClientConfig::new(Arc::new(
            QuicClientConfig::try_from((*tls).clone()).unwrap(),
        ));
        config.transport_config(transport());
        let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        ep.set_default_client_config(config);
        let conn = ep.connect(addr, "localhost").unwrap().await.unwrap();
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        let gbps = bulk_upload(&mut send, &mut recv, msg_len, time).await;
        conn.close(0u32.into(), b"");
        gbps
    })
}

/// The client's side of quicperf's bulk exchange on one stream: the header, `msg_len`
/// writes for `time`, the stream's end, then the server's byte count; returns the
/// server's goodput in Gbit/s.
pub(crate) async fn bulk_upload(
    send: &mut (impl tokio::io::AsyncWrite + Unpin),
    recv: &mut (impl tokio::io::AsyncRead + Unpin),
    msg_len: usize,
    time: Duration,
) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut header = [0u8; 8];
    header[4..8].copy_from_slice(&(msg_len as u32).to_le_bytes());
    send.write_all(&header).await.unwrap();
    let msg: Vec<u8> = (0..msg_len).map(|i| (i % 251) as u8).collect();
    let start = Instant::now();
    while start.elapsed() < time {
        send.write_all(&msg).await.unwrap();
    }
    send.shutdown().await.unwrap();
    let mut count = [0u8; 8];
    recv.read_exact(&mut count).await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    u64::from_le_bytes(count) as f64 * 8.0 / secs / 1e9
}
