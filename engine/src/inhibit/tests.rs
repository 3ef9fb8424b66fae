//! Unit tests of the inhibitor, and a property test against a plain scan of every alert.

use std::sync::Arc;

use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::alert::marker::AlertState;
use crate::alert::metrics::AlertMetrics;
use crate::alert::store::StoreOptions;
use crate::config::{Config, ParseOptions};

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

/// The inhibit rules of a config whose `inhibit_rules:` section is `rules` (YAML list).
fn rules(rules: &str) -> Vec<InhibitRule> {
    let yaml = format!("route:\n  receiver: r\nreceivers:\n- name: r\ninhibit_rules:\n{rules}");
    Config::parse(&yaml, ParseOptions::default())
        .unwrap()
        .inhibit_rules
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

fn alert(pairs: &[(&str, &str)], ends_at: Option<i64>) -> Alert {
    Alert {
        labels: labels(pairs),
        annotations: LabelSet::default(),
        starts_at: ts(0),
        ends_at: ends_at.map(ts),
        generator_url: String::new(),
        updated_at: ts(0),
        timeout: false,
    }
}

/// A store with an inhibitor following it.
struct Setup {
    store: Arc<AlertStore>,
    inhibitor: Arc<Inhibitor>,
}

impl Setup {
    fn new(rule_yaml: &str) -> Setup {
        let clock = Clock::starting_at(ts(0));
        let marker = Arc::new(AlertMarker::default());
        let store = AlertStore::new(
            StoreOptions::default(),
            clock,
            marker.clone(),
            AlertMetrics::default(),
        );
        let inhibitor = Inhibitor::new(&rules(rule_yaml), marker, clock);
        inhibitor.attach(&store);
        Setup { store, inhibitor }
    }

    /// Stores an alert received at `at` (its version is `at`).
    fn put(&self, pairs: &[(&str, &str)], ends_at: Option<i64>, at: i64) -> Fingerprint {
        let mut a = alert(pairs, ends_at);
        a.updated_at = ts(at);
        self.store.put(a, ts(at)).unwrap().fingerprint()
    }

    fn mutes(&self, pairs: &[(&str, &str)], at: i64) -> bool {
        self.inhibitor.mutes(&labels(pairs), ts(at))
    }
}

const NODE_DOWN: &str = "- source_matchers: [alertname=NodeDown]\n  target_matchers: [severity=warning]\n  equal: [node]\n";

#[test]
fn a_firing_source_mutes_targets_with_the_same_equal_labels() {
    let s = Setup::new(NODE_DOWN);
    let target = [
        ("alertname", "DiskFull"),
        ("severity", "warning"),
        ("node", "n1"),
    ];
    assert!(!s.mutes(&target, 1), "no source yet");

    let source = s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(300), 0);
    assert!(s.mutes(&target, 1));
    // The marker shows who inhibits the alert.
    let status = s.store.marker().status(labels(&target).fingerprint());
    assert_eq!(status.state, AlertState::Suppressed);
    assert_eq!(status.inhibited_by, [source.to_string()]);

    // Alerts not matching the target side are not muted.
    assert!(!s.mutes(
        &[
            ("alertname", "DiskFull"),
            ("severity", "critical"),
            ("node", "n1")
        ],
        1
    ));
    // Once not muted any more, the marker is cleared.
    assert!(!s.mutes(
        &[
            ("alertname", "DiskFull"),
            ("severity", "warning"),
            ("node", "n2")
        ],
        1
    ));
}

#[test]
fn a_resolved_source_mutes_nothing() {
    let s = Setup::new(NODE_DOWN);
    let target = [
        ("alertname", "DiskFull"),
        ("severity", "warning"),
        ("node", "n1"),
    ];
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(300), 0);
    assert!(s.mutes(&target, 299));
    // Its end time passes...
    assert!(!s.mutes(&target, 300));
    // ...or it is resolved explicitly.
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(10), 10);
    assert!(!s.mutes(&target, 11));
    assert_eq!(
        s.store.marker().status(labels(&target).fingerprint()).state,
        AlertState::Active
    );
    // Firing again mutes again.
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(500), 20);
    assert!(s.mutes(&target, 21));
}

