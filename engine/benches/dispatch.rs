//! `Dispatcher::insert`: routing an alert into its aggregation groups, on the 51-route
//! tree, with a flush handler that does nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use larum_engine::alert::{Alert, LabelSet};
use larum_engine::config::coordinator::ActiveConfig;
use larum_engine::dispatch::Dispatcher;
use larum_engine::notify::{BoxFuture, FlushContext, FlushHandler};

mod common;

/// Accepts every flush at once.
struct NoopFlush;

impl FlushHandler for NoopFlush {
    fn flush(&self, _ctx: FlushContext, _alerts: Vec<Arc<Alert>>) -> BoxFuture<bool> {
        Box::pin(async { true })
    }
}

fn alert(i: usize, now: Timestamp) -> Arc<Alert> {
    Arc::new(Alert {
        labels: common::labels(i),
        annotations: LabelSet::from_pairs([
            ("summary", "Request latency is above the objective"),
            ("runbook_url", "https://runbooks.example.org/latency"),
        ]),
        starts_at: now,
        ends_at: None,
        generator_url: "http://prometheus.example.org/graph".to_string(),
        updated_at: now,
        timeout: false,
    })
}

fn dispatcher() -> Arc<Dispatcher> {
    let active = Arc::new(ActiveConfig::from_config(common::routing_config()));
    Dispatcher::new(active, Arc::new(NoopFlush))
}

const ALERTS: usize = 10_000;

/// Most fresh dispatchers built per sample of the `new_groups` bench.
const FRESH_CAP: u64 = 5;

fn insert(c: &mut Criterion) {
    // The dispatcher may start timers and tasks: give it a runtime (group_wait is
    // 10 s or more, so nothing flushes during a measurement).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start a runtime: {e}"),
    };
    let _guard = runtime.enter();
    let now = Timestamp::now();
    let alerts: Vec<_> = (0..ALERTS).map(|i| alert(i, now)).collect();

    let mut group = c.benchmark_group("dispatch_insert");
    group.throughput(Throughput::Elements(ALERTS as u64));
    group.sample_size(10);
    // Alerts into groups that already exist (the steady state: Prometheus re-sends).
    let warm = dispatcher();
    for a in &alerts {
        warm.insert(a.clone());
    }
    group.bench_function("existing_groups_10k", |b| {
        b.iter(|| {
            for a in &alerts {
                warm.insert(a.clone());
            }
        })
    });
    // Alerts that create their groups, on a fresh dispatcher each iteration. A dispatcher
    // may keep timers and tasks alive after it is dropped, so at most FRESH_CAP fresh
    // dispatchers are built per sample and the time is scaled to the requested iterations.
    group.bench_function("new_groups_10k", |b| {
        b.iter_custom(|iters| {
            let done = iters.clamp(1, FRESH_CAP);
            let mut elapsed = Duration::ZERO;
            for _ in 0..done {
                let d = dispatcher();
                let start = Instant::now();
                for a in &alerts {
                    d.insert(a.clone());
                }
                elapsed += start.elapsed();
                drop(d);
            }
            elapsed.mul_f64(iters as f64 / done as f64)
        })
    });
    group.finish();
}

criterion_group!(benches, insert);
criterion_main!(benches);
