//! The engine's HTTP basics: health and readiness (GET and HEAD), metrics, the route prefix,
//! several listen addresses, and a clear failure on a bad config at start.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{ENGINE, Engine, http, metric};

const CONFIG: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";

fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, CONFIG).unwrap();
    path
}

#[test]
fn health_ready_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(&config_file(dir.path()), &[]);
    for path in ["/-/healthy", "/-/ready"] {
        assert_eq!(
            http("GET", &engine.url(path)),
            (200, "OK".to_string()),
            "{path}"
        );
        assert_eq!(http("HEAD", &engine.url(path)).0, 200, "HEAD {path}");
    }
    let (status, body) = http("GET", &engine.url("/metrics"));
    assert_eq!(status, 200);
    let expected_hash = larum_engine::config::coordinator::config_hash(CONFIG.as_bytes());
    assert_eq!(
        metric(&body, "alertmanager_config_hash"),
        Some(expected_hash)
    );
    assert_eq!(
        metric(&body, "alertmanager_config_last_reload_successful"),
        Some(1.0)
    );
    assert!(
        metric(
            &body,
            "alertmanager_config_last_reload_success_timestamp_seconds"
        )
        .is_some_and(|t| t > 1.7e9)
    );
    assert!(
        body.contains("alertmanager_build_info{version=\""),
        "{body}"
    );
    assert_eq!(
        http("GET", &engine.url("/-/reload")).0,
        405,
        "reload is POST only"
    );
}

#[test]
fn route_prefix_applies_to_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(
        &config_file(dir.path()),
        &["--web.route-prefix=/alertmanager/"],
    );
    for path in ["/-/healthy", "/-/ready", "/metrics"] {
        assert_eq!(
            http("GET", &engine.url(&format!("/alertmanager{path}"))).0,
            200,
            "{path}"
        );
        assert_eq!(
            http("GET", &engine.url(path)).0,
            404,
            "{path} outside the prefix"
        );
    }
    assert_eq!(http("POST", &engine.url("/alertmanager/-/reload")).0, 200);
}

#[test]
fn external_url_path_is_the_default_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(
        &config_file(dir.path()),
        &["--web.external-url=http://am.example.com/am"],
    );
    assert_eq!(http("GET", &engine.url("/am/-/healthy")).0, 200);
}

#[test]
fn listens_on_every_address_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::start(
        &config_file(dir.path()),
        &["--web.listen-address=127.0.0.1:0"],
    );
    let line = engine.wait_for_log("Listening on", std::time::Duration::from_secs(5));
    // One line per listener; the second may be read a moment after the first.
    let addresses: Vec<String> = common::wait_until(
        "a Listening on line per listener",
        std::time::Duration::from_secs(5),
        || {
            let found: Vec<String> = engine
                .log()
                .iter()
                .filter(|l| l.contains("Listening on"))
                .filter_map(|l| l.split("address=").nth(1).map(|a| a.trim().to_string()))
                .collect();
            (found.len() >= 2).then_some(found)
        },
    );
    assert_eq!(addresses.len(), 2, "{line}");
    assert_ne!(addresses[0], addresses[1]);
    for address in &addresses {
        assert_eq!(http("GET", &format!("http://{address}/-/healthy")).0, 200);
    }
}

#[test]
fn bad_config_at_start_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(
        &path,
        "route:\n  receiver: a\n  group_interval: 0s\nreceivers:\n- name: a\n",
    )
    .unwrap();
    let output = Command::new(ENGINE)
        .arg(format!("--config.file={}", path.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--cluster.listen-address=")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("route.group_interval: group_interval cannot be zero"),
        "{stderr}"
    );
    assert!(
        stderr.contains("alertmanager.yml"),
        "names the file: {stderr}"
    );
}

#[test]
fn unknown_feature_flag_is_refused() {
    let output = Command::new(ENGINE)
        .args(["--enable-feature=warp-drive", "check-config", "x.yml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("Unknown option for --enable-feature: warp-drive")
    );
}
