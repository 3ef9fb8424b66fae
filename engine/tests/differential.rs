//! Differential test: the same config and the same timed alert sequence go to the reference
//! Alertmanagers (Debian's 0.25 and, when built, upstream v0.34.0) and to larum-engine, run side
//! by side; each must send the same notifications: receiver, group labels, status, the set of
//! alerts (labels and status) in each notification, truncatedAlerts, and their order per
//! receiver and group. Times are not compared.
//!
//! Environment:
//! - `LARUM_TEST_TARGET`: the candidate (default larum-engine; `debian`, `upstream` or a path to
//!   validate the harness with an Alertmanager as candidate),
//! - `LARUM_DIFF_SCENARIOS=name,...`: run only these scenarios,
//! - `LARUM_DIFF_PARALLEL`: scenarios run at once (default 4).

#![allow(clippy::unwrap_used)]

mod support;

#[path = "differential/inhibit_scenarios.rs"]
mod inhibit_scenarios;
#[path = "differential/outcome.rs"]
mod outcome;
#[path = "differential/scenarios.rs"]
mod scenarios;
#[path = "differential/silence_scenarios.rs"]
mod silence_scenarios;

use std::sync::Arc;
use std::time::{Duration, Instant};

use outcome::{describe_difference, difference, outcome_lines, timeline_text};
use scenarios::{Scenario, WEBHOOK};
use support::alerts::run_timeline;
use support::process::{AmProcess, Kind, Target, http_client};
use support::receiver::{Received, WebhookReceiver};

/// What one target did in one scenario.
struct TargetRun {
    target: Target,
    /// Why it could not run, if so.
    start_error: Option<String>,
    /// Notifications that arrived within the observation window.
    received: Vec<Received>,
    /// Failed alert posts.
    send_errors: Vec<String>,
    /// The target under test (the last one), not a reference.
    is_candidate: bool,
}

impl TargetRun {
    fn lines(&self) -> Vec<String> {
        outcome_lines(&self.received)
    }
}

/// Runs `scenario` against every target at once and returns what each one notified.
async fn run_scenario(scenario: &Scenario, targets: &[Target]) -> (Instant, Vec<TargetRun>) {
    let mut starting = tokio::task::JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        let target = target.clone();
        let config = scenario.config.clone();
        starting.spawn(async move {
            let receiver = WebhookReceiver::start().await;
            let config = config.replace(WEBHOOK, &receiver.url(""));
            let process = AmProcess::start(&target, &config, &[]).await;
            (index, receiver, process)
        });
    }
    let mut started: Vec<Option<(WebhookReceiver, Result<AmProcess, String>)>> =
        targets.iter().map(|_| None).collect();
    while let Some(joined) = starting.join_next().await {
        let (index, receiver, process) = joined.unwrap();
        started[index] = Some((receiver, process));
    }
    let started: Vec<(WebhookReceiver, Result<AmProcess, String>)> =
        started.into_iter().map(Option::unwrap).collect();

    let running: Vec<usize> = (0..started.len())
        .filter(|i| started[*i].1.is_ok())
        .collect();
    let bases: Vec<String> = running
        .iter()
        .map(|i| started[*i].1.as_ref().unwrap().url(""))
        .collect();
    let start = Instant::now() + Duration::from_millis(100);
    let errors = run_timeline(&http_client(), &bases, &scenario.steps, start).await;
    // The scenario's own observation window: what arrives later is not compared.
    tokio::time::sleep_until((start + scenario.observe).into()).await;
    let end = start + scenario.observe;

    let mut runs = Vec::new();
    for (index, (target, (receiver, process))) in targets.iter().zip(started).enumerate() {
        let received: Vec<Received> = receiver
            .received()
            .into_iter()
            .filter(|r| r.at <= end)
            .collect();
        let send_errors = running
            .iter()
            .position(|i| *i == index)
            .map(|slot| errors[slot].clone())
            .unwrap_or_default();
        let start_error = match process {
            Ok(process) => {
                process.stop().await;
                None
            }
            Err(e) => Some(e),
        };
        runs.push(TargetRun {
            target: target.clone(),
            start_error,
            received,
            send_errors,
            is_candidate: index + 1 == targets.len(),
        });
    }
    (start, runs)
}

