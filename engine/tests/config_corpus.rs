//! The config fixture corpus: every file in `tests/fixtures/config/valid/` must parse and
//! round-trip, every file in `tests/fixtures/config/invalid/` must fail with the error its
//! header announces.
//!
//! # Fixture headers
//!
//! Every fixture starts with comment lines:
//!
//! - `# since: 0.25` or `# since: 0.34`: the oldest Alertmanager whose `amtool check-config`
//!   agrees with the fixture (accepts a valid one, rejects an invalid one). Debian's
//!   Alertmanager 0.25 is the reference for `0.25`; `tests/amtool_check_config.rs` checks
//!   these markers against the real `amtool`s.
//! - valid fixtures: `# covers: ...`, one line saying what the file exercises.
//! - invalid fixtures: `# error: <path>: <message>`, the field path and message our parser
//!   must report. The path must be equal; the message must start with the given text.
//!
//! # Error path convention
//!
//! A path names the field the error is about, from the document root, in the YAML's own
//! key names: mapping keys are joined with `.`, list positions are `[i]` (0-based), e.g.
//! `receivers[0].webhook_configs[1].url`, `route.routes[0].matchers[0]`,
//! `time_intervals[0].time_intervals[0].times[0].end_time`, `global.smtp_auth_password_file`.
//! Map entries keyed by a label name use the label name as key: `route.match.severity`,
//! `inhibit_rules[0].target_match_re.alertname`.
//!
//! - Unknown key: the path of the unknown key itself (`route.recevier`).
//! - Wrong YAML type or unparseable value: the path of the value.
//! - Two settings that exclude each other (`x` and `x_file`, `basic_auth` and
//!   `authorization`): the path of the second one in upstream's message, usually the
//!   `*_file` variant (`global.smtp_auth_password_file`).
//! - A required field that is missing: the path where it should be
//!   (`receivers[0].email_configs[0].to`); when upstream requires "one of several"
//!   fields, the path of the integration entry (`receivers[0].sns_configs[0]`) or of the
//!   first alternative.
//! - Root route checks: `route` for matchers, `route.receiver`, `route.continue`,
//!   `route.mute_time_intervals`, `route.active_time_intervals`; no `route` at all: `route`.
//! - Duplicate names: the `name` of the second entry with that name (`receivers[1].name`).
//!
//! # Message convention
//!
//! Messages use upstream Alertmanager's wording (what `amtool check-config` prints after
//! `FAILED: `, as of v0.34.0), adapted only where the path now carries the information:
//! `field foo not found` (upstream appends `in type config.plain`), `cannot unmarshal !!int
//! `3`` (upstream appends the Go type). Durations say `invalid duration "5x"`.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use larum_engine::config::Config;

/// Every integration type; each must appear in some valid fixture.
const INTEGRATIONS: [&str; 18] = [
    "discord",
    "email",
    "incidentio",
    "jira",
    "mattermost",
    "msteams",
    "msteamsv2",
    "opsgenie",
    "pagerduty",
    "pushover",
    "rocketchat",
    "slack",
    "sns",
    "telegram",
    "victorops",
    "webex",
    "webhook",
    "wechat",
];

/// Fewest invalid fixtures the corpus may have.
const MIN_INVALID: usize = 50;

/// One fixture file.
struct Fixture {
    name: String,
    text: String,
}

impl Fixture {
    /// The value of the header comment `# key: value`, if the leading comment block has it.
    fn header(&self, key: &str) -> Option<&str> {
        let prefix = format!("# {key}:");
        self.text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::trim)
    }
}

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind)
}

/// The `*.yml` files of `valid` or `invalid`, sorted by name.
fn fixtures(kind: &str) -> Vec<Fixture> {
    let dir = fixture_dir(kind);
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| Fixture {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text: std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display())),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// Runs `f`, turning a panic into an error message.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string());
        format!("PANICKED: {what}")
    })
}

fn parse(text: &str) -> Result<Config, String> {
    match no_panic(|| Config::parse(text, Default::default()))? {
        Ok(config) => Ok(config),
        Err(e) => Err(format!("path {:?}, message {:?}", e.path, e.message)),
    }
}

/// Panics with every collected failure, one block per fixture.
fn report(what: &str, total: usize, failures: &[(String, String)]) {
    if failures.is_empty() {
        return;
    }
    let mut text = format!("{} of {total} {what} fixtures failed:\n", failures.len());
    for (name, why) in failures {
        let _ = writeln!(text, "\n--- {name}\n{why}");
    }
    panic!("{text}");
}

