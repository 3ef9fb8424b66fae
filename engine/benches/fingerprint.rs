//! Fingerprinting a 5-label set (Prometheus' FNV-1a over the sorted pairs).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn fingerprint(c: &mut Criterion) {
    let set = common::labels(12345);
    assert_eq!(set.len(), 5);
    c.bench_function("fingerprint/5_labels", |b| {
        b.iter(|| black_box(&set).fingerprint())
    });
    let sets: Vec<_> = (0..1024).map(common::labels).collect();
    c.bench_function("fingerprint/5_labels_1024_distinct", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for s in &sets {
                acc ^= black_box(s).fingerprint().0;
            }
            acc
        })
    });
}

criterion_group!(benches, fingerprint);
criterion_main!(benches);
