//! rustls configurations for QUIC: TLS 1.3 only, aws-lc-rs as the crypto provider.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::handshake::TlsConfigError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

pub use crate::ticket_key::{server_ticket_key, TicketKey, TICKET_KEY_LEN, TICKET_LIFETIME};

/// The crypto provider with only TLS_CHACHA20_POLY1305_SHA256, for peers and tests that
/// must use ChaCha20-Poly1305 (the interop runner's chacha20 case).
pub fn chacha20_only() -> Arc<CryptoProvider> {
    let mut p = aws_lc_rs::default_provider();
    p.cipher_suites = vec![aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    Arc::new(p)
}

/// Logs TLS secrets in the NSS key-log format to the file named by `SSLKEYLOGFILE`, for
/// Wireshark; the transport keeps taking its secrets either way.
pub fn log_keys_to_env_file(config: &mut Arc<rustls::ClientConfig>) {
    Arc::make_mut(config).key_log = Arc::new(rustls::KeyLogFile::new());
}

/// As [`log_keys_to_env_file`], for a server.
pub fn server_log_keys_to_env_file(config: &mut Arc<rustls::ServerConfig>) {
    Arc::make_mut(config).key_log = Arc::new(rustls::KeyLogFile::new());
}

/// Logs TLS secrets in the NSS key-log format to `path` (appended to, created if need
/// be), for a program that names the file itself rather than through `SSLKEYLOGFILE`:
/// setting the environment at run time races with other threads. Fails if the file cannot
/// be opened for appending.
pub fn log_keys_to_path(
    config: &mut Arc<rustls::ClientConfig>,
    path: &std::path::Path,
) -> std::io::Result<()> {
    Arc::make_mut(config).key_log = Arc::new(KeyLogPath::open(path)?);
    Ok(())
}

/// As [`log_keys_to_path`], for a server.
pub fn server_log_keys_to_path(
    config: &mut Arc<rustls::ServerConfig>,
    path: &std::path::Path,
) -> std::io::Result<()> {
    Arc::make_mut(config).key_log = Arc::new(KeyLogPath::open(path)?);
    Ok(())
}

/// A key log appended to a file opened when it is made ([`log_keys_to_path`]).
#[derive(Debug)]
pub struct KeyLogPath {
    file: std::sync::Mutex<std::fs::File>,
}

impl KeyLogPath {
    /// Opens `path` for appending, creating it if need be.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)?;
        Ok(Self {
            file: std::sync::Mutex::new(file),
        })
    }
}

impl rustls::KeyLog for KeyLogPath {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use std::fmt::Write as _;
        use std::io::Write as _;
        let mut line =
            String::with_capacity(label.len() + 2 * (client_random.len() + secret.len()) + 3);
        line.push_str(label);
        line.push(' ');
        for b in client_random {
            let _ = write!(line, "{b:02x}");
        }
        line.push(' ');
        for b in secret {
            let _ = write!(line, "{b:02x}");
        }
        line.push('\n');
        // One write per line, so the lines of concurrent handshakes do not interleave. A
        // failed write loses that line only (the log is a debugging aid).
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = file.write_all(line.as_bytes());
    }
}

fn alpn_list(alpn: &[&[u8]]) -> Vec<Vec<u8>> {
    alpn.iter().map(|a| a.to_vec()).collect()
}

/// A client that trusts `roots` and offers `alpn`.
pub fn client_config(roots: RootCertStore, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    client_config_with(provider(), roots, alpn)
}

/// As [`client_config`], with a crypto provider of the caller's (its cipher suites).
pub fn client_config_with(
    provider: Arc<CryptoProvider>,
    roots: RootCertStore,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut c = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("aws-lc-rs supports TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = alpn_list(alpn);
    Arc::new(c)
}

/// A client that accepts any server certificate. The handshake is still real (the
/// server proves it holds the certificate's key), but nothing ties that key to a name:
/// for tests and benchmarks only.
pub fn insecure_client_config(alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    insecure_client_config_with(provider(), alpn)
}

/// As [`insecure_client_config`], with a crypto provider of the caller's.
pub fn insecure_client_config_with(
    provider: Arc<CryptoProvider>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut c = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("aws-lc-rs supports TLS 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    c.alpn_protocols = alpn_list(alpn);
    Arc::new(c)
}

/// A server with one certificate chain and its key, offering `alpn`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    server_config_with(provider(), chain, key, alpn)
}

/// As [`server_config`], with a crypto provider of the caller's.
pub fn server_config_with(
    provider: Arc<CryptoProvider>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    let mut c = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("aws-lc-rs supports TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsConfigError::Certificate(e.to_string()))?;
    c.alpn_protocols = alpn_list(alpn);
    // QUIC allows only "no early data" or the maximum (RFC 9001 §4.6.1).
    c.max_early_data_size = 0;
    Ok(Arc::new(c))
}

/// Lets a client that resumes a session whose ticket allows it send 0-RTT data (RFC 9001
/// §4.6): streams and datagrams written before the handshake completes go out at once
/// ([`QuicSocket::connect_early`](crate::QuicSocket::connect_early)).
pub fn enable_early_data(config: &mut Arc<rustls::ClientConfig>) {
    Arc::make_mut(config).enable_early_data = true;
}

/// Accepts 0-RTT data from resuming clients (RFC 9001 §4.6.1: QUIC allows no limit other
/// than the maximum). Replay protection: rustls accepts early data only with stateful
/// resumption, so each ticket names a session in this server's memory and is taken out
/// when used, and a ticket is good for one connection (single-use tickets, RFC 8446
/// §8.1). A ticket presented to another server, or after a restart, resumes nothing and
/// its early data is rejected (and sent again in 1-RTT). Configuring a stateless
/// `ticketer` turns 0-RTT off. What arrives in 0-RTT can still be replayed by an attacker
/// who races the client's own connection across servers that share no state:
/// applications take only idempotent requests in it.
pub fn server_accept_early_data(config: &mut Arc<rustls::ServerConfig>) {
    Arc::make_mut(config).max_early_data_size = u32::MAX;
}

#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "TLS 1.2 is not used with QUIC".into(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
