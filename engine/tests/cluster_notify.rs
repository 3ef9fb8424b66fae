#![allow(clippy::unwrap_used)]
//! Three replicas on loopback notify each group once: the replica at position 0 sends,
//! the others wait `position x peer_timeout`, see its log entry through gossip, and skip.
//! When position 0 dies, the next replica takes over without a duplicate.

mod support;

use std::time::{Duration, Instant};

use support::alerts::{AlertSpec, alert, post_alerts};
use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};
use support::process::http_client;
use support::receiver::{Received, WebhookReceiver};

/// Tests in this file start several processes with tight timing: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const GROUP_INTERVAL: f64 = 4.0;

fn config(webhook: &str) -> String {
    format!(
        "route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 4s
  repeat_interval: 3s
receivers:
- name: hook
  webhook_configs:
  - url: {webhook}
    send_resolved: true
"
    )
}

const FLAGS: &[&str] = &[
    "--cluster.peer-timeout=1s",
    "--cluster.gossip-interval=100ms",
    "--cluster.settle-timeout=10s",
];

async fn three(ws: &Workspace) -> Vec<Replica> {
    let a = Replica::start(
        &ReplicaSpec::new("a", &[]).flags(FLAGS),
        &ws.config,
        &ws.storage("a"),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let mut replicas = vec![a];
    for name in ["b", "c"] {
        let peer = replicas[0].gossip.clone();
        let r = Replica::start(
            &ReplicaSpec::new(name, &[&peer]).flags(FLAGS),
            &ws.config,
            &ws.storage(name),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
        replicas.push(r);
    }
    for r in &replicas {
        eventually(
            &format!("{} to see 3 members", r.name),
            Duration::from_secs(10),
            || async { (r.member_names().await.len() == 3).then_some(()) },
        )
        .await
        .unwrap();
    }
    replicas
}

/// Posts `alerts` to every replica, like Prometheus does.
async fn post_all(replicas: &[Replica], alerts: &[AlertSpec]) {
    let client = http_client();
    for r in replicas {
        post_alerts(&client, &r.base, alerts).await.unwrap();
    }
}

fn describe(got: &[Received], since: Instant) -> String {
    got.iter()
        .map(|r| r.summary(since))
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// No two notifications of the same status closer than half a group interval: a
/// duplicate from a second replica would arrive within 2 x peer_timeout.
fn assert_no_duplicates(got: &[Received], since: Instant) {
    for pair in got.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at).as_secs_f64();
        assert!(
            gap >= GROUP_INTERVAL / 2.0 || pair[0].status() != pair[1].status(),
            "two notifications {gap:.2}s apart (a duplicate):\n    {}",
            describe(got, since)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_notify_each_group_once_per_interval() {
    let _serial = SERIAL.lock().await;
    let hook = WebhookReceiver::start().await;
    let ws = Workspace::new(&config(&hook.url("/hook")));
    let replicas = three(&ws).await;
    let since = Instant::now();
    let firing = vec![alert(&[("alertname", "Disk"), ("instance", "1")])];
    // Firing for at least 5 intervals, re-sent every second like Prometheus.
    let firing_until = since + Duration::from_secs_f64(GROUP_INTERVAL * 5.5);
    while Instant::now() < firing_until {
        post_all(&replicas, &firing).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let fired = hook.received();
    assert!(
        fired.iter().filter(|r| r.status() == "firing").count() >= 5,
        "a notification per interval:\n    {}",
        describe(&fired, since)
    );
    assert_no_duplicates(&fired, since);

    let resolved: Vec<AlertSpec> = firing.iter().cloned().map(AlertSpec::resolved).collect();
    post_all(&replicas, &resolved).await;
    hook.wait_for(
        "the resolved notification",
        Duration::from_secs_f64(GROUP_INTERVAL * 3.0),
        since,
        |got| got.iter().any(|r| r.status() == "resolved"),
    )
    .await
    .unwrap();
    // Two more intervals: no second resolved notification from another replica.
    tokio::time::sleep(Duration::from_secs_f64(GROUP_INTERVAL * 2.0)).await;
    let all = hook.received();
    assert_eq!(
        all.iter().filter(|r| r.status() == "resolved").count(),
        1,
        "one resolved notification:\n    {}",
        describe(&all, since)
    );
    assert_no_duplicates(&all, since);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_position_zero_hands_the_group_to_the_next_replica() {
    let _serial = SERIAL.lock().await;
    let hook = WebhookReceiver::start().await;
    let ws = Workspace::new(&config(&hook.url("/hook")));
    let mut replicas = three(&ws).await;
    let since = Instant::now();
    let firing = vec![alert(&[("alertname", "Cpu"), ("instance", "1")])];
    post_all(&replicas, &firing).await;
    hook.wait_for(
        "the first notification",
        Duration::from_secs(10),
        since,
        |got| !got.is_empty(),
    )
    .await
    .unwrap();
    // Once the others have a's log entry, "a" (position 0) dies for good while the
    // group's next flush is due.
    for r in &replicas[1..] {
        eventually(
            &format!("{} to have a's log entry", r.name),
            Duration::from_secs(5),
            || async {
                let snap = r.get_json("/-/cluster/snapshot").await.ok()?;
                (!snap["nflog"].as_array()?.is_empty()).then_some(())
            },
        )
        .await
        .unwrap();
    }
    let a = replicas.remove(0);
    a.kill().await;
    let killed = Instant::now();
    let before = hook.received().len();
    let until = killed + Duration::from_secs_f64(GROUP_INTERVAL * 4.0);
    while Instant::now() < until {
        post_all(&replicas, &firing).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let all = hook.received();
    let after: Vec<&Received> = all[before..].iter().collect();
    assert!(
        after.len() >= 3,
        "the survivors keep notifying once per interval:\n    {}",
        describe(&all, since)
    );
    let first_gap = after[0].at.duration_since(killed).as_secs_f64();
    assert!(
        first_gap <= GROUP_INTERVAL + 1.0 + 1.0,
        "the next replica notified {first_gap:.2}s after the kill (interval + peer_timeout):\n    {}",
        describe(&all, since)
    );
    assert_no_duplicates(&all, since);
}
