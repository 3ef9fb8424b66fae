//! Differential scenarios for inhibition: firing sources mute targets with the same `equal`
//! labels, resolved sources stop muting, differing labels do not mute, and alerts matching
//! both sides do not mute themselves. Timing as in `scenarios.rs`: group_wait 1s,
//! group_interval 2s, alerts sent at even seconds, flushes near odd seconds.

use std::time::Duration;

use crate::scenarios::{Scenario, WEBHOOK};
use crate::support::alerts::{AlertSpec, alert, at};

fn a(labels: &[(&str, &str)]) -> AlertSpec {
    alert(labels)
}

/// A config with one webhook receiver, fast timers, `group_by: [alertname]` and `rules`
/// (the lines of an `inhibit_rules:` list).
fn config(rules: &str) -> String {
    format!(
        "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\nreceivers:\n- name: default\n  webhook_configs:\n  - url: '{WEBHOOK}/default'\ninhibit_rules:\n{rules}"
    )
}

const NODE_DOWN: &str = "- source_matchers: [alertname=NodeDown]\n  target_matchers: [severity=warning]\n  equal: [node]\n";

/// The inhibition scenarios.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "inhibit_firing_source",
            about: "a firing source mutes targets with the same equal labels; other targets notify",
            config: config(NODE_DOWN),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "NodeDown"), ("node", "n1")]),
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n1"),
                    ]),
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n2"),
                    ]),
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "critical"),
                        ("node", "n1"),
                    ]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=DiskFull} #0 firing [{alertname=DiskFull,node=n1,severity=critical}:firing {alertname=DiskFull,node=n2,severity=warning}:firing]",
                "default {alertname=NodeDown} #0 firing [{alertname=NodeDown,node=n1}:firing]",
            ],
        },
        Scenario {
            name: "inhibit_source_resolved",
            about: "once the source resolves, the muted target notifies at its group's next tick (legacy source_match)",
            config: config(
                "- source_match: {alertname: NodeDown}\n  target_match: {severity: warning}\n  equal: [node]\n",
            ),
            steps: vec![
                at(
                    0.0,
                    vec![
                        a(&[("alertname", "NodeDown"), ("node", "n1")]),
                        a(&[
                            ("alertname", "DiskFull"),
                            ("severity", "warning"),
                            ("node", "n1"),
                        ]),
                    ],
                ),
                at(
                    2.0,
                    vec![a(&[("alertname", "NodeDown"), ("node", "n1")]).resolved()],
                ),
            ],
            observe: Duration::from_secs(6),
            expect: vec![
                "default {alertname=DiskFull} #0 firing [{alertname=DiskFull,node=n1,severity=warning}:firing]",
                "default {alertname=NodeDown} #0 firing [{alertname=NodeDown,node=n1}:firing]",
                "default {alertname=NodeDown} #1 resolved [{alertname=NodeDown,node=n1}:resolved]",
            ],
        },
        Scenario {
            name: "inhibit_source_arrives_later",
            about: "a source firing after the target was notified mutes its next ticks; when it resolves the unchanged target is not sent again",
            config: config(NODE_DOWN),
            steps: vec![
                at(
                    0.0,
                    vec![a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n1"),
                    ])],
                ),
                at(
                    2.0,
                    vec![
                        a(&[("alertname", "NodeDown"), ("node", "n1")]),
                        a(&[
                            ("alertname", "DiskFull"),
                            ("severity", "warning"),
                            ("node", "n1"),
                        ]),
                    ],
                ),
                at(
                    4.0,
                    vec![a(&[("alertname", "NodeDown"), ("node", "n1")]).resolved()],
                ),
            ],
            observe: Duration::from_secs(8),
            expect: vec![
                "default {alertname=DiskFull} #0 firing [{alertname=DiskFull,node=n1,severity=warning}:firing]",
                "default {alertname=NodeDown} #0 firing [{alertname=NodeDown,node=n1}:firing]",
                "default {alertname=NodeDown} #1 resolved [{alertname=NodeDown,node=n1}:resolved]",
            ],
        },
        Scenario {
            name: "inhibit_equal_differs",
            about: "targets whose equal labels differ from every source notify; a label missing on both sides counts as equal",
            config: config(
                "- source_matchers: [alertname=NodeDown]\n  target_matchers: [severity=warning]\n  equal: [node, dc]\n",
            ),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "NodeDown"), ("node", "n1"), ("dc", "eu")]),
                    a(&[("alertname", "NodeDown"), ("node", "n3")]),
                    // Same node and dc: muted.
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n1"),
                        ("dc", "eu"),
                    ]),
                    // Another dc: not muted.
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n1"),
                        ("dc", "us"),
                    ]),
                    // No dc, but the n1 source has one: not muted.
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n1"),
                    ]),
                    // No dc on either side: muted.
                    a(&[
                        ("alertname", "DiskFull"),
                        ("severity", "warning"),
                        ("node", "n3"),
                    ]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=DiskFull} #0 firing [{alertname=DiskFull,dc=us,node=n1,severity=warning}:firing {alertname=DiskFull,node=n1,severity=warning}:firing]",
                "default {alertname=NodeDown} #0 firing [{alertname=NodeDown,dc=eu,node=n1}:firing {alertname=NodeDown,node=n3}:firing]",
            ],
        },
        Scenario {
            name: "inhibit_self",
            about: "alerts matching both sides of a rule do not mute themselves or each other, but a source matching one side mutes them",
            config: config(concat!(
                "- source_matchers: [alertname=Down]\n",
                "  target_matchers: [alertname=Down]\n",
                "  equal: [cluster]\n",
                // No `name:`: Alertmanager 0.25 does not know it.
                "- source_matchers: [severity=critical]\n",
                "  target_matchers: [team=db]\n",
                "  equal: [cluster]\n",
            )),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "Down"), ("cluster", "c1"), ("id", "1")]),
                    a(&[("alertname", "Down"), ("cluster", "c1"), ("id", "2")]),
                    // Both sides, alone in c1: notified.
                    a(&[
                        ("alertname", "X"),
                        ("severity", "critical"),
                        ("team", "db"),
                        ("cluster", "c1"),
                    ]),
                    // Both sides, with a source-only alert in c2: muted by it.
                    a(&[
                        ("alertname", "Y"),
                        ("severity", "critical"),
                        ("team", "db"),
                        ("cluster", "c2"),
                    ]),
                    a(&[
                        ("alertname", "Z"),
                        ("severity", "critical"),
                        ("team", "net"),
                        ("cluster", "c2"),
                    ]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=Down} #0 firing [{alertname=Down,cluster=c1,id=1}:firing {alertname=Down,cluster=c1,id=2}:firing]",
                "default {alertname=X} #0 firing [{alertname=X,cluster=c1,severity=critical,team=db}:firing]",
                "default {alertname=Z} #0 firing [{alertname=Z,cluster=c2,severity=critical,team=net}:firing]",
            ],
        },
    ]
}
