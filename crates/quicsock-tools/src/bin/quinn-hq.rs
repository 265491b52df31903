//! quinn-hq: HTTP/0.9 over QUIC (ALPN `hq-interop`) with quinn, an independent QUIC
//! implementation in Rust: the local interop runner's quinn endpoint, in both roles.
//!
//! ```text
//! quinn-hq server --listen ADDR --cert CHAIN --key KEY --root DIR [--retry] [--chacha20]
//!                 [--early-data] [--preferred-address ADDR] [--keylog FILE]
//! quinn-hq client --output DIR --ca CA [--chacha20] [--multiconnect | --resume | --zero-rtt]
//!                 [--key-update] [--keylog FILE] URL...
//! ```
//!
//! The server prints "quinn-hq: serving on ADDR" once it listens and serves until killed.
//! The client stores each response under its file name and exits 0 when all arrived.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use quicsock_tools::{certs, hq, hq::Plan, hq_args};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

#[derive(Parser)]
#[command(about = "HTTP/0.9 over QUIC with quinn (the local interop runner's quinn peer)")]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Serve a directory.
    Server(QuinnServer),
    /// Download URLs.
    Client(QuinnClient),
}

#[derive(clap::Args)]
struct QuinnServer {
    /// Address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// Announce this IPv4 address as the server's preferred address.
    #[arg(long)]
    preferred_address: Option<std::net::SocketAddrV4>,
    #[command(flatten)]
    hq: hq_args::ServerArgs,
}

