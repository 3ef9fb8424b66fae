//! What a target notified, in a form two targets can be compared in: one line per
//! notification, `receiver {group labels} #n status [alert:status ...] truncated=k`, where `n`
//! counts the notifications of that receiver and group in arrival order and the alerts of a
//! notification are sorted (compared as a set). Times are left out on purpose.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::support::receiver::{Received, compact_labels};

/// The notifications of one target as comparable lines, sorted by receiver, group and order.
pub fn outcome_lines(received: &[Received]) -> Vec<String> {
    let mut per_group: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for notification in received {
        let body = &notification.body;
        let receiver = body["receiver"]
            .as_str()
            .unwrap_or("<no receiver>")
            .to_string();
        let group = if body["groupLabels"].is_object() {
            compact_labels(&body["groupLabels"])
        } else {
            format!("<no groupLabels; path {}>", notification.path)
        };
        let mut alerts: Vec<String> = notification
            .alerts()
            .iter()
            .map(|a| {
                format!(
                    "{}:{}",
                    compact_labels(&a["labels"]),
                    a["status"].as_str().unwrap_or("?")
                )
            })
            .collect();
        alerts.sort();
        let truncated = body["truncatedAlerts"].as_u64().unwrap_or(0);
        let mut line = format!(
            "{} [{}]",
            body["status"].as_str().unwrap_or("<no status>"),
            alerts.join(" ")
        );
        if truncated > 0 {
            line.push_str(&format!(" truncated={truncated}"));
        }
        per_group.entry((receiver, group)).or_default().push(line);
    }
    per_group
        .into_iter()
        .flat_map(|((receiver, group), lines)| {
            lines
                .into_iter()
                .enumerate()
                .map(move |(n, line)| format!("{receiver} {group} #{n} {line}"))
        })
        .collect()
}

/// Lines of `left` missing from `right` and lines of `right` missing from `left` (as multisets).
pub fn difference(left: &[String], right: &[String]) -> (Vec<String>, Vec<String>) {
    let mut only_left = Vec::new();
    let mut rest: Vec<&String> = right.iter().collect();
    for line in left {
        match rest.iter().position(|r| *r == line) {
            Some(i) => {
                rest.remove(i);
            }
            None => only_left.push(line.clone()),
        }
    }
    (only_left, rest.into_iter().cloned().collect())
}

/// A readable account of how `candidate` differs from `reference`, or `None` when they agree.
pub fn describe_difference(
    reference_name: &str,
    reference: &[String],
    candidate_name: &str,
    candidate: &[String],
) -> Option<String> {
    let (missing, extra) = difference(reference, candidate);
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut text = String::new();
    if !missing.is_empty() {
        text.push_str(&format!(
            "\n    notified by {reference_name} but not by {candidate_name}:\n      {}",
            missing.join("\n      ")
        ));
    }
    if !extra.is_empty() {
        text.push_str(&format!(
            "\n    notified by {candidate_name} but not by {reference_name}:\n      {}",
            extra.join("\n      ")
        ));
    }
    Some(text)
}

/// The raw notifications with arrival times, for failure messages.
pub fn timeline_text(received: &[Received], start: Instant) -> String {
    if received.is_empty() {
        return "      (none)".to_string();
    }
    received
        .iter()
        .map(|r| format!("      {}", r.summary(start)))
        .collect::<Vec<_>>()
        .join("\n")
}
