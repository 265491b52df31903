//! The QUIC Interop Runner endpoint script (`interop/runner/run_endpoint.sh`): test cases
//! quicsock does not take part in exit 127 before anything is set up, as the runner asks.

use std::process::Command;

fn run(role: &str, case: &str) -> Option<i32> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop/runner/run_endpoint.sh");
    Command::new("bash")
        .arg(script)
        .env("ROLE", role)
        .env("TESTCASE", case)
        .output()
        .unwrap()
        .status
        .code()
}

#[test]
fn runner_endpoint_refuses_unsupported_cases_with_127() {
    for role in ["client", "server"] {
        assert_eq!(run(role, "http3"), Some(127), "{role}");
        assert_eq!(run(role, "no-such-case"), Some(127), "{role}");
    }
    assert_eq!(run("server", "connectionmigration"), Some(127));
}