#[derive(clap::Args)]
struct QuinnClient {
    /// CA certificates (PEM) to verify the server with.
    #[arg(long)]
    ca: PathBuf,
    #[command(flatten)]
    hq: hq_args::ClientArgs,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The suite quinn protects Initial packets with (RFC 9001 §5.2), whatever the handshake
/// may choose.
fn initial_suite() -> Result<rustls::quic::Suite, Error> {
    rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .and_then(|s| s.quic_suite())
        .ok_or_else(|| "AES-128-GCM has no QUIC suite".into())
}

fn keylog_error(path: &Path, e: std::io::Error) -> Error {
    format!("--keylog {}: {e}", path.display()).into()
}

async fn serve(a: QuinnServer) -> Result<(), Error> {
    let (chain, key) = certs::load_cert(&a.hq.cert, &a.hq.key)?;
    let mut tls =
        quicsock::tls::server_config_with(hq::provider(a.hq.chacha20), chain, key, &[hq::ALPN])?;
    if let Some(path) = &a.hq.keylog {
        quicsock::tls::server_log_keys_to_path(&mut tls, path)
            .map_err(|e| keylog_error(path, e))?;
    }
    if a.hq.early_data {
        quicsock::tls::server_accept_early_data(&mut tls);
    }
    let crypto = QuicServerConfig::with_initial(tls, initial_suite()?)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.preferred_address_v4(a.preferred_address);
    let endpoint = quinn::Endpoint::server(config, a.listen)?;
    eprintln!("quinn-hq: serving on {}", endpoint.local_addr()?);
    let root = Arc::new(a.hq.root);
    while let Some(incoming) = endpoint.accept().await {
        if a.hq.retry && !incoming.remote_address_validated() {
            incoming.retry()?;
            continue;
        }
        let root = root.clone();
        tokio::spawn(async move {
            let conn = match incoming.accept() {
                Ok(c) => c,
                Err(e) => return eprintln!("quinn-hq: accept: {e}"),
            };
            let conn = match conn.into_0rtt() {
                Ok((c, _)) => c,
                Err(connecting) => match connecting.await {
                    Ok(c) => c,
                    Err(e) => return eprintln!("quinn-hq: handshake: {e}"),
                },
            };
            while let Ok((send, recv)) = conn.accept_bi().await {
                tokio::spawn(respond(send, recv, root.clone()));
            }
        });
    }
    Ok(())
}

/// Answers one request with the file it names, or an empty response.
async fn respond(mut send: quinn::SendStream, mut recv: quinn::RecvStream, root: Arc<PathBuf>) {
    let Ok(request) = recv.read_to_end(4096).await else {
        return;
    };
    if let Some(path) = hq::resolve(&request, &root) {
        if let Ok(body) = std::fs::read(&path) {
            let _ = send.write_all(&body).await;
        }
    }
    let _ = send.finish();
    let _ = send.stopped().await;
}

async fn download(a: QuinnClient) -> Result<(), Error> {
    let urls =
        a.hq.urls
            .iter()
            .map(|u| hq::Url::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
    let first = urls.first().ok_or("no URL given")?.clone();
    let roots = certs::load_roots(&a.ca)?;
    let mut tls =
        quicsock::tls::client_config_with(hq::provider(a.hq.chacha20), roots, &[hq::ALPN]);
    if let Some(path) = &a.hq.keylog {
        quicsock::tls::log_keys_to_path(&mut tls, path).map_err(|e| keylog_error(path, e))?;
    }
    if a.hq.zero_rtt {
        quicsock::tls::enable_early_data(&mut tls);
    }
    let crypto = QuicClientConfig::with_initial(tls, initial_suite()?)?;
    let config = quinn::ClientConfig::new(Arc::new(crypto));
    let addr = first.addr()?;
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse()?
    } else {
        "0.0.0.0:0".parse()?
    };
    let mut endpoint = quinn::Endpoint::client(bind)?;
    endpoint.set_default_client_config(config);
    let host = first.host.clone();
    let connect = |early: bool| {
        let endpoint = endpoint.clone();
        let host = host.clone();
        async move {
            let connecting = endpoint.connect(addr, &host)?;
            if early {
                match connecting.into_0rtt() {
                    Ok((c, _)) => return Ok::<_, Error>(c),
                    Err(connecting) => return Ok(connecting.await?),
                }
            }
            Ok(connecting.await?)
        }
    };
    let (out, key_update) = (&a.hq.output, a.hq.key_update);
    match a.hq.plan() {
        Plan::PerUrl => {
            for u in &urls {
                let conn = connect(false).await?;
                fetch(&conn, std::slice::from_ref(u), out, key_update).await?;
                conn.close(0u32.into(), b"");
            }
        }
        Plan::Resume { zero_rtt } => {
            let conn = connect(false).await?;
            fetch(&conn, &urls[..1], out, key_update).await?;
            // The ticket follows the handshake: give it time to arrive.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            conn.close(0u32.into(), b"");
            let conn = connect(zero_rtt).await?;
            fetch(&conn, &urls[1..], out, false).await?;
            conn.close(0u32.into(), b"");
        }
        Plan::One => {
            let conn = connect(false).await?;
            fetch(&conn, &urls, out, key_update).await?;
            conn.close(0u32.into(), b"");
        }
    }
    endpoint.wait_idle().await;
    Ok(())
}

/// Requests every URL at once on `conn` and stores each response.
async fn fetch(
    conn: &quinn::Connection,
    urls: &[hq::Url],
    out: &Path,
    key_update: bool,
) -> Result<(), Error> {
    let mut tasks = Vec::new();
    for (i, u) in urls.iter().enumerate() {
        let conn = conn.clone();
        let path = u.path.clone();
        let name = u
            .file_name()
            .ok_or_else(|| format!("no file name in {}", u.path))?;
        let file = out.join(name);
        let update = key_update && i == 0;
        tasks.push(tokio::spawn(async move {
            let (mut send, mut recv) = conn.open_bi().await?;
            send.write_all(format!("GET {path}\r\n").as_bytes()).await?;
            send.finish()?;
            let mut body = Vec::new();
            let mut updated = !update;
            while let Some(chunk) = recv.read_chunk(usize::MAX, true).await? {
                body.extend_from_slice(&chunk.bytes);
                if !updated {
                    // Early in the transfer, once the server's 1-RTT data flows.
                    conn.force_key_update();
                    updated = true;
                }
            }
            std::fs::write(&file, &body)?;
            eprintln!("{path}: {} bytes", body.len());
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("quinn-hq: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.role {
            Role::Server(a) => serve(a).await,
            Role::Client(a) => download(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quinn-hq: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (unique argument and group names, valid conflicts).
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
