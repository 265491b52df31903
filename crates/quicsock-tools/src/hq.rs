//! HTTP/0.9 over QUIC (ALPN `hq-interop`), as the QUIC Interop Runner speaks it: the client
//! opens a bidirectional stream per file and sends `GET /path\r\n` with FIN; the server
//! answers with the file's bytes and FIN.
//!
//! The server serves one directory and refuses paths that leave it; every connection is
//! served from one thread per CPU ([`crate::serve`]), each response sent as its stream takes
//! it. The client sends every request first (as many streams as the server
//! allows at once), then stores each response under the URL's file name.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quicsock::{ClientConfig, Flags, QuicListener, QuicSocket, ServerConfig};

/// The ALPN of HTTP/0.9 over QUIC.
pub const ALPN: &[u8] = b"hq-interop";
/// The longest request line accepted.
const MAX_REQUEST: usize = 4096;

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum HqError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// A certificate, key or CA file could not be used.
    #[error(transparent)]
    File(#[from] crate::certs::FileError),
    /// The QUIC layer failed.
    #[error(transparent)]
    Quic(#[from] quicsock::Error),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
    /// The server answered a request with an error or nothing.
    #[error("{0}: {1}")]
    Response(String, String),
}

/// Serves `root` on `listener` from `threads` threads until the process is killed (every
/// connection through one `QuicPoll`, see [`crate::serve`]); returns only if `root` cannot
/// be served.
pub fn serve(listener: QuicListener, root: &Path, threads: usize) -> Result<(), HqError> {
    let root = Arc::new(
        root.canonicalize()
            .map_err(|e| HqError::Io(root.to_owned(), e))?,
    );
    crate::serve::serve(listener, threads, move |sock| {
        if let (Ok(peer), Some(suite)) = (sock.peer_addr(), sock.cipher_suite()) {
            eprintln!("connection from {peer}: {suite:?}");
        }
        HqSession {
            root: root.clone(),
            requests: HashMap::new(),
            responses: Vec::new(),
        }
    })
}

/// Bytes of a file read at a time for a response.
const CHUNK: usize = 256 * 1024;

/// One connection's requests and the responses being sent.
struct HqSession {
    root: Arc<PathBuf>,
    /// Request bytes per stream, until their FIN.
    requests: HashMap<i64, Vec<u8>>,
    /// Responses not fully sent, each on its own stream.
    responses: Vec<Response>,
}

/// A file being sent on a stream.
struct Response {
    id: i64,
    /// The file; `None` once read to its end (or for an unknown file).
    file: Option<io::BufReader<File>>,
    /// Read from the file, not yet taken by `send`, from `sent` on.
    chunk: Vec<u8>,
    sent: usize,
}

impl crate::serve::Session for HqSession {
    fn drive(&mut self, sock: &QuicSocket) -> bool {
        let mut buf = vec![0u8; 4096];
        loop {
            if !self.send_responses(sock) {
                return false;
            }
            let (n, id, flags) = match sock.recv(&mut buf, Flags::NONE) {
                Ok(r) => r,
                Err(quicsock::Error::WouldBlock) => return true,
                Err(quicsock::Error::StreamReset(id, _)) => {
                    self.requests.remove(&id);
                    continue;
                }
                Err(_) => return false,
            };
            if flags.contains(Flags::DATAGRAM) || flags.contains(Flags::NOTIFICATION) {
                continue;
            }
            let req = self.requests.entry(id).or_default();
            if req.len() + n > MAX_REQUEST {
                self.requests.remove(&id);
                let _ = sock.send(b"", id, Flags::STREAM_FIN);
                continue;
            }
            req.extend_from_slice(&buf[..n]);
            if flags.contains(Flags::STREAM_FIN) {
                let req = self.requests.remove(&id).unwrap_or_default();
                // HTTP/0.9 has no status: an unknown file is an empty answer.
                let file = resolve(&req, &self.root)
                    .and_then(|p| File::open(p).ok())
                    .map(|f| io::BufReader::with_capacity(CHUNK, f));
                self.responses.push(Response {
                    id,
                    file,
                    chunk: Vec::new(),
                    sent: 0,
                });
            }
        }
    }
}

impl HqSession {
    /// Sends what every response has room for; false once the connection ended.
    fn send_responses(&mut self, sock: &QuicSocket) -> bool {
        let mut i = 0;
        while i < self.responses.len() {
            match self.responses[i].send(sock) {
                Ok(true) => {
                    self.responses.swap_remove(i);
                }
                Ok(false) => i += 1,
                Err(()) => return false,
            }
        }
        true
    }
}

impl Response {
    /// Sends until the stream takes no more: Ok(true) once the whole file and the FIN
    /// went, Ok(false) when the stream is full for now, Err when the connection ended.
    fn send(&mut self, sock: &QuicSocket) -> Result<bool, ()> {
        loop {
            if self.sent == self.chunk.len() {
                self.chunk.clear();
                self.sent = 0;
                if let Some(file) = self.file.as_mut() {
                    self.chunk.resize(CHUNK, 0);
                    match file.read(&mut self.chunk) {
                        Ok(n) if n > 0 => self.chunk.truncate(n),
                        _ => {
                            self.chunk.clear();
                            self.file = None;
                        }
                    }
                }
                if self.file.is_none() && self.chunk.is_empty() {
                    return match sock.send(b"", self.id, Flags::STREAM_FIN) {
                        Ok(_) => Ok(true),
                        Err(quicsock::Error::WouldBlock) => Ok(false),
                        Err(quicsock::Error::Closed(_) | quicsock::Error::EngineFailed(_)) => {
                            Err(())
                        }
                        // The client stopped or reset the stream: nothing more to send.
                        Err(_) => Ok(true),
                    };
                }
            }
            match sock.send(&self.chunk[self.sent..], self.id, Flags::NONE) {
                Ok(n) => self.sent += n,
                Err(quicsock::Error::WouldBlock) => return Ok(false),
                Err(quicsock::Error::Closed(_) | quicsock::Error::EngineFailed(_)) => {
                    return Err(())
                }
                Err(_) => return Ok(true),
            }
        }
    }
}

/// The file a request names, if it is a GET for a file under `root`.
pub fn resolve(request: &[u8], root: &Path) -> Option<PathBuf> {
    let line = std::str::from_utf8(request).ok()?;
    let line = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    let path = line.strip_prefix("GET ")?.trim();
    let rel = Path::new(path.strip_prefix('/')?);
    // Only plain names: no `..`, no absolute parts, no empty path.
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

/// One URL to fetch: where to connect, the name to check, the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Host as written.
    pub host: String,
    /// Port (443 if absent).
    pub port: u16,
    /// The path, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses `https://host[:port]/path` (IPv6 hosts in brackets).
    pub fn parse(url: &str) -> Result<Self, HqError> {
        let bad = || HqError::Usage(format!("not an https URL: {url}"));
        let rest = url.strip_prefix("https://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => 443,
                None => return Err(bad()),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), 443),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// The file name the download is stored under.
    pub fn file_name(&self) -> Option<&str> {
        self.path
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
    }

    /// The server's address: the host resolved, the first address it has.
    pub fn addr(&self) -> Result<SocketAddr, HqError> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| HqError::Usage(format!("cannot resolve {}: {e}", self.host)))?
            .next()
            .ok_or_else(|| HqError::Usage(format!("{} has no address", self.host)))
    }
}

