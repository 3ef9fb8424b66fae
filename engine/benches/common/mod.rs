//! Shared inputs of the benches: a realistic routing config and alert label sets.

#![allow(dead_code)]

use std::fmt::Write as _;

use larum_engine::alert::LabelSet;
use larum_engine::config::{Config, ParseOptions};

/// Number of teams in the routing tree; each team has 4 child routes, so the tree
/// has 1 + TEAMS * 5 routes.
pub const TEAMS: usize = 10;

/// A config with 51 routes: per team a `team` route with a `continue: true` pager
/// route for critical alerts, a regex route per service family, a negative matcher
/// route and a catch-all; receivers are local webhooks.
pub fn routing_yaml() -> String {
    let mut y = String::from(
        "route:\n  receiver: default\n  group_by: [alertname, cluster]\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 4h\n  routes:\n",
    );
    for t in 0..TEAMS {
        let _ = write!(
            y,
            "    - matchers: ['team=\"team{t}\"']\n      receiver: team{t}\n      routes:\n\
             \x20       - matchers: ['severity=\"critical\"']\n          receiver: pager\n          group_wait: 10s\n          continue: true\n\
             \x20       - match_re:\n            service: 'svc{t}-(api|db|cache)-[0-9]+'\n          receiver: team{t}-services\n          group_by: [alertname, service]\n\
             \x20       - matchers: ['env!=\"staging\"', 'instance=~\"node-[0-9]+:9100\"']\n          receiver: team{t}-nodes\n\
             \x20       - receiver: team{t}\n"
        );
    }
    y.push_str("receivers:\n  - name: default\n    webhook_configs:\n      - url: http://127.0.0.1:5001/default\n  - name: pager\n    webhook_configs:\n      - url: http://127.0.0.1:5001/pager\n");
    for t in 0..TEAMS {
        for suffix in ["", "-services", "-nodes"] {
            let _ = write!(
                y,
                "  - name: team{t}{suffix}\n    webhook_configs:\n      - url: http://127.0.0.1:5001/team{t}{suffix}\n"
            );
        }
    }
    y
}

/// The parsed routing config.
pub fn routing_config() -> Config {
    match Config::parse(&routing_yaml(), ParseOptions::default()) {
        Ok(c) => c,
        Err(e) => panic!("bench config does not parse: {e}"),
    }
}

/// A realistic 5-label alert label set; `i` makes it distinct and spreads it over
/// teams, services and severities.
pub fn labels(i: usize) -> LabelSet {
    let team = i % (TEAMS + 1); // team10 matches no team route: it falls to the root
    LabelSet::from_pairs([
        ("alertname", format!("HighLatency{}", i % 7)),
        ("team", format!("team{team}")),
        (
            "service",
            format!("svc{team}-{}-{}", ["api", "db", "web"][i % 3], i % 50),
        ),
        (
            "severity",
            ["critical", "warning", "info"][i % 3].to_string(),
        ),
        ("instance", format!("node-{i}:9100")),
    ])
}
