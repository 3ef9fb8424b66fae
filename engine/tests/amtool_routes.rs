//! `larum-engine routes show|test` against Debian's `amtool config routes show|test` on the
//! same config: the same tree and the same receivers for every label set.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{ENGINE, require_program};

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
  - matchers: ['severity="critical"']
    receiver: pager
    continue: true
  - match: {team: db}
    receiver: db
    routes:
    - matchers: ['env=~"prod|staging"', 'severity!="info"']
      receiver: db-prod
      continue: true
    - match_re: {service: "^(mysql|postgres)$"}
      receiver: db-sql
    - matchers: ['service!~"redis.*"']
      receiver: db-other
  - match_re: {team: "web.*"}
    receiver: web
    continue: true
    routes:
    - matchers: ['region="eu"', 'tier=~".+"']
      receiver: web-eu
  - matchers: ['team=~"web-.*"']
    receiver: web-catchall
  - matchers: ['owner=""']
    receiver: unowned
receivers:
- name: default
- name: pager
- name: db
- name: db-prod
- name: db-sql
- name: db-other
- name: web
- name: web-eu
- name: web-catchall
- name: unowned
"#;

const LABEL_SETS: &[&[&str]] = &[
    &[],
    &["owner=me"],
    &["severity=critical"],
    &["severity=critical", "team=db", "env=prod"],
    &["team=db", "env=prod", "service=mysql"],
    &[
        "team=db",
        "env=staging",
        "severity=info",
        "service=postgres",
    ],
    &["team=db", "service=redis-main"],
    &["team=db", "service=mongo"],
    &["team=db", "env=dev", "service=mysql"],
    &["team=web-frontend", "region=eu", "tier=1"],
    &["team=web-frontend", "region=eu"],
    &["team=webshop", "region=us", "owner=x"],
    &["team=web", "severity=critical", "region=eu", "tier=a"],
    &["team=ops", "owner=ops"],
];

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .expect("run program");
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn write_config(dir: &Path) -> String {
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, CONFIG).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn routes_test_resolves_the_same_receivers_as_amtool() {
    let amtool = require_program("amtool");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let flag = format!("--config.file={config}");
    let mut differences = Vec::new();
    for labels in LABEL_SETS {
        let mut ours_args = vec!["routes", flag.as_str(), "test"];
        ours_args.extend_from_slice(labels);
        let mut theirs_args = vec!["config", "routes", "test", flag.as_str()];
        theirs_args.extend_from_slice(labels);
        let ours = run(ENGINE, &ours_args);
        let theirs = run(&amtool, &theirs_args);
        if ours != theirs {
            differences.push(format!("{labels:?}: larum {ours:?} vs amtool {theirs:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "routing differs:\n{}",
        differences.join("\n")
    );
}

#[test]
fn routes_show_and_matching_tree_print_like_amtool() {
    let amtool = require_program("amtool");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let flag = format!("--config.file={config}");
    assert_eq!(
        run(ENGINE, &["routes", &flag, "show"]),
        run(&amtool, &["config", "routes", "show", &flag])
    );
    for labels in [
        &["team=db", "env=prod", "service=mysql"][..],
        &["team=web", "severity=critical", "region=eu", "tier=a"],
    ] {
        let mut ours_args = vec!["routes", flag.as_str(), "test", "--tree"];
        ours_args.extend_from_slice(labels);
        let mut theirs_args = vec!["config", "routes", "test", "--tree", flag.as_str()];
        theirs_args.extend_from_slice(labels);
        assert_eq!(
            run(ENGINE, &ours_args),
            run(&amtool, &theirs_args),
            "--tree for {labels:?}"
        );
    }
}

#[test]
fn verify_receivers_fails_on_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let flag = format!("--config.file={config}");
    let ok = Command::new(ENGINE)
        .args([
            "routes",
            &flag,
            "test",
            "--verify.receivers=pager,unowned",
            "severity=critical",
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = Command::new(ENGINE)
        .args([
            "routes",
            &flag,
            "test",
            "--verify.receivers=db",
            "severity=critical",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stdout)
            .contains("WARNING: Expected receivers did not match resolved receivers.")
    );
}
