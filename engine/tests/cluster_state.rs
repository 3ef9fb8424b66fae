#![allow(clippy::unwrap_used)]
//! Replicated state across replicas on loopback: silences reach every replica within a
//! second, outlive their author, and an empty replica catches up in bulk before it
//! reports ready.

mod support;

use std::time::{Duration, Instant};

use larum_engine::clock::Clock;
use larum_engine::nflog::{NflogMetrics, NotificationLog, ReceiverKey};
use larum_engine::silence::{Silence, SilenceMatcher, Silences, SilencesOptions};
use support::alerts::{SilenceMatcher as ApiMatcher, alert, create_silence, post_alerts};
use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};
use support::process::http_client;

/// The bulk catch-up test loads the machine: timing tests here run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CONFIG: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";
const FLAGS: &[&str] = &[
    "--cluster.gossip-interval=100ms",
    "--cluster.settle-timeout=20s",
];

async fn start(ws: &Workspace, name: &str, peers: &[&str]) -> Replica {
    Replica::start(
        &ReplicaSpec::new(name, peers).flags(FLAGS),
        &ws.config,
        &ws.storage(name),
        Duration::from_secs(30),
    )
    .await
    .unwrap()
}

/// Whether `replica` lists the alert as silenced by `id`.
async fn mutes(replica: &Replica, id: &str) -> bool {
    let Ok(alerts) = replica.get_json("/api/v2/alerts").await else {
        return false;
    };
    alerts.as_array().into_iter().flatten().any(|a| {
        a["status"]["silencedBy"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|s| s == id))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silence_made_on_one_replica_mutes_on_the_others_within_a_second() {
    let _serial = SERIAL.lock().await;
    let ws = Workspace::new(CONFIG);
    let a = start(&ws, "a", &[]).await;
    let b = start(&ws, "b", &[&a.gossip]).await;
    let c = start(&ws, "c", &[&a.gossip]).await;
    for r in [&a, &b, &c] {
        eventually("3 members", Duration::from_secs(10), || async {
            (r.member_names().await.len() == 3).then_some(())
        })
        .await
        .unwrap();
    }
    let client = http_client();
    let firing = [alert(&[("alertname", "Disk"), ("team", "db")])];
    for r in [&a, &b, &c] {
        post_alerts(&client, &r.base, &firing).await.unwrap();
    }
    let mut slowest = Duration::ZERO;
    for round in 0..5 {
        let team = format!("db{round}");
        let firing = [alert(&[("alertname", "Disk"), ("team", &team)])];
        for r in [&a, &b, &c] {
            post_alerts(&client, &r.base, &firing).await.unwrap();
        }
        let created = Instant::now();
        let id = create_silence(
            &client,
            &a.base,
            &[ApiMatcher::parse(&format!("team={team}"))],
        )
        .await
        .unwrap();
        for r in [&b, &c] {
            eventually(
                &format!("the silence to mute on {}", r.name),
                Duration::from_secs(1),
                || async { mutes(r, &id).await.then_some(()) },
            )
            .await
            .unwrap();
            slowest = slowest.max(created.elapsed());
        }
    }
    assert!(slowest < Duration::from_secs(1), "slowest {slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silence_outlives_its_author() {
    let _serial = SERIAL.lock().await;
    let ws = Workspace::new(CONFIG);
    let a = start(&ws, "a", &[]).await;
    let b = start(&ws, "b", &[&a.gossip]).await;
    let client = http_client();
    let id = create_silence(&client, &a.base, &[ApiMatcher::parse("team=db")])
        .await
        .unwrap();
    eventually("b to have the silence", Duration::from_secs(5), || async {
        let s = b.get_json(&format!("/api/v2/silence/{id}")).await.ok()?;
        (s["id"] == id.as_str()).then_some(())
    })
    .await
    .unwrap();
    // The author dies for good; a replica that joins later, with an empty disk, only
    // has b to learn from.
    let b_gossip = b.gossip.clone();
    a.kill().await;
    let c = start(&ws, "c", &[&b_gossip]).await;
    let firing = [alert(&[("alertname", "Disk"), ("team", "db")])];
    for r in [&b, &c] {
        post_alerts(&client, &r.base, &firing).await.unwrap();
        assert!(
            eventually("the silence to mute", Duration::from_secs(2), || async {
                mutes(r, &id).await.then_some(())
            })
            .await
            .is_ok(),
            "{} applies the silence of the dead author",
            r.name
        );
    }
}

/// Fills `dir` with `silences` silences and `entries` log entries, as a replica's disk.
fn fill_storage(dir: &std::path::Path, silences: usize, entries: usize) {
    let clock = Clock::system();
    let store = Silences::open(
        SilencesOptions {
            storage_dir: Some(dir.to_path_buf()),
            ..SilencesOptions::default()
        },
        clock,
    )
    .unwrap();
    let now = clock.now();
    let batch = (0..silences)
        .map(|i| {
            let mut s = Silence::new(
                vec![SilenceMatcher::new(
                    "instance",
                    &format!("host-{i}"),
                    larum_engine::config::matcher::MatchType::Equal,
                )],
                now,
                now + jiff::SignedDuration::from_hours(2),
            );
            s.id = format!("00000000-0000-4000-8000-{i:012}");
            s.updated_at = now;
            s.created_by = "catch-up test".into();
            s.comment = "bulk".into();
            (s, now + jiff::SignedDuration::from_hours(4))
        })
        .collect();
    assert_eq!(store.merge_many(batch).unwrap(), silences);
    store.snapshot().unwrap();
    let (log, _) = NotificationLog::open(
        dir,
        Duration::from_secs(3600 * 4),
        clock,
        NflogMetrics::default(),
    )
    .unwrap();
    let receiver = ReceiverKey {
        group_name: "a".into(),
        integration: "webhook".into(),
        idx: 0,
    };
    for i in 0..entries {
        log.log(
            &receiver,
            &format!("{{}}:{{alertname=\"A{i}\"}}"),
            vec![i as u64],
            vec![],
            Duration::ZERO,
        );
    }
    log.snapshot().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_empty_replica_has_every_silence_and_log_entry_before_it_is_ready() {
    let _serial = SERIAL.lock().await;
    const SILENCES: usize = 10_000;
    const ENTRIES: usize = 100_000;
    let ws = Workspace::new(CONFIG);
    let full = ws.storage("a");
    fill_storage(&full, SILENCES, ENTRIES);
    let a = Replica::start(
        &ReplicaSpec::new("a", &[]).flags(FLAGS),
        &ws.config,
        &full,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(
        a.get_json("/api/v2/silences")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        SILENCES
    );

    let started = Instant::now();
    let mut b = Replica::start(
        &ReplicaSpec::new("b", &[&a.gossip]).flags(FLAGS).no_wait(),
        &ws.config,
        &ws.storage("b"),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    // 10 s is the bound for an optimized build (`cargo test --release`, and the
    // benchmark row); an unoptimized build serializes and parses several times slower.
    let bound = if cfg!(debug_assertions) {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(10)
    };
    b.wait_ready(started + bound).await.unwrap();
    let took = started.elapsed();
    // At the moment it is ready, it has everything.
    let snapshot = b.get_json("/-/cluster/snapshot").await.unwrap();
    assert_eq!(snapshot["silences"].as_array().unwrap().len(), SILENCES);
    assert_eq!(snapshot["nflog"].as_array().unwrap().len(), ENTRIES);
    eprintln!("empty replica ready after {took:?} (bound {bound:?})");
    for line in b
        .log()
        .iter()
        .filter(|l| l.contains("Catch-up") || l.contains("Caught up"))
    {
        eprintln!("    {line}");
    }
    assert!(
        took < bound,
        "{}",
        b.failure(&format!("ready after {took:?}"))
    );
}
