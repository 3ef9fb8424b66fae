#![allow(clippy::unwrap_used)]
//! Cluster benchmark (ignored by `cargo test`; `make bench` runs it with
//! `BENCH_MODES=cluster`, in release): time until a silence made on one replica is
//! visible on all three (p50, p99 over 100 silences), and gossip bytes per second per
//! replica at rest. Prints Markdown table rows.

mod support;

use std::time::{Duration, Instant};

use support::alerts::{SilenceMatcher, create_silence};
use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};
use support::process::http_client;

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
