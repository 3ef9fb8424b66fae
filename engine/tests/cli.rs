//! The offline subcommands and flags of the binary, run as a user would.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::ENGINE;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn check_config_reports_each_file_and_fails_on_any_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.yml",
        "route:\n  receiver: a\nreceivers:\n- name: a\n",
    );
    let bad = write(
        dir.path(),
        "bad.yml",
        "route:\n  receiver: a\n  routes:\n  - group_wait: 5x\nreceivers:\n- name: a\n",
    );

    let ok = Command::new(ENGINE)
        .args(["check-config", &good])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        stdout.contains("SUCCESS") && stdout.contains(" - 1 receivers"),
        "{stdout}"
    );

    let failed = Command::new(ENGINE)
        .args(["check-config", &good, &bad])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(stdout.contains("good.yml'  SUCCESS"), "{stdout}");
    assert!(stdout.contains("bad.yml'  FAILED: line 4, column 17: route.routes[0].group_wait: invalid duration \"5x\""), "{stdout}");
    assert!(String::from_utf8_lossy(&failed.stderr).contains("failed to validate 1 file(s)"));
}

#[test]
fn matcher_syntax_follows_the_feature_flags() {
    let dir = tempfile::tempdir().unwrap();
    // A quoted UTF-8 label name: valid in the default (fallback) and UTF-8 strict modes only.
    let utf8 = write(
        dir.path(),
        "utf8.yml",
        "route:\n  receiver: a\n  routes:\n  - matchers: ['\"service.name\"=\"api\"']\n    receiver: a\nreceivers:\n- name: a\n",
    );
    // An unquoted value with a space: classic syntax only.
    let classic = write(
        dir.path(),
        "classic.yml",
        "route:\n  receiver: a\n  routes:\n  - matchers: ['summary=foo bar']\n    receiver: a\nreceivers:\n- name: a\n",
    );
    let check = |feature: Option<&str>, file: &str| {
        let mut cmd = Command::new(ENGINE);
        if let Some(f) = feature {
            cmd.arg(format!("--enable-feature={f}"));
        }
        cmd.args(["check-config", file])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(check(None, &utf8));
    assert!(check(Some("utf8-strict-mode"), &utf8));
    assert!(!check(Some("classic-mode"), &utf8));
    assert!(check(None, &classic));
    assert!(check(Some("classic-mode"), &classic));
    assert!(!check(Some("utf8-strict-mode"), &classic));
    let both = Command::new(ENGINE)
        .args([
            "--enable-feature=classic-mode,utf8-strict-mode",
            "check-config",
            &classic,
        ])
        .output()
        .unwrap();
    assert!(!both.status.success());
}

#[test]
fn json_logs_carry_the_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "am.yml",
        "route:\n  receiver: a\nreceivers:\n- name: a\n",
    );
    let mut child = Command::new(ENGINE)
        .args([
            &format!("--config.file={config}"),
            "--web.listen-address=127.0.0.1:0",
            "--cluster.listen-address=",
            "--log.format=json",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("Listening on"))
        .expect("a Listening on line");
    let _ = child.kill();
    let _ = child.wait();
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    let address = event["address"].as_str().expect("address field");
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "{line}"
    );
}
