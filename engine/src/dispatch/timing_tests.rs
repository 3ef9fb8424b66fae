//! Group timing with paused tokio time: group_wait, group_interval, immediate flush of old
//! alerts, resolved alerts leaving the group, start delay, reload keeping groups.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Dispatcher, DispatcherOptions};
use crate::alert::{Alert, LabelSet};
use crate::clock::Clock;
use crate::config::{Config, ParseOptions};
use crate::notify::{BoxFuture, FlushContext, FlushHandler};

type Flush = (Instant, FlushContext, Vec<Arc<Alert>>);

struct Recorder {
    tx: mpsc::UnboundedSender<Flush>,
    ok: AtomicBool,
}

impl FlushHandler for Recorder {
    fn flush(&self, ctx: FlushContext, alerts: Vec<Arc<Alert>>) -> BoxFuture<bool> {
        let _ = self.tx.send((Instant::now(), ctx, alerts));
        let ok = self.ok.load(Ordering::SeqCst);
        Box::pin(async move { ok })
    }
}

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 1h
  routes:
  - matchers: ['team="db"']
    receiver: db
    continue: true
  - matchers: ['team=~"db|web"']
    receiver: web
receivers:
- name: default
- name: db
- name: web
"#;

struct Harness {
    d: Arc<Dispatcher>,
    rx: mpsc::UnboundedReceiver<Flush>,
    rec: Arc<Recorder>,
    clock: Clock,
    start: Instant,
}

fn config(yaml: &str) -> Config {
    Config::parse(yaml, ParseOptions::default()).unwrap()
}

fn harness(yaml: &str, start_delay: Duration) -> Harness {
    let (tx, rx) = mpsc::unbounded_channel();
    let rec = Arc::new(Recorder {
        tx,
        ok: AtomicBool::new(true),
    });
    let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
    let opts = DispatcherOptions {
        clock,
        start_delay,
        ..DispatcherOptions::default()
    };
    let d = Dispatcher::with_options(&config(yaml), rec.clone(), opts);
    Harness {
        d,
        rx,
        rec,
        clock,
        start: Instant::now(),
    }
}

impl Harness {
    fn alert(&self, labels: &[(&str, &str)], age: Duration, ends_in: Option<i64>) -> Arc<Alert> {
        let now = self.clock.now();
        let starts = now - jiff::SignedDuration::try_from(age).unwrap();
        Arc::new(Alert {
            labels: LabelSet::from_pairs(labels.iter().copied()),
            annotations: LabelSet::default(),
            starts_at: starts,
            ends_at: ends_in.map(|s| now + jiff::SignedDuration::from_secs(s)),
            generator_url: String::new(),
            updated_at: now,
            timeout: false,
        })
    }

