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
    /// The directory downloads are stored in.
    #[arg(long)]
    output: PathBuf,
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
    /// Offer only TLS_CHACHA20_POLY1305_SHA256.
    #[arg(long)]
    chacha20: bool,
    /// Append TLS secrets to this file (NSS key-log format).
    #[arg(long)]
    keylog: Option<PathBuf>,
    /// Start in QUIC v1 and offer v2 first, so that a server that speaks v2 switches the
    /// connection to it (compatible version negotiation, RFC 9368; the interop runner's
    /// v2 case).
    #[arg(long)]
    negotiate_v2: bool,
    /// A new connection for each URL, one after the other (the interop runner's
    /// multiconnect).
    #[arg(long, conflicts_with_all = ["resume", "zero_rtt"])]
    multiconnect: bool,
    /// The first URL on one connection, the rest on a second that resumes its TLS
    /// session.
    #[arg(long)]
    resume: bool,
    /// As --resume, with the second connection's requests sent in 0-RTT (RFC 9001 §4.6).
    #[arg(long)]
    zero_rtt: bool,
    /// Update the 1-RTT keys once the handshake is confirmed, before the requests (RFC
    /// 9001 §6; the interop runner's keyupdate case).
    #[arg(long)]
    key_update: bool,
    /// Write a qlog trace of each connection into this directory (default: $QLOGDIR, as
    /// the interop runner sets it).
    #[arg(long, env = "QLOGDIR")]
    qlog_dir: Option<PathBuf>,
    /// Seconds without progress before giving up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// https:// URLs, all on one server.
    #[arg(required = true)]
    urls: Vec<String>,
}

fn run(cli: Cli) -> Result<(), hq::HqError> {
    if !cli.output.is_dir() {
        return Err(hq::HqError::Usage(format!(
            "{}: not a directory",
            cli.output.display()
        )));
    }
    let urls = cli
        .urls
        .iter()
        .map(|u| hq::Url::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    let provider = hq::provider(cli.chacha20);
    let mut tls = match &cli.ca {
        Some(ca) => {
            quicsock::tls::client_config_with(provider, certs::load_roots(ca)?, &[hq::ALPN])
        }
        None => quicsock::tls::insecure_client_config_with(provider, &[hq::ALPN]),
    };
    // --keylog names the file; without it SSLKEYLOGFILE, as rustls reads it.
    match &cli.keylog {
        Some(path) => quicsock::tls::log_keys_to_path(&mut tls, path)
            .map_err(|e| hq::HqError::Usage(format!("--keylog {}: {e}", path.display())))?,
        None if std::env::var_os("SSLKEYLOGFILE").is_some() => {
            quicsock::tls::log_keys_to_env_file(&mut tls)
        }
        None => {}
    }
    if cli.zero_rtt {
        quicsock::tls::enable_early_data(&mut tls);
    }
    let plan = if cli.multiconnect {
        hq::Plan::PerUrl
    } else if cli.resume || cli.zero_rtt {
        hq::Plan::Resume {
            zero_rtt: cli.zero_rtt,
        }
    } else {
        hq::Plan::One
    };
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
        &cli.output,
        &config,
        Duration::from_secs(cli.timeout),
        plan,
        cli.key_update,
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
