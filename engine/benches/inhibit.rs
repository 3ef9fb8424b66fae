//! Inhibition check: one alert against 1 inhibit rule with 10,000 firing source alerts
//! (upstream's `BenchmarkMutes/1 inhibition rule, 10000 inhibiting alerts`), and the same
//! with an `equal` label, where every source has its own values.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use larum_engine::alert::marker::AlertMarker;
use larum_engine::alert::metrics::AlertMetrics;
use larum_engine::alert::store::{AlertStore, StoreOptions};
use larum_engine::alert::{Alert, LabelSet};
use larum_engine::clock::Clock;
use larum_engine::config::{Config, ParseOptions};
use larum_engine::inhibit::Inhibitor;
use larum_engine::notify::stages::Muter;
use std::hint::black_box;

const SOURCES: usize = 10_000;

fn setup(rule: &str, source: impl Fn(usize) -> LabelSet) -> (Arc<AlertStore>, Arc<Inhibitor>) {
    let yaml = format!("route:\n  receiver: r\nreceivers:\n- name: r\ninhibit_rules:\n{rule}");
    let config = Config::parse(&yaml, ParseOptions::default()).expect("valid config");
    let clock = Clock::system();
    let marker = Arc::new(AlertMarker::default());
    let store = AlertStore::new(
        StoreOptions::default(),
        clock,
        marker.clone(),
        AlertMetrics::default(),
    );
    let inhibitor = Inhibitor::new(&config.inhibit_rules, marker, clock);
    inhibitor.attach(&store);
    let now = clock.now();
    for i in 0..SOURCES {
        let alert = Alert {
            labels: source(i),
            annotations: LabelSet::default(),
            starts_at: now,
            // Go's zero time, as upstream's benchmark: never resolved.
            ends_at: None,
            generator_url: String::new(),
            updated_at: now,
            timeout: false,
        };
        store.put(alert, now).expect("stored");
    }
    (store, inhibitor)
}

fn inhibit(c: &mut Criterion) {
    let mut group = c.benchmark_group("inhibit");

    let (_store, inhibitor) = setup(
        "- source_matchers: [src=\"0\"]\n  target_matchers: [dst=\"0\"]\n",
        |i| LabelSet::from_pairs([("src", "0".to_string()), ("idx", i.to_string())]),
    );
    let target = LabelSet::from_pairs([("dst", "0")]);
    let now = Clock::system().now();
    assert!(inhibitor.mutes(&target, now));
    group.bench_function("1_rule_10000_sources", |b| {
        b.iter(|| inhibitor.mutes(black_box(&target), now))
    });

    let (_store, inhibitor) = setup(
        "- source_matchers: [alertname=NodeDown]\n  target_matchers: [severity=warning]\n  equal: [node]\n",
        |i| {
            LabelSet::from_pairs([
                ("alertname", "NodeDown".to_string()),
                ("node", format!("n{i}")),
            ])
        },
    );
    let muted = LabelSet::from_pairs([("severity", "warning"), ("node", "n5000")]);
    let not_muted = LabelSet::from_pairs([("severity", "warning"), ("node", "other")]);
    assert!(inhibitor.mutes(&muted, now));
    assert!(!inhibitor.mutes(&not_muted, now));
    group.bench_function("1_rule_10000_sources_equal_muted", |b| {
        b.iter(|| inhibitor.mutes(black_box(&muted), now))
    });
    group.bench_function("1_rule_10000_sources_equal_not_muted", |b| {
        b.iter(|| inhibitor.mutes(black_box(&not_muted), now))
    });
    group.finish();
}

criterion_group!(benches, inhibit);
criterion_main!(benches);