#[test]
fn a_source_without_end_time_keeps_muting() {
    let s = Setup::new(NODE_DOWN);
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], None, 0);
    assert!(s.mutes(&[("severity", "warning"), ("node", "n1")], 1_000_000));
}

#[test]
fn equal_labels_must_have_the_same_values() {
    let s = Setup::new(
        "- source_matchers: [alertname=NodeDown]\n  target_matchers: [severity=warning]\n  equal: [node, dc]\n",
    );
    s.put(
        &[("alertname", "NodeDown"), ("node", "n1"), ("dc", "eu")],
        Some(300),
        0,
    );
    assert!(s.mutes(&[("severity", "warning"), ("node", "n1"), ("dc", "eu")], 1));
    assert!(!s.mutes(&[("severity", "warning"), ("node", "n1"), ("dc", "us")], 1));
    assert!(!s.mutes(&[("severity", "warning"), ("node", "n2"), ("dc", "eu")], 1));
    // Labels outside `equal` do not matter.
    assert!(s.mutes(
        &[
            ("severity", "warning"),
            ("node", "n1"),
            ("dc", "eu"),
            ("x", "y")
        ],
        1
    ));
}

#[test]
fn a_missing_equal_label_equals_a_missing_one() {
    let s = Setup::new(NODE_DOWN);
    s.put(&[("alertname", "NodeDown")], Some(300), 0);
    // Missing on both sides: equal, as upstream.
    assert!(s.mutes(&[("severity", "warning")], 1));
    // Missing on the source, present on the target: different.
    assert!(!s.mutes(&[("severity", "warning"), ("node", "n1")], 1));
}

#[test]
fn no_equal_labels_means_any_firing_source_mutes() {
    let s = Setup::new(
        "- source_matchers: [alertname=Outage]\n  target_matchers: ['severity=~\"warning|info\"']\n",
    );
    s.put(&[("alertname", "Outage"), ("dc", "eu")], Some(300), 0);
    assert!(s.mutes(&[("severity", "info"), ("dc", "us")], 1));
    assert!(!s.mutes(&[("severity", "critical")], 1));
}

#[test]
fn an_alert_matching_both_sides_does_not_mute_itself_or_its_peers() {
    // Every `Down` alert is both a source and a target.
    let s = Setup::new(
        "- source_matchers: [alertname=Down]\n  target_matchers: [alertname=Down]\n  equal: [cluster]\n",
    );
    let a1 = [("alertname", "Down"), ("cluster", "c1"), ("id", "1")];
    let a2 = [("alertname", "Down"), ("cluster", "c1"), ("id", "2")];
    s.put(&a1, Some(300), 0);
    s.put(&a2, Some(300), 0);
    assert!(!s.mutes(&a1, 1));
    assert!(!s.mutes(&a2, 1));
}

#[test]
fn a_two_sided_target_is_muted_by_a_source_matching_one_side_only() {
    let s = Setup::new(
        "- source_matchers: [severity=critical]\n  target_matchers: [team=db]\n  equal: [cluster]\n",
    );
    let both = [("severity", "critical"), ("team", "db"), ("cluster", "c1")];
    let peer = [
        ("severity", "critical"),
        ("team", "db"),
        ("cluster", "c1"),
        ("id", "2"),
    ];
    s.put(&both, Some(300), 0);
    s.put(&peer, Some(300), 0);
    assert!(
        !s.mutes(&both, 1),
        "sources matching both sides do not count"
    );
    // A source that is not a target mutes it.
    let source = s.put(
        &[("severity", "critical"), ("team", "net"), ("cluster", "c1")],
        Some(300),
        0,
    );
    assert!(s.mutes(&both, 1));
    assert_eq!(s.inhibitor.inhibiting(&labels(&both), ts(1)), Some(source));
    // A target that is not a source is muted by the two-sided alerts.
    assert!(s.mutes(
        &[("severity", "warning"), ("team", "db"), ("cluster", "c1")],
        1
    ));
}

