//! Notification behaviour seen from a webhook endpoint, against a real engine process:
//! group_wait, group_interval and repeat_interval timing (within a tolerance), resolved
//! notifications, `send_resolved: false`, retry on 5xx, no retry on 4xx, `max_alerts`,
//! `continue`, the immediate flush of old alerts, and the version 4 payload.
//!
//! The target is larum-engine; set `LARUM_TEST_TARGET=debian` (Alertmanager 0.25) or
//! `upstream` (v0.34.0) to check the same expectations against the reference.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::alerts::{AlertSpec, alert, post_alerts};
use support::process::{AmProcess, Target, http_client};
use support::receiver::{Received, WebhookReceiver};

/// How much earlier than its timer a notification may arrive (clock and scheduling slack).
const EARLY: Duration = Duration::from_millis(250);
/// How much later than its timer a notification may arrive.
const LATE: Duration = Duration::from_millis(2500);
/// The zero time Alertmanager puts in `endsAt` of firing alerts.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A target process with a webhook endpoint its config points at.
struct Setup {
    process: AmProcess,
    hook: WebhookReceiver,
    client: reqwest::Client,
}

impl Setup {
    /// Starts the endpoint and the target; `config` uses `WEBHOOK` for the endpoint's base URL.
    async fn start(config: &str) -> Setup {
        let hook = WebhookReceiver::start().await;
        let config = config.replace("WEBHOOK", &hook.url(""));
        let target = Target::under_test();
        let process = match AmProcess::start(&target, &config, &[]).await {
            Ok(process) => process,
            Err(e) => panic!("the target did not start: {e}"),
        };
        Setup {
            process,
            hook,
            client: http_client(),
        }
    }

    fn name(&self) -> &str {
        &self.process.target.name
    }

    /// Posts alerts; panics naming the target when it does not accept them.
    async fn send(&self, alerts: &[AlertSpec]) {
        if let Err(e) = post_alerts(&self.client, &self.process.url(""), alerts).await {
            panic!("{} did not accept the alerts: {e}", self.name());
        }
    }

    /// Waits until `path` has received `count` requests; panics with what arrived otherwise.
    async fn wait_count(
        &self,
        path: &str,
        count: usize,
        timeout: Duration,
        since: Instant,
    ) -> Vec<Received> {
        let what = format!("{count} notification(s) on {path} from {}", self.name());
        match self
            .hook
            .wait_for(&what, timeout, since, |all| {
                all.iter().filter(|r| r.path == path).count() >= count
            })
            .await
        {
            Ok(_) => self.hook.received_on(path),
            Err(e) => panic!("{e}\n{}", self.process.failure("was running")),
        }
    }

    /// Waits until a notification on `path` satisfies `pred` and returns it.
    async fn wait_match(
        &self,
        path: &str,
        what: &str,
        timeout: Duration,
        since: Instant,
        pred: impl Fn(&Received) -> bool,
    ) -> Received {
        let what = format!("{what} on {path} from {}", self.name());
        match self
            .hook
            .wait_for(&what, timeout, since, |all| {
                all.iter().any(|r| r.path == path && pred(r))
            })
            .await
        {
            Ok(all) => all.into_iter().find(|r| r.path == path && pred(r)).unwrap(),
            Err(e) => panic!("{e}\n{}", self.process.failure("was running")),
        }
    }

    /// Keeps the endpoint observed for `window` (the notifications that must NOT come).
    async fn observe(&self, window: Duration) {
        tokio::time::sleep(window).await;
    }
}

fn config(route: &str, receivers: &[(&str, &str)]) -> String {
    let mut text = format!("route:\n{route}receivers:\n");
    for (name, extra) in receivers {
        text.push_str(&format!(
            "- name: {name}\n  webhook_configs:\n  - url: 'WEBHOOK/{name}'\n{extra}"
        ));
    }
    text
}

fn timers(group_wait: &str, group_interval: &str, repeat: &str) -> String {
    format!(
        "  receiver: default\n  group_by: [alertname]\n  group_wait: {group_wait}\n  group_interval: {group_interval}\n  repeat_interval: {repeat}\n"
    )
}

fn label_sets(r: &Received) -> Vec<String> {
    let mut sets: Vec<String> = r
        .alerts()
        .iter()
        .map(|a| support::receiver::compact_labels(&a["labels"]))
        .collect();
    sets.sort();
    sets
}

