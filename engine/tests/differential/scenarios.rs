//! The differential scenarios: a config, a timed alert sequence, an observation window and the
//! notifications Alertmanager is expected to send (checked against every reference, so a
//! scenario that stops exercising what it claims is noticed).
//!
//! Timing: unless a scenario says otherwise, group_wait 1s and group_interval 2s, and every new
//! group is created at an even second, so group flushes happen near odd seconds; alerts that
//! join, resolve or end the observation window do so at even seconds, a full second away from
//! any flush, so scheduling jitter cannot change what is notified.

use std::time::Duration;

use crate::support::alerts::{AlertSpec, Step, alert, at};

/// Placeholder for the webhook endpoint's base URL in scenario configs.
pub const WEBHOOK: &str = "WEBHOOK";

/// One differential scenario.
pub struct Scenario {
    /// Short name (filter with `LARUM_DIFF_SCENARIOS=name,...`).
    pub name: &'static str,
    /// What it exercises.
    pub about: &'static str,
    /// Alertmanager config; `WEBHOOK` stands for the endpoint's `http://IP:PORT`.
    pub config: String,
    /// The alerts to send and when.
    pub steps: Vec<Step>,
    /// Notifications arriving later than this after the start are ignored.
    pub observe: Duration,
    /// The expected outcome lines (see `outcome::outcome_lines`).
    pub expect: Vec<&'static str>,
}

