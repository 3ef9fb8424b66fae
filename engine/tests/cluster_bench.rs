#![allow(clippy::unwrap_used)]
//! Cluster benchmark (ignored by `cargo test`; `make bench` runs it with
//! `BENCH_MODES=cluster`, in release): time until a silence made on one replica is
//! visible on all three (p50, p99 over 100 silences), and gossip bytes per second per
//! replica at rest and under 1,000 notifications per second. Prints Markdown table rows.

mod support;

use std::time::{Duration, Instant};

use support::alerts::{AlertSpec, SilenceMatcher, alert, create_silence, post_alerts};
use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};
use support::process::http_client;
use support::receiver::WebhookReceiver;

const CONFIG: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";

async fn sent(r: &Replica) -> f64 {
    r.metric("alertmanager_cluster_messages_sent_size_total{msg_type=\"update\"}")
        .await
        .unwrap_or(0.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by `make bench` (BENCH_MODES=cluster)"]
async fn cluster_benchmark() {
    let ws = Workspace::new(CONFIG);
    let start = |name: &'static str, peers: Vec<String>| {
        let ws = &ws;
        async move {
            let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
            Replica::start(
                &ReplicaSpec::new(name, &peers), // upstream defaults (200ms gossip)
                &ws.config,
                &ws.storage(name),
                Duration::from_secs(60),
            )
            .await
            .unwrap()
        }
    };
    let a = start("a", vec![]).await;
    let b = start("b", vec![a.gossip.clone()]).await;
    let c = start("c", vec![a.gossip.clone()]).await;
    for r in [&a, &b, &c] {
        eventually("3 members", Duration::from_secs(20), || async {
            (r.member_names().await.len() == 3).then_some(())
        })
        .await
        .unwrap();
    }
    // Gossip at rest: bytes sent per second per replica over 10 s.
    let before: Vec<f64> = vec![sent(&a).await, sent(&b).await, sent(&c).await];
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after: Vec<f64> = vec![sent(&a).await, sent(&b).await, sent(&c).await];
    let secs = t.elapsed().as_secs_f64();
    let rest: f64 = before.iter().zip(&after).map(|(b, a)| a - b).sum::<f64>() / 3.0 / secs;

    // Silence visibility on all three replicas.
    let client = http_client();
    let mut times = Vec::new();
    for i in 0..100 {
        let made = Instant::now();
        let id = create_silence(
            &client,
            &a.base,
            &[SilenceMatcher::parse(&format!("bench=s{i}"))],
        )
        .await
        .unwrap();
        for r in [&b, &c] {
            eventually("the silence", Duration::from_secs(10), || async {
                let s = r.get_json(&format!("/api/v2/silence/{id}")).await.ok()?;
                (s["id"] == id.as_str()).then_some(())
            })
            .await
            .unwrap();
        }
        times.push(made.elapsed());
    }
    times.sort();
    // libtest prints "test name ... " without a newline before the output: start clean.
    println!();
    println!("| measurement | value |");
    println!("|---|---|");
    println!(
        "| silence visible on 3 replicas, p50 (100 silences, 200ms gossip) | {:.0} ms |",
        percentile(&times, 0.5).as_secs_f64() * 1000.0
    );
    println!(
        "| silence visible on 3 replicas, p99 | {:.0} ms |",
        percentile(&times, 0.99).as_secs_f64() * 1000.0
    );
    println!("| gossip bytes sent per second per replica at rest (3 replicas) | {rest:.0} B/s |");
}

/// Every alert its own group, notified at once: posting N new alerts a second to all
/// replicas (as Prometheus does) makes N notifications a second, each recorded in the
/// notification log and gossiped.
const LOAD_CONFIG: &str = "route:\n  receiver: hook\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 5m\n  repeat_interval: 4h\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: URL\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by `make bench`"]
async fn gossip_under_notification_load() {
    const RATE: usize = 1000;
    const SECONDS: usize = 10;
    let hook = WebhookReceiver::start().await;
    let ws = Workspace::new(&LOAD_CONFIG.replace("URL", &hook.url("/hook")));
    let a = Replica::start(
        &ReplicaSpec::new("a", &[]),
        &ws.config,
        &ws.storage("a"),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let mut others = Vec::new();
    for name in ["b", "c"] {
        others.push(
            Replica::start(
                &ReplicaSpec::new(name, &[a.gossip.as_str()]),
                &ws.config,
                &ws.storage(name),
                Duration::from_secs(60),
            )
            .await
            .unwrap(),
        );
    }
    let all = [&a, &others[0], &others[1]];
    for r in all {
        eventually("3 members", Duration::from_secs(20), || async {
            (r.member_names().await.len() == 3).then_some(())
        })
        .await
        .unwrap();
    }
    let client = http_client();
    let before: Vec<f64> = vec![sent(all[0]).await, sent(all[1]).await, sent(all[2]).await];
    let t = Instant::now();
    // Batches of RATE/10 every 100 ms, each batch to all three replicas.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for batch in 0..SECONDS * 10 {
        tick.tick().await;
        let alerts: Vec<AlertSpec> = (0..RATE / 10)
            .map(|i| alert(&[("alertname", "Load"), ("n", &format!("{batch}-{i}"))]))
            .collect();
        for r in all {
            post_alerts(&client, &r.base, &alerts).await.unwrap();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let after: Vec<f64> = vec![sent(all[0]).await, sent(all[1]).await, sent(all[2]).await];
    let notified: usize = hook.received().iter().map(|r| r.alerts().len()).sum();
    let load: f64 = before.iter().zip(&after).map(|(b, a)| a - b).sum::<f64>() / 3.0 / secs;
    println!();
    println!(
        "| gossip bytes sent per second per replica under {:.0} notifications/s (3 replicas) | {load:.0} B/s |",
        notified as f64 / secs
    );
}
