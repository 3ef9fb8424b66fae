#![allow(clippy::unwrap_used)]
//! End to end: an AlertRoute whose webhook URL comes from a Secret is rendered by the
//! operator, loaded by three engine replicas through `--config.secret`, and Debian's
//! Prometheus's alert reaches the webhook; `Accepted` and `Loaded` become True. An
//! AlertRoute with an invalid regex is refused alone, saying why. Rotating the Secret
//! re-renders the config.

mod e2e;

use std::time::{Duration, Instant};

use e2e::{Env, EnvSpec, alert_route_with_secret_url};

const RULES: &str = "groups:
- name: e2e
  rules:
  - alert: PaymentsDown
    expr: vector(1)
    labels:
      namespace: team-a
      service: payments
      severity: critical
    annotations:
      summary: payments are down
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_alert_reaches_the_webhook_of_an_alert_route_and_a_bad_regex_is_refused_alone() {
    let mut env = Env::start(EnvSpec::default()).await;

    let route = alert_route_with_secret_url(
        &env,
        "team-a",
        "payments",
        &[("service", "=", "payments")],
        "1s",
        "/team-a",
    );
    env.apply(&route);
    // A route whose regex does not compile: refused alone.
    let broken = serde_json::json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "AlertRoute",
        "metadata": {"name": "broken", "namespace": "team-a"},
        "spec": {"priority": 10, "matchers": [{"name": "service", "matchType": "=~", "value": "pay(ments"}]},
    });
    env.apply(&broken);

    let routes = env.alert_routes("team-a");
    let accepted = env
        .wait_condition(
            &routes,
            "payments",
            "Accepted",
            "True",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(accepted.reason, "Rendered", "{accepted:?}");
    env.wait_condition(
        &routes,
        "payments",
        "Loaded",
        "True",
        Duration::from_secs(30),
    )
    .await;
    let refused = env
        .wait_condition(
            &routes,
            "broken",
            "Accepted",
            "False",
            Duration::from_secs(30),
        )
        .await;
    assert!(
        refused.message.contains("pay(ments") && refused.message.contains("regex"),
        "the refusal names the regex and why: {refused:?}"
    );
    // The refusal is also an Event on the object.
    let events = env.kubectl(&[
        "get",
        "events",
        "-n",
        "team-a",
        "--field-selector",
        "involvedObject.name=broken",
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert!(events.contains("pay(ments"), "events: {events}");
    // The refused route is not in the rendered config; the other one is, with its URL
    // from the Secret.
    let rendered = env.rendered_config().await;
    assert!(!rendered.contains("pay(ments"), "{rendered}");
    assert!(rendered.contains(&env.hook.url("/team-a")), "{rendered}");

    let since = Instant::now();
    env.start_prometheus(RULES).await;
    let got = env
        .hook
        .wait_for(
            "Prometheus's PaymentsDown alert on the AlertRoute's webhook",
            Duration::from_secs(60),
            since,
            |r| r.iter().any(|r| r.path == "/team-a"),
        )
        .await
        .unwrap();
    let notification = got.iter().find(|r| r.path == "/team-a").unwrap();
    assert_eq!(notification.status(), "firing");
    let alert = &notification.alerts()[0];
    assert_eq!(alert["labels"]["alertname"], "PaymentsDown");
    assert_eq!(alert["labels"]["namespace"], "team-a");
    assert_eq!(alert["annotations"]["summary"], "payments are down");
    assert_eq!(notification.receiver(), "team-a/payments/hook");
    // Every replica received the alert from Prometheus, yet the cluster notified once.
    env.wait_alert_on_all(
        "the alert on every replica",
        &[("alertname", "PaymentsDown")],
        Duration::from_secs(10),
        |a| a.is_active(),
    )
    .await;
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let team_a = env.hook.received_on("/team-a");
    assert_eq!(
        team_a.len(),
        1,
        "one notification from three replicas: {:?}",
        team_a.iter().map(|r| r.summary(since)).collect::<Vec<_>>()
    );
    assert!(
        env.hook.received_on("/platform").iter().all(|r| r
            .alerts()
            .iter()
            .all(|a| a["labels"]["alertname"] != "PaymentsDown")),
        "the AlertRoute took the alert before the root receiver"
    );

    // Rotating the Secret re-renders the config with the new URL, without touching the
    // AlertRoute.
    env.apply(&serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "payments-hook", "namespace": "team-a"},
        "stringData": {"url": env.hook.url("/team-a-rotated")},
    }));
    let rotated = env.hook.url("/team-a-rotated");
    e2e::support::cluster::eventually(
        "the rotated URL in the rendered config",
        Duration::from_secs(15),
        || async { env.rendered_config().await.contains(&rotated).then_some(()) },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; operator logs:\n{}", env.operator_logs()));
}