#[test]
fn another_firing_source_keeps_muting_when_one_resolves() {
    let s = Setup::new(NODE_DOWN);
    let target = [("severity", "warning"), ("node", "n1")];
    let first = s.put(
        &[("alertname", "NodeDown"), ("node", "n1"), ("probe", "a")],
        Some(900),
        0,
    );
    let second = s.put(
        &[("alertname", "NodeDown"), ("node", "n1"), ("probe", "b")],
        Some(300),
        0,
    );
    // The source that resolves last is reported.
    assert_eq!(s.inhibitor.inhibiting(&labels(&target), ts(1)), Some(first));
    s.put(
        &[("alertname", "NodeDown"), ("node", "n1"), ("probe", "a")],
        Some(5),
        5,
    );
    assert_eq!(
        s.inhibitor.inhibiting(&labels(&target), ts(6)),
        Some(second)
    );
    assert!(!s.mutes(&target, 300));
}

#[test]
fn legacy_match_and_match_re_select_sources_and_targets() {
    let s = Setup::new(concat!(
        "- source_match: {alertname: NodeDown}\n",
        "  source_match_re: {dc: 'eu-.*'}\n",
        "  target_match_re: {severity: 'warn|info'}\n",
        "  target_match: {team: ops}\n",
        "  equal: [node]\n",
    ));
    s.put(
        &[("alertname", "NodeDown"), ("dc", "us-1"), ("node", "n1")],
        Some(300),
        0,
    );
    assert!(!s.mutes(&[("severity", "warn"), ("team", "ops"), ("node", "n1")], 1));
    s.put(
        &[("alertname", "NodeDown"), ("dc", "eu-1"), ("node", "n1")],
        Some(300),
        0,
    );
    assert!(s.mutes(&[("severity", "warn"), ("team", "ops"), ("node", "n1")], 1));
    // The regex is anchored: `warning` does not match `warn|info`.
    assert!(!s.mutes(
        &[("severity", "warning"), ("team", "ops"), ("node", "n1")],
        1
    ));
    assert!(!s.mutes(&[("severity", "info"), ("team", "dev"), ("node", "n1")], 1));
}

#[test]
fn named_rules_each_mute_and_the_first_match_is_reported() {
    let s = Setup::new(concat!(
        "- name: node-down\n",
        "  source_matchers: [alertname=NodeDown]\n",
        "  target_matchers: [severity=warning]\n",
        "  equal: [node]\n",
        "- name: dc-down\n",
        "  source_matchers: [alertname=DcDown]\n",
        "  target_matchers: [severity=warning]\n",
        "  equal: [dc]\n",
        "- name: dc-down\n",
        "  source_matchers: [alertname=DcDown]\n",
        "  target_matchers: [severity=info]\n",
        "  equal: [dc]\n",
    ));
    assert_eq!(s.inhibitor.rule_count(), 3);
    let dc = s.put(&[("alertname", "DcDown"), ("dc", "eu")], Some(300), 0);
    let target = labels(&[("severity", "warning"), ("node", "n1"), ("dc", "eu")]);
    assert_eq!(
        s.inhibitor.inhibited_by(&target, ts(1)),
        Some((dc, "dc-down".to_string()))
    );
    let node = s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(300), 0);
    assert_eq!(
        s.inhibitor.inhibited_by(&target, ts(1)),
        Some((node, "node-down".to_string()))
    );
    // The duplicate name is allowed; its rule works.
    assert!(s.mutes(&[("severity", "info"), ("dc", "eu")], 1));
}

#[test]
fn garbage_collection_drops_sources_from_the_index() {
    let s = Setup::new(NODE_DOWN);
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(100), 0);
    s.put(&[("alertname", "NodeDown"), ("node", "n2")], Some(900), 0);
    s.put(&[("alertname", "Other"), ("node", "n2")], Some(900), 0);
    assert_eq!(s.inhibitor.source_count(), 2);
    s.store.gc(ts(200));
    assert_eq!(s.inhibitor.source_count(), 1);
    assert!(s.mutes(&[("severity", "warning"), ("node", "n2")], 201));
    // A new firing period after collection is indexed again.
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(900), 300);
    assert!(s.mutes(&[("severity", "warning"), ("node", "n1")], 301));
}