    /// The next flush, waited for at most `within`.
    async fn next(&mut self, within: Duration) -> Option<Flush> {
        tokio::time::timeout(within, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    fn at(&self, f: &Flush) -> Duration {
        f.0 - self.start
    }
}

#[tokio::test(start_paused = true)]
async fn group_wait_then_group_interval() {
    let mut h = harness(CONFIG, Duration::ZERO);
    h.d.insert(h.alert(&[("alertname", "A")], Duration::ZERO, None));
    let f = h.next(Duration::from_secs(30)).await.unwrap();
    assert_eq!(h.at(&f), Duration::from_secs(10));
    assert_eq!(f.1.receiver, "default");
    assert_eq!(&*f.1.group_key, "{}:{alertname=\"A\"}");
    assert_eq!(f.2.len(), 1);
    // A second alert of the group waits for the group interval.
    tokio::time::sleep(Duration::from_secs(5)).await;
    h.d.insert(h.alert(&[("alertname", "A"), ("i", "2")], Duration::ZERO, None));
    let f = h.next(Duration::from_secs(120)).await.unwrap();
    assert_eq!(h.at(&f), Duration::from_secs(70));
    assert_eq!(f.2.len(), 2);
    let f = h.next(Duration::from_secs(120)).await.unwrap();
    assert_eq!(h.at(&f), Duration::from_secs(130), "every group interval");
    assert_eq!(h.d.group_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn alerts_older_than_group_wait_flush_at_once() {
    let mut h = harness(CONFIG, Duration::ZERO);
    h.d.insert(h.alert(&[("alertname", "Old")], Duration::from_secs(3600), None));
    let f = h.next(Duration::from_secs(30)).await.unwrap();
    assert_eq!(h.at(&f), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn start_delay_holds_the_first_flush() {
    let mut h = harness(CONFIG, Duration::from_secs(40));
    h.d.insert(h.alert(&[("alertname", "Old")], Duration::from_secs(3600), None));
    let f = h.next(Duration::from_secs(60)).await.unwrap();
    assert_eq!(h.at(&f), Duration::from_secs(40));
}

#[tokio::test(start_paused = true)]
async fn resolved_alerts_leave_after_a_successful_flush() {
    let mut h = harness(CONFIG, Duration::ZERO);
    h.rec.ok.store(false, Ordering::SeqCst);
    h.d.insert(h.alert(&[("alertname", "R")], Duration::ZERO, Some(1)));
    let f = h.next(Duration::from_secs(30)).await.unwrap();
    assert!(f.2[0].resolved_at(f.1.now));
    // Failed: the resolved alert stays for the next attempt.
    assert_eq!(h.d.groups().len(), 1);
    h.rec.ok.store(true, Ordering::SeqCst);
    let f = h.next(Duration::from_secs(120)).await.unwrap();
    assert_eq!(h.at(&f), Duration::from_secs(70));
    // Wait for the group to go (the deletion follows the flush).
    for _ in 0..100 {
        if h.d.group_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.d.group_count(), 0);
    assert!(h.d.groups().is_empty());
    assert!(
        h.next(Duration::from_secs(600)).await.is_none(),
        "no flush after the group is gone"
    );
    // The alert firing again makes a new group with a fresh group_wait.
    let t = Instant::now();
    h.d.insert(h.alert(&[("alertname", "R")], Duration::ZERO, None));
    let f = h.next(Duration::from_secs(30)).await.unwrap();
    assert_eq!(f.0 - t, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn continue_routes_to_two_receivers() {
    let mut h = harness(CONFIG, Duration::ZERO);
    let a = h.alert(&[("alertname", "A"), ("team", "db")], Duration::ZERO, None);
    assert_eq!(h.d.receivers_for(&a.labels), ["db", "web"]);
    h.d.insert(a);
    let mut got = vec![];
    for _ in 0..2 {
        let f = h.next(Duration::from_secs(30)).await.unwrap();
        got.push((f.1.receiver.clone(), f.1.group_key.to_string()));
    }
    got.sort();
    assert_eq!(
        got,
        [
            (
                "db".to_string(),
                "{}/{team=\"db\"}:{alertname=\"A\"}".to_string()
            ),
            (
                "web".to_string(),
                "{}/{team=~\"db|web\"}:{alertname=\"A\"}".to_string()
            ),
        ]
    );
    let groups = h.d.groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].receiver, "db");
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_groups_and_their_timers() {
    let mut h = harness(CONFIG, Duration::ZERO);
    h.d.insert(h.alert(&[("alertname", "A")], Duration::ZERO, None));
    h.d.insert(h.alert(&[("alertname", "B"), ("team", "web")], Duration::ZERO, None));
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Same default route; the web route changes its group interval.
    let changed = CONFIG.replacen(
        "    receiver: web\n",
        "    receiver: web\n    group_interval: 2m\n",
        1,
    );
    h.d.apply(&config(&changed));
    assert_eq!(h.d.group_count(), 2);
    let mut flushes = vec![];
    while let Some(f) = h.next(Duration::from_secs(20)).await {
        flushes.push((h.at(&f), f.1.receiver.clone()));
    }
    flushes.sort();
    // The kept group flushes at its original time, once; the changed route's group
    // starts over: its alert is 5 s old, so it waits the group_wait from the reload.
    assert_eq!(
        flushes,
        [
            (Duration::from_secs(10), "default".to_string()),
            (Duration::from_secs(15), "web".to_string()),
        ]
    );
    // And the kept group keeps its interval.
    let f = h.next(Duration::from_secs(120)).await.unwrap();
    assert_eq!(
        (h.at(&f), f.1.receiver.as_str()),
        (Duration::from_secs(70), "default")
    );
}

#[tokio::test(start_paused = true)]
async fn reload_routes_alerts_of_removed_routes_again() {
    let mut h = harness(CONFIG, Duration::ZERO);
    h.d.insert(h.alert(
        &[("alertname", "B"), ("team", "web")],
        Duration::from_secs(3600),
        None,
    ));
    let f = h.next(Duration::from_secs(1)).await.unwrap();
    assert_eq!(f.1.receiver, "web");
    // Remove the web route: the alert goes to the root's receiver, at once (it is old).
    let without = CONFIG.replace(
        "  - matchers: ['team=~\"db|web\"']\n    receiver: web\n",
        "",
    );
    h.d.apply(&config(&without));
    let f = h.next(Duration::from_secs(1)).await.unwrap();
    assert_eq!(f.1.receiver, "default");
    assert_eq!(h.d.group_count(), 1);
}