/// How [`download`] spreads the URLs over connections (the interop runner's client
/// behaviours).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// All on one connection.
    One,
    /// A connection per URL, one after the other (`multiconnect`, for the loss and
    /// corruption cases).
    PerUrl,
    /// The first URL on one connection; once it brought a session ticket, the rest on a
    /// second connection that resumes the session (`resumption`), sending its requests
    /// in 0-RTT when `zero_rtt` is set and the ticket allows it (`zerortt`).
    Resume {
        /// Send the second connection's requests in 0-RTT.
        zero_rtt: bool,
    },
}

/// Update the 1-RTT keys as soon as the handshake is confirmed, before the requests (the
/// interop runner's keyupdate case, RFC 9001 §6), checking every millisecond up to this
/// many times.
const KEY_UPDATE_TRIES: u32 = 5000;

/// A file being downloaded: where it goes and the bytes stored so far.
type Download = (PathBuf, io::BufWriter<File>, u64);

/// Downloads every URL (all on the first URL's server) into `out`, over the connections
/// `plan` says. Returns the bytes stored per file.
pub fn download(
    urls: &[Url],
    out: &Path,
    config: &ClientConfig,
    timeout: Duration,
    plan: Plan,
    key_update: bool,
) -> Result<Vec<u64>, HqError> {
    let first = urls
        .first()
        .ok_or_else(|| HqError::Usage("no URL given".into()))?;
    if urls
        .iter()
        .any(|u| u.host != first.host || u.port != first.port)
    {
        return Err(HqError::Usage("every URL must name the same server".into()));
    }
    let mut files = Vec::new();
    for u in urls {
        let name = u
            .file_name()
            .ok_or_else(|| HqError::Usage(format!("no file name in {}", u.path)))?;
        let path = out.join(name);
        let f = File::create(&path).map_err(|e| HqError::Io(path.clone(), e))?;
        files.push((path, io::BufWriter::with_capacity(256 * 1024, f), 0u64));
    }
    let mut config = config.clone();
    config.server_name.clone_from(&first.host);
    let addr = first.addr()?;
    let connect = |early: bool| -> Result<QuicSocket, HqError> {
        let sock = if early {
            QuicSocket::connect_early(addr, &config)?
        } else {
            QuicSocket::connect(addr, &config)?
        };
        sock.set_read_timeout(Some(timeout));
        if key_update {
            // Allowed once HANDSHAKE_DONE confirmed the handshake.
            let mut tries = 0;
            while sock.update_key().is_err() {
                tries += 1;
                if tries == KEY_UPDATE_TRIES {
                    return Err(HqError::Usage("the handshake was never confirmed".into()));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            eprintln!("key updated: phase {:?}", sock.key_phase());
        }
        Ok(sock)
    };
    match plan {
        Plan::One => {
            let sock = connect(false)?;
            fetch(&sock, urls, &mut files)?;
            sock.close().ok();
        }
        Plan::PerUrl => {
            for (u, f) in urls.iter().zip(files.iter_mut()) {
                let sock = connect(false)?;
                fetch(&sock, std::slice::from_ref(u), std::slice::from_mut(f))?;
                sock.close().ok();
            }
        }
        Plan::Resume { zero_rtt } => {
            let sock = connect(false)?;
            fetch(&sock, &urls[..1], &mut files[..1])?;
            // The ticket comes after the handshake, in CRYPTO frames: wait for it, up to
            // the timeout (Linux QUIC's CONFIG receive_session_ticket).
            let wait = quicsock::QuicConfig {
                receive_session_ticket: u8::try_from(timeout.as_secs().max(1)).unwrap_or(u8::MAX),
                ..quicsock::QuicConfig::default()
            };
            sock.set_quic_config(&wait)
                .map_err(|e| HqError::Usage(e.to_string()))?;
            if sock.wait_session_ticket().is_err() {
                return Err(HqError::Usage(format!(
                    "{}: no session ticket to resume with",
                    first.host
                )));
            }
            sock.close().ok();
            let sock = connect(zero_rtt)?;
            fetch(&sock, &urls[1..], &mut files[1..])?;
            eprintln!(
                "resumed: {}, 0-RTT: {:?}",
                sock.is_resumed() == Some(true),
                sock.zero_rtt()
            );
            sock.close().ok();
        }
    }
    Ok(files.into_iter().map(|(_, _, len)| len).collect())
}

/// Requests `urls` on `sock`, as many at once as the server allows streams, and stores
/// each response in its file.
fn fetch(sock: &QuicSocket, urls: &[Url], files: &mut [Download]) -> Result<(), HqError> {
    let mut by_stream: HashMap<i64, usize> = HashMap::new();
    let mut next = 0;
    let mut open = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    while next < urls.len() || open > 0 {
        // Issue requests while the server lets us open streams. Each request but the
        // last of a batch is corked (MSG_MORE), so that a batch shares packets; the next
        // stream is opened first to know whether another request follows.
        let mut queued: Option<(i64, usize)> = None;
        loop {
            let opened = if next < urls.len() {
                match sock.open_stream(Flags::STREAM_DONTWAIT) {
                    Ok(id) => Some(id),
                    Err(quicsock::Error::WouldBlock) if open > 0 || queued.is_some() => None,
                    Err(quicsock::Error::WouldBlock) => Some(sock.open_stream(Flags::NONE)?),
                    Err(e) => return Err(e.into()),
                }
            } else {
                None
            };
            if let Some((id, i)) = queued.take() {
                let flags = if opened.is_some() {
                    Flags::STREAM_FIN | Flags::MORE
                } else {
                    Flags::STREAM_FIN
                };
                sock.send(format!("GET {}\r\n", urls[i].path).as_bytes(), id, flags)?;
                by_stream.insert(id, i);
                open += 1;
            }
            let Some(id) = opened else { break };
            queued = Some((id, next));
            next += 1;
        }
        let (n, id, flags) = match sock.recv(&mut buf, Flags::NONE) {
            Ok(r) => r,
            Err(quicsock::Error::StreamReset(id, code)) => {
                let url = by_stream.get(&id).map_or("?", |i| urls[*i].path.as_str());
                return Err(HqError::Response(
                    url.to_owned(),
                    format!("stream reset with code {code}"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let Some(&i) = by_stream.get(&id) else {
            continue;
        };
        let (path, w, len) = &mut files[i];
        w.write_all(&buf[..n])
            .map_err(|e| HqError::Io(path.clone(), e))?;
        *len += n as u64;
        if flags.contains(Flags::STREAM_FIN) {
            w.flush().map_err(|e| HqError::Io(path.clone(), e))?;
            by_stream.remove(&id);
            open -= 1;
        }
    }
    if let Some(suite) = sock.cipher_suite() {
        eprintln!(
            "connected to {}: {suite:?}",
            urls.first().map_or("", |u| u.host.as_str())
        );
    }
    eprintln!("version {}", sock.version());
    Ok(())
}

/// The crypto provider: every TLS 1.3 suite, or ChaCha20-Poly1305 only (the interop
/// runner's chacha20 case).
pub fn provider(chacha20_only: bool) -> Arc<rustls::crypto::CryptoProvider> {
    if chacha20_only {
        quicsock::tls::chacha20_only()
    } else {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }
}

/// The server's QUIC configuration.
pub fn server_config(tls: Arc<rustls::ServerConfig>) -> ServerConfig {
    let mut c = ServerConfig::new(tls);
    // At most 1000 streams at first, raised with MAX_STREAMS (the interop runner's
    // multiplexing case requires it).
    c.transport.transport.initial_max_streams_bidi = quicsock::proto::VarInt::from_u32(1000);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_requests() {
        let u = Url::parse("https://127.0.0.1:4433/dir/1M.bin").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str(), u.file_name()),
            ("127.0.0.1", 4433, "/dir/1M.bin", Some("1M.bin"))
        );
        let u = Url::parse("https://[::1]:8443/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8443));
        assert_eq!(Url::parse("https://server/f").unwrap().port, 443);
        for bad in [
            "http://a/b",
            "https://:1/x",
            "https://[::1/x",
            "https://a:port/x",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        let root = Path::new("/srv/www");
        assert_eq!(
            resolve(b"GET /a/b.txt\r\n", root),
            Some(root.join("a/b.txt"))
        );
        assert_eq!(resolve(b"GET /file", root), Some(root.join("file")));
        for bad in [
            &b"GET /../etc/passwd\r\n"[..],
            b"GET /\r\n",
            b"PUT /x\r\n",
            b"GET x\r\n",
            b"\xff",
        ] {
            assert_eq!(
                resolve(bad, root),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
