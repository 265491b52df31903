//! The command-line options every HTTP/0.9 (hq-interop) endpoint of the tools takes, in the
//! interop runner's spelling: quic-server and quic-client, and quinn-hq, the local runner's
//! quinn peer, flatten them into their own.

use std::path::PathBuf;

use crate::hq::Plan;

/// A server's certificate, directory and case options.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Certificate chain (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// Private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The directory to serve.
    #[arg(long)]
    pub root: PathBuf,
    /// Offer only TLS_CHACHA20_POLY1305_SHA256.
    #[arg(long)]
    pub chacha20: bool,
    /// Append TLS secrets to this file (NSS key-log format).
    #[arg(long)]
    pub keylog: Option<PathBuf>,
    /// Accept 0-RTT requests from resuming clients (single-use tickets; only idempotent
    /// requests belong in 0-RTT, as every HTTP/0.9 GET is).
    #[arg(long)]
    pub early_data: bool,
    /// Answer every first Initial with a Retry (address validation, RFC 9000 §8.1.2).
    #[arg(long)]
    pub retry: bool,
}

/// A client's download and case options.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// The directory downloads are stored in.
    #[arg(long)]
    pub output: PathBuf,
    /// Offer only TLS_CHACHA20_POLY1305_SHA256.
    #[arg(long)]
    pub chacha20: bool,
    /// Append TLS secrets to this file (NSS key-log format).
    #[arg(long)]
    pub keylog: Option<PathBuf>,
    /// A new connection for each URL, one after the other (the interop runner's
    /// multiconnect).
    #[arg(long, conflicts_with_all = ["resume", "zero_rtt"])]
    pub multiconnect: bool,
    /// The first URL on one connection, the rest on a second that resumes its TLS
    /// session.
    #[arg(long)]
    pub resume: bool,
    /// As --resume, with the second connection's requests sent in 0-RTT (RFC 9001 §4.6).
    #[arg(long)]
    pub zero_rtt: bool,
    /// Update the 1-RTT keys early in the transfer (RFC 9001 §6; the interop runner's
    /// keyupdate case).
    #[arg(long)]
    pub key_update: bool,
    /// https:// URLs, all on one server.
    #[arg(required = true)]
    pub urls: Vec<String>,
}

impl ClientArgs {
    /// How the URLs spread over connections.
    pub fn plan(&self) -> Plan {
        if self.multiconnect {
            Plan::PerUrl
        } else if self.resume || self.zero_rtt {
            Plan::Resume {
                zero_rtt: self.zero_rtt,
            }
        } else {
            Plan::One
        }
    }
}