#[test]
fn reload_keeps_unchanged_rules_fills_new_ones_and_drops_removed_ones() {
    let s = Setup::new(NODE_DOWN);
    s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(300), 0);
    s.put(&[("alertname", "DcDown"), ("dc", "eu")], Some(300), 0);
    // Resolved when the rules are reloaded (the clock stands at 0).
    s.put(&[("alertname", "DcDown"), ("dc", "us")], Some(-1), 0);
    let warning_n1 = [("severity", "warning"), ("node", "n1"), ("dc", "eu")];
    let info_eu = [("severity", "info"), ("dc", "eu")];
    assert!(s.mutes(&warning_n1, 10));
    assert!(!s.mutes(&info_eu, 10));

    let dc_rule = "- source_matchers: [alertname=DcDown]\n  target_matchers: [severity=info]\n  equal: [dc]\n";
    s.inhibitor
        .apply_config(&rules(&format!("{NODE_DOWN}{dc_rule}")));
    assert_eq!(s.inhibitor.rule_count(), 2);
    assert!(s.mutes(&warning_n1, 10), "the unchanged rule still works");
    assert!(
        s.mutes(&info_eu, 10),
        "the new rule sees the stored sources"
    );
    // Resolved sources were not indexed by the new rule.
    assert_eq!(s.inhibitor.source_count(), 2);

    s.inhibitor.apply_config(&rules(dc_rule));
    assert!(!s.mutes(&warning_n1, 10), "the removed rule mutes nothing");
    assert!(s.mutes(&info_eu, 10));
    // The kept rule follows alerts stored after the reload.
    s.put(&[("alertname", "DcDown"), ("dc", "eu")], Some(20), 20);
    assert!(!s.mutes(&info_eu, 21));

    s.inhibitor.apply_config(&[]);
    assert_eq!(s.inhibitor.rule_count(), 0);
    assert!(!s.mutes(&info_eu, 10));
}

#[test]
fn an_unchanged_rule_keeps_its_index_without_a_store() {
    let inhibitor = Inhibitor::new(
        &rules(NODE_DOWN),
        Arc::new(AlertMarker::default()),
        Clock::starting_at(ts(0)),
    );
    inhibitor.observe(&alert(
        &[("alertname", "NodeDown"), ("node", "n1")],
        Some(300),
    ));
    let target = labels(&[("severity", "warning"), ("node", "n1")]);
    assert!(inhibitor.mutes(&target, ts(1)));
    inhibitor.apply_config(&rules(NODE_DOWN));
    assert!(inhibitor.mutes(&target, ts(1)));
}

#[test]
fn the_store_status_is_computed_when_asked() {
    let s = Setup::new(NODE_DOWN);
    let target = alert(&[("severity", "warning"), ("node", "n1")], Some(300));
    s.store.put(target.clone(), ts(0)).unwrap();
    assert!(s.store.status(&target, ts(1)).inhibited_by.is_empty());
    let source = s.put(&[("alertname", "NodeDown"), ("node", "n1")], Some(300), 0);
    let status = s.store.status(&target, ts(1));
    assert_eq!(status.state, AlertState::Suppressed);
    assert_eq!(status.inhibited_by, [source.to_string()]);
}

#[test]
fn the_rules_gauge_follows_reloads() {
    let metrics = InhibitMetrics::default();
    let inhibitor = Inhibitor::with_metrics(
        &rules(NODE_DOWN),
        Arc::new(AlertMarker::default()),
        Clock::starting_at(ts(0)),
        metrics.clone(),
    );
    assert_eq!(metrics.rules.get(), 1);
    inhibitor.apply_config(&[]);
    assert_eq!(metrics.rules.get(), 0);
}

#[test]
fn concurrent_puts_and_checks_agree_at_the_end() {
    let s = Setup::new(NODE_DOWN);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let s = &s;
            scope.spawn(move || {
                for i in 0..300 {
                    let node = format!("n{}", i % 50);
                    let probe = format!("{t}");
                    // Each thread fires, then resolves its sources.
                    let end = if i < 150 { 900 } else { 1 };
                    s.put(
                        &[
                            ("alertname", "NodeDown"),
                            ("node", &node),
                            ("probe", &probe),
                        ],
                        Some(end),
                        i,
                    );
                    s.mutes(&[("severity", "warning"), ("node", &node)], 2);
                }
            });
        }
    });
    for n in 0..50 {
        let node = format!("n{n}");
        assert!(!s.mutes(&[("severity", "warning"), ("node", &node)], 2));
    }
    assert_eq!(s.inhibitor.source_count(), 200);
}

