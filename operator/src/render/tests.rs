#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::crd::{AlertRoute, InhibitRule, Silence, SilenceState};

const ADMIN_CONFIG: &str = r#"
adminNamespace: larum-system
global:
  resolve_timeout: 5m
route:
  receiver: platform
  group_by: [alertname]
  routes:
    - receiver: platform
      matchers: ['severity="none"']
receivers:
  - name: platform
    webhook_configs:
      - url: http://127.0.0.1:9/platform
"#;

fn config() -> OperatorConfig {
    OperatorConfig::parse(ADMIN_CONFIG).unwrap()
}

fn meta(ns: &str, name: &str) -> Value {
    json!({"namespace": ns, "name": name, "generation": 3, "creationTimestamp": "2026-11-24T10:00:00Z"})
}

fn route(ns: &str, name: &str, spec: Value) -> AlertRoute {
    serde_json::from_value(json!({"apiVersion": "larum.dev/v1alpha1", "kind": "AlertRoute", "metadata": meta(ns, name), "spec": spec})).unwrap()
}

fn inhibit(ns: &str, name: &str, spec: Value) -> InhibitRule {
    serde_json::from_value(json!({"apiVersion": "larum.dev/v1alpha1", "kind": "InhibitRule", "metadata": meta(ns, name), "spec": spec})).unwrap()
}

fn silence(ns: &str, name: &str, spec: Value) -> Silence {
    serde_json::from_value(json!({"apiVersion": "larum.dev/v1alpha1", "kind": "Silence", "metadata": meta(ns, name), "spec": spec})).unwrap()
}

fn secrets() -> SecretData {
    let mut s = SecretData::new();
    let mut data = BTreeMap::new();
    data.insert(
        "url".to_string(),
        b"https://hooks.example.com/T0K3N\n".to_vec(),
    );
    data.insert(
        "slack".to_string(),
        b"https://slack.example.com/services/XYZ".to_vec(),
    );
    data.insert("pd".to_string(), b"pd-routing-key-123".to_vec());
    data.insert("og".to_string(), b"og-api-key-456".to_vec());
    data.insert("smtp".to_string(), b"smtp-pass-789".to_vec());
    s.insert(("team-a".into(), "hooks".into()), data);
    s
}

