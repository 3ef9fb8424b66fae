//! `--config.secret`: the engine reads its config and silences from a Kubernetes Secret
//! on a real kube-apiserver (the harness of `make cluster-tools`), reloads within
//! seconds when the Secret changes, and keeps the old config when the new one is invalid.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Engine, http, metric, wait_until};
use larum_kube_harness::Cluster;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CONFIG_A: &str = "route:\n  receiver: team-a\nreceivers:\n- name: team-a\n";
const CONFIG_B: &str = "route:\n  receiver: team-b\n  group_wait: 5s\nreceivers:\n- name: team-b\n";
const INVALID: &str = "route:\n  receiver: nobody\nreceivers:\n- name: team-b\n";
const SILENCES: &str = "- id: db-maintenance\n  matchers: ['service=\"db\"']\n  endsAt: 2099-01-01T00:00:00Z\n  createdBy: platform\n  comment: planned\n";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn put_secret(cluster: &Cluster, config: &str, silences: &str) {
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "larum-config", "namespace": "monitoring"},
        "stringData": {"alertmanager.yaml": config, "silences.yaml": silences},
    });
    cluster.apply(&manifest.to_string()).unwrap();
}

fn status(engine: &Engine) -> Value {
    let (code, body) = http("GET", &engine.url("/api/v2/status"));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn running_hash(engine: &Engine) -> String {
    status(engine)["config"]["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

fn reload_ok(engine: &Engine) -> f64 {
    let (_, body) = http("GET", &engine.url("/metrics"));
    metric(&body, "alertmanager_config_last_reload_successful").unwrap()
}

fn silence_state(engine: &Engine, id: &str) -> Option<String> {
    let (_, body) = http("GET", &engine.url("/api/v2/silences"));
    let silences: Value = serde_json::from_str(&body).unwrap();
    silences
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| (s["id"] == id).then(|| s["status"]["state"].as_str().unwrap().to_string()))
}

#[test]
fn config_secret_is_loaded_hot_reloaded_and_an_invalid_one_is_refused() {
    let cluster = Cluster::start().unwrap();
    cluster
        .kubectl(&["create", "namespace", "monitoring"])
        .unwrap();
    put_secret(&cluster, CONFIG_A, SILENCES);

    let engine = Engine::start_with_env(
        Path::new("/nonexistent/alertmanager.yml"),
        &["--config.secret=monitoring/larum-config"],
        &[("KUBECONFIG", cluster.kubeconfig())],
    );
    // Loaded at start, before the engine listens.
    assert_eq!(running_hash(&engine), sha256(CONFIG_A));
    let original = status(&engine)["config"]["original"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(original.contains("team-a"), "{original}");
    assert_eq!(reload_ok(&engine), 1.0);
    // The silences key feeds the declarative silences.
    let state = silence_state(&engine, "db-maintenance");
    assert_eq!(state.as_deref(), Some("active"));

    // A change is running within a few seconds, without a restart or a mounted volume.
    let changed = Instant::now();
    put_secret(&cluster, CONFIG_B, "[]\n");
    wait_until("config B running", Duration::from_secs(5), || {
        (running_hash(&engine) == sha256(CONFIG_B)).then_some(())
    });
    let took = changed.elapsed();
    eprintln!("Secret change to running config: {took:?}");
    wait_until(
        "the removed silence expired",
        Duration::from_secs(5),
        || (silence_state(&engine, "db-maintenance").as_deref() == Some("expired")).then_some(()),
    );

    // An invalid config keeps B and says so in the metric and the log.
    put_secret(&cluster, INVALID, "[]\n");
    wait_until("invalid config rejected", Duration::from_secs(5), || {
        (reload_ok(&engine) == 0.0).then_some(())
    });
    assert_eq!(
        running_hash(&engine),
        sha256(CONFIG_B),
        "the old config stays"
    );
    assert!(
        engine
            .log()
            .iter()
            .any(|l| l.contains("Loading configuration file failed") && l.contains("nobody")),
        "{}",
        engine.log().join("\n")
    );

    // A valid one afterwards is taken again.
    put_secret(&cluster, CONFIG_A, "[]\n");
    wait_until("config A running again", Duration::from_secs(5), || {
        (running_hash(&engine) == sha256(CONFIG_A) && reload_ok(&engine) == 1.0).then_some(())
    });
}

#[test]
fn a_missing_secret_stops_the_engine_with_its_name() {
    let cluster = Cluster::start().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::ENGINE)
        .arg("--config.secret=default/absent")
        .arg(format!("--storage.path={}", storage.path().display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .env("KUBECONFIG", cluster.kubeconfig())
        .arg("--config.secret-wait=1s")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read Secret default/absent") && stderr.contains("not found"),
        "{stderr}"
    );
}
