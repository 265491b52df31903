//! `quic-inspect`: decode a QUIC datagram.
//!
//! Splits a datagram into its coalesced packets, removes Initial protection with the keys
//! derived from the connection IDs, and prints every header field and frame. Without input
//! it decodes the client Initial of RFC 9001 Appendix A.2.
//!
//! Exit status: 0 when every packet decoded, 1 when a packet could not be parsed or failed
//! authentication, 2 for unusable input or arguments.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use quicsock_tools::inspect::{decode_input, inspect, Options, RFC9001_CLIENT_INITIAL};

/// Decode a QUIC datagram: its coalesced packets, their headers and, for Initial packets,
/// their frames.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Without DATAGRAM or --file, decodes the client Initial of RFC 9001 Appendix A.2.\n\
Exit status: 0 all packets decoded, 1 a packet failed to parse or authenticate, 2 bad input."
)]
struct Args {
    /// The datagram as hex (whitespace and colons are ignored).
    #[arg(conflicts_with = "file")]
    datagram: Option<String>,
    /// Read the datagram from a file, as hex text or raw bytes.
    #[arg(short, long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The client's original Destination Connection ID (hex), to open server Initials and
    /// verify Retry integrity tags.
    #[arg(long, value_name = "HEX")]
    odcid: Option<String>,
    /// Length of the destination connection ID in short-header packets.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u8).range(0..=20))]
    cid_len: Option<u8>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("quic-inspect: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let datagram = match (&args.datagram, &args.file) {
        (Some(hex), _) => decode_input(hex.as_bytes(), false)?,
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            decode_input(&bytes, true)?
        }
        (None, None) => {
            println!("(no datagram given: decoding the client Initial of RFC 9001 Appendix A.2)");
            decode_input(RFC9001_CLIENT_INITIAL.as_bytes(), false)?
        }
    };
    let odcid = match &args.odcid {
        Some(hex) => {
            let cid =
                hex::decode(hex.trim()).map_err(|e| format!("--odcid is not valid hex: {e}"))?;
            if cid.len() > 255 {
                return Err("--odcid is longer than 255 bytes".into());
            }
            Some(cid)
        }
        None => None,
    };
    let options = Options {
        odcid,
        short_dcid_len: args.cid_len.map(usize::from),
    };
    let report = inspect(&datagram, &options);
    print!("{}", report.text);
    Ok(if report.problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
