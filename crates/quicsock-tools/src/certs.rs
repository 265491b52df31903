//! Certificates for the tools: PEM files, trust anchors, and a self-signed certificate
//! when none is given.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate, key or CA file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

fn bad(path: &Path, reason: impl ToString) -> FileError {
    FileError {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// A self-signed certificate for `localhost`, 127.0.0.1 and ::1, and its key.
pub fn self_signed() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = rcgen::generate_simple_self_signed(vec![
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ])
    .expect("rcgen makes a certificate for fixed names");
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.key_pair.serialize_der());
    (vec![key.cert.der().clone()], der.into())
}

/// A certificate chain and its key from PEM files.
pub fn load_cert(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), FileError> {
    let chain: Vec<_> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, e))?;
    if chain.is_empty() {
        return Err(bad(cert, "no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e))?;
    Ok((chain, key_der))
}

/// Trust anchors from a PEM file of CA certificates.
pub fn load_roots(ca: &Path) -> Result<rustls::RootCertStore, FileError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(ca, e))? {
        roots
            .add(cert.map_err(|e| bad(ca, e))?)
            .map_err(|e| bad(ca, e))?;
    }
    if roots.is_empty() {
        return Err(bad(ca, "no certificate in the file"));
    }
    Ok(roots)
}
