//! Checking one alert against 10,000 active silences of which 100 match (upstream's
//! `BenchmarkMutes` "10000 total" shape: the matching silences are `foo="bar"`, the
//! others `job="jobN"`).
//!
//! `cached`: the same alert again and again, as a group's alerts are checked at every
//! flush (the per-fingerprint result holds until the silences change).
//! `uncached`: the cached result is dropped first, so each check queries the index.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use larum_engine::alert::LabelSet;
use larum_engine::clock::Clock;
use larum_engine::config::matcher::MatchType;
use larum_engine::silence::{Silence, SilenceMatcher, Silences, SilencesOptions};

const TOTAL: usize = 10_000;
const MATCHING: usize = 100;

fn store() -> Silences {
    let now = Timestamp::now();
    let store = Silences::in_memory(SilencesOptions::default(), Clock::starting_at(now));
    let end = now + jiff::SignedDuration::from_hours(24);
    let every = TOTAL / MATCHING;
    for i in 0..TOTAL {
        let m = if i % every == 0 {
            SilenceMatcher::new("foo", "bar", MatchType::Equal)
        } else {
            SilenceMatcher::new("job", &format!("job{i}"), MatchType::Equal)
        };
        if let Err(e) = store.set(Silence::new(vec![m], now, end)) {
            panic!("setting up silences: {e}");
        }
    }
    store
}

fn silence_match(c: &mut Criterion) {
    let store = store();
    let alert = LabelSet::from_pairs([("foo", "bar")]);
    let fp = alert.fingerprint();
    assert_eq!(store.silenced_by(&alert).len(), MATCHING);

    let mut group = c.benchmark_group("silence_match/10000_silences_100_match");
    group.bench_function("cached", |b| {
        b.iter(|| black_box(store.silenced_by_fingerprint(fp, black_box(&alert))).len())
    });
    group.bench_function("uncached", |b| {
        b.iter(|| {
            store.forget(fp);
            black_box(store.silenced_by_fingerprint(fp, black_box(&alert))).len()
        })
    });
    group.finish();
}

criterion_group!(benches, silence_match);
criterion_main!(benches);
