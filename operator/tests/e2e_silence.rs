#![allow(clippy::unwrap_used)]
//! End to end: Silence and InhibitRule resources mute alerts on every engine replica, within
//! their namespace's reach; CEL refuses bad Silences at `kubectl apply`.

mod e2e;

use std::time::Duration;

use e2e::support::alerts::alert;
use e2e::{ADMIN_NS, Env, EnvSpec};
use larum_operator::crd::SilenceState;
use serde_json::{Value, json};

fn silence(namespace: &str, name: &str, matchers: &[(&str, &str)]) -> Value {
    json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "Silence",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "matchers": matchers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
            "duration": "1h",
            "createdBy": "e2e",
            "comment": "planned maintenance",
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silence_mutes_on_every_replica_within_seconds_and_deleting_it_unmutes() {
    let env = Env::start(EnvSpec::default()).await;
    let labels = [("alertname", "DiskFull"), ("namespace", "team-a")];
    env.post_to_all(&[alert(&labels).started_ago(Duration::from_secs(60))])
        .await;
    env.wait_alert_on_all(
        "the alert to be active",
        &labels,
        Duration::from_secs(10),
        |a| a.is_active(),
    )
    .await;

    env.apply(&silence(
        "team-a",
        "maintenance",
        &[("alertname", "DiskFull")],
    ));
    // Muted on all three replicas within 3 s of `kubectl apply` returning.
    env.wait_alert_on_all(
        "the silence on every replica",
        &labels,
        Duration::from_secs(3),
        |a| a.state == "suppressed" && !a.silenced_by.is_empty(),
    )
    .await;

    // The status: ID, state active, and the muted count from the engines.
    let silences = env.silences("team-a");
    let status = e2e::support::cluster::eventually(
        "Silence status active with 1 muted alert",
        Duration::from_secs(30),
        || {
            let silences = silences.clone();
            async move {
                let s = silences.get("maintenance").await.ok()?.status?;
                (s.state == Some(SilenceState::Active) && s.muted_alerts == Some(1)).then_some(s)
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; operator logs:\n{}", env.operator_logs()));
    let id = status
        .silence_id
        .clone()
        .expect("a silence ID in the status");
    let views = env.alert_states(&labels).await;
    for view in &views {
        assert_eq!(
            view.as_ref().unwrap().silenced_by,
            vec![id.clone()],
            "{views:?}"
        );
    }
    let printed = env.kubectl(&["get", "silences", "-n", "team-a"]);
    assert!(
        printed.contains("STATE") && printed.contains("active"),
        "printer columns: {printed}"
    );

    env.kubectl(&["delete", "silence", "-n", "team-a", "maintenance"]);
    env.wait_alert_on_all(
        "the alert to be active again",
        &labels,
        Duration::from_secs(10),
        |a| a.is_active(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_apply_refuses_a_silence_ending_before_it_starts_or_without_matchers() {
    let env = Env::start(EnvSpec {
        operators: 0,
        engines: 0,
        ..EnvSpec::default()
    })
    .await;
    let mut backwards = silence("team-a", "backwards", &[("alertname", "X")]);
    backwards["spec"]["startsAt"] = json!("2030-01-02T00:00:00Z");
    backwards["spec"]["endsAt"] = json!("2030-01-01T00:00:00Z");
    backwards["spec"]
        .as_object_mut()
        .unwrap()
        .remove("duration");
    let e = env.try_apply(&backwards).unwrap_err();
    assert!(e.contains("endsAt"), "{e}");

    let empty = silence("team-a", "empty", &[]);
    let e = env.try_apply(&empty).unwrap_err();
    assert!(e.contains("matchers"), "{e}");

    let listed = env.kubectl(&["get", "silences", "-n", "team-a", "-o", "name"]);
    assert!(listed.trim().is_empty(), "nothing was stored: {listed}");
    // The same silence with a valid time range is accepted.
    backwards["spec"]["endsAt"] = json!("2030-01-03T00:00:00Z");
    env.apply(&backwards);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn namespaced_silences_and_inhibit_rules_reach_only_their_namespace_and_admin_ones_everything()
 {
    let env = Env::start(EnvSpec::default()).await;
    let flaky_a = [("alertname", "Flaky"), ("namespace", "team-a")];
    let flaky_b = [("alertname", "Flaky"), ("namespace", "team-b")];
    let node_down = [
        ("alertname", "NodeDown"),
        ("namespace", "team-b"),
        ("node", "n1"),
    ];
    let app_a = [
        ("alertname", "AppDown"),
        ("namespace", "team-a"),
        ("node", "n1"),
    ];
    let app_b = [
        ("alertname", "AppDown"),
        ("namespace", "team-b"),
        ("node", "n1"),
    ];
    let noisy_a = [("alertname", "Noisy"), ("namespace", "team-a")];
    let noisy_b = [("alertname", "Noisy"), ("namespace", "team-b")];
    let all = [
        &flaky_a[..],
        &flaky_b,
        &node_down,
        &app_a,
        &app_b,
        &noisy_a,
        &noisy_b,
    ];
    env.post_to_all(&all.iter().map(|l| alert(l)).collect::<Vec<_>>())
        .await;
    for labels in all {
        env.wait_alert_on_all("every alert active", labels, Duration::from_secs(10), |a| {
            a.is_active()
        })
        .await;
    }

    // team-a's Silence, even naming team-b's namespace, mutes only team-a's alert.
    env.apply(&silence("team-a", "flaky", &[("alertname", "Flaky")]));
    env.apply(&silence(
        "team-a",
        "sneaky",
        &[("alertname", "Flaky"), ("namespace", "team-b")],
    ));
    // team-a's InhibitRule: the source (NodeDown) is in team-b, the target only in team-a.
    env.apply(&json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "InhibitRule",
        "metadata": {"name": "node-down", "namespace": "team-a"},
        "spec": {
            "sourceMatchers": [{"name": "alertname", "value": "NodeDown"}],
            "targetMatchers": [{"name": "alertname", "value": "AppDown"}],
            "equal": ["node"],
        },
    }));
    // The admin namespace's Silence reaches every namespace.
    env.apply(&silence(ADMIN_NS, "noisy", &[("alertname", "Noisy")]));

    let rules = env.inhibit_rules("team-a");
    env.wait_condition(
        &rules,
        "node-down",
        "Loaded",
        "True",
        Duration::from_secs(30),
    )
    .await;
    let silenced = |a: &e2e::AlertView| a.state == "suppressed" && !a.silenced_by.is_empty();
    env.wait_alert_on_all(
        "team-a's Flaky silenced",
        &flaky_a,
        Duration::from_secs(10),
        silenced,
    )
    .await;
    env.wait_alert_on_all(
        "team-a's AppDown inhibited",
        &app_a,
        Duration::from_secs(10),
        |a| a.state == "suppressed" && !a.inhibited_by.is_empty(),
    )
    .await;
    env.wait_alert_on_all(
        "team-a's Noisy silenced by the admin Silence",
        &noisy_a,
        Duration::from_secs(10),
        silenced,
    )
    .await;
    env.wait_alert_on_all(
        "team-b's Noisy silenced by the admin Silence",
        &noisy_b,
        Duration::from_secs(10),
        silenced,
    )
    .await;
    // Both team-a Silences are in force, so their absence of effect on team-b is settled.
    let silences = env.silences("team-a");
    for name in ["flaky", "sneaky"] {
        env.wait_condition(&silences, name, "Loaded", "True", Duration::from_secs(30))
            .await;
    }
    for (what, labels) in [
        ("team-b's Flaky", &flaky_b[..]),
        ("team-b's AppDown", &app_b),
        ("the inhibiting NodeDown", &node_down),
    ] {
        for (i, view) in env.alert_states(labels).await.iter().enumerate() {
            let view = view
                .as_ref()
                .unwrap_or_else(|| panic!("{what} missing on engine {i}"));
            assert!(
                view.is_active(),
                "{what} must stay active on engine {i}: {view:?}"
            );
        }
    }
}
