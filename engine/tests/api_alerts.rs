//! API v2 against a running engine: posting, listing and filtering alerts, partial
//! batches, the body limit, API v1's 410, the status with a config that re-parses, the
//! per-alertname limit and routing that follows config reloads.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Engine, http, http_json, metric, raw_http, wait_until};
use larum_engine::config::{Config, ParseOptions};
use serde_json::Value;

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
  - matchers: ['team="db"']
    receiver: db
receivers:
- name: default
- name: db
  webhook_configs:
  - url: http://127.0.0.1:9/hooks/secret-token
"#;

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(dir: &Path, extra: &[&str]) -> Engine {
    Engine::start(&write_config(dir, CONFIG), extra)
}

/// The alert names a listing returns, sorted.
fn names(engine: &Engine, query: &str) -> Vec<String> {
    let (status, body) = http("GET", &engine.url(&format!("/api/v2/alerts{query}")));
    assert_eq!(status, 200, "{query}: {body}");
    let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
    let mut names: Vec<String> = alerts
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn alerts_are_posted_listed_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), &[]);
    let url = engine.url("/api/v2/alerts");
    let (status, body) = http_json(
        "POST",
        &url,
        r#"[
          {"labels": {"alertname": "DiskFull", "team": "db", "instance": "db-1"},
           "annotations": {"summary": "disk is full"}},
          {"labels": {"alertname": "Backwards"},
           "startsAt": "2026-01-02T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"},
          {"labels": {"alertname": "HighLatency", "team": "web"}}
        ]"#,
    );
    // The invalid alert is named, the two valid ones are kept.
    assert_eq!(status, 400);
    let message: String = serde_json::from_str(&body).unwrap();
    assert_eq!(
        message,
        "alert 1 {alertname=\"Backwards\"}: start time must be before end time"
    );
    assert_eq!(names(&engine, ""), ["DiskFull", "HighLatency"]);

    let (_, body) = http("GET", &url);
    let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
    let disk = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "DiskFull")
        .unwrap();
    assert_eq!(disk["receivers"], serde_json::json!([{"name": "db"}]));
    assert_eq!(disk["status"]["state"], "active");
    assert_eq!(disk["annotations"]["summary"], "disk is full");
    let fingerprint = disk["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 16);
    assert!(fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
    // Without endsAt the alert ends after resolve_timeout (5m by default).
    let starts: jiff::Timestamp = disk["startsAt"].as_str().unwrap().parse().unwrap();
    let ends: jiff::Timestamp = disk["endsAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        ends.duration_since(starts),
        jiff::SignedDuration::from_mins(5)
    );

    assert_eq!(names(&engine, "?filter=team%3D%22db%22"), ["DiskFull"]);
    assert_eq!(
        names(
            &engine,
            "?filter=team%3D~%22db%7Cweb%22&filter=alertname!%3DDiskFull"
        ),
        ["HighLatency"]
    );
    assert_eq!(names(&engine, "?receiver=default"), ["HighLatency"]);
    assert!(names(&engine, "?active=false").is_empty());
    let (status, _) = http("GET", &engine.url("/api/v2/alerts?filter=%7Bbroken"));
    assert_eq!(status, 400);

    // A resolved alert is stored but no longer listed.
    let (status, _) = http_json(
        "POST",
        &url,
        r#"[{"labels": {"alertname": "HighLatency", "team": "web"},
             "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T00:05:00Z"}]"#,
    );
    assert_eq!(status, 200);
    assert_eq!(names(&engine, ""), ["DiskFull"]);

    let (_, metrics) = http("GET", &engine.url("/metrics"));
    assert_eq!(
        metric(
            &metrics,
            "alertmanager_alerts_invalid_total{version=\"v2\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, "alertmanager_alerts{state=\"active\"}"),
        Some(1.0)
    );
}

