//! Differential scenarios for silences: created before the alerts, created and expired while a
//! group is notified, regex and negative matchers, and a silenced alert resolving. Timing as in
//! `scenarios.rs`: group_wait 1s, group_interval 2s, alerts and silence changes at even
//! seconds, flushes near odd seconds.

use std::time::Duration;

use crate::scenarios::{Scenario, WEBHOOK};
use crate::support::alerts::{AlertSpec, alert, at, expire_at, silence_at};

fn a(labels: &[(&str, &str)]) -> AlertSpec {
    alert(labels)
}

/// A config with one webhook receiver, fast timers and `group_by: [alertname]`.
fn config() -> String {
    format!(
        "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\nreceivers:\n- name: default\n  webhook_configs:\n  - url: '{WEBHOOK}/default'\n"
    )
}

fn disk(id: &str) -> AlertSpec {
    a(&[("alertname", "Disk"), ("id", id)])
}

fn mem(id: &str) -> AlertSpec {
    a(&[("alertname", "Mem"), ("id", id)])
}

/// The silence scenarios.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "silence_before_alert",
            about: "alerts silenced before they arrive are never notified, not even when sent again; the rest of their group is",
            config: config(),
            steps: vec![
                silence_at(0.0, "disk2", &["alertname=Disk", "id=2"]),
                silence_at(0.0, "mem", &["alertname=Mem"]).and_alerts(vec![
                    disk("1"),
                    disk("2"),
                    mem("1"),
                ]),
                at(2.0, vec![disk("1"), disk("2"), mem("1")]),
            ],
            observe: Duration::from_secs(6),
            expect: vec!["default {alertname=Disk} #0 firing [{alertname=Disk,id=1}:firing]"],
        },
        Scenario {
            name: "silence_mid_group",
            about: "a silence created after a group was notified: the next tick sends nothing, a later change sends the group without the silenced alert",
            config: config(),
            steps: vec![
                at(0.0, vec![disk("1"), disk("2"), mem("1")]),
                silence_at(2.0, "disk2", &["alertname=Disk", "id=2"]),
                silence_at(2.0, "mem", &["alertname=Mem"]),
                at(4.0, vec![disk("3")]),
            ],
            observe: Duration::from_secs(6),
            expect: vec![
                "default {alertname=Disk} #0 firing [{alertname=Disk,id=1}:firing {alertname=Disk,id=2}:firing]",
                "default {alertname=Disk} #1 firing [{alertname=Disk,id=1}:firing {alertname=Disk,id=3}:firing]",
                "default {alertname=Mem} #0 firing [{alertname=Mem,id=1}:firing]",
            ],
        },
        Scenario {
            name: "silence_expires_mid_group",
            about: "when a silence expires, its alerts are notified at their group's next tick (a fully silenced group too)",
            config: config(),
            steps: vec![
                silence_at(0.0, "disk2", &["alertname=Disk", "id=2"]),
                silence_at(0.0, "mem", &["alertname=Mem"]).and_alerts(vec![
                    disk("1"),
                    disk("2"),
                    mem("1"),
                ]),
                expire_at(2.0, "disk2"),
                expire_at(2.0, "mem"),
            ],
            observe: Duration::from_secs(6),
            expect: vec![
                "default {alertname=Disk} #0 firing [{alertname=Disk,id=1}:firing]",
                "default {alertname=Disk} #1 firing [{alertname=Disk,id=1}:firing {alertname=Disk,id=2}:firing]",
                "default {alertname=Mem} #0 firing [{alertname=Mem,id=1}:firing]",
            ],
        },
        Scenario {
            name: "silence_regex_negative",
            about: "silence matchers =~ (anchored), != (a missing label counts as empty) and !~ (isEqual false)",
            config: config(),
            steps: vec![
                silence_at(0.0, "disk", &["alertname=Disk", "id=~1|2"]),
                silence_at(0.0, "cpu", &["alertname=CPU", "env!=prod"]),
                silence_at(0.0, "mem", &["alertname=~Mem|Swap", "env!~prod|stage"]).and_alerts(
                    vec![
                        disk("1"),
                        disk("2"),
                        disk("3"),
                        disk("12"),
                        a(&[("alertname", "CPU"), ("env", "prod")]),
                        a(&[("alertname", "CPU"), ("env", "dev")]),
                        a(&[("alertname", "CPU")]),
                        a(&[("alertname", "Mem"), ("env", "prod")]),
                        a(&[("alertname", "Mem"), ("env", "stage")]),
                        a(&[("alertname", "Mem"), ("env", "staging")]),
                        a(&[("alertname", "Mem")]),
                        a(&[("alertname", "Swap"), ("env", "dev")]),
                    ],
                ),
            ],
            observe: Duration::from_secs(4),
            expect: vec![
                "default {alertname=CPU} #0 firing [{alertname=CPU,env=prod}:firing]",
                "default {alertname=Disk} #0 firing [{alertname=Disk,id=12}:firing {alertname=Disk,id=3}:firing]",
                "default {alertname=Mem} #0 firing [{alertname=Mem,env=prod}:firing {alertname=Mem,env=stage}:firing]",
            ],
        },
        Scenario {
            name: "silence_then_resolved",
            about: "an alert silenced and then resolved is never notified resolved; its group's own resolution is",
            config: config(),
            steps: vec![
                at(0.0, vec![disk("1"), disk("2")]),
                silence_at(2.0, "disk2", &["alertname=Disk", "id=2"])
                    .and_alerts(vec![disk("2").resolved()]),
                at(4.0, vec![disk("1").resolved()]),
            ],
            observe: Duration::from_secs(8),
            expect: vec![
                "default {alertname=Disk} #0 firing [{alertname=Disk,id=1}:firing {alertname=Disk,id=2}:firing]",
                "default {alertname=Disk} #1 resolved [{alertname=Disk,id=1}:resolved]",
            ],
        },
    ]
}
