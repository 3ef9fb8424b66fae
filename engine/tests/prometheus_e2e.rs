//! End to end with a real Prometheus (Debian's `prometheus`, installed by
//! scripts/install-test-deps.sh): a rule that always fires is sent to the engine, whose webhook
//! receives a notification carrying the rule's labels; when the rule file is emptied and
//! Prometheus reloaded, the alert ends and the resolved notification arrives.
//!
//! The target is larum-engine; `LARUM_TEST_TARGET=debian` or `upstream` runs the same test
//! against the reference Alertmanager.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::process::{AmProcess, Target};
use support::prometheus::Prometheus;
use support::receiver::{Received, WebhookReceiver};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prometheus")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rule's alert with its labels, in a notification of the given status.
fn rule_alert<'a>(r: &'a Received, status: &str) -> Option<&'a serde_json::Value> {
    (r.status() == status).then_some(())?;
    r.alerts().iter().find(|a| {
        a["labels"]["alertname"] == "LarumAlwaysFiring"
            && a["labels"]["severity"] == "page"
            && a["labels"]["team"] == "larum"
            && a["status"] == status
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alerts_reach_the_webhook_and_resolve() {
    if let Err(e) = support::process::require_program("prometheus") {
        panic!("{e} (Debian's prometheus package)");
    }
    let hook = WebhookReceiver::start().await;
    let target = Target::under_test();
    let engine = AmProcess::start(
        &target,
        &fixture("alertmanager.yml").replace("WEBHOOK", &hook.url("")),
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("the target did not start: {e}"));

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, fixture("always-firing.rules.yml")).unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        fixture("prometheus.yml")
            .replace("ALERTMANAGER_ADDRESS", &engine.address)
            .replace("RULE_FILE", &rules.display().to_string()),
    )
    .unwrap();
    let prometheus = Prometheus::start(&config, &dir.path().join("tsdb"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let t0 = Instant::now();
    let firing = hook
        .wait_for(
            &format!(
                "a firing notification from {} with the rule's labels",
                target.name
            ),
            Duration::from_secs(60),
            t0,
            |all| all.iter().any(|r| rule_alert(r, "firing").is_some()),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.failure("sent the alerts")));
    let notification = firing
        .iter()
        .find(|r| rule_alert(r, "firing").is_some())
        .unwrap();
    let alert = rule_alert(notification, "firing").unwrap();
    assert_eq!(
        alert["annotations"]["summary"], "always firing, for the end-to-end test",
        "the rule's annotation: {}",
        notification.raw
    );
    assert_eq!(notification.receiver(), "webhook");
    assert!(
        alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.contains("/graph?g0.expr=vector%281%29")),
        "Prometheus' generatorURL is kept: {}",
        notification.raw
    );

    std::fs::write(&rules, fixture("empty.rules.yml")).unwrap();
    prometheus.reload().await.unwrap_or_else(|e| panic!("{e}"));
    let t1 = Instant::now();
    hook.wait_for(
        &format!(
            "the resolved notification from {} after the rule was removed",
            target.name
        ),
        Duration::from_secs(60),
        t0,
        |all| {
            all.iter()
                .any(|r| r.at >= t1 && rule_alert(r, "resolved").is_some())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", engine.failure("processed the alerts")));
}
