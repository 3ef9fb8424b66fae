#![allow(clippy::unwrap_used)]
//! Gossip from a replica with another `--cluster.label` or another `--cluster.key-file`
//! is refused, counted in `larum_cluster_packets_refused_total`, and never joins.

mod support;

use std::time::Duration;

use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};

const CONFIG: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_label_or_key_is_refused_and_counted() {
    let ws = Workspace::new(CONFIG);
    let (k1, k2) = (ws.path("k1"), ws.path("k2"));
    std::fs::write(&k1, "first shared secret\n").unwrap();
    std::fs::write(&k2, "second shared secret\n").unwrap();
    let flags = |label: &str, key: &std::path::Path| {
        vec![
            "--cluster.gossip-interval=100ms".to_string(),
            "--cluster.settle-timeout=2s".to_string(),
            format!("--cluster.label={label}"),
            format!("--cluster.key-file={}", key.display()),
        ]
    };
    let spec = |name: &str, peers: &[&str], flags: Vec<String>| ReplicaSpec {
        extra: flags,
        ..ReplicaSpec::new(name, peers)
    };
    let a = Replica::start(
        &spec("a", &[], flags("prod", &k1)),
        &ws.config,
        &ws.storage("a"),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    // Same label and key: joins.
    let b = Replica::start(
        &spec("b", &[&a.gossip], flags("prod", &k1)),
        &ws.config,
        &ws.storage("b"),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    eventually(
        "a and b to see each other",
        Duration::from_secs(10),
        || async {
            (a.member_names().await.len() == 2 && b.member_names().await.len() == 2).then_some(())
        },
    )
    .await
    .unwrap();
    // Another label, same key.
    let c = Replica::start(
        &spec("c", &[&a.gossip], flags("staging", &k1)),
        &ws.config,
        &ws.storage("c"),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    // Same label, another key.
    let d = Replica::start(
        &spec("d", &[&a.gossip], flags("prod", &k2)),
        &ws.config,
        &ws.storage("d"),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    eventually("refusals counted on a", Duration::from_secs(10), || async {
        let label = a
            .metric("larum_cluster_packets_refused_total{reason=\"label\"}")
            .await?;
        let key = a
            .metric("larum_cluster_packets_refused_total{reason=\"key\"}")
            .await?;
        (label > 0.0 && key > 0.0).then_some(())
    })
    .await
    .unwrap();
    // Give them a few gossip rounds: still apart.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut members = a.member_names().await;
    members.sort();
    assert_eq!(members, ["a", "b"]);
    assert_eq!(c.member_names().await, ["c"]);
    assert_eq!(d.member_names().await, ["d"]);
    assert_eq!(a.metric("alertmanager_cluster_members").await, Some(2.0));
}
