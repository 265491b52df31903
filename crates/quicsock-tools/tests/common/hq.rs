//! An hq-interop download between two endpoints: a scratch directory with a CA, a server
//! certificate it signed and the files to serve, and the server process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A scratch directory with a CA, a server certificate signed by it, and the files to
/// serve.
pub(crate) struct Fixture {
    pub(crate) dir: PathBuf,
}

impl Fixture {
    pub(crate) fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("quicsock-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::create_dir_all(dir.join("dl")).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "quicsock interop CA");
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut leaf = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("chain.pem"), format!("{}{}", leaf.pem(), ca.pem())).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        for (name, len) in [("1M.bin", 1_000_000usize), ("10M.bin", 10_000_000)] {
            let mut x: u64 = len as u64 ^ 0x9e37_79b9_7f4a_7c15;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            std::fs::write(dir.join("www").join(name), data).unwrap();
        }
        Self { dir }
    }

    pub(crate) fn path(&self, p: &str) -> String {
        self.dir.join(p).to_str().unwrap().to_owned()
    }

    /// Both files arrived intact.
    pub(crate) fn check_downloads(&self) {
        for name in ["1M.bin", "10M.bin"] {
            let sent = std::fs::read(self.dir.join("www").join(name)).unwrap();
            let got = std::fs::read(self.dir.join("dl").join(name)).unwrap_or_default();
            assert_eq!(got.len(), sent.len(), "{name}: length");
            assert!(got == sent, "{name}: content differs");
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server process, killed when dropped; `ready` is the line it prints when listening.
pub(crate) struct Server {
    child: Child,
    stderr: Option<std::process::ChildStderr>,
}

impl Server {
    pub(crate) fn start(mut cmd: Command, ready_on_stderr: bool) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        let mut stderr = child.stderr.take();
        if ready_on_stderr {
            let mut r = BufReader::new(stderr.take().unwrap());
            r.read_line(&mut line).unwrap();
            stderr = Some(r.into_inner());
        } else {
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
        }
        assert!(
            line.contains("listening on") || line.contains("serving"),
            "server did not start: {line:?}"
        );
        Self { child, stderr }
    }

    /// Everything the server wrote to stderr, after stopping it.
    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
        }
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP port free now.
pub(crate) fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