fn now() -> Timestamp {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

struct World {
    config: OperatorConfig,
    routes: Vec<AlertRoute>,
    inhibits: Vec<InhibitRule>,
    silences: Vec<Silence>,
    secrets: SecretData,
}

impl World {
    fn new() -> Self {
        World {
            config: config(),
            routes: Vec::new(),
            inhibits: Vec::new(),
            silences: Vec::new(),
            secrets: secrets(),
        }
    }

    fn render(&self) -> Rendered {
        render(Inputs {
            config: &self.config,
            alert_routes: &self.routes,
            inhibit_rules: &self.inhibits,
            silences: &self.silences,
            secrets: &self.secrets,
            now: now(),
        })
        .unwrap()
    }
}

fn am(r: &Rendered) -> Value {
    serde_saphyr::from_str(&r.data[CONFIG_KEY]).unwrap()
}

fn outcome(r: &Rendered, kind: Kind, ns: &str, name: &str) -> Outcome {
    r.outcomes[&ObjectKey {
        kind,
        namespace: ns.into(),
        name: name.into(),
    }]
        .clone()
}

fn webhook_route(ns: &str, name: &str, priority: i32) -> AlertRoute {
    route(
        ns,
        name,
        json!({
            "priority": priority,
            "receiver": "hook",
            "matchers": [{"name": "app", "value": name}],
            "receivers": [{"name": "hook", "webhookConfigs": [{"url": "http://127.0.0.1:9/x"}]}],
        }),
    )
}

/// A world with every feature: the golden test renders it.
fn full_world() -> World {
    let mut w = World::new();
    w.routes.push(route(
        "team-a",
        "checkout",
        json!({
            "priority": 10,
            "receiver": "oncall",
            "groupBy": ["alertname", "service"],
            "groupWait": "10s",
            "groupInterval": "1m",
            "repeatInterval": "4h",
            "matchers": [{"name": "service", "value": "checkout|cart", "matchType": "=~"}],
            "routes": [{
                "matchers": [{"name": "severity", "value": "critical"}],
                "receiver": "pager",
                "continue": true,
                "routes": [{
                    "matchers": [{"name": "env", "value": "prod"}],
                    "muteTimeIntervals": ["nights"],
                    "routes": [{"matchers": [{"name": "team", "value": "a\"b"}], "receiver": "mail"}]
                }]
            }],
            "receivers": [
                {"name": "oncall",
                 "webhookConfigs": [{"urlSecret": {"name": "hooks", "key": "url"}, "sendResolved": false, "maxAlerts": 5}],
                 "slackConfigs": [{"apiUrlSecret": {"name": "hooks", "key": "slack"}, "channel": "#checkout", "title": "{{ .CommonLabels.alertname }}"}]},
                {"name": "pager",
                 "pagerdutyConfigs": [{"routingKeySecret": {"name": "hooks", "key": "pd"}, "severity": "critical"}],
                 "opsgenieConfigs": [{"apiKeySecret": {"name": "hooks", "key": "og"}, "priority": "P1"}]},
                {"name": "mail",
                 "emailConfigs": [{"to": "team-a@example.com", "from": "am@example.com", "smarthost": "smtp.example.com:587",
                                   "authUsername": "am", "authPasswordSecret": {"name": "hooks", "key": "smtp"}}]}
            ],
            "timeIntervals": [{"name": "nights", "timeIntervals": [{"times": [{"startTime": "22:00", "endTime": "24:00"}], "weekdays": ["monday:friday"], "location": "Europe/Berlin"}]}]
        }),
    ));
    w.routes.push(webhook_route("larum-system", "catch-all", 0));
    w.inhibits.push(inhibit(
        "team-a",
        "node-down",
        json!({"sourceMatchers": [{"name": "alertname", "value": "NodeDown"}],
               "targetMatchers": [{"name": "severity", "value": "warning"}],
               "equal": ["node"]}),
    ));
    w.silences.push(silence(
        "team-a",
        "maintenance",
        json!({"matchers": [{"name": "service", "value": "checkout"}],
               "startsAt": "2026-11-24T11:00:00Z", "duration": "2h",
               "comment": "DB failover", "createdBy": "alice"}),
    ));
    w.silences.push(silence(
        "larum-system",
        "freeze",
        json!({"matchers": [{"name": "env", "value": "staging|dev", "matchType": "=~"}],
               "endsAt": "2026-11-25T00:00:00Z"}),
    ));
    w
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/render/testdata")
        .join(name)
}

/// The rendered Secret of a world using every feature is exactly the checked-in one
/// (`UPDATE_GOLDEN=1` rewrites the files after an intended change).
#[test]
fn golden_rendered_secret() {
    let r = full_world().render();
    for (key, file) in [
        (CONFIG_KEY, "golden.alertmanager.yaml"),
        (SILENCES_KEY, "golden.silences.yaml"),
    ] {
        let path = testdata(file);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &r.data[key]).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            r.data[key],
            want,
            "{} differs from the rendering",
            path.display()
        );
    }
    assert!(
        r.outcomes.values().all(|o| o.result.is_ok()),
        "{:#?}",
        r.outcomes
    );
}

#[test]
fn same_inputs_same_bytes_whatever_the_order() {
    let w = full_world();
    let a = w.render();
    let mut shuffled = full_world();
    shuffled.routes.reverse();
    shuffled.silences.reverse();
    let b = shuffled.render();
    assert_eq!(a.data, b.data);
    assert_eq!(a.config_hash, b.config_hash);
    assert_eq!(
        a.config_hash,
        larum_engine::config::coordinator::config_hash(a.data[CONFIG_KEY].as_bytes())
    );
}

#[test]
fn rendered_config_is_accepted_by_the_engine_with_secrets_inlined() {
    let r = full_world().render();
    let text = &r.data[CONFIG_KEY];
    let parsed = larum_engine::config::Config::parse(text, Default::default()).unwrap();
    let names: Vec<_> = parsed.receivers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "platform",
            "team-a/checkout/oncall",
            "team-a/checkout/pager",
            "team-a/checkout/mail",
            "larum-system/catch-all/hook"
        ]
    );
    // Secret values are trimmed and inlined (the output is itself a Secret).
    assert!(text.contains("https://hooks.example.com/T0K3N"));
    assert!(!text.contains("T0K3N\n\n"));
}