fn assert_within(what: &str, actual: Duration, expected: Duration, late: Duration) {
    assert!(
        actual + EARLY >= expected && actual <= expected + late,
        "{what}: took {actual:?}, expected {expected:?} (at most {EARLY:?} early, {late:?} late)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_wait_delays_the_first_notification() {
    let s = Setup::start(&config(&timers("3s", "1m", "1h"), &[("default", "")])).await;
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "Wait")])]).await;
    let first = s
        .wait_count("/default", 1, Duration::from_secs(15), t0)
        .await;
    assert_within(
        "first notification after group_wait 3s",
        first[0].at - t0,
        Duration::from_secs(3),
        LATE,
    );
    assert_eq!(label_sets(&first[0]), ["{alertname=Wait}"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_interval_spaces_updates_of_a_group() {
    let s = Setup::start(&config(&timers("1s", "3s", "1h"), &[("default", "")])).await;
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "G"), ("id", "1")])]).await;
    s.wait_count("/default", 1, Duration::from_secs(10), t0)
        .await;
    s.send(&[alert(&[("alertname", "G"), ("id", "2")])]).await;
    let both = s
        .wait_count("/default", 2, Duration::from_secs(15), t0)
        .await;
    assert_eq!(
        label_sets(&both[1]),
        ["{alertname=G,id=1}", "{alertname=G,id=2}"],
        "the update carries the whole group"
    );
    assert_within(
        "update after group_interval 3s",
        both[1].at - both[0].at,
        Duration::from_secs(3),
        LATE,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_interval_resends_an_unchanged_group() {
    // A repeat goes out at the first group_interval tick once repeat_interval has passed.
    let s = Setup::start(&config(&timers("1s", "1s", "3s"), &[("default", "")])).await;
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "R")])]).await;
    let three = s
        .wait_count("/default", 3, Duration::from_secs(25), t0)
        .await;
    for pair in three.windows(2) {
        assert_within(
            "repeat after repeat_interval 3s (group_interval 1s)",
            pair[1].at - pair[0].at,
            Duration::from_secs(3),
            Duration::from_secs(1) + LATE,
        );
        assert_eq!(label_sets(&pair[1]), ["{alertname=R}"]);
        assert_eq!(pair[1].status(), "firing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_alert_is_notified() {
    let s = Setup::start(&config(&timers("1s", "1s", "1h"), &[("default", "")])).await;
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "Res")])]).await;
    s.wait_match(
        "/default",
        "a firing notification",
        Duration::from_secs(10),
        t0,
        |r| r.status() == "firing",
    )
    .await;
    s.send(&[alert(&[("alertname", "Res")]).resolved()]).await;
    let resolved = s
        .wait_match(
            "/default",
            "a resolved notification",
            Duration::from_secs(10),
            t0,
            |r| r.status() == "resolved",
        )
        .await;
    let alerts = resolved.alerts();
    assert_eq!(alerts.len(), 1, "{}", resolved.raw);
    assert_eq!(alerts[0]["status"], "resolved", "{}", resolved.raw);
    let ends_at = alerts[0]["endsAt"].as_str().unwrap_or("");
    assert!(
        ends_at != ZERO_TIME && ends_at.parse::<jiff::Timestamp>().is_ok(),
        "a resolved alert carries its end time: {}",
        resolved.raw
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_resolved_false_sends_no_resolved_notification() {
    let route = timers("1s", "1s", "1h")
        + "  routes:\n  - receiver: quiet\n    continue: true\n  - receiver: loud\n";
    let s = Setup::start(&config(
        &route,
        &[
            ("default", ""),
            ("quiet", "    send_resolved: false\n"),
            ("loud", ""),
        ],
    ))
    .await;
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "Quiet")])]).await;
    s.wait_count("/quiet", 1, Duration::from_secs(10), t0).await;
    s.wait_count("/loud", 1, Duration::from_secs(10), t0).await;
    s.send(&[alert(&[("alertname", "Quiet")]).resolved()]).await;
    s.wait_match(
        "/loud",
        "a resolved notification",
        Duration::from_secs(10),
        t0,
        |r| r.status() == "resolved",
    )
    .await;
    // The same group flushed for both receivers; give `quiet` two more group intervals.
    s.observe(Duration::from_secs(2)).await;
    let quiet = s.hook.received_on("/quiet");
    assert_eq!(
        quiet.len(),
        1,
        "send_resolved: false must not send the resolution; quiet received:\n{}",
        quiet
            .iter()
            .map(|r| r.summary(t0))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_is_retried_until_success() {
    let s = Setup::start(&config(&timers("1s", "1m", "1h"), &[("default", "")])).await;
    s.hook.respond_with("/default", &[500]);
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "Flaky")])]).await;
    // group_interval is 1m: a second request within seconds can only be the retry.
    let two = s
        .wait_count("/default", 2, Duration::from_secs(15), t0)
        .await;
    assert_eq!((two[0].answered, two[1].answered), (500, 200));
    assert_eq!(two[1].body["groupKey"], two[0].body["groupKey"]);
    assert_eq!(label_sets(&two[1]), label_sets(&two[0]));
    s.observe(Duration::from_secs(2)).await;
    assert_eq!(
        s.hook.received_on("/default").len(),
        2,
        "no request after the successful retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_error_is_not_retried() {
    let s = Setup::start(&config(&timers("1s", "1m", "1h"), &[("default", "")])).await;
    s.hook.respond_with("/default", &[400, 400, 400, 400, 400]);
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "Rejected")])]).await;
    s.wait_count("/default", 1, Duration::from_secs(10), t0)
        .await;
    // A retry would come within a second (backoff starts near 500ms); wait three.
    s.observe(Duration::from_secs(3)).await;
    let all = s.hook.received_on("/default");
    assert_eq!(
        all.len(),
        1,
        "a 400 answer is permanent and must not be retried; received:\n{}",
        all.iter()
            .map(|r| r.summary(t0))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_alerts_truncates_the_payload() {
    let s = Setup::start(&config(
        &timers("1s", "1m", "1h"),
        &[("default", "    max_alerts: 2\n")],
    ))
    .await;
    let t0 = Instant::now();
    let alerts: Vec<AlertSpec> = (1..=5)
        .map(|i| alert(&[("alertname", "Many"), ("id", &i.to_string())]))
        .collect();
    s.send(&alerts).await;
    let got = s
        .wait_count("/default", 1, Duration::from_secs(10), t0)
        .await;
    assert_eq!(got[0].alerts().len(), 2, "{}", got[0].raw);
    assert_eq!(got[0].body["truncatedAlerts"], 3, "{}", got[0].raw);
    assert_eq!(got[0].status(), "firing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_delivers_to_two_receivers() {
    let route = timers("1s", "1m", "1h")
        + "  routes:\n  - receiver: first\n    matchers: [team=\"a\"]\n    continue: true\n  - receiver: second\n    matchers: [team=\"a\"]\n  - receiver: third\n    matchers: [team=\"a\"]\n";
    let s = Setup::start(&config(
        &route,
        &[
            ("default", ""),
            ("first", ""),
            ("second", ""),
            ("third", ""),
        ],
    ))
    .await;
    let t0 = Instant::now();
    s.send(&[alert(&[("alertname", "Both"), ("team", "a")])])
        .await;
    let first = s.wait_count("/first", 1, Duration::from_secs(10), t0).await;
    let second = s
        .wait_count("/second", 1, Duration::from_secs(10), t0)
        .await;
    assert_eq!(first[0].receiver(), "first");
    assert_eq!(second[0].receiver(), "second");
    assert_eq!(label_sets(&first[0]), ["{alertname=Both,team=a}"]);
    assert_eq!(label_sets(&second[0]), ["{alertname=Both,team=a}"]);
    assert!(
        s.hook.received_on("/third").is_empty() && s.hook.received_on("/default").is_empty(),
        "the route after the first one without continue, and the root, must not receive it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_older_than_group_wait_is_flushed_at_once() {
    let s = Setup::start(&config(&timers("20s", "1m", "1h"), &[("default", "")])).await;
    let t0 = Instant::now();
    s.send(&[
        alert(&[("alertname", "Old")]).started_ago(Duration::from_secs(60)),
        alert(&[("alertname", "Fresh")]),
    ])
    .await;
    let got = s
        .wait_match(
            "/default",
            "the old alert's group",
            Duration::from_secs(8),
            t0,
            |r| r.body["groupLabels"]["alertname"] == "Old",
        )
        .await;
    assert!(
        got.at - t0 < Duration::from_secs(8),
        "the old alert's new group must not wait group_wait (20s)"
    );
    assert!(
        s.hook
            .received_on("/default")
            .iter()
            .all(|r| r.body["groupLabels"]["alertname"] != "Fresh"),
        "the fresh alert's group still waits group_wait"
    );
}

/// Labels of the payload test's alert, and their Prometheus fingerprint as Alertmanager 0.25
/// and v0.34.0 show it.
const PAYLOAD_LABELS: &[(&str, &str)] = &[
    ("alertname", "LarumPayload"),
    ("severity", "warning"),
    ("team", "a"),
];
const PAYLOAD_FINGERPRINT: &str = "ae8930c96afe3cda";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_is_version_4() {
    let route =
        timers("1s", "1s", "1h") + "  routes:\n  - receiver: team-a\n    matchers: [team=\"a\"]\n";
    let s = Setup::start(&config(&route, &[("default", ""), ("team-a", "")])).await;
    let starts_at = "2024-05-06T07:08:09.5Z";
    let mut sent = alert(PAYLOAD_LABELS).annotation("summary", "disk almost full");
    sent.starts_at = Some(starts_at.into());
    sent.generator_url = Some("http://prometheus.example/graph?g0.expr=up".into());
    let t0 = Instant::now();
    s.send(std::slice::from_ref(&sent)).await;
    let firing = s
        .wait_count("/team-a", 1, Duration::from_secs(10), t0)
        .await;
    let firing = &firing[0];
    let body = &firing.body;
    assert_eq!(
        firing.content_type.as_deref(),
        Some("application/json"),
        "Content-Type"
    );
    let labels = json!({"alertname": "LarumPayload", "severity": "warning", "team": "a"});
    let expected_top = [
        ("version", json!("4")),
        (
            "groupKey",
            json!("{}/{team=\"a\"}:{alertname=\"LarumPayload\"}"),
        ),
        ("truncatedAlerts", json!(0)),
        ("status", json!("firing")),
        ("receiver", json!("team-a")),
        ("groupLabels", json!({"alertname": "LarumPayload"})),
        ("commonLabels", labels.clone()),
        ("commonAnnotations", json!({"summary": "disk almost full"})),
    ];
    for (field, value) in &expected_top {
        assert_eq!(
            &body[*field], value,
            "payload field {field}: {}",
            firing.raw
        );
    }
    assert!(
        body["externalURL"]
            .as_str()
            .is_some_and(|u| u.starts_with("http")),
        "externalURL: {}",
        firing.raw
    );
    let alert = &body["alerts"][0];
    assert_eq!(body["alerts"].as_array().map(Vec::len), Some(1));
    let expected_alert = [
        ("status", json!("firing")),
        ("labels", labels.clone()),
        ("annotations", json!({"summary": "disk almost full"})),
        ("endsAt", json!(ZERO_TIME)),
        (
            "generatorURL",
            json!("http://prometheus.example/graph?g0.expr=up"),
        ),
        ("fingerprint", json!(PAYLOAD_FINGERPRINT)),
    ];
    for (field, value) in &expected_alert {
        assert_eq!(&alert[*field], value, "alert field {field}: {}", firing.raw);
    }
    assert_eq!(
        timestamp(&alert["startsAt"]),
        starts_at.parse::<jiff::Timestamp>().ok(),
        "startsAt is the one sent: {}",
        firing.raw
    );

    let ends_at = jiff::Timestamp::now();
    let mut resolved = sent.clone();
    resolved.resolved = false;
    let mut resolved_json = resolved.to_json(ends_at);
    resolved_json["endsAt"] = json!(ends_at.to_string());
    let response = s
        .client
        .post(s.process.url("/api/v2/alerts"))
        .json(&json!([resolved_json]))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "resolve: {}",
        response.status()
    );
    let done = s
        .wait_match(
            "/team-a",
            "the resolved notification",
            Duration::from_secs(10),
            t0,
            |r| r.status() == "resolved",
        )
        .await;
    let alert = &done.body["alerts"][0];
    assert_eq!(alert["status"], "resolved", "{}", done.raw);
    assert_eq!(alert["fingerprint"], PAYLOAD_FINGERPRINT, "{}", done.raw);
    assert_eq!(
        timestamp(&alert["endsAt"]),
        Some(ends_at),
        "a resolved alert carries the endsAt sent: {}",
        done.raw
    );
    assert_eq!(done.body["groupKey"], body["groupKey"]);
}

fn timestamp(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}
