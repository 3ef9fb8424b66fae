//! State created before an ingest run: active silences (through `POST /api/v2/silences`)
//! and firing inhibition source alerts (through `POST /api/v2/alerts`). Bounded in count
//! and in time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Of the silences created, every this-many-th matches some of the posted alerts.
const MATCHING_EVERY: u64 = 100;

/// The JSON of silence `i`: most match nothing the load generator posts
/// (`instance="silenced-N"`); one in [`MATCHING_EVERY`] matches the posted alerts whose
/// id ends in `00KK` (one in 10,000 each), so that 100 of 10,000 silences together
/// mute about 1% of the posted alerts.
pub fn silence_json(i: u64, starts_at: &str, ends_at: &str) -> String {
    let matchers = if i.is_multiple_of(MATCHING_EVERY) {
        let k = (i / MATCHING_EVERY) % 100;
        format!(
            "[{{\"name\":\"alertname\",\"value\":\"LoadgenHighRequestLatency\",\"isRegex\":false,\"isEqual\":true}},\
             {{\"name\":\"instance\",\"value\":\"host-[0-9]+-[0-9]{{6}}00{k:02}:9100\",\"isRegex\":true,\"isEqual\":true}}]"
        )
    } else {
        format!(
            "[{{\"name\":\"instance\",\"value\":\"silenced-{i}\",\"isRegex\":false,\"isEqual\":true}}]"
        )
    };
    format!(
        "{{\"matchers\":{matchers},\"startsAt\":\"{starts_at}\",\"endsAt\":\"{ends_at}\",\
         \"createdBy\":\"loadgen\",\"comment\":\"loadgen silence {i}\"}}"
    )
}

/// Source alert `i` of the inhibit rule `alertname="Source"` with `equal: [team]`:
/// source 0 carries the posted alerts' team (so the rule mutes them), the others a team
/// of their own.
pub fn source_json(i: u64, starts_at: &str) -> String {
    let team = if i == 0 {
        "infrastructure".to_string()
    } else {
        format!("team-{i}")
    };
    format!(
        "{{\"labels\":{{\"alertname\":\"Source\",\"team\":\"{team}\",\"instance\":\"source-{i}\",\"severity\":\"critical\"}},\
         \"startsAt\":\"{starts_at}\"}}"
    )
}

/// What a setup did.
#[derive(Debug, Default)]
pub struct SetupOutcome {
    /// Objects the target accepted.
    pub created: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// Creates `total` silences over `connections` connections, one per request; stops at
/// the first failure or after `limit`.
pub async fn create_silences(
    base: &str,
    total: u64,
    connections: usize,
    limit: Duration,
) -> anyhow::Result<SetupOutcome> {
    let now = jiff::Timestamp::now();
    let starts_at = crate::alerts::now_rfc3339();
    let ends_at = (now + jiff::SignedDuration::from_hours(24)).to_string();
    let url = format!("{base}/api/v2/silences");
    run(total, connections, limit, move |i| {
        (url.clone(), silence_json(i, &starts_at, &ends_at))
    })
    .await
}

/// Posts `total` inhibition source alerts in batches of 100.
pub async fn post_sources(
    base: &str,
    total: u64,
    connections: usize,
    limit: Duration,
) -> anyhow::Result<SetupOutcome> {
    const BATCH: u64 = 100;
    let starts_at = crate::alerts::now_rfc3339();
    let url = format!("{base}/api/v2/alerts");
    let batches = total.div_ceil(BATCH);
    let mut outcome = run(batches, connections, limit, move |b| {
        let first = b * BATCH;
        let body: Vec<String> = (first..(first + BATCH).min(total))
            .map(|i| source_json(i, &starts_at))
            .collect();
        (url.clone(), format!("[{}]", body.join(",")))
    })
    .await?;
    outcome.created = (outcome.created * BATCH).min(total);
    Ok(outcome)
}

/// Sends requests `0..count` built by `request`, `connections` at a time.
async fn run(
    count: u64,
    connections: usize,
    limit: Duration,
    request: impl Fn(u64) -> (String, String) + Send + Sync + 'static,
) -> anyhow::Result<SetupOutcome> {
    let request = Arc::new(request);
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + limit;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let client = {
            crate::tls::install_crypto_provider();
            reqwest::Client::builder()
        }
        .no_proxy()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
        let (request, next, failed) = (request.clone(), next.clone(), failed.clone());
        workers.spawn(async move {
            let mut created = 0u64;
            let mut error = None;
            while !failed.load(Ordering::Relaxed) && Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let (url, body) = request(i);
                let result = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match result {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        created += 1;
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        let text: String = resp
                            .text()
                            .await
                            .unwrap_or_default()
                            .chars()
                            .take(200)
                            .collect();
                        error = Some(format!("HTTP {status}: {}", text.trim()));
                    }
                    Err(e) => error = Some(format!("request failed: {e}")),
                }
                if error.is_some() {
                    failed.store(true, Ordering::Relaxed);
                    break;
                }
            }
            (created, error)
        });
    }
    let mut outcome = SetupOutcome::default();
    while let Some(joined) = workers.join_next().await {
        let (created, error) = joined?;
        outcome.created += created;
        if outcome.first_error.is_none() {
            outcome.first_error = error;
        }
    }
    outcome.seconds = start.elapsed().as_secs_f64();
    if outcome.first_error.is_none() && outcome.created < count {
        outcome.first_error = Some(format!(
            "setup stopped after {:.0} s with {} of {count} requests done",
            limit.as_secs_f64(),
            outcome.created
        ));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_silence_in_a_hundred_matches_posted_alerts() {
        let matching: Vec<_> = (0..10_000)
            .map(|i| silence_json(i, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"))
            .filter(|s| s.contains("isRegex\":true"))
            .collect();
        assert_eq!(matching.len(), 100);
        let distinct: std::collections::HashSet<_> = matching
            .iter()
            .map(|s| {
                let v: serde_json::Value = serde_json::from_str(s).unwrap();
                v["matchers"][1]["value"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(distinct.len(), 100);
    }

    #[test]
    fn sources_are_valid_alerts_and_one_shares_the_posted_team() {
        let v: serde_json::Value =
            serde_json::from_str(&source_json(0, "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(v["labels"]["team"], "infrastructure");
        let v: serde_json::Value =
            serde_json::from_str(&source_json(7, "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(v["labels"]["alertname"], "Source");
        assert_eq!(v["labels"]["team"], "team-7");
    }
}