#[test]
fn namespaced_routes_get_a_namespace_matcher_admin_routes_do_not() {
    let r = full_world().render();
    let v = am(&r);
    let routes = v["route"]["routes"].as_array().unwrap();
    assert_eq!(
        routes[0]["matchers"],
        json!(["namespace=\"team-a\"", "service=~\"checkout|cart\""])
    );
    assert_eq!(routes[1]["matchers"], json!(["app=\"catch-all\""]));
    // The admin's own child routes come after every AlertRoute.
    assert_eq!(routes[2]["matchers"], json!(["severity=\"none\""]));
    assert_eq!(routes.len(), 3);
}

#[test]
fn inhibit_sources_match_any_namespace_targets_only_their_own() {
    let mut w = full_world();
    w.inhibits.push(inhibit(
        "larum-system",
        "global",
        json!({"sourceMatchers": [{"name": "alertname", "value": "ClusterDown"}],
               "targetMatchers": [{"name": "severity", "value": "info"}]}),
    ));
    let v = am(&w.render());
    let rules = v["inhibit_rules"].as_array().unwrap();
    assert_eq!(
        rules[0]["source_matchers"],
        json!(["alertname=\"ClusterDown\""])
    );
    assert_eq!(rules[0]["target_matchers"], json!(["severity=\"info\""]));
    assert_eq!(
        rules[1]["source_matchers"],
        json!(["alertname=\"NodeDown\""])
    );
    assert_eq!(
        rules[1]["target_matchers"],
        json!(["namespace=\"team-a\"", "severity=\"warning\""])
    );
    assert_eq!(rules[1]["equal"], json!(["node"]));
}

