//! Inhibition seen through the API of a running engine: `inhibitedBy`, the `inhibited`
//! filter, the state, `alertmanager_inhibition_rules`, and rules that follow a reload.
//! No notification is flushed here (group_wait is an hour): the status is computed when
//! the API is asked, as upstream does.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Engine, http, http_json, metric, wait_until};
use serde_json::Value;

const ROUTE: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
receivers:
- name: default
"#;

const RULES: &str = r#"
inhibit_rules:
- name: node-down
  source_matchers: [alertname="NodeDown"]
  target_matchers: [severity="warning"]
  equal: [node]
- source_match: {alertname: DcDown}
  target_match_re: {severity: 'info|warning'}
"#;

/// The alerts a listing returns, by `alertname/node`.
fn listing(engine: &Engine, query: &str) -> Vec<(String, Value)> {
    let (status, body) = http("GET", &engine.url(&format!("/api/v2/alerts{query}")));
    assert_eq!(status, 200, "{query}: {body}");
    let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
    let mut out: Vec<(String, Value)> = alerts
        .into_iter()
        .map(|a| {
            let key = format!(
                "{}/{}",
                a["labels"]["alertname"].as_str().unwrap_or(""),
                a["labels"]["node"].as_str().unwrap_or("")
            );
            (key, a)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn keys(list: &[(String, Value)]) -> Vec<&str> {
    list.iter().map(|(k, _)| k.as_str()).collect()
}

fn post(engine: &Engine, body: &str) {
    let (status, text) = http_json("POST", &engine.url("/api/v2/alerts"), body);
    assert_eq!(status, 200, "{text}");
}

fn rules_metric(engine: &Engine) -> Option<f64> {
    let (_, body) = http("GET", &engine.url("/metrics"));
    metric(&body, "alertmanager_inhibition_rules")
}

#[test]
fn inhibited_alerts_show_who_inhibits_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(&config, format!("{ROUTE}{RULES}")).unwrap();
    let engine = Engine::start(&config, &[]);
    assert_eq!(rules_metric(&engine), Some(2.0));

    post(
        &engine,
        r#"[
          {"labels": {"alertname": "NodeDown", "node": "n1"}},
          {"labels": {"alertname": "DiskFull", "severity": "warning", "node": "n1"}},
          {"labels": {"alertname": "DiskFull", "severity": "warning", "node": "n2"}},
          {"labels": {"alertname": "DiskFull", "severity": "critical", "node": "n1"}}
        ]"#,
    );
    let all = listing(&engine, "");
    assert_eq!(
        keys(&all),
        ["DiskFull/n1", "DiskFull/n1", "DiskFull/n2", "NodeDown/n1"]
    );
    let source_fp = all[3].1["fingerprint"].as_str().unwrap().to_string();

    let inhibited = listing(&engine, "?inhibited=true&filter=severity%3D%22warning%22");
    assert_eq!(keys(&inhibited), ["DiskFull/n1", "DiskFull/n2"]);
    let status = &inhibited[0].1["status"];
    assert_eq!(status["state"], "suppressed");
    assert_eq!(status["inhibitedBy"], serde_json::json!([source_fp]));
    assert_eq!(status["silencedBy"], serde_json::json!([]));
    assert_eq!(inhibited[1].1["status"]["state"], "active");
    assert_eq!(
        inhibited[1].1["status"]["inhibitedBy"],
        serde_json::json!([])
    );

    // `inhibited=false` leaves the inhibited alert out; the groups endpoint agrees.
    let shown = listing(&engine, "?inhibited=false");
    assert_eq!(keys(&shown), ["DiskFull/n1", "DiskFull/n2", "NodeDown/n1"]);
    assert_eq!(shown[0].1["labels"]["severity"], "critical");
    let (_, body) = http("GET", &engine.url("/api/v2/alerts/groups?inhibited=false"));
    let target_fp = inhibited[0].1["fingerprint"].as_str().unwrap();
    assert!(!body.contains(target_fp), "{body}");
    assert!(body.contains(&source_fp), "{body}");

    // The source resolves: the target is active again at once.
    post(
        &engine,
        r#"[{"labels": {"alertname": "NodeDown", "node": "n1"}, "endsAt": "2020-01-01T00:00:00Z", "startsAt": "2019-12-31T00:00:00Z"}]"#,
    );
    let inhibited = listing(&engine, "?filter=severity%3D%22warning%22");
    assert!(
        inhibited
            .iter()
            .all(|(_, a)| a["status"]["state"] == "active"
                && a["status"]["inhibitedBy"] == serde_json::json!([])),
        "{inhibited:?}"
    );

    // A named rule's peer: a legacy-matcher rule without `equal` mutes every info/warning alert.
    post(&engine, r#"[{"labels": {"alertname": "DcDown"}}]"#);
    let shown = listing(&engine, "?inhibited=false");
    assert_eq!(keys(&shown), ["DcDown/", "DiskFull/n1"]);

    // A reload without rules: nothing is inhibited any more.
    std::fs::write(&config, ROUTE).unwrap();
    let (status, _) = http("POST", &engine.url("/-/reload"));
    assert_eq!(status, 200);
    wait_until(
        "the rules gauge to follow the reload",
        Duration::from_secs(10),
        || (rules_metric(&engine) == Some(0.0)).then_some(()),
    );
    let shown = listing(&engine, "?inhibited=false");
    assert_eq!(
        keys(&shown),
        ["DcDown/", "DiskFull/n1", "DiskFull/n1", "DiskFull/n2"]
    );
}
