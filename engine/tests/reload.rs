//! Hot reload of a running engine: valid changes applied, invalid ones rejected with the
//! old config kept, atomic renames and SIGHUP seen.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Engine, http, metric, wait_until};

const CONFIG_A: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";
const CONFIG_B: &str = "route:\n  receiver: b\nreceivers:\n- name: b\n";
const INVALID: &str = "route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n- name: a\n";

fn config_hash(engine: &Engine) -> f64 {
    let (status, body) = http("GET", &engine.url("/metrics"));
    assert_eq!(status, 200);
    metric(&body, "alertmanager_config_hash").expect("config hash metric")
}

fn reload_ok(engine: &Engine) -> f64 {
    let (_, body) = http("GET", &engine.url("/metrics"));
    metric(&body, "alertmanager_config_last_reload_successful").expect("reload metric")
}

#[test]
fn post_reload_applies_a_valid_change_and_rejects_an_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, CONFIG_A).unwrap();
    // Without file watching in the way: the directory is watched, but we reload explicitly
    // and only assert what the explicit reload returns.
    let engine = Engine::start(&path, &[]);
    let hash_a = config_hash(&engine);
    assert_eq!(reload_ok(&engine), 1.0);

    std::fs::write(&path, INVALID).unwrap();
    let (status, body) = http("POST", &engine.url("/-/reload"));
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("route.group_wait: invalid duration \"5x\""),
        "{body}"
    );
    assert_eq!(reload_ok(&engine), 0.0);
    assert_eq!(config_hash(&engine), hash_a, "the old config stays active");
    assert!(
        engine
            .log()
            .iter()
            .any(|l| l.contains("Loading configuration file failed")
                && l.contains("invalid duration"))
    );

    std::fs::write(&path, CONFIG_B).unwrap();
    let (status, body) = http("POST", &engine.url("/-/reload"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(reload_ok(&engine), 1.0);
    assert_ne!(config_hash(&engine), hash_a);
}

#[test]
fn file_changes_are_picked_up_including_atomic_renames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, CONFIG_A).unwrap();
    let engine = Engine::start(&path, &[]);
    let hash_a = config_hash(&engine);

    // In-place write.
    std::fs::write(&path, CONFIG_B).unwrap();
    let hash_b = wait_until("in-place change applied", Duration::from_secs(10), || {
        let h = config_hash(&engine);
        (h != hash_a).then_some(h)
    });

    // Atomic rename, as editors and config management tools do.
    let tmp = dir.path().join(".alertmanager.yml.tmp");
    std::fs::write(&tmp, CONFIG_A).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    wait_until("renamed file applied", Duration::from_secs(10), || {
        (config_hash(&engine) == hash_a).then_some(())
    });

    // An invalid file arriving by rename is rejected and the old config stays.
    std::fs::write(&tmp, INVALID).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    wait_until("failed reload visible", Duration::from_secs(10), || {
        (reload_ok(&engine) == 0.0).then_some(())
    });
    assert_eq!(config_hash(&engine), hash_a);
    let _ = hash_b;
}

#[test]
fn kubernetes_style_symlink_swap_is_seen() {
    // A ConfigMap/Secret volume: alertmanager.yml -> ..data/alertmanager.yml, ..data -> ..<timestamp>.
    let dir = tempfile::tempdir().unwrap();
    let v1 = dir.path().join("..2026_v1");
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(v1.join("alertmanager.yml"), CONFIG_A).unwrap();
    std::os::unix::fs::symlink("..2026_v1", dir.path().join("..data")).unwrap();
    std::os::unix::fs::symlink(
        "..data/alertmanager.yml",
        dir.path().join("alertmanager.yml"),
    )
    .unwrap();
    let engine = Engine::start(&dir.path().join("alertmanager.yml"), &[]);
    let hash_a = config_hash(&engine);

    let v2 = dir.path().join("..2026_v2");
    std::fs::create_dir(&v2).unwrap();
    std::fs::write(v2.join("alertmanager.yml"), CONFIG_B).unwrap();
    std::os::unix::fs::symlink("..2026_v2", dir.path().join("..data_tmp")).unwrap();
    std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
    wait_until("symlink swap applied", Duration::from_secs(10), || {
        (config_hash(&engine) != hash_a).then_some(())
    });
}

#[test]
fn sighup_reloads() {
    let dir = tempfile::tempdir().unwrap();
    // The config lives in a directory whose changes we make through a path the watcher does
    // not report: write the new content, then check that only SIGHUP makes it visible by
    // comparing the reload timestamp before and after.
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, CONFIG_A).unwrap();
    let engine = Engine::start(&path, &["--log.level=debug"]);
    let hash_a = config_hash(&engine);
    engine.signal("HUP");
    // SIGHUP with an unchanged file is a successful no-op, and the process keeps running.
    wait_until("SIGHUP reload logged", Duration::from_secs(10), || {
        engine
            .log()
            .iter()
            .any(|l| l.contains("reloading configuration") && l.contains("SIGHUP"))
            .then_some(())
    });
    assert_eq!(config_hash(&engine), hash_a);
    assert_eq!(http("GET", &engine.url("/-/healthy")).0, 200);
}

#[test]
fn sigterm_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, CONFIG_A).unwrap();
    let mut engine = Engine::start(&path, &[]);
    engine.signal("TERM");
    assert!(
        engine.wait_exit(Duration::from_secs(10)),
        "exit status 0 after SIGTERM"
    );
}
