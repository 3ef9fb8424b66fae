#![allow(clippy::unwrap_used)]
//! The notification log across restarts: after a clean stop (SIGTERM, shutdown snapshot)
//! and after `kill -9` following a periodic snapshot, a re-posted alert that was already
//! notified is not notified again before `repeat_interval`.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Engine, http, http_json, metric, wait_until};
use serde_json::json;
use support::receiver::{Received, WebhookReceiver};

const SNAPSHOT: &str = "nflog.larum";

fn config(dir: &Path, webhook: &str) -> PathBuf {
    let yaml = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 300ms\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: {webhook}\n"
    );
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Posts one firing alert per name, with a start time fixed for the whole test so the
/// re-posted alerts are identical.
fn post(engine: &Engine, names: &[&str], starts_at: &str) {
    let body: Vec<_> = names
        .iter()
        .map(|n| json!({"labels": {"alertname": n, "job": "nflog"}, "startsAt": starts_at}))
        .collect();
    let (status, text) = http_json(
        "POST",
        &engine.url("/api/v2/alerts"),
        &serde_json::Value::Array(body).to_string(),
    );
    assert_eq!(status, 200, "{text}");
}

/// Notifications received for the group of `name`.
fn notified(received: &[Received], name: &str) -> usize {
    received
        .iter()
        .filter(|r| r.body["groupLabels"]["alertname"] == name)
        .count()
}

fn nflog_queries(engine: &Engine) -> f64 {
    let (_, body) = http("GET", &engine.url("/metrics"));
    metric(&body, "alertmanager_nflog_queries_total").unwrap_or(0.0)
}

/// Waits until `name` is notified once, and until the engine has consulted the log for
/// `groups` groups; then gives a notification that should not come a moment to arrive and
/// checks the counts.
fn expect_after_restart(
    rt: &tokio::runtime::Runtime,
    receiver: &WebhookReceiver,
    engine: &Engine,
    since: Instant,
    control: &str,
    groups: f64,
    not_again: &[&str],
) {
    rt.block_on(receiver.wait_for(
        &format!("a notification of the new group {control}"),
        Duration::from_secs(20),
        since,
        |r| notified(r, control) == 1,
    ))
    .unwrap();
    wait_until(
        "the dedup stage to consult the notification log for every group",
        Duration::from_secs(20),
        || (nflog_queries(engine) >= groups).then_some(()),
    );
    // The log was consulted for every group; a duplicate would be sent right after.
    std::thread::sleep(Duration::from_secs(1));
    let received = receiver.received();
    for name in not_again {
        assert_eq!(
            notified(&received, name),
            1,
            "{name} was notified again after the restart:\n    {}",
            received
                .iter()
                .map(|r| r.summary(since))
                .collect::<Vec<_>>()
                .join("\n    ")
        );
    }
}

#[test]
fn notification_log_survives_sigterm_and_kill_9() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = rt.block_on(WebhookReceiver::start());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver.url("/hook"));
    let storage = dir.path().join("data");
    let storage_flag = format!("--storage.path={}", storage.display());
    let snapshot = storage.join(SNAPSHOT);
    let starts_at = jiff::Timestamp::now().to_string();
    let since = Instant::now();

    // 1. The default maintenance interval (15m): only the shutdown snapshot can keep
    // the entry.
    let mut engine = Engine::start(&config, &[&storage_flag]);
    post(&engine, &["First"], &starts_at);
    rt.block_on(
        receiver.wait_for("First notified", Duration::from_secs(20), since, |r| {
            notified(r, "First") == 1
        }),
    )
    .unwrap();
    engine.signal("TERM");
    assert!(engine.wait_exit(Duration::from_secs(20)), "clean exit");
    let bytes = std::fs::read(&snapshot).expect("a shutdown snapshot");
    assert!(String::from_utf8_lossy(&bytes).contains("First"));

    // 2. Restart on the same storage: First is deduplicated against the restored log,
    // Second (a new group) is notified.
    let mut engine = Engine::start(&config, &[&storage_flag, "--data.maintenance-interval=1s"]);
    let restored = engine.wait_for_log("Restored the notification log", Duration::from_secs(5));
    assert!(restored.contains("entries=1"), "{restored}");
    post(&engine, &["First", "Second"], &starts_at);
    expect_after_restart(&rt, &receiver, &engine, since, "Second", 2.0, &["First"]);

    // 3. A periodic snapshot that holds Second, then kill -9: nothing after it is needed.
    wait_until(
        "a periodic snapshot holding Second",
        Duration::from_secs(20),
        || {
            std::fs::read(&snapshot)
                .ok()
                .filter(|b| String::from_utf8_lossy(b).contains("Second"))
        },
    );
    let (_, body) = http("GET", &engine.url("/metrics"));
    assert!(
        metric(&body, "alertmanager_nflog_snapshot_size_bytes").unwrap_or(0.0) > 0.0,
        "{body}"
    );
    assert!(
        metric(&body, "alertmanager_nflog_snapshot_duration_seconds_count").unwrap_or(0.0) >= 1.0,
        "{body}"
    );
    engine.signal("KILL");
    let _ = engine.wait_exit(Duration::from_secs(20));
    let mut engine = Engine::start(&config, &[&storage_flag]);
    let restored = engine.wait_for_log("Restored the notification log", Duration::from_secs(5));
    assert!(restored.contains("entries=2"), "{restored}");
    post(&engine, &["First", "Second", "Third"], &starts_at);
    expect_after_restart(
        &rt,
        &receiver,
        &engine,
        since,
        "Third",
        3.0,
        &["First", "Second"],
    );
    assert!(
        !engine.log().iter().any(|l| l.contains("ERROR")),
        "{}",
        engine.log().join("\n")
    );
}

#[test]
fn a_corrupt_snapshot_is_reported_kept_aside_and_the_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "http://127.0.0.1:9/hook");
    let storage = dir.path().join("data");
    std::fs::create_dir_all(&storage).unwrap();
    let garbage = b"larum nflog snapshot v1\n\x05\x00\x00\x00oops";
    std::fs::write(storage.join(SNAPSHOT), garbage).unwrap();
    let mut engine = Engine::start(&config, &[&format!("--storage.path={}", storage.display())]);
    let line = engine.wait_for_log(
        "Notification log snapshot is unreadable",
        Duration::from_secs(5),
    );
    assert!(
        line.contains("nflog.larum: corrupt at byte offset 24"),
        "{line}"
    );
    let (status, _) = http("GET", &engine.url("/-/healthy"));
    assert_eq!(status, 200);
    let kept: Vec<_> = std::fs::read_dir(&storage)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("nflog.larum.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(storage.join(&kept[0])).unwrap(), garbage);
}
