#![allow(clippy::unwrap_used)]
//! Benchmark (ignored by `make test`; run by `make bench-operator`): the time from
//! `kubectl apply` of a changed AlertRoute until its `Loaded` condition is True for the
//! new generation, i.e. every one of the three engine replicas runs a config with it.

mod e2e;

use std::time::{Duration, Instant};

use e2e::{Env, EnvSpec, alert_route_with_secret_url};

const CHANGES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: make bench-operator"]
async fn apply_to_loaded_on_three_replicas() {
    let env = Env::start(EnvSpec::default()).await;
    let routes = env.alert_routes("team-a");
    let mut route = alert_route_with_secret_url(
        &env,
        "team-a",
        "bench",
        &[("service", "=", "bench")],
        "1s",
        "/bench",
    );
    env.apply(&route);
    env.wait_condition(&routes, "bench", "Loaded", "True", Duration::from_secs(30))
        .await;

    let mut samples = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        // A real change of the rendered config: another group_wait each time.
        route["spec"]["groupWait"] = serde_json::json!(format!("{}s", 2 + i));
        let start = Instant::now();
        env.apply(&route);
        env.wait_condition(&routes, "bench", "Loaded", "True", Duration::from_secs(30))
            .await;
        samples.push(start.elapsed());
    }
    samples.sort();
    let pick =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "BENCH apply->Loaded on 3 replicas over {CHANGES} changes: p50 {:.0} ms, p99 {:.0} ms, min {:.0} ms, max {:.0} ms",
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    );
}
