//! Building and running the C test programs: each is compiled with the system C compiler
//! against `include/`, linked with this crate's library as `-lquic` (or not at all, for
//! the `LD_PRELOAD` runs), and run as separate client and server processes.

#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The directory cargo builds into (`target/debug`), where `libquicsock_ffi.so` is.
pub(crate) fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_owned()
}

/// This test process's directory for executables, keys and certificates (one per
/// process: nextest runs each test in a process of its own).
pub(crate) fn work_dir() -> PathBuf {
    let dir = build_dir()
        .join("c-tests")
        .join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// This crate's library as cargo built it last: `cargo build` puts it in the build
/// directory, a build for tests (or as another crate's dependency) only under deps/, so
/// the newer of the two is the one that holds the code under test.
pub(crate) fn built_library() -> PathBuf {
    [
        build_dir().join("libquicsock_ffi.so"),
        build_dir().join("deps/libquicsock_ffi.so"),
    ]
    .into_iter()
    .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
    .max()
    .map(|(_, p)| p)
    .unwrap_or_else(|| {
        panic!(
            "libquicsock_ffi.so was not built in {}",
            build_dir().display()
        )
    })
}

/// A directory holding `libquic.so`, this crate's library under libquic's name.
pub(crate) fn lib_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let so = built_library();
        let dir = build_dir().join("libquic");
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["libquic.so", "libquicsock-preload.so"] {
            let link = dir.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&so, &link).unwrap();
        }
        dir
    })
    .clone()
}

/// How a program meets the library.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// Linked with `-lquic`.
    Libquic,
    /// Not linked with it: started with it in `LD_PRELOAD`.
    Preload,
}

/// Compiles `tests/c/<name>.c`; the executable's path.
pub(crate) fn compile(name: &str, link: Link) -> PathBuf {
    compile_with(name, link, &[])
}

/// Compiles `tests/c/<name>.c` with more libraries (`-lgnutls`), once per test binary
/// (tests running at the same time share the executable).
pub(crate) fn compile_with(name: &str, link: Link, libs: &[&str]) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{name}-{link:?}");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(k, _)| *k == key) {
        return path.clone();
    }
    let path = build(name, link, libs);
    built.push((key, path.clone()));
    path
}

/// The quicsock-ffi crate's directory (this file is shared with other crates' tests).
fn ffi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../quicsock-ffi")
}

fn build(name: &str, link: Link, libs: &[&str]) -> PathBuf {
    let dir = ffi_dir();
    // One per process: nextest runs each test in a process of its own.
    let out = work_dir().join(format!("{name}-{link:?}").to_lowercase());
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-std=gnu11",
        "-O1",
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-I",
    ])
    .arg(dir.join("include"))
    .arg(dir.join(format!("tests/c/{name}.c")))
    .arg("-o")
    .arg(&out);
    if link == Link::Libquic {
        let lib = lib_dir();
        cmd.arg("-L").arg(&lib).arg("-lquic");
        cmd.arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    cmd.args(libs);
    let made = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc}: {e}"));
    assert!(
        made.status.success(),
        "{name}.c does not build:\n{}",
        String::from_utf8_lossy(&made.stderr)
    );
    out
}

/// A command for the program, with the library preloaded when it is not linked in.
pub(crate) fn command(exe: &Path, link: Link) -> Command {
    let mut cmd = Command::new(exe);
    if link == Link::Preload {
        cmd.env("LD_PRELOAD", lib_dir().join("libquicsock-preload.so"));
    }
    cmd
}

/// A pre-shared key file as libquic reads them: `identity:hex-key`.
pub(crate) fn psk_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = work_dir().join("psk.txt");
        let key: String = (0..32u8)
            .map(|i| format!("{:02x}", i.wrapping_mul(37) ^ 0x5c))
            .collect();
        std::fs::write(&path, format!("client1:{key}\n")).unwrap();
        path
    })
    .clone()
}

/// A certificate for localhost and its key, as PEM files.
pub(crate) fn cert_files() -> (PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let key =
                rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                    .unwrap();
            let cert = work_dir().join("cert.pem");
            let pkey = work_dir().join("key.pem");
            std::fs::write(&cert, key.cert.pem()).unwrap();
            std::fs::write(&pkey, key.key_pair.serialize_pem()).unwrap();
            (cert, pkey)
        })
        .clone()
}

/// A server process that printed `port N …`: N, and every port it named.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) ports: Vec<String>,
    out: BufReader<std::process::ChildStdout>,
}

impl Server {
    /// Starts `cmd` and waits for its `port N` line.
    pub(crate) fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let ports: Vec<String> = line
            .trim()
            .strip_prefix("port ")
            .unwrap_or("")
            .split(' ')
            .map(str::to_owned)
            .collect();
        let Some(port) = ports.first().and_then(|p| p.parse().ok()) else {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "the server did not say its port: {line:?}\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        Self {
            child,
            port,
            ports,
            out,
        }
    }

    /// Waits for it to end (killed after `limit`): its status and the rest of its
    /// output.
    pub(crate) fn finish(mut self, limit: Duration) -> Output {
        let watch = Watchdog::new(self.child.id(), limit);
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.out, &mut rest);
        let mut o = self.child.wait_with_output().unwrap();
        drop(watch);
        o.stdout = rest.into_bytes();
        o
    }
}

/// Kills a process that is still running after its time.
struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    fn new(pid: u32, limit: Duration) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if rx.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
        });
        Self(Some(tx))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Waking the thread tells it the process ended.
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs `cmd` to its end, killed after `limit`.
pub(crate) fn run(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watch = Watchdog::new(child.id(), limit);
    let out = child.wait_with_output().unwrap();
    drop(watch);
    out
}

/// Panics with both processes' output unless both succeeded.
pub(crate) fn assert_ok(what: &str, outputs: &[&Output]) {
    if outputs.iter().all(|o| o.status.success()) {
        return;
    }
    let mut report = format!("{what} failed:\n");
    for o in outputs {
        report += &format!(
            "-- {}\nstdout:\n{}\nstderr:\n{}\n",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    panic!("{report}");
}