#[test]
fn routes_are_ordered_by_descending_priority_then_namespace_and_name() {
    let mut w = World::new();
    w.routes = vec![
        webhook_route("b", "low", -5),
        webhook_route("b", "x", 0),
        webhook_route("a", "y", 0),
        webhook_route("a", "high", 7),
        webhook_route("a", "x", 0),
    ];
    let v = am(&w.render());
    let receivers: Vec<_> = v["route"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["receiver"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        receivers,
        [
            "a/high/hook",
            "a/x/hook",
            "a/y/hook",
            "b/x/hook",
            "b/low/hook",
            "platform"
        ]
    );
}

#[test]
fn receivers_with_the_same_name_in_two_namespaces_both_render() {
    let mut w = World::new();
    w.routes = vec![
        webhook_route("team-a", "r", 0),
        webhook_route("team-b", "r", 0),
    ];
    let r = w.render();
    let v = am(&r);
    let names: Vec<_> = v["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["platform", "team-a/r/hook", "team-b/r/hook"]);
}

#[test]
fn a_bad_regex_leaves_out_only_that_route_with_the_reason() {
    let mut w = full_world();
    w.routes.push(route(
        "team-b",
        "broken",
        json!({"matchers": [{"name": "service", "value": "(unclosed", "matchType": "=~"}]}),
    ));
    let r = w.render();
    let o = outcome(&r, Kind::AlertRoute, "team-b", "broken");
    let rej = o.result.unwrap_err();
    assert_eq!(rej.reason, "InvalidMatcher");
    assert!(
        rej.message.starts_with("spec.matchers[0]: "),
        "{}",
        rej.message
    );
    assert!(rej.message.contains("missing closing )"), "{}", rej.message);
    assert!(!r.data[CONFIG_KEY].contains("team-b"));
    // The others are unaffected: the same bytes as without the broken route.
    assert_eq!(r.data, full_world().render().data);
    assert!(
        outcome(&r, Kind::AlertRoute, "team-a", "checkout")
            .result
            .is_ok()
    );
}

#[test]
fn bad_regexes_in_child_routes_and_inhibit_rules_name_their_field() {
    let mut w = World::new();
    w.routes.push(route(
        "team-a",
        "deep",
        json!({"routes": [{"routes": [{"matchers": [{"name": "a", "value": "b"}, {"name": "x", "value": "[", "matchType": "!~"}]}]}]}),
    ));
    w.inhibits.push(inhibit(
        "team-a",
        "bad",
        json!({"sourceMatchers": [{"name": "a", "value": "b"}], "targetMatchers": [{"name": "a", "value": "*", "matchType": "=~"}]}),
    ));
    let r = w.render();
    let deep = outcome(&r, Kind::AlertRoute, "team-a", "deep")
        .result
        .unwrap_err();
    assert!(
        deep.message
            .starts_with("spec.routes[0].routes[0].matchers[1]: "),
        "{}",
        deep.message
    );
    let bad = outcome(&r, Kind::InhibitRule, "team-a", "bad")
        .result
        .unwrap_err();
    assert_eq!(bad.reason, "InvalidMatcher");
    assert!(
        bad.message.starts_with("spec.targetMatchers[0]: "),
        "{}",
        bad.message
    );
    assert_eq!(r.data, World::new().render().data);
}

#[test]
fn unknown_time_interval_and_receiver_are_rejected() {
    let mut w = World::new();
    w.routes.push(route(
        "team-a",
        "ti",
        json!({"routes": [{"muteTimeIntervals": ["weekends"]}]}),
    ));
    w.routes
        .push(route("team-a", "rcv", json!({"receiver": "nobody"})));
    let r = w.render();
    let ti = outcome(&r, Kind::AlertRoute, "team-a", "ti")
        .result
        .unwrap_err();
    assert_eq!(ti.reason, "UnknownTimeInterval");
    assert!(
        ti.message.contains("spec.routes[0].muteTimeIntervals"),
        "{}",
        ti.message
    );
    assert!(ti.message.contains("weekends"));
    let rcv = outcome(&r, Kind::AlertRoute, "team-a", "rcv")
        .result
        .unwrap_err();
    assert_eq!(rcv.reason, "UnknownReceiver");
    assert_eq!(r.data, World::new().render().data);
}

#[test]
fn missing_secret_or_key_is_rejected_without_revealing_values() {
    let mut w = World::new();
    w.routes.push(route(
        "team-a",
        "nokey",
        json!({"receivers": [{"name": "h", "webhookConfigs": [{"urlSecret": {"name": "hooks", "key": "nope"}}]}]}),
    ));
    w.routes.push(route(
        "team-c",
        "nosecret",
        json!({"receivers": [{"name": "h", "webhookConfigs": [{"urlSecret": {"name": "hooks", "key": "url"}}]}]}),
    ));
    // A Secret of another namespace is never used.
    let r = w.render();
    let nokey = outcome(&r, Kind::AlertRoute, "team-a", "nokey")
        .result
        .unwrap_err();
    assert_eq!(nokey.reason, "SecretKeyMissing");
    assert!(
        nokey
            .message
            .contains("receivers[0].webhookConfigs[0].urlSecret")
    );
    let nosecret = outcome(&r, Kind::AlertRoute, "team-c", "nosecret")
        .result
        .unwrap_err();
    assert_eq!(nosecret.reason, "SecretNotFound");
    assert!(nosecret.message.contains("team-c/hooks"));
}

#[test]
fn engine_errors_are_redacted() {
    let mut w = World::new();
    // An e-mail integration without a smarthost is refused by the engine.
    w.routes.push(route(
        "team-a",
        "mail",
        json!({"receivers": [{"name": "m", "emailConfigs": [{"to": "x@example.com", "from": "a@example.com", "authPasswordSecret": {"name": "hooks", "key": "smtp"}}]}]}),
    ));
    let r = w.render();
    let rej = outcome(&r, Kind::AlertRoute, "team-a", "mail")
        .result
        .unwrap_err();
    assert_eq!(rej.reason, "InvalidConfig");
    assert!(!rej.message.contains("smtp-pass-789"), "{}", rej.message);
    assert!(rej.message.contains("smarthost"), "{}", rej.message);
}

#[test]
fn silences_are_scoped_timed_and_stated() {
    let mut w = full_world();
    w.silences.push(silence(
        "team-b",
        "later",
        json!({"matchers": [{"name": "a", "value": "b"}], "startsAt": "2026-11-25T00:00:00Z", "endsAt": "2026-11-26T00:00:00Z"}),
    ));
    w.silences.push(silence(
        "team-b",
        "over",
        json!({"matchers": [{"name": "a", "value": "b"}], "duration": "1h"}),
    ));
    let r = w.render();
    let file: Vec<Value> = serde_saphyr::from_str(&r.data[SILENCES_KEY]).unwrap();
    let by_id: BTreeMap<_, _> = file
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    assert_eq!(
        by_id["team-a:maintenance"]["matchers"],
        json!(["namespace=\"team-a\"", "service=\"checkout\""])
    );
    assert_eq!(
        by_id["team-a:maintenance"]["endsAt"],
        "2026-11-24T13:00:00Z"
    );
    assert_eq!(
        by_id["larum-system:freeze"]["matchers"],
        json!(["env=~\"staging|dev\""])
    );
    // Default start: the resource's creation.
    assert_eq!(
        by_id["larum-system:freeze"]["startsAt"],
        "2026-11-24T10:00:00Z"
    );

    let state = |ns, name| outcome(&r, Kind::Silence, ns, name).silence.unwrap().state;
    assert_eq!(state("team-a", "maintenance"), SilenceState::Active);
    assert_eq!(state("team-b", "later"), SilenceState::Pending);
    assert_eq!(state("team-b", "over"), SilenceState::Expired);
    // The next requeue: the end of the maintenance silence.
    assert_eq!(
        r.next_silence_transition(now()),
        Some("2026-11-24T13:00:00Z".parse().unwrap())
    );
}

#[test]
fn invalid_silences_are_left_out() {
    let mut w = World::new();
    w.silences.push(silence(
        "team-a",
        "regex",
        json!({"matchers": [{"name": "a", "value": "(", "matchType": "=~"}], "duration": "1h"}),
    ));
    w.silences.push(silence(
        "team-a",
        "empty",
        json!({"matchers": [{"name": "a", "value": ""}], "duration": "1h"}),
    ));
    w.silences.push(silence(
        "team-a",
        "backwards",
        json!({"matchers": [{"name": "a", "value": "b"}], "startsAt": "2026-11-24T12:00:00Z", "endsAt": "2026-11-24T11:00:00Z"}),
    ));
    let r = w.render();
    for name in ["regex", "empty", "backwards"] {
        let o = outcome(&r, Kind::Silence, "team-a", name);
        assert!(o.result.is_err(), "{name}");
    }
    assert_eq!(r.data[SILENCES_KEY], "[]\n");
}

#[test]
fn silences_file_is_accepted_by_the_engine() {
    let r = full_world().render();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences.yaml");
    std::fs::write(&path, &r.data[SILENCES_KEY]).unwrap();
    let store = larum_engine::silence::Silences::in_memory(
        Default::default(),
        larum_engine::clock::Clock::starting_at(now()),
    );
    let applied = larum_engine::silence::declarative::load_file(
        &store,
        &path,
        larum_engine::config::ParseMode::default(),
    )
    .unwrap();
    assert_eq!(applied.created.len(), 2);
    let sil = store.get("team-a:maintenance").unwrap();
    assert_eq!(sil.comment, "DB failover");
    assert_eq!(sil.created_by, "alice");
}

fn amtool_check(amtool: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yaml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{amtool} check-config rejects the rendered config:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's amtool 0.25 (required, installed by `make test-deps`) and upstream's 0.34
/// (when built) accept the rendered config.
#[test]
fn amtool_check_config_accepts_the_rendered_config() {
    let text = full_world().render().data[CONFIG_KEY].clone();
    let debian = "/usr/bin/amtool";
    assert!(
        Path::new(debian).is_file(),
        "{debian} is not installed: run scripts/install-test-deps.sh"
    );
    amtool_check(debian, &text);
    let upstream = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/upstream/bin/amtool");
    if upstream.is_file() {
        amtool_check(upstream.to_str().unwrap(), &text);
    } else {
        eprintln!(
            "skipping upstream amtool 0.34: {} not found",
            upstream.display()
        );
    }
}