/// Checks one valid fixture: parse, revealed round trip, masked round trip.
fn check_valid(fixture: &Fixture) -> Result<(), String> {
    let config = parse(&fixture.text).map_err(|e| format!("parse failed: {e}"))?;

    let revealed = no_panic(|| config.to_yaml_revealed())?;
    let back = parse(&revealed)
        .map_err(|e| format!("to_yaml_revealed() output does not parse: {e}\n{revealed}"))?;
    if back != config {
        return Err(format!(
            "to_yaml_revealed() output parses to a different model\n--- yaml:\n{revealed}\n--- original model:\n{config:#?}\n--- reparsed model:\n{back:#?}"
        ));
    }

    let masked = no_panic(|| config.to_yaml())?;
    let back = parse(&masked)
        .map_err(|e| format!("to_yaml() (masked) output does not parse: {e}\n{masked}"))?;
    let again = no_panic(|| back.to_yaml())?;
    if again != masked {
        return Err(format!(
            "masked to_yaml() is not stable:\n--- first:\n{masked}\n--- after reparsing:\n{again}"
        ));
    }
    Ok(())
}

/// Checks one invalid fixture against its `# error:` header.
fn check_invalid(fixture: &Fixture) -> Result<(), String> {
    let expected = fixture
        .header("error")
        .ok_or("missing `# error: <path>: <message>` header")?;
    let (path, message) = expected
        .split_once(": ")
        .ok_or("`# error:` header is not `<path>: <message>`")?;
    let err = match no_panic(|| Config::parse(&fixture.text, Default::default()))? {
        Ok(_) => {
            return Err(format!(
                "parsed successfully, expected error\n  expected: {path}: {message}"
            ));
        }
        Err(e) => e,
    };
    if err.path != path || !err.message.starts_with(message) {
        return Err(format!(
            "wrong error\n  expected: {path}: {message}\n  got:      {}: {}",
            err.path, err.message
        ));
    }
    Ok(())
}

fn check_since(fixture: &Fixture) -> Result<(), String> {
    match fixture.header("since") {
        Some("0.25" | "0.34") => Ok(()),
        Some(other) => Err(format!("`# since: {other}` must be 0.25 or 0.34")),
        None => Err("missing `# since: 0.25|0.34` header".to_string()),
    }
}

#[test]
fn valid_fixtures_parse_and_round_trip() {
    let all = fixtures("valid");
    let failures: Vec<(String, String)> = all
        .iter()
        .filter_map(|f| check_valid(f).err().map(|why| (f.name.clone(), why)))
        .collect();
    report("valid", all.len(), &failures);
}

#[test]
fn invalid_fixtures_fail_with_the_announced_error() {
    let all = fixtures("invalid");
    let failures: Vec<(String, String)> = all
        .iter()
        .filter_map(|f| check_invalid(f).err().map(|why| (f.name.clone(), why)))
        .collect();
    report("invalid", all.len(), &failures);
}

#[test]
fn fixtures_have_headers() {
    let mut failures = Vec::new();
    for f in fixtures("valid") {
        if let Err(why) = check_since(&f) {
            failures.push((format!("valid/{}", f.name), why));
        }
        if f.header("covers").is_none_or(str::is_empty) {
            failures.push((
                format!("valid/{}", f.name),
                "missing `# covers: ...` header".to_string(),
            ));
        }
    }
    for f in fixtures("invalid") {
        if let Err(why) = check_since(&f) {
            failures.push((format!("invalid/{}", f.name), why));
        }
        if f.header("error").is_none_or(|e| !e.contains(": ")) {
            failures.push((
                format!("invalid/{}", f.name),
                "missing `# error: <path>: <message>` header".to_string(),
            ));
        }
    }
    report("", failures.len(), &failures);
}

#[test]
fn corpus_does_not_shrink() {
    let invalid = fixtures("invalid");
    assert!(
        invalid.len() >= MIN_INVALID,
        "only {} invalid fixtures, expected at least {MIN_INVALID}",
        invalid.len()
    );

    let valid = fixtures("valid");
    let missing: Vec<&str> = INTEGRATIONS
        .iter()
        .copied()
        .filter(|kind| {
            let key = format!("{kind}_configs:");
            !valid.iter().any(|f| {
                f.text
                    .lines()
                    .any(|l| l.trim_start().trim_start_matches("- ").starts_with(&key))
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "integration types used by no valid fixture: {missing:?}"
    );
}
