#![allow(clippy::unwrap_used)]
//! The `larum-operator` binary as a user runs it.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_larum-operator");

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn crds_subcommand_writes_the_checked_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["crds", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "alertroutes.larum.dev.yaml",
        "inhibitrules.larum.dev.yaml",
        "silences.larum.dev.yaml",
    ] {
        let written = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let checked_in = std::fs::read_to_string(repo().join("crds").join(file)).unwrap();
        assert_eq!(written, checked_in, "{file}: run `make crds`");
    }
}

#[test]
fn run_refuses_a_missing_config_file_naming_it() {
    let out = Command::new(BIN)
        .args([
            "run",
            "--config",
            "/nonexistent/operator.yaml",
            "--output-secret",
            "larum-system/larum-config",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/operator.yaml"), "{err}");
}

#[test]
fn run_refuses_a_malformed_output_secret() {
    let example = repo().join("operator/examples/operator-config.yaml");
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&example)
        .args(["--output-secret", "just-a-name"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--output-secret: expected NAMESPACE/NAME"),
        "{err}"
    );
}
