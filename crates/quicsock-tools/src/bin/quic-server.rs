//! quic-server: serves a directory over HTTP/0.9 on QUIC (ALPN `hq-interop`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use quicsock_tools::{certs, hq};

#[derive(Parser)]
#[command(
    name = "quic-server",
    version,
    about = "Serve a directory over HTTP/0.9 on QUIC (hq-interop)"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "[::]:443")]
    listen: SocketAddr,
    /// Certificate chain (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// The directory to serve.
    #[arg(long)]
    root: PathBuf,
    /// Offer only TLS_CHACHA20_POLY1305_SHA256.
    #[arg(long)]
    chacha20: bool,
    /// Append TLS secrets to this file (NSS key-log format).
    #[arg(long)]
    keylog: Option<PathBuf>,
    /// Accept 0-RTT requests from resuming clients (single-use tickets; only idempotent
    /// requests belong in 0-RTT, as every HTTP/0.9 GET is).
    #[arg(long)]
    early_data: bool,
    /// Write a qlog trace of each connection into this directory (default: $QLOGDIR, as
    /// the interop runner sets it).
    #[arg(long, env = "QLOGDIR")]
    qlog_dir: Option<PathBuf>,
    /// Announce this address as the server's preferred address (RFC 9000 §9.6). What is
    /// sent there must reach this socket, which listens on the wildcard address: another
    /// local IP on the same port, or a NAT or relay in front that maps it here.
    #[arg(long)]
    preferred_address: Option<SocketAddr>,
    /// Answer every first Initial with a Retry (address validation, RFC 9000 §8.1.2).
    #[arg(long)]
    retry: bool,
}

fn run(cli: Cli) -> Result<(), hq::HqError> {
    if !cli.root.is_dir() {
        return Err(hq::HqError::Usage(format!(
            "{}: not a directory",
            cli.root.display()
        )));
    }
    let (chain, key) = certs::load_cert(&cli.cert, &cli.key)?;
    let provider = hq::provider(cli.chacha20);
    let mut tls = quicsock::tls::server_config_with(provider, chain, key, &[hq::ALPN])
        .map_err(|e| hq::HqError::Usage(e.to_string()))?;
    // --keylog names the file; without it SSLKEYLOGFILE, as rustls reads it.
    match &cli.keylog {
        Some(path) => quicsock::tls::server_log_keys_to_path(&mut tls, path)
            .map_err(|e| hq::HqError::Usage(format!("--keylog {}: {e}", path.display())))?,
        None if std::env::var_os("SSLKEYLOGFILE").is_some() => {
            quicsock::tls::server_log_keys_to_env_file(&mut tls)
        }
        None => {}
    }
    if cli.early_data {
        quicsock::tls::server_accept_early_data(&mut tls);
    }
    let mut config = hq::server_config(tls);
    config.validate_address = cli.retry;
    if let Some(a) = cli.preferred_address {
        if !cli.listen.ip().is_unspecified() {
            return Err(hq::HqError::Usage(
                "--preferred-address needs --listen on the wildcard address".into(),
            ));
        }
        let mut p = quicsock::proto::conn::PreferredAddresses::default();
        match a {
            SocketAddr::V4(v4) => p.ipv4 = Some(v4),
            SocketAddr::V6(v6) => p.ipv6 = Some(v6),
        }
        config.transport.preferred_address = Some(p);
    }
    config.qlog_dir = cli.qlog_dir.clone();
    let listener = quicsock::QuicListener::bind(cli.listen, &config)?;
    eprintln!(
        "quic-server: serving {} on {}",
        cli.root.display(),
        listener.local_addr()?
    );
    hq::serve(
        listener,
        &cli.root,
        quicsock_tools::serve::default_threads(),
    )
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quic-server: {e}");
            ExitCode::FAILURE
        }
    }
}
