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
    #[command(flatten)]
    args: quicsock_tools::hq_args::ServerArgs,
    /// Write a qlog trace of each connection into this directory (default: $QLOGDIR, as
    /// the interop runner sets it).
    #[arg(long, env = "QLOGDIR")]
    qlog_dir: Option<PathBuf>,
    /// Announce this address as the server's preferred address (RFC 9000 §9.6). What is
    /// sent there must reach this socket, which listens on the wildcard address: another
    /// local IP on the same port, or a NAT or relay in front that maps it here.
    #[arg(long)]
    preferred_address: Option<SocketAddr>,
}

fn run(cli: Cli) -> Result<(), hq::HqError> {
    if !cli.args.root.is_dir() {
        return Err(hq::HqError::Usage(format!(
            "{}: not a directory",
            cli.args.root.display()
        )));
    }
    let (chain, key) = certs::load_cert(&cli.args.cert, &cli.args.key)?;
    let provider = hq::provider(cli.args.chacha20);
    let mut tls = quicsock::tls::server_config_with(provider, chain, key, &[hq::ALPN])
        .map_err(|e| hq::HqError::Usage(e.to_string()))?;
    // --keylog names the file; without it SSLKEYLOGFILE, as rustls reads it.
    match &cli.args.keylog {
        Some(path) => quicsock::tls::server_log_keys_to_path(&mut tls, path)
            .map_err(|e| hq::HqError::Usage(format!("--keylog {}: {e}", path.display())))?,
        None if std::env::var_os("SSLKEYLOGFILE").is_some() => {
            quicsock::tls::server_log_keys_to_env_file(&mut tls)
        }
        None => {}
    }
    if cli.args.early_data {
        quicsock::tls::server_accept_early_data(&mut tls);
    }
    let mut config = hq::server_config(tls);
    config.validate_address = cli.args.retry;
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
        cli.args.root.display(),
        listener.local_addr()?
    );
    hq::serve(
        listener,
        &cli.args.root,
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

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (unique argument and group names, valid conflicts).
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
