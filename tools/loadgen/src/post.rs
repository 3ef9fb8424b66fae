//! Posting alerts in batches over a fixed number of keep-alive connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::alerts::AlertTemplate;

/// What to post and for how long.
#[derive(Clone, Debug)]
pub struct PostPlan {
    /// `.../api/v2/alerts`.
    pub url: String,
    /// Concurrent keep-alive connections, one request in flight on each.
    pub connections: usize,
    /// Alerts per request.
    pub batch: u64,
    /// Stop after this long...
    pub duration: Duration,
    /// ...or after this many alerts, whichever comes first.
    pub total: u64,
    /// Timeout of one request.
    pub request_timeout: Duration,
}

/// What happened.
#[derive(Debug)]
pub struct PostOutcome {
    /// Alerts in requests answered with a 2xx status.
    pub accepted: u64,
    /// Requests answered with 2xx.
    pub requests_ok: u64,
    /// Requests that failed (error status or transport error).
    pub requests_failed: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// Time from the first request to the end of the last one.
    pub elapsed: Duration,
    /// Latency of successful requests, in microseconds.
    pub latency_us: Histogram<u64>,
}

/// Requests that fail before any success stop the run at once (the target does not
/// take alerts); afterwards this many failures do.
const MAX_FAILURES: u64 = 1000;

/// Posts distinct alerts from `template` according to `plan`; ids start at 0.
pub async fn post_alerts(
    plan: &PostPlan,
    template: Arc<AlertTemplate>,
) -> anyhow::Result<PostOutcome> {
    let next_id = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ok_total = Arc::new(AtomicU64::new(0));
    let failed_total = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + plan.duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.connections.max(1) {
        // One client per connection, at most one idle connection kept: each worker
        // reuses its own keep-alive connection.
        let client = {
            crate::tls::install_crypto_provider();
            reqwest::Client::builder()
        }
        .no_proxy()
        .pool_max_idle_per_host(1)
        .timeout(plan.request_timeout)
        .build()?;
        let (plan, template) = (plan.clone(), template.clone());
        let (next_id, stop) = (next_id.clone(), stop.clone());
        let (ok_total, failed_total) = (ok_total.clone(), failed_total.clone());
        workers.spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
            let (mut accepted, mut ok, mut failed) = (0u64, 0u64, 0u64);
            let mut first_error = None;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let first = next_id.fetch_add(plan.batch, Ordering::Relaxed);
                if first >= plan.total {
                    break;
                }
                let count = plan.batch.min(plan.total - first);
                let body = template.batch(first, count);
                let sent = Instant::now();
                let result = client
                    .post(&plan.url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let error = match result {
                    Ok(resp) if resp.status().is_success() => {
                        // Read the (small) body so the connection can be reused.
                        let _ = resp.bytes().await;
                        let micros = sent.elapsed().as_micros().min(600_000_000) as u64;
                        let _ = hist.record(micros.max(1));
                        accepted += count;
                        ok += 1;
                        ok_total.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        let text = resp.text().await.unwrap_or_default();
                        let text: String = text.chars().take(200).collect();
                        Some(match text.trim() {
                            "" => format!("HTTP {status}"),
                            t => format!("HTTP {status}: {t}"),
                        })
                    }
                    Err(e) => Some(format!("request failed: {e}")),
                };
                if let Some(e) = error {
                    failed += 1;
                    let failures = failed_total.fetch_add(1, Ordering::Relaxed) + 1;
                    first_error.get_or_insert(e);
                    if ok_total.load(Ordering::Relaxed) == 0 || failures >= MAX_FAILURES {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok((hist, accepted, ok, failed, first_error))
        });
    }
    let mut outcome = PostOutcome {
        accepted: 0,
        requests_ok: 0,
        requests_failed: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency_us: Histogram::new_with_bounds(1, 600_000_000, 3)?,
    };
    while let Some(joined) = workers.join_next().await {
        let (hist, accepted, ok, failed, first_error) = joined??;
        outcome.latency_us.add(&hist)?;
        outcome.accepted += accepted;
        outcome.requests_ok += ok;
        outcome.requests_failed += failed;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}
