//! The C header against the Rust mirrors: `tests/c/layout.c` is compiled with the system C
//! compiler against `include/` (its `_Static_assert`s hold the Linux x86_64 sizes and
//! offsets), run, and what it prints (each structure's size and alignment, each
//! constant's value) must be exactly what `quicsock_ffi::uapi` says, both ways.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use quicsock_ffi::uapi;

#[test]
fn the_header_and_the_rust_mirrors_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::temp_dir().join(format!("quicsock-ffi-layout-{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(dir.join("include"))
        .arg(dir.join("tests/c/layout.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc}: {e}"));
    assert!(
        out.status.success(),
        "the header does not compile or its layout asserts fail:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_file(&exe);
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    let mut layouts = BTreeMap::new();
    let mut constants = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f[..] {
            ["layout", name, size, align] => {
                layouts.insert(
                    name.to_owned(),
                    (size.parse().unwrap(), align.parse().unwrap()),
                );
            }
            ["const", name, value] => {
                constants.insert(name.to_owned(), value.parse::<i64>().unwrap());
            }
            ["error", name, value] => {
                errors.insert(name.to_owned(), value.parse::<u32>().unwrap());
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    let rust_layouts: BTreeMap<String, (usize, usize)> = uapi::layouts()
        .into_iter()
        .map(|(n, s, a)| (n.to_owned(), (s, a)))
        .collect();
    assert_eq!(layouts, rust_layouts);
    let rust_constants: BTreeMap<String, i64> = uapi::constants()
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    assert_eq!(constants, rust_constants);
    let rust_errors: BTreeMap<String, u32> = uapi::QUIC_TRANSPORT_ERRORS
        .iter()
        .map(|(n, v)| ((*n).to_owned(), *v))
        .collect();
    assert_eq!(errors, rust_errors);
    assert_eq!(constants.len(), 67);
}
