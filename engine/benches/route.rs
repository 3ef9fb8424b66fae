//! Route matching on a 51-route tree with regex matchers and `continue`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use larum_engine::dispatch::RouteNode;
use std::hint::black_box;

mod common;

fn count(node: &RouteNode) -> usize {
    1 + node.routes.iter().map(count).sum::<usize>()
}

fn route(c: &mut Criterion) {
    let config = common::routing_config();
    let tree = RouteNode::new(config.root_route());
    assert_eq!(count(&tree), 1 + common::TEAMS * 5);
    let alerts: Vec<_> = (0..1000).map(common::labels).collect();
    // Sanity: critical alerts of a team reach the pager and continue.
    assert!(
        alerts
            .iter()
            .any(|l| { l.get("team") != Some("team10") && tree.route(&|n| l.get(n)).len() > 1 })
    );

    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(alerts.len() as u64));
    group.bench_function("51_routes_1000_alerts", |b| {
        b.iter(|| {
            let mut n = 0;
            for l in &alerts {
                n += black_box(&tree).route(&|name| l.get(name)).len();
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
