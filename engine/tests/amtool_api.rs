//! Debian's `amtool` (0.25), and upstream's v0.34.0 `amtool` when it is built, as clients
//! of a running engine: `alert add`, `alert query` with matchers, `config show` and
//! `config routes show|test` (which re-parse `config.original` from `/api/v2/status`).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Engine, http, require_program, upstream_amtool};
use serde_json::Value;

const CONFIG: &str = r#"
global:
  resolve_timeout: 10m
route:
  receiver: default
  group_by: [alertname, team]
  routes:
  - matchers: ['severity="critical"']
    receiver: pager
    continue: true
  - match: {team: db}
    receiver: db
    routes:
    - matchers: ['env=~"prod|staging"']
      receiver: db-prod
  - match_re: {team: "web.*"}
    receiver: web
receivers:
- name: default
- name: pager
  webhook_configs:
  - url: https://pager.example.com/hooks/very-secret
    send_resolved: false
- name: db
- name: db-prod
- name: web
"#;

/// The amtools to run: Debian's always, upstream's when present.
fn amtools() -> Vec<String> {
    let mut tools = vec![require_program("amtool")];
    tools.extend(upstream_amtool());
    tools
}

fn amtool(tool: &str, engine: &Engine, args: &[&str]) -> Output {
    Command::new(tool)
        .arg(format!("--alertmanager.url={}", engine.url("")))
        .args(args)
        .output()
        .unwrap()
}

/// Runs amtool, expects success and returns its standard output.
fn amtool_ok(tool: &str, engine: &Engine, args: &[&str]) -> String {
    let out = amtool(tool, engine, args);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, CONFIG).unwrap();
    path
}

/// Alert names in `amtool alert query -o json` output, sorted.
fn queried(tool: &str, engine: &Engine, matchers: &[&str]) -> Vec<String> {
    let mut args = vec!["alert", "query", "-o", "json"];
    args.extend_from_slice(matchers);
    let out = amtool_ok(tool, engine, &args);
    let alerts: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
    let mut names: Vec<String> = alerts
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn amtool_adds_and_queries_alerts() {
    for tool in amtools() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::start(&write_config(dir.path()), &[]);
        amtool_ok(
            &tool,
            &engine,
            &[
                "alert",
                "add",
                "alertname=DiskFull",
                "team=db",
                "env=prod",
                "--annotation=summary=disk is full",
            ],
        );
        amtool_ok(
            &tool,
            &engine,
            &[
                "alert",
                "add",
                "alertname=Down",
                "severity=critical",
                "team=web",
            ],
        );
        // An alert that already ended is stored but not listed.
        amtool_ok(
            &tool,
            &engine,
            &[
                "alert",
                "add",
                "alertname=Gone",
                "--start=2026-01-01T00:00:00Z",
                "--end=2026-01-01T00:05:00Z",
            ],
        );

        assert_eq!(queried(&tool, &engine, &[]), ["DiskFull", "Down"], "{tool}");
        assert_eq!(
            queried(&tool, &engine, &["team=db"]),
            ["DiskFull"],
            "{tool}"
        );
        assert_eq!(queried(&tool, &engine, &["team=~w.*"]), ["Down"], "{tool}");
        assert_eq!(
            queried(&tool, &engine, &["alertname=~D.*", "severity!=critical"]),
            ["DiskFull"],
            "{tool}"
        );
        assert_eq!(
            queried(&tool, &engine, &["--receiver=db-prod"]),
            ["DiskFull"],
            "{tool}"
        );
        assert!(queried(&tool, &engine, &["alertname=Nothing"]).is_empty());

        // The simple table shows the annotation and the state.
        let table = amtool_ok(&tool, &engine, &["alert", "query", "alertname=DiskFull"]);
        assert!(table.contains("disk is full"), "{tool}: {table}");
        assert!(table.contains("active"), "{tool}: {table}");

        // The receivers amtool shows come from the routing tree (`continue` gives two).
        let out = amtool_ok(
            &tool,
            &engine,
            &["alert", "query", "-o", "json", "alertname=Down"],
        );
        let alerts: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
        let receivers: Vec<&str> = alerts[0]["receivers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(receivers, ["pager", "web"], "{tool}");
    }
}

#[test]
fn amtool_reads_the_config_back() {
    for tool in amtools() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path());
        let engine = Engine::start(&config, &[]);

        // `config show` prints config.original as the status has it: secrets masked.
        let shown = amtool_ok(&tool, &engine, &["config", "show"]);
        let (_, status) = http("GET", &engine.url("/api/v2/status"));
        let status: Value = serde_json::from_str(&status).unwrap();
        let original = status["config"]["original"].as_str().unwrap();
        assert_eq!(shown.trim_end(), original.trim_end(), "{tool}");
        assert!(!shown.contains("very-secret"), "{tool}: {shown}");

        // The tree amtool builds from config.original is the one it builds from the file.
        let through_api = amtool_ok(&tool, &engine, &["config", "routes", "show"]);
        let from_file = Command::new(&tool)
            .args(["config", "routes", "show"])
            .arg(format!("--config.file={}", config.display()))
            .output()
            .unwrap();
        assert!(
            from_file.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&from_file.stderr)
        );
        assert_eq!(
            through_api,
            String::from_utf8(from_file.stdout).unwrap(),
            "{tool}"
        );

        for (labels, expected) in [
            (&["team=db", "env=prod"][..], "db-prod"),
            (&["team=db", "severity=critical"][..], "pager,db"),
            (&["team=webshop"][..], "web"),
            (&["team=other"][..], "default"),
        ] {
            let mut args = vec!["config", "routes", "test"];
            let verify = format!("--verify.receivers={expected}");
            args.push(&verify);
            args.extend_from_slice(labels);
            let out = amtool_ok(&tool, &engine, &args);
            assert_eq!(out.trim(), expected, "{tool} {labels:?}");
        }
        let out = amtool(
            &tool,
            &engine,
            &[
                "config",
                "routes",
                "test",
                "--verify.receivers=web",
                "team=db",
            ],
        );
        assert!(!out.status.success(), "{tool}: a wrong expectation fails");
    }
}
