#![allow(clippy::unwrap_used)]
//! A config with one receiver using every integration type (all 18 `*_configs` lists)
//! plus ordinary receivers: the engine loads it and `GET /api/v2/receivers` lists them,
//! and Alertmanager's own validator (upstream amtool 0.34) accepts the same file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ENGINE, Engine, http, upstream_amtool};
use larum_engine::config::receiver::Receiver;
use larum_engine::config::{Config, ParseOptions};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/receivers/every-integration.yml")
}

const RECEIVERS: [&str; 4] = ["everything", "db-pager", "web-chat", "blackhole"];

/// How many entries each integration type of `r` has, by `*_configs` name.
fn integration_counts(r: &Receiver) -> Vec<(&'static str, usize)> {
    vec![
        ("discord_configs", r.discord_configs.len()),
        ("email_configs", r.email_configs.len()),
        ("incidentio_configs", r.incidentio_configs.len()),
        ("jira_configs", r.jira_configs.len()),
        ("mattermost_configs", r.mattermost_configs.len()),
        ("msteams_configs", r.msteams_configs.len()),
        ("msteamsv2_configs", r.msteamsv2_configs.len()),
        ("opsgenie_configs", r.opsgenie_configs.len()),
        ("pagerduty_configs", r.pagerduty_configs.len()),
        ("pushover_configs", r.pushover_configs.len()),
        ("rocketchat_configs", r.rocketchat_configs.len()),
        ("slack_configs", r.slack_configs.len()),
        ("sns_configs", r.sns_configs.len()),
        ("telegram_configs", r.telegram_configs.len()),
        ("victorops_configs", r.victorops_configs.len()),
        ("webex_configs", r.webex_configs.len()),
        ("webhook_configs", r.webhook_configs.len()),
        ("wechat_configs", r.wechat_configs.len()),
    ]
}

fn assert_every_type_once(config: &Config, what: &str) {
    let everything = config
        .receivers
        .iter()
        .find(|r| r.name == "everything")
        .unwrap_or_else(|| panic!("{what}: no receiver `everything`"));
    let counts = integration_counts(everything);
    assert_eq!(counts.len(), 18);
    for (list, n) in counts {
        assert_eq!(n, 1, "{what}: {list} of `everything` has {n} entries");
    }
}

#[test]
fn every_integration_type_loads_and_is_listed() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let config = Config::parse(&text, ParseOptions::default()).unwrap();
    assert_every_type_once(&config, "fixture");

    let engine = Engine::start(&fixture(), &[]);
    let (status, body) = http("GET", &engine.url("/api/v2/receivers"));
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, RECEIVERS);

    // The config the engine runs (as /api/v2/status shows it) still has every type,
    // with the secrets masked.
    let (status, body) = http("GET", &engine.url("/api/v2/status"));
    assert_eq!(status, 200);
    let s: Value = serde_json::from_str(&body).unwrap();
    let original = s["config"]["original"].as_str().unwrap();
    for secret in [
        "pushover-token",
        "sns-secret-key",
        "webex-bot-token",
        "wechat-secret",
    ] {
        assert!(!original.contains(secret), "{secret} shown in {original}");
    }
    let shown = Config::parse(original, ParseOptions::default()).unwrap();
    assert_every_type_once(&shown, "/api/v2/status config");
}

#[test]
fn alertmanagers_validators_accept_the_file() {
    let ours = Command::new(ENGINE)
        .arg("check-config")
        .arg(fixture())
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "larum-engine check-config: {}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let Some(amtool) = upstream_amtool() else {
        eprintln!(
            "skipping the amtool comparison: upstream amtool v0.34 not found (run scripts/upstream-alertmanager.sh); Debian's 0.25 lacks several of these types (msteams, msteamsv2, jira, incidentio, ...)"
        );
        return;
    };
    let out = Command::new(&amtool)
        .arg("check-config")
        .arg(fixture())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "amtool check-config rejects the file: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" - 4 receivers"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&ours.stdout), stdout);
}