#[test]
fn api_v1_is_gone_and_oversized_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), &["--web.max-request-body-bytes=4096"]);
    for path in ["/api/v1/alerts", "/api/v1/status", "/api/v1/silences"] {
        let (status, body) = http("GET", &engine.url(path));
        assert_eq!(status, 410, "{path}");
        assert!(body.contains("please use the equivalent route in the v2 API"));
    }
    let (status, _) = http_json("POST", &engine.url("/api/v1/alerts"), "[]");
    assert_eq!(status, 410);

    // Announced with Content-Length: refused before the body is read.
    let big = format!(
        r#"[{{"labels": {{"alertname": "Big", "blob": "{}"}}}}]"#,
        "x".repeat(8192)
    );
    let (status, body) = http_json("POST", &engine.url("/api/v2/alerts"), &big);
    assert_eq!(status, 413);
    assert!(
        body.contains("larger than the limit of 4096 bytes"),
        "{body}"
    );

    // Chunked, without a length: refused once the limit is crossed.
    let mut request = format!(
        "POST /api/v2/alerts HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        engine.address
    )
    .into_bytes();
    for _ in 0..10 {
        request.extend_from_slice(format!("400\r\n{}\r\n", " ".repeat(0x400)).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_http(&engine.address, &request, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(names(&engine, "").is_empty());
}

#[test]
fn the_default_body_limit_is_32_mib() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), &[]);
    let request = format!(
        "POST /api/v2/alerts HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n[",
        engine.address,
        32 * 1024 * 1024 + 1
    );
    let answer = raw_http(&engine.address, request.as_bytes(), Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("33554432 bytes"), "{answer}");
}

#[test]
fn status_shows_a_config_that_reparses_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), &[]);
    let (status, body) = http("GET", &engine.url("/api/v2/status"));
    assert_eq!(status, 200);
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(s["cluster"]["status"], "disabled");
    assert_eq!(s["cluster"]["peers"], serde_json::json!([]));
    assert!(s["uptime"].as_str().unwrap().ends_with('Z'));
    for field in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(s["versionInfo"][field].is_string(), "versionInfo.{field}");
    }
    let original = s["config"]["original"].as_str().unwrap();
    assert!(!original.contains("secret-token"), "{original}");
    let config = Config::parse(original, ParseOptions::default()).unwrap();
    let names: Vec<&str> = config.receivers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["default", "db"]);

    let (status, body) = http("GET", &engine.url("/api/v2/receivers"));
    assert_eq!(status, 200);
    let receivers: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receivers[0]["name"], "default");
    assert_eq!(receivers[1]["name"], "db");
}

#[test]
fn the_per_alertname_limit_refuses_new_alerts_but_not_updates() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), &["--alerts.per-alertname-limit=1"]);
    let url = engine.url("/api/v2/alerts");
    let post = |instance: &str, summary: &str| {
        let body = format!(
            r#"[{{"labels": {{"alertname": "A", "instance": "{instance}"}},
                 "annotations": {{"summary": "{summary}"}}}}]"#
        );
        http_json("POST", &url, &body).0
    };
    assert_eq!(post("1", "first"), 200);
    // Like upstream, the refusal is logged and counted, and the request still succeeds.
    assert_eq!(post("2", "first"), 200);
    assert_eq!(post("1", "second"), 200);
    let (_, body) = http("GET", &url);
    let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["labels"]["instance"], "1");
    assert_eq!(alerts[0]["annotations"]["summary"], "second");
    let (_, metrics) = http("GET", &engine.url("/metrics"));
    assert_eq!(
        metric(&metrics, "alertmanager_alerts_limited_total"),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, "alertmanager_alerts_per_alert_limit"),
        Some(1.0)
    );
}

#[test]
fn listings_follow_the_reloaded_routing_tree() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(dir.path(), &["--web.route-prefix=/am"]);
    let url = engine.url("/am/api/v2/alerts");
    let (status, _) = http_json(
        "POST",
        &url,
        r#"[{"labels": {"alertname": "A", "team": "web"}}]"#,
    );
    assert_eq!(status, 200);
    let receivers = || {
        let (_, body) = http("GET", &url);
        let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
        alerts[0]["receivers"].clone()
    };
    assert_eq!(receivers(), serde_json::json!([{"name": "default"}]));

    write_config(
        dir.path(),
        &CONFIG
            .replace(
                "receiver: db\n",
                "receiver: db\n  - matchers: ['team=\"web\"']\n    receiver: web\n",
            )
            .replace("- name: default\n", "- name: default\n- name: web\n"),
    );
    engine.signal("HUP");
    wait_until("the new route to apply", Duration::from_secs(10), || {
        (receivers() == serde_json::json!([{"name": "web"}])).then_some(())
    });
    let (_, body) = http("GET", &engine.url("/am/api/v2/receivers"));
    assert!(body.contains("\"web\""), "{body}");
    engine.wait_for_log(
        "Completed loading of configuration file",
        Duration::from_secs(1),
    );
}
