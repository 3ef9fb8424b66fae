//! `make demo` (scripts/demo.sh) run briefly: control plane, chart, operator, 3 engines,
//! the examples, Prometheus and the webhook receiver; a notification must arrive and the
//! example Silence must mute its alert.

#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use larum_chart_tests::{repo_root, workspace_binary};

#[test]
fn make_demo_delivers_a_notification() {
    if !Path::new("/usr/bin/prometheus").is_file() {
        panic!(
            "/usr/bin/prometheus missing: apt-get install prometheus (scripts/install-test-deps.sh)"
        );
    }
    let engine = workspace_binary("larum-engine");
    workspace_binary("larum-operator");
    let bin_dir = engine.parent().unwrap();
    let local_cluster = Path::new(env!("CARGO_BIN_EXE_larum-local-cluster"));
    // The demo wants all three binaries in one directory.
    assert_eq!(
        local_cluster.parent(),
        Some(bin_dir),
        "larum-local-cluster elsewhere"
    );
    let mut child = Command::new(repo_root().join("scripts/demo.sh"))
        .env("DEMO_EXIT_AFTER_NOTIFICATION", "1")
        .env("DEMO_TIMEOUT", "90")
        .env("LARUM_BIN_DIR", bin_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            let out = child.wait_with_output().unwrap();
            panic!(
                "demo still running after 180 s:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.success(),
        "demo failed ({status}):\n{stdout}\n{stderr}"
    );
    let notification = stdout
        .lines()
        .find(|l| l.starts_with("notification:"))
        .unwrap_or_else(|| panic!("no notification printed:\n{stdout}"));
    assert!(
        notification.contains("receiver=team-a/team-a/team-a-hook"),
        "{notification}"
    );
    assert!(
        notification.contains("DemoAlwaysFiring(firing)"),
        "{notification}"
    );
    assert!(
        !stdout.contains("DemoNoisy(firing)"),
        "the silenced alert was sent:\n{stdout}"
    );
    assert!(stdout.contains("alert DemoNoisy: suppressed"), "{stdout}");
    // Run as root (as CI is), the demo writes the EndpointSlices: Accepted and Loaded.
    let route = stdout
        .lines()
        .find(|l| l.contains("alertroute.larum.dev/team-a"))
        .unwrap_or_else(|| panic!("the AlertRoute is listed:\n{stdout}"));
    assert_eq!(
        route.split_whitespace().filter(|w| *w == "True").count(),
        2,
        "ACCEPTED and LOADED: {route}"
    );
    assert!(
        stdout.contains("Prometheus"),
        "where to look is printed:\n{stdout}"
    );
}
