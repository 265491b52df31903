//! quic-runner: the QUIC Interop Runner's cases between quicsock and aioquic, quinn and
//! itself, on this machine (see the `runner` module); prints the matrix of case × peer ×
//! quicsock's role.
//!
//! ```text
//! quic-runner [--full] [--case NAME]... [--peer NAME]...
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use quicsock_tools::runner::{self, Case, Cell, Peer, Programs, Scale, Verdict};

#[derive(Parser)]
#[command(about = "Run the QUIC Interop Runner's cases locally and print the matrix")]
struct Cli {
    /// The runner's own file sizes and periods (default: the smaller sizes of the tests).
    #[arg(long)]
    full: bool,
    /// Only these cases (runner names: handshake, transfer, ...).
    #[arg(long = "case")]
    cases: Vec<String>,
    /// Only these peers (quicsock, aioquic, quinn).
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// A Python with aioquic (default: $QUICSOCK_INTEROP_PYTHON, else python3).
    #[arg(long, env = "QUICSOCK_INTEROP_PYTHON", default_value = "python3")]
    python: PathBuf,
    /// aioquic's hq.py (default: interop/aioquic/hq.py of the working directory).
    #[arg(long, default_value = "interop/aioquic/hq.py")]
    hq_py: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cases: Vec<Case> = if cli.cases.is_empty() {
        Case::ALL.to_vec()
    } else {
        let mut v = Vec::new();
        for name in &cli.cases {
            match Case::from_name(name) {
                Some(c) => v.push(c),
                None => {
                    eprintln!("quic-runner: unknown case {name:?}");
                    return ExitCode::FAILURE;
                }
            }
        }
        v
    };
    for p in &cli.peers {
        if !Peer::ALL.iter().any(|x| x.name() == p) {
            eprintln!("quic-runner: unknown peer {p:?} (quicsock, aioquic, quinn)");
            return ExitCode::FAILURE;
        }
    }
    if !cli.hq_py.is_file() {
        eprintln!(
            "quic-runner: {} not found (run from the repository, or give --hq-py)",
            cli.hq_py.display()
        );
        return ExitCode::FAILURE;
    }
    let dir = match std::env::current_exe() {
        Ok(exe) => exe.parent().map(PathBuf::from).unwrap_or_default(),
        Err(e) => {
            eprintln!("quic-runner: cannot find its own directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let programs = Programs {
        quic_client: dir.join("quic-client"),
        quic_server: dir.join("quic-server"),
        quinn_hq: dir.join("quinn-hq"),
        python: cli.python,
        hq_py: cli.hq_py,
    };
    for p in [
        &programs.quic_client,
        &programs.quic_server,
        &programs.quinn_hq,
    ] {
        if !p.is_file() {
            eprintln!(
                "quic-runner: {} not found (build with `cargo build -p quicsock-tools --features runner --bins`)",
                p.display()
            );
            return ExitCode::FAILURE;
        }
    }
    let scale = if cli.full { Scale::Full } else { Scale::Quick };
    let mut failed = 0;
    println!("{:<22} {:<9} {:<7} result", "case", "peer", "quicsock");
    for cell in Cell::all() {
        if !cases.contains(&cell.case)
            || !(cli.peers.is_empty() || cli.peers.iter().any(|p| p == cell.peer.name()))
        {
            continue;
        }
        let role = if cell.peer == Peer::Quicsock {
            "both"
        } else {
            cell.role.name()
        };
        let verdict = runner::run(cell, &programs, scale);
        let text = match &verdict {
            Verdict::Pass(facts) => format!("pass ({facts})"),
            Verdict::Fail(why) => {
                failed += 1;
                format!("FAIL: {why}")
            }
            Verdict::Unsupported(why) => format!("unsupported by the peer: {why}"),
        };
        println!(
            "{:<22} {:<9} {:<7} {text}",
            cell.case.name(),
            cell.peer.name(),
            role
        );
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
