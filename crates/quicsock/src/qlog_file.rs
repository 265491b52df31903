//! qlog files: one JSON-SEQ file per connection in a directory
//! (`ClientConfig::qlog_dir`, `ServerConfig::qlog_dir`), named after the client's first
//! destination connection ID and the vantage point (`<odcid>_<client|server>.sqlog`), as
//! the interop runner's QLOGDIR expects. The protocol core formats the records
//! ([`quicsock_proto::qlog`]); the file buffers them and is written out when the
//! connection closes (and when it is dropped). A server connection's trace starts once its
//! first datagram proved to hold a ClientHello, so that junk Initials make no files: the
//! packets of that datagram are not in it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use quicsock_proto::conn::Connection;
use quicsock_proto::qlog::QlogSink;

/// A connection's qlog file.
struct QlogFile {
    out: BufWriter<File>,
    /// A write failed (a full disk): the rest of the trace is dropped, the connection is
    /// not affected.
    failed: bool,
}

impl QlogSink for QlogFile {
    fn record(&mut self, record: &[u8]) {
        if !self.failed && self.out.write_all(record).is_err() {
            self.failed = true;
            tracing::warn!("qlog write failed; the rest of this trace is dropped");
        }
    }

    fn flush(&mut self) {
        if !self.failed && self.out.flush().is_err() {
            self.failed = true;
        }
    }
}

/// Starts `conn`'s qlog trace in `dir`. A file that cannot be created leaves the
/// connection untraced (and says so through `tracing`).
pub(crate) fn attach(conn: &mut Connection, dir: &Path, now: quicsock_proto::Timestamp) {
    let side = match conn.side() {
        quicsock_proto::Side::Client => "client",
        quicsock_proto::Side::Server => "server",
    };
    let odcid: String = conn
        .original_dcid()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = dir.join(format!("{odcid}_{side}.sqlog"));
    match File::create(&path) {
        Ok(f) => conn.set_qlog(
            Box::new(QlogFile {
                out: BufWriter::with_capacity(64 * 1024, f),
                failed: false,
            }),
            now,
        ),
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot create a qlog file"),
    }
}