// --- Property test: the index agrees with a scan of every alert. ---

const NAMES: [&str; 3] = ["a", "b", "c"];
const VALUES: [&str; 3] = ["", "x", "y"];

/// A label set over a small alphabet (an empty value means the label is absent).
fn arb_labels() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..NAMES.len(), 0..VALUES.len()), 0..4)
}

fn to_labels(pairs: &[(usize, usize)]) -> LabelSet {
    LabelSet::from_pairs(
        pairs
            .iter()
            .filter(|(_, v)| *v != 0)
            .map(|(n, v)| (NAMES[*n], VALUES[*v])),
    )
}

/// One side of a rule: equality or regex matchers over the alphabet.
fn arb_side() -> impl Strategy<Value = Vec<(usize, usize, bool)>> {
    prop::collection::vec((0..NAMES.len(), 0..VALUES.len(), any::<bool>()), 0..3)
}

fn side_yaml(side: &[(usize, usize, bool)]) -> String {
    let items: Vec<String> = side
        .iter()
        .map(|(n, v, negate)| {
            let op = if *negate { "!=" } else { "=" };
            format!("'{}{op}\"{}\"'", NAMES[*n], VALUES[*v])
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The plain definition: some firing source, with the same `equal` values, that is not
/// excluded because both it and the target match both sides.
fn reference(rule: &InhibitRule, alerts: &[(LabelSet, i64)], target: &LabelSet, now: i64) -> bool {
    let matches = |m: &crate::config::matcher::Matchers, l: &LabelSet| m.matches(|n| l.get(n));
    if !matches(&rule.target_matchers, target) {
        return false;
    }
    let target_is_source = matches(&rule.source_matchers, target);
    alerts.iter().any(|(source, end)| {
        *end > now
            && matches(&rule.source_matchers, source)
            && rule
                .equal
                .iter()
                .all(|n| source.get(n).unwrap_or("") == target.get(n).unwrap_or(""))
            && !(target_is_source && matches(&rule.target_matchers, source))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn index_agrees_with_a_scan(
        source in arb_side(),
        target in arb_side(),
        equal in prop::collection::vec(0..NAMES.len(), 0..3),
        puts in prop::collection::vec((arb_labels(), 0i64..20), 1..25),
        gc_at in prop::option::of(0i64..20),
        targets in prop::collection::vec(arb_labels(), 1..8),
        now in 0i64..20,
    ) {
        let equal: Vec<&str> = equal.iter().map(|i| NAMES[*i]).collect();
        let yaml = format!(
            "- source_matchers: {}\n  target_matchers: {}\n  equal: [{}]\n",
            side_yaml(&source),
            side_yaml(&target),
            equal.join(", ")
        );
        let s = Setup::new(&yaml);
        let rule = rules(&yaml).remove(0);
        // The store's latest version of each alert (later puts replace earlier ones).
        let mut latest: Vec<(LabelSet, i64)> = Vec::new();
        for (i, (pairs, end)) in puts.iter().enumerate() {
            let l = to_labels(pairs);
            if l.is_empty() {
                continue;
            }
            let mut a = alert(&[], Some(*end));
            a.labels = l.clone();
            a.starts_at = ts(-100);
            a.updated_at = ts(i as i64);
            // Put at time 0 with distinct versions: a later version always replaces.
            let stored = s.store.put(a, ts(-50)).unwrap();
            let end = stored.ends_at.map_or(i64::MAX, |e| e.as_second() - 1_700_000_000);
            latest.retain(|(k, _)| *k != l);
            latest.push((l, end));
        }
        if let Some(at) = gc_at {
            s.store.gc(ts(at));
            latest.retain(|(_, end)| *end > at);
        }
        for t in &targets {
            let t = to_labels(t);
            prop_assert_eq!(
                s.inhibitor.mutes(&t, ts(now)),
                reference(&rule, &latest, &t, now),
                "target {} rule {}", t, yaml
            );
        }
    }
}