/// A `receivers:` section: one webhook receiver per `(name, extra webhook_config lines)`.
fn receivers(list: &[(&str, &[&str])]) -> String {
    let mut text = String::from("receivers:\n");
    for (name, extra) in list {
        text.push_str(&format!(
            "- name: {name}\n  webhook_configs:\n  - url: '{WEBHOOK}/{name}'\n"
        ));
        for line in *extra {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text
}

/// A root route with the fast timers and `group_by`, plus `rest` (indented route lines).
fn route(group_by: &str, repeat: &str, rest: &str) -> String {
    format!(
        "route:\n  receiver: default\n  group_by: {group_by}\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: {repeat}\n{rest}"
    )
}

fn a(labels: &[(&str, &str)]) -> AlertSpec {
    alert(labels)
}

/// Every scenario.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "group_by_labels",
            about: "alerts are grouped by the group_by labels, one notification per group",
            config: route("[alertname]", "1h", "") + &receivers(&[("default", &[])]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "Disk"), ("id", "1")]),
                    a(&[("alertname", "Disk"), ("id", "2")]),
                    a(&[("alertname", "CPU"), ("id", "1")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=CPU} #0 firing [{alertname=CPU,id=1}:firing]",
                "default {alertname=Disk} #0 firing [{alertname=Disk,id=1}:firing {alertname=Disk,id=2}:firing]",
            ],
        },
        Scenario {
            name: "group_by_all",
            about: "group_by ['...'] puts every distinct label set in its own group",
            config: route("['...']", "1h", "") + &receivers(&[("default", &[])]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "Disk"), ("id", "1")]),
                    a(&[("alertname", "Disk"), ("id", "2")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=Disk,id=1} #0 firing [{alertname=Disk,id=1}:firing]",
                "default {alertname=Disk,id=2} #0 firing [{alertname=Disk,id=2}:firing]",
            ],
        },
        Scenario {
            name: "group_by_empty",
            about: "group_by [] puts every alert of the route in one group with no group labels",
            config: route("[]", "1h", "") + &receivers(&[("default", &[])]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "Disk"), ("id", "1")]),
                    a(&[("alertname", "CPU"), ("id", "1")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {} #0 firing [{alertname=CPU,id=1}:firing {alertname=Disk,id=1}:firing]",
            ],
        },
        Scenario {
            name: "group_by_missing_label",
            about: "alerts without a group_by label share the group whose label is absent",
            config: route("[cluster]", "1h", "") + &receivers(&[("default", &[])]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "A"), ("cluster", "eu")]),
                    a(&[("alertname", "B")]),
                    a(&[("alertname", "C")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {cluster=eu} #0 firing [{alertname=A,cluster=eu}:firing]",
                "default {} #0 firing [{alertname=B}:firing {alertname=C}:firing]",
            ],
        },
        Scenario {
            name: "continue_two_receivers",
            about: "continue: true lets an alert reach a later sibling route too; the first match without continue stops",
            config: route(
                "[alertname]",
                "1h",
                "  routes:\n  - receiver: team-a\n    matchers: [team=\"a\"]\n    continue: true\n  - receiver: audit\n    matchers: ['team=~\"a|b\"']\n  - receiver: never\n    matchers: [team=\"a\"]\n",
            ) + &receivers(&[
                ("default", &[]),
                ("team-a", &[]),
                ("audit", &[]),
                ("never", &[]),
            ]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "X"), ("team", "a")]),
                    a(&[("alertname", "Y"), ("team", "b")]),
                    a(&[("alertname", "Z"), ("team", "c")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "audit {alertname=X} #0 firing [{alertname=X,team=a}:firing]",
                "audit {alertname=Y} #0 firing [{alertname=Y,team=b}:firing]",
                "default {alertname=Z} #0 firing [{alertname=Z,team=c}:firing]",
                "team-a {alertname=X} #0 firing [{alertname=X,team=a}:firing]",
            ],
        },
        Scenario {
            name: "nested_routes",
            about: "nested routes: the deepest match wins, group_by is inherited or overridden",
            config: route(
                "[alertname]",
                "1h",
                concat!(
                    "  routes:\n",
                    "  - receiver: team-a\n",
                    "    matchers: [team=\"a\"]\n",
                    "    group_by: [alertname, severity]\n",
                    "    routes:\n",
                    "    - receiver: team-a-pager\n",
                    "      matchers: [severity=\"critical\"]\n",
                    "    - receiver: team-a-db\n",
                    "      matchers: [service=\"db\"]\n",
                    "      group_by: [service]\n",
                    "  - receiver: team-b\n",
                    "    matchers: [team=\"b\"]\n",
                ),
            ) + &receivers(&[
                ("default", &[]),
                ("team-a", &[]),
                ("team-a-pager", &[]),
                ("team-a-db", &[]),
                ("team-b", &[]),
            ]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "Disk"), ("team", "a"), ("severity", "critical")]),
                    a(&[("alertname", "Disk"), ("team", "a"), ("severity", "warning")]),
                    a(&[
                        ("alertname", "Disk"),
                        ("team", "a"),
                        ("severity", "warning"),
                        ("service", "db"),
                    ]),
                    a(&[("alertname", "Disk"), ("team", "b")]),
                    a(&[("alertname", "Disk"), ("team", "c")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=Disk} #0 firing [{alertname=Disk,team=c}:firing]",
                "team-a {alertname=Disk,severity=warning} #0 firing [{alertname=Disk,severity=warning,team=a}:firing]",
                "team-a-db {service=db} #0 firing [{alertname=Disk,service=db,severity=warning,team=a}:firing]",
                "team-a-pager {alertname=Disk,severity=critical} #0 firing [{alertname=Disk,severity=critical,team=a}:firing]",
                "team-b {alertname=Disk} #0 firing [{alertname=Disk,team=b}:firing]",
            ],
        },
        Scenario {
            name: "resolved_send_resolved_true",
            about: "resolved alerts are notified (send_resolved defaults to true for webhooks), then dropped from the group",
            config: route("[alertname]", "1h", "") + &receivers(&[("default", &[])]),
            steps: vec![
                at(
                    0.0,
                    vec![
                        a(&[("alertname", "A"), ("id", "1")]),
                        a(&[("alertname", "A"), ("id", "2")]),
                    ],
                ),
                at(2.0, vec![a(&[("alertname", "A"), ("id", "1")]).resolved()]),
                at(4.0, vec![a(&[("alertname", "A"), ("id", "2")]).resolved()]),
            ],
            observe: Duration::from_secs(8),
            expect: vec![
                "default {alertname=A} #0 firing [{alertname=A,id=1}:firing {alertname=A,id=2}:firing]",
                "default {alertname=A} #1 firing [{alertname=A,id=1}:resolved {alertname=A,id=2}:firing]",
                "default {alertname=A} #2 resolved [{alertname=A,id=2}:resolved]",
            ],
        },
        Scenario {
            name: "resolved_send_resolved_false",
            about: "send_resolved: false: a resolution alone sends nothing; resolved alerts are left out of later notifications",
            config: route("[alertname]", "1h", "")
                + &receivers(&[("default", &["send_resolved: false"])]),
            steps: vec![
                at(
                    0.0,
                    vec![
                        a(&[("alertname", "A"), ("id", "1")]),
                        a(&[("alertname", "A"), ("id", "2")]),
                    ],
                ),
                at(2.0, vec![a(&[("alertname", "A"), ("id", "1")]).resolved()]),
                at(
                    4.0,
                    vec![
                        a(&[("alertname", "A"), ("id", "2")]).resolved(),
                        a(&[("alertname", "A"), ("id", "3")]),
                    ],
                ),
            ],
            observe: Duration::from_secs(8),
            expect: vec![
                "default {alertname=A} #0 firing [{alertname=A,id=1}:firing {alertname=A,id=2}:firing]",
                "default {alertname=A} #1 firing [{alertname=A,id=3}:firing]",
            ],
        },
        Scenario {
            name: "repeat_interval",
            about: "an unchanged group is notified again once repeat_interval has passed (at the next group_interval tick)",
            config: route("[alertname]", "5s", "") + &receivers(&[("default", &[])]),
            steps: vec![at(0.0, vec![a(&[("alertname", "A")])])],
            observe: Duration::from_secs(10),
            expect: vec![
                "default {alertname=A} #0 firing [{alertname=A}:firing]",
                "default {alertname=A} #1 firing [{alertname=A}:firing]",
            ],
        },
        Scenario {
            name: "new_alert_joins_group",
            about: "alerts joining a notified group are sent at the next group_interval tick, with the whole group",
            config: route("[alertname]", "1h", "") + &receivers(&[("default", &[])]),
            steps: vec![
                at(0.0, vec![a(&[("alertname", "A"), ("id", "1")])]),
                at(2.0, vec![a(&[("alertname", "A"), ("id", "2")])]),
                at(4.0, vec![a(&[("alertname", "A"), ("id", "3")])]),
            ],
            observe: Duration::from_secs(6),
            expect: vec![
                "default {alertname=A} #0 firing [{alertname=A,id=1}:firing]",
                "default {alertname=A} #1 firing [{alertname=A,id=1}:firing {alertname=A,id=2}:firing]",
                "default {alertname=A} #2 firing [{alertname=A,id=1}:firing {alertname=A,id=2}:firing {alertname=A,id=3}:firing]",
            ],
        },
        Scenario {
            name: "old_alert_flushed_at_once",
            about: "a new group whose alert started more than group_wait ago is flushed at once; a fresh one waits",
            config: "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 10s\n  group_interval: 2s\n  repeat_interval: 1h\n".to_string()
                + &receivers(&[("default", &[])]),
            steps: vec![
                at(
                    0.0,
                    vec![
                        a(&[("alertname", "Old"), ("id", "1")]).started_ago(Duration::from_secs(60)),
                        a(&[("alertname", "Fresh"), ("id", "1")]),
                    ],
                ),
                at(1.0, vec![a(&[("alertname", "Old"), ("id", "2")])]),
            ],
            observe: Duration::from_secs(3),
            expect: vec![
                "default {alertname=Old} #0 firing [{alertname=Old,id=1}:firing]",
                "default {alertname=Old} #1 firing [{alertname=Old,id=1}:firing {alertname=Old,id=2}:firing]",
            ],
        },
        Scenario {
            name: "max_alerts_truncation",
            about: "max_alerts keeps the first alerts of the group and counts the rest in truncatedAlerts",
            config: route(
                "[alertname]",
                "1h",
                "  routes:\n  - receiver: limited\n    continue: true\n  - receiver: full\n",
            ) + &receivers(&[
                ("default", &[]),
                ("limited", &["max_alerts: 2"]),
                ("full", &[]),
            ]),
            steps: vec![at(
                0.0,
                (1..=5)
                    .map(|i| a(&[("alertname", "Many"), ("id", &i.to_string())]))
                    .collect(),
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "full {alertname=Many} #0 firing [{alertname=Many,id=1}:firing {alertname=Many,id=2}:firing {alertname=Many,id=3}:firing {alertname=Many,id=4}:firing {alertname=Many,id=5}:firing]",
                "limited {alertname=Many} #0 firing [{alertname=Many,id=1}:firing {alertname=Many,id=2}:firing] truncated=3",
            ],
        },
        Scenario {
            name: "resolved_before_first_flush",
            about: "a group whose only alert resolved before its first flush sends nothing; a mixed group sends both states",
            config: "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 2s\n  group_interval: 2s\n  repeat_interval: 1h\n".to_string()
                + &receivers(&[("default", &[])]),
            steps: vec![
                at(
                    0.0,
                    vec![
                        a(&[("alertname", "X"), ("id", "1")]),
                        a(&[("alertname", "Y"), ("id", "1")]),
                        a(&[("alertname", "Y"), ("id", "2")]),
                    ],
                ),
                at(
                    1.0,
                    vec![
                        a(&[("alertname", "X"), ("id", "1")]).resolved(),
                        a(&[("alertname", "Y"), ("id", "2")]).resolved(),
                    ],
                ),
            ],
            observe: Duration::from_secs(5),
            expect: vec![
                "default {alertname=Y} #0 firing [{alertname=Y,id=1}:firing {alertname=Y,id=2}:resolved]",
            ],
        },
        Scenario {
            name: "regex_matchers",
            about: "=~ and !~ matchers (anchored), match_re, and != pick the receiver",
            config: route(
                "[alertname]",
                "1h",
                concat!(
                    "  routes:\n",
                    "  - receiver: web\n",
                    "    matchers: ['service=~\"api|web\"', 'env!~\"dev.*\"']\n",
                    "  - receiver: crit\n",
                    "    match_re:\n",
                    "      severity: crit.*\n",
                    "  - receiver: not-db\n",
                    "    matchers: ['service!=\"db\"']\n",
                ),
            ) + &receivers(&[
                ("default", &[]),
                ("web", &[]),
                ("crit", &[]),
                ("not-db", &[]),
            ]),
            steps: vec![at(
                0.0,
                vec![
                    a(&[("alertname", "A"), ("service", "api"), ("env", "prod")]),
                    a(&[("alertname", "B"), ("service", "web"), ("env", "dev-1")]),
                    a(&[("alertname", "C"), ("service", "db"), ("severity", "critical")]),
                    a(&[("alertname", "D"), ("service", "db")]),
                    a(&[("alertname", "E"), ("service", "apiserver"), ("env", "prod")]),
                ],
            )],
            observe: Duration::from_secs(4),
            expect: vec![
                "crit {alertname=C} #0 firing [{alertname=C,service=db,severity=critical}:firing]",
                "default {alertname=D} #0 firing [{alertname=D,service=db}:firing]",
                "not-db {alertname=B} #0 firing [{alertname=B,env=dev-1,service=web}:firing]",
                "not-db {alertname=E} #0 firing [{alertname=E,env=prod,service=apiserver}:firing]",
                "web {alertname=A} #0 firing [{alertname=A,env=prod,service=api}:firing]",
            ],
        },
    ]
}
