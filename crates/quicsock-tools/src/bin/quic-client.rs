//! quic-client: downloads URLs over HTTP/0.9 on QUIC (ALPN `hq-interop`) into a directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quicsock_tools::{certs, hq};

#[derive(Parser)]
#[command(
    name = "quic-client",
    version,
    about = "Download URLs over HTTP/0.9 on QUIC (hq-interop)"
)]
struct Cli {
    #[command(flatten)]
    args: quicsock_tools::hq_args::ClientArgs,
    /// CA certificates (PEM) to verify the server with.
    #[arg(
        long,
        conflicts_with = "insecure",
        required_unless_present = "insecure"
    )]
    ca: Option<PathBuf>,
    /// Accept any server certificate.
    #[arg(long)]
    insecure: bool,
    /// Start in QUIC v1 and offer v2 first, so that a server that speaks v2 switches the
    /// connection to it (compatible version negotiation, RFC 9368; the interop runner's
    /// v2 case).
    #[arg(long)]
    negotiate_v2: bool,
    /// Write a qlog trace of each connection into this directory (default: $QLOGDIR, as
    /// the interop runner sets it).
    #[arg(long, env = "QLOGDIR")]
    qlog_dir: Option<PathBuf>,
    /// Seconds without progress before giving up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn run(cli: Cli) -> Result<(), hq::HqError> {
    if !cli.args.output.is_dir() {
        return Err(hq::HqError::Usage(format!(
            "{}: not a directory",
            cli.args.output.display()
        )));
    }
    let urls = cli
        .args
        .urls
        .iter()
        .map(|u| hq::Url::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    let provider = hq::provider(cli.args.chacha20);
    let mut tls = match &cli.ca {
        Some(ca) => {
            quicsock::tls::client_config_with(provider, certs::load_roots(ca)?, &[hq::ALPN])
        }
        None => quicsock::tls::insecure_client_config_with(provider, &[hq::ALPN]),
    };
    // --keylog names the file; without it SSLKEYLOGFILE, as rustls reads it.
    match &cli.args.keylog {
        Some(path) => quicsock::tls::log_keys_to_path(&mut tls, path)
            .map_err(|e| hq::HqError::Usage(format!("--keylog {}: {e}", path.display())))?,
        None if std::env::var_os("SSLKEYLOGFILE").is_some() => {
            quicsock::tls::log_keys_to_env_file(&mut tls)
        }
        None => {}
    }
    if cli.args.zero_rtt {
        quicsock::tls::enable_early_data(&mut tls);
    }
    let plan = cli.args.plan();
    let mut config = quicsock::ClientConfig::new(tls, urls[0].host.clone());
    config.handshake_timeout = Duration::from_secs(cli.timeout);
    config.qlog_dir = cli.qlog_dir.clone();
    if cli.negotiate_v2 {
        use quicsock_proto::packet::Version;
        config.transport.version = Version::V1;
        config
            .transport
            .prefer_versions(&[Version::V2, Version::V1]);
    }
    let sizes = hq::download(
        &urls,
        &cli.args.output,
        &config,
        Duration::from_secs(cli.timeout),
        plan,
        cli.args.key_update,
    )?;
    for (u, n) in urls.iter().zip(sizes) {
        eprintln!("{}: {n} bytes", u.path);
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quic-client: {e}");
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
