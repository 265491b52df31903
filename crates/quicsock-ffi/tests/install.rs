//! `install.sh` makes a drop-in libquic: a Linux QUIC program builds with
//! `pkg-config --cflags --libs libquic` against the installed headers and library, and
//! runs (the sample client and server, both ends).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{assert_ok, built_library, cert_files, run, work_dir, Server};

#[test]
fn install_makes_a_libquic_that_pkg_config_builds_programs_with() {
    let so = built_library();
    let prefix = work_dir().join("prefix");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(dir.join("install.sh"))
        .arg(&prefix)
        .arg(&so)
        .output()
        .unwrap();
    assert_ok("install.sh", &[&out]);
    let flags = Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .args(["--cflags", "--libs", "libquic"])
        .output()
        .expect("pkg-config runs");
    assert_ok("pkg-config libquic", &[&flags]);
    let flags = String::from_utf8(flags.stdout).unwrap();
    assert!(flags.contains("-lquic"), "{flags}");
    let exe = work_dir().join("sample-installed");
    let cc = Command::new("cc")
        .arg(dir.join("tests/c/sample.c"))
        .arg("-o")
        .arg(&exe)
        .args(flags.split_whitespace())
        .output()
        .unwrap();
    assert_ok("cc with pkg-config's flags", &[&cc]);
    let (cert, key) = cert_files();
    let mut s = Command::new(&exe);
    s.arg("server").arg("127.0.0.1").arg(&cert).arg(&key);
    let server = Server::start(s);
    let mut c = Command::new(&exe);
    c.args(["client", "127.0.0.1", &server.port.to_string()]);
    let client = run(c, Duration::from_secs(20));
    let server = server.finish(Duration::from_secs(20));
    assert_ok("the installed sample", &[&client, &server]);
    assert!(String::from_utf8_lossy(&client.stdout).contains("hello quic client!"));
}