/// The failures of one scenario run, each a readable paragraph.
fn judge(scenario: &Scenario, start: Instant, runs: &[TargetRun]) -> Vec<String> {
    let header = format!("scenario `{}` ({})", scenario.name, scenario.about);
    let expect: Vec<String> = scenario.expect.iter().map(|s| s.to_string()).collect();
    let (references, candidates): (Vec<&TargetRun>, Vec<&TargetRun>) =
        runs.iter().partition(|r| !r.is_candidate);
    let mut failures = Vec::new();

    for reference in &references {
        if let Some(e) = &reference.start_error {
            failures.push(format!("{header}: reference did not run: {e}"));
            continue;
        }
        let lines = reference.lines();
        let (missing, extra) = difference(&expect, &lines);
        if !missing.is_empty() || !extra.is_empty() || !reference.send_errors.is_empty() {
            failures.push(format!(
                "{header}: the reference {} did not notify what the scenario expects (a scenario or harness problem, possibly timing under load, not a larum difference){}\n    send errors: {:?}\n    {} received:\n{}",
                reference.target.name,
                describe_difference("the scenario", &expect, &reference.target.name, &lines)
                    .unwrap_or_default(),
                reference.send_errors,
                reference.target.name,
                timeline_text(&reference.received, start)
            ));
        }
    }

    for candidate in &candidates {
        let name = &candidate.target.name;
        if let Some(e) = &candidate.start_error {
            failures.push(format!("{header}: {name} did not start: {e}"));
            continue;
        }
        let lines = candidate.lines();
        for reference in references.iter().filter(|r| r.start_error.is_none()) {
            if let Some(difference) =
                describe_difference(&reference.target.name, &reference.lines(), name, &lines)
            {
                let mut text = format!(
                    "{header}: {name} notified differently from {}:{difference}\n    {} received:\n{}\n    {name} received:\n{}",
                    reference.target.name,
                    reference.target.name,
                    timeline_text(&reference.received, start),
                    timeline_text(&candidate.received, start)
                );
                if !candidate.send_errors.is_empty() {
                    text.push_str(&format!(
                        "\n    posting alerts to {name} failed:\n      {}",
                        candidate.send_errors.join("\n      ")
                    ));
                }
                failures.push(text);
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_notifications_as_alertmanager() {
    let references = Target::references();
    assert!(
        !references.is_empty(),
        "no reference Alertmanager: Debian's {} is missing; run scripts/install-test-deps.sh",
        support::process::DEBIAN_ALERTMANAGER
    );
    let mut candidate = Target::under_test();
    if candidate.kind == Kind::Reference {
        candidate.name = format!("candidate {}", candidate.name);
    }
    let mut targets = references.clone();
    targets.push(candidate.clone());

    let only: Option<Vec<String>> = std::env::var("LARUM_DIFF_SCENARIOS")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(|n| n.trim().to_string()).collect());
    let selected: Vec<Scenario> = scenarios::all()
        .into_iter()
        .chain(inhibit_scenarios::all())
        .chain(silence_scenarios::all())
        .filter(|s| {
            only.as_ref()
                .is_none_or(|names| names.iter().any(|n| n == s.name))
        })
        .collect();
    assert!(
        !selected.is_empty(),
        "LARUM_DIFF_SCENARIOS selects no scenario"
    );
    assert!(
        only.is_some() || selected.len() >= 10,
        "at least 10 scenarios"
    );
    let parallel = std::env::var("LARUM_DIFF_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4usize)
        .max(1);

    let permits = Arc::new(tokio::sync::Semaphore::new(parallel));
    let targets = Arc::new(targets);
    let mut runs = tokio::task::JoinSet::new();
    for (order, scenario) in selected.into_iter().enumerate() {
        let permits = permits.clone();
        let targets = targets.clone();
        runs.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            let began = Instant::now();
            let (start, target_runs) = run_scenario(&scenario, &targets).await;
            let failures = judge(&scenario, start, &target_runs);
            let counts: Vec<String> = target_runs
                .iter()
                .map(|r| match &r.start_error {
                    Some(_) => format!("{}: not started", r.target.name),
                    None => format!("{}: {} notifications", r.target.name, r.received.len()),
                })
                .collect();
            let summary = format!(
                "{:<30} {:<4} {:>5.1}s  {}",
                scenario.name,
                if failures.is_empty() { "ok" } else { "FAIL" },
                began.elapsed().as_secs_f64(),
                counts.join(", ")
            );
            (order, summary, failures)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = runs.join_next().await {
        results.push(joined.unwrap());
    }
    results.sort_by_key(|(order, _, _)| *order);

    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    eprintln!("differential: targets {}", names.join(", "));
    for (_, summary, _) in &results {
        eprintln!("  {summary}");
    }
    let failures: Vec<String> = results
        .into_iter()
        .flat_map(|(_, _, failures)| failures)
        .collect();
    assert!(
        failures.is_empty(),
        "{} difference(s) between {} and the reference Alertmanager(s):\n\n{}",
        failures.len(),
        candidate.name,
        failures.join("\n\n")
    );
}

/// The comparison itself: alerts of a notification compare as a set, notifications per
/// receiver and group compare in order, and differences name both sides.
#[test]
fn outcome_lines_compare_sets_and_order() {
    let notification = |receiver: &str, status: &str, ids: &[&str]| Received {
        path: format!("/{receiver}"),
        at: Instant::now(),
        content_type: None,
        body: serde_json::json!({
            "receiver": receiver,
            "status": status,
            "groupLabels": {"alertname": "A"},
            "truncatedAlerts": 0,
            "alerts": ids.iter().map(|id| serde_json::json!({
                "status": status, "labels": {"alertname": "A", "id": id}
            })).collect::<Vec<_>>(),
        }),
        raw: String::new(),
        answered: 200,
    };
    let reference = outcome_lines(&[
        notification("r", "firing", &["1", "2"]),
        notification("r", "resolved", &["1"]),
    ]);
    assert_eq!(
        reference,
        [
            "r {alertname=A} #0 firing [{alertname=A,id=1}:firing {alertname=A,id=2}:firing]",
            "r {alertname=A} #1 resolved [{alertname=A,id=1}:resolved]",
        ]
    );
    let same_set = outcome_lines(&[
        notification("r", "firing", &["2", "1"]),
        notification("r", "resolved", &["1"]),
    ]);
    assert!(describe_difference("ref", &reference, "larum", &same_set).is_none());
    let swapped = outcome_lines(&[
        notification("r", "resolved", &["1"]),
        notification("r", "firing", &["1", "2"]),
    ]);
    let text = describe_difference("ref", &reference, "larum", &swapped).unwrap();
    assert!(
        text.contains("notified by ref but not by larum") && text.contains("#0 resolved"),
        "{text}"
    );
}
