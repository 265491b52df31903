//! The server's side of a run (iperf3's server report): what one client's exchange moved,
//! printed when it ends, as a line or one JSON object.

use std::net::SocketAddr;
use std::time::Instant;

use super::Proto;

/// What the server saw of one client's run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServerReport {
    /// The client.
    pub peer: SocketAddr,
    /// The transport.
    pub proto: &'static str,
    /// `bulk`, `rr`, `reverse` or `bidir`.
    pub mode: &'static str,
    /// Bytes the server read (bulk), sent (reverse), or both (request/response, bidir).
    pub bytes: u64,
    /// From the header to the end of the exchange.
    pub seconds: f64,
    /// Their rate, Gbit/s.
    pub gbps: f64,
}

impl ServerReport {
    /// One line for a person.
    pub fn to_text(&self) -> String {
        format!(
            "{} {} {}: {} bytes in {:.2} s, {:.3} Gbit/s",
            self.peer, self.proto, self.mode, self.bytes, self.seconds, self.gbps
        )
    }
}

/// Counts one exchange's bytes from its header on; reports when dropped.
pub(crate) struct Tally {
    peer: SocketAddr,
    proto: Proto,
    mode: u8,
    start: Instant,
    bytes: u64,
    json: bool,
}

impl Tally {
    pub(crate) fn new(peer: SocketAddr, proto: Proto, mode: u8, json: bool) -> Self {
        Self {
            peer,
            proto,
            mode,
            #[allow(clippy::disallowed_methods)]
            start: Instant::now(),
            bytes: 0,
            json,
        }
    }

    /// `n` more bytes moved.
    pub(crate) fn add(&mut self, n: u64) {
        self.bytes += n;
    }

    pub(crate) fn report(&self) -> ServerReport {
        let seconds = self.start.elapsed().as_secs_f64();
        ServerReport {
            peer: self.peer,
            proto: self.proto.name(),
            mode: match self.mode {
                0 => "bulk",
                1 => "rr",
                2 => "reverse",
                _ => "bidir",
            },
            bytes: self.bytes,
            seconds,
            gbps: self.bytes as f64 * 8.0 / seconds.max(f64::MIN_POSITIVE) / 1e9,
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        use std::io::Write as _;
        let r = self.report();
        let line = if self.json {
            serde_json::to_string(&r).unwrap_or_default()
        } else {
            r.to_text()
        };
        // Nobody reading the server's output (a closed pipe) does not stop the server.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}
