//! aioquic for the tests: a Python that imports it, from `QUICSOCK_INTEROP_PYTHON` (set
//! by `.ci/run`) or else from a virtual environment made once under `target/` with the
//! aioquic of `interop/aioquic/requirements.txt`. Setting it up fails the test, never
//! skips it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The repository's root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A Python with aioquic, made once per test run.
pub(crate) fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    static SETUP: Mutex<()> = Mutex::new(());
    let _guard = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("QUICSOCK_INTEROP_PYTHON") {
                let p = PathBuf::from(p);
                assert!(
                    has_aioquic(&p),
                    "QUICSOCK_INTEROP_PYTHON={} cannot import aioquic",
                    p.display()
                );
                return p;
            }
            let venv = workspace().join("target/interop-venv");
            let py = venv.join("bin/python");
            if !has_aioquic(&py) {
                let ok = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status();
                assert!(
                    ok.is_ok_and(|s| s.success()),
                    "cannot make a Python venv at {} (python3 -m venv)",
                    venv.display()
                );
                let reqs = workspace().join("interop/aioquic/requirements.txt");
                let ok = Command::new(&py)
                    .args(["-m", "pip", "install", "-q", "-r"])
                    .arg(&reqs)
                    .status();
                assert!(
                    ok.is_ok_and(|s| s.success()),
                    "cannot pip install {} into {}",
                    reqs.display(),
                    venv.display()
                );
            }
            assert!(
                has_aioquic(&py),
                "aioquic is not importable from {}",
                py.display()
            );
            py
        })
        .clone()
}

fn has_aioquic(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", "import aioquic"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
