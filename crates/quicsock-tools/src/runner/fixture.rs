//! A runner cell's files: a CA, the server's certificate chain signed by it (nine
//! certificates for the amplificationlimit case), the files to serve, the download
//! directory and the key logs; all in a scratch directory removed when dropped.

use std::io;
use std::path::{Path, PathBuf};

/// How many certificates the amplificationlimit case's chain holds (the runner's nine),
/// and the Handshake CRYPTO bytes it must reach.
pub const LONG_CHAIN: usize = 9;
/// The least size of the long chain's Handshake flight, as the runner asks.
pub const LONG_CHAIN_BYTES: u64 = 7500;

/// The scratch directory of one cell.
pub struct Fixture {
    dir: PathBuf,
}

fn rcgen_error(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("certificate generation: {e}"))
}

impl Fixture {
    /// Makes the directory `name` under the system's temporary directory with a CA, a
    /// chain of `chain_len` certificates (the leaf for localhost, 127.0.0.1 and ::1, then
    /// fillers), and `files` (name, length) of pseudo-random bytes under `www`.
    pub fn new(name: &str, chain_len: usize, files: &[(String, usize)]) -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("quic-runner-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www"))?;
        std::fs::create_dir_all(dir.join("dl"))?;
        let fx = Self { dir };
        fx.certificates(chain_len.max(1))?;
        for (i, (name, len)) in files.iter().enumerate() {
            std::fs::write(fx.www().join(name), pseudo_random(*len, i as u64))?;
        }
        Ok(fx)
    }

    fn certificates(&self, chain_len: usize) -> io::Result<()> {
        let ca_params = |names: Vec<String>, cn: String| -> io::Result<rcgen::CertificateParams> {
            let mut p = rcgen::CertificateParams::new(names).map_err(rcgen_error)?;
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
            ];
            Ok(p)
        };
        let ca_key = rcgen::KeyPair::generate().map_err(rcgen_error)?;
        let ca = ca_params(Vec::new(), "quic-runner CA".into())?
            .self_signed(&ca_key)
            .map_err(rcgen_error)?;
        std::fs::write(self.path("ca.pem"), ca.pem())?;
        // The leaf is signed by the CA; the other certificates of a long chain are more
        // CA-signed certificates that the path does not need (TLS 1.3 lets a chain carry
        // them, RFC 8446 §4.4.2; verifiers cap the path's depth, not the list), each about
        // a kilobyte with long names, so that nine pass the runner's 7500 bytes.
        let mut fillers = Vec::new();
        for i in 1..chain_len {
            let names = (0..8)
                .map(|j| format!("filler-{i}-name-{j}-padding-the-certificate.quic-runner.invalid"))
                .collect();
            let key = rcgen::KeyPair::generate().map_err(rcgen_error)?;
            let cert = ca_params(names, format!("quic-runner filler {i}"))?
                .signed_by(&key, &ca, &ca_key)
                .map_err(rcgen_error)?;
            fillers.push(cert.pem());
        }
        let key = rcgen::KeyPair::generate().map_err(rcgen_error)?;
        let mut leaf = rcgen::CertificateParams::new(vec![
            "localhost".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ])
        .map_err(rcgen_error)?;
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf.signed_by(&key, &ca, &ca_key).map_err(rcgen_error)?;
        let mut chain = leaf.pem();
        for c in &fillers {
            chain.push_str(c);
        }
        std::fs::write(self.path("chain.pem"), chain)?;
        std::fs::write(self.path("key.pem"), key.serialize_pem())?;
        Ok(())
    }

    /// A path in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The served files.
    pub fn www(&self) -> PathBuf {
        self.path("www")
    }

    /// The downloads.
    pub fn downloads(&self) -> PathBuf {
        self.path("dl")
    }

    /// The first file whose download is missing or differs, with what is wrong.
    pub fn check_downloads(&self, files: &[(String, usize)]) -> Result<(), String> {
        for (name, _) in files {
            let sent = std::fs::read(self.www().join(name)).map_err(|e| format!("{name}: {e}"))?;
            let got = match std::fs::read(self.downloads().join(name)) {
                Ok(g) => g,
                Err(e) => return Err(format!("{name} was not downloaded: {e}")),
            };
            if got.len() != sent.len() {
                return Err(format!("{name}: {} bytes of {}", got.len(), sent.len()));
            }
            if got != sent {
                return Err(format!("{name}: the content differs"));
            }
        }
        Ok(())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `len` bytes of a xorshift stream: content that no file system or compressor shortcuts.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = (len as u64 ^ 0x9e37_79b9_7f4a_7c15)
        .wrapping_add(seed.wrapping_mul(0x2545_f491_4f6c_dd1d))
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
