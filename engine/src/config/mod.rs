//! Alertmanager's configuration file: model, strict parsing, defaults and validation.
//!
//! [`Config::parse`] reads Alertmanager's YAML (unknown keys are errors, anchors and
//! merge keys work), fills defaults from `global` into the receivers the way upstream
//! does, and runs upstream's semantic checks. Every error names the field path.

pub mod coordinator;
pub mod duration;
pub mod error;
pub mod global;
pub mod go_duration;
pub mod http_config;
pub mod inhibit;
pub mod matcher;
pub mod receiver;
pub mod route;
pub mod secret;
pub mod secret_source;
pub mod time_interval;
mod tracing_config;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use self::duration::Duration;
pub use self::error::ConfigError;
pub use self::global::GlobalConfig;
pub use self::inhibit::InhibitRule;
pub use self::matcher::ParseMode;
pub use self::receiver::Receiver;
pub use self::route::Route;
pub use self::time_interval::NamedTimeInterval;
pub use self::tracing_config::TracingConfig;

/// A whole Alertmanager configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Global settings and receiver defaults.
    #[serde(default)]
    pub global: GlobalConfig,
    /// The root of the routing tree (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// Inhibition rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inhibit_rules: Vec<InhibitRule>,
    /// Receivers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<Receiver>,
    /// Globs of template files, relative to the config file's directory.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Deprecated name of `time_intervals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<NamedTimeInterval>,
    /// Named time intervals routes refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_intervals: Vec<NamedTimeInterval>,
    /// OpenTelemetry tracing settings (newer than 0.25).
    #[serde(default, skip_serializing_if = "TracingConfig::is_empty")]
    pub tracing: TracingConfig,
}

/// How to parse a config.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParseOptions {
    /// Matcher syntax.
    pub matcher_mode: ParseMode,
}

impl Config {
    /// Parses and validates a config from YAML text.
    pub fn parse(yaml: &str, options: ParseOptions) -> Result<Config, ConfigError> {
        // Label name rules in the semantic checks depend on the mode too.
        matcher::with_parse_mode(options.matcher_mode, || {
            let mut config = deserialize_yaml::<Config>(yaml)?;
            config.resolve()?;
            Ok(config)
        })
    }

    /// Reads, parses and validates a config file; errors name the file.
    pub fn load_file(path: &Path, options: ParseOptions) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::at("", format!("cannot read config file: {e}")).in_file(path)
        })?;
        let config = Config::parse(&text, options).map_err(|e| e.in_file(path))?;
        Ok(LoadedConfig {
            config,
            original: text,
            path: path.to_path_buf(),
        })
    }

    /// The config as YAML, secrets masked as `<secret>` and defaults filled in
    /// (what `/api/v2/status` shows as `config.original`).
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self)
            .unwrap_or_else(|e| format!("<error creating config string: {e}>"))
    }

    /// The config as YAML with the real secret values.
    pub fn to_yaml_revealed(&self) -> String {
        secret::with_secrets_revealed(|| self.to_yaml())
    }

    /// The root route. Present in every config that passed [`Config::parse`].
    pub fn root_route(&self) -> &Route {
        static EMPTY: std::sync::OnceLock<Route> = std::sync::OnceLock::new();
        self.route
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(Route::default))
    }

    /// Fills defaults and runs the semantic checks upstream runs after parsing.
    fn resolve(&mut self) -> Result<(), ConfigError> {
        self.global.validate().map_err(|e| e.under("global"))?;

        let mut receiver_names = HashSet::new();
        for (i, receiver) in self.receivers.iter_mut().enumerate() {
            let path = format!("receivers[{i}]");
            if receiver.name.is_empty() {
                return Err(ConfigError::at(
                    format!("{path}.name"),
                    "missing name in receiver",
                ));
            }
            if !receiver_names.insert(receiver.name.clone()) {
                return Err(ConfigError::at(
                    format!("{path}.name"),
                    format!("notification config name {:?} is not unique", receiver.name),
                ));
            }
            receiver.resolve(&self.global).map_err(|e| e.under(&path))?;
        }

        for (i, rule) in self.inhibit_rules.iter().enumerate() {
            rule.validate()
                .map_err(|e| e.under(&format!("inhibit_rules[{i}]")))?;
        }

        let mut interval_names = HashSet::new();
        for (field, list) in [
            ("mute_time_intervals", &self.mute_time_intervals),
            ("time_intervals", &self.time_intervals),
        ] {
            for (i, interval) in list.iter().enumerate() {
                let path = format!("{field}[{i}]");
                if interval.name.is_empty() {
                    let what = if field == "time_intervals" {
                        "time interval"
                    } else {
                        "mute time interval"
                    };
                    return Err(ConfigError::at(
                        format!("{path}.name"),
                        format!("missing name in {what}"),
                    ));
                }
                if !interval_names.insert(interval.name.clone()) {
                    let what = if field == "time_intervals" {
                        "time interval"
                    } else {
                        "mute time interval"
                    };
                    return Err(ConfigError::at(
                        format!("{path}.name"),
                        format!("{what} {:?} is not unique", interval.name),
                    ));
                }
            }
        }

        let Some(root) = &self.route else {
            return Err(ConfigError::at("route", "no routes provided"));
        };
        if root.receiver.as_deref().is_none_or(str::is_empty) {
            return Err(ConfigError::at(
                "route.receiver",
                "root route must specify a default receiver",
            ));
        }
        if root.continue_matching {
            return Err(ConfigError::at(
                "route.continue",
                "cannot have continue in root route",
            ));
        }
        if root.has_matchers() {
            return Err(ConfigError::at(
                "route",
                "root route must not have any matchers",
            ));
        }
        if !root.mute_time_intervals.is_empty() {
            return Err(ConfigError::at(
                "route.mute_time_intervals",
                "root route must not have any mute time intervals",
            ));
        }
        if !root.active_time_intervals.is_empty() {
            return Err(ConfigError::at(
                "route.active_time_intervals",
                "root route must not have any active time intervals",
            ));
        }
        root.validate().map_err(|e| e.under("route"))?;
        root.walk("route", &mut |path, node| {
            if let Some(receiver) = node.receiver.as_deref().filter(|r| !r.is_empty())
                && !receiver_names.contains(receiver)
            {
                return Err(ConfigError::at(
                    error::join_path(path, "receiver"),
                    format!("undefined receiver {receiver:?} used in route"),
                ));
            }
            for (field, names) in [
                ("mute_time_intervals", &node.mute_time_intervals),
                ("active_time_intervals", &node.active_time_intervals),
            ] {
                for (i, name) in names.iter().enumerate() {
                    if !interval_names.contains(name) {
                        return Err(ConfigError::at(
                            error::join_path(path, &format!("{field}[{i}]")),
                            format!("undefined time interval {name:?} used in route"),
                        ));
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    }
}

/// A config loaded from a file, with the text it came from.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The parsed and validated config.
    pub config: Config,
    /// The file's text, as read.
    pub original: String,
    /// The file it came from.
    pub path: PathBuf,
}

/// Deserializes YAML strictly, reporting the field path and location of the first error.
pub fn deserialize_yaml<T: for<'de> Deserialize<'de>>(yaml: &str) -> Result<T, ConfigError> {
    let mut failed_path: Option<String> = None;
    let result = serde_saphyr::with_deserializer_from_str(yaml, |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            let path = e.path().to_string();
            failed_path = Some(if path == "." { String::new() } else { path });
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let location = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize));
        let found = location
            .map(|(line, column)| text_at(yaml, line, column))
            .unwrap_or_default();
        let mut err = ConfigError::at(
            failed_path.unwrap_or_default(),
            humanize(&error_message(&e), &found),
        );
        err.location = location;
        err
    })
}

/// The YAML text at a 1-based line and column, up to the end of the line or a comment.
fn text_at(yaml: &str, line: usize, column: usize) -> String {
    let Some(text) = yaml.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let rest: String = text.chars().skip(column.saturating_sub(1)).collect();
    let rest = rest.split(" #").next().unwrap_or_default();
    rest.trim().to_string()
}

/// How to name what the YAML has where another type was expected.
fn describe_found(found: &str) -> String {
    if found.is_empty() || found.starts_with('{') || found.ends_with(':') || found.contains(": ") {
        "a mapping".to_string()
    } else if found.starts_with('[') || found.starts_with("- ") {
        format!("a list {found}")
    } else if found.starts_with('"') || found.starts_with('\'') {
        found.to_string()
    } else {
        format!("\"{found}\"")
    }
}

/// Rewrites the parser's terse type errors into messages that say what was expected and
/// what was found.
fn humanize(message: &str, found: &str) -> String {
    let shown = describe_found(found);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected one of")
            .trim_start_matches(", there are no fields")
            .trim();
        return if expected.is_empty() {
            format!("field {field} not found")
        } else {
            format!("field {field} not found (expected one of: {expected})")
        };
    }
    match message {
        "invalid boolean" => format!("expected a boolean (true or false), got {shown}"),
        "expected sequence start" => format!("expected a list, got {shown}"),
        "expected mapping start" => format!("expected a mapping, got {shown}"),
        "expected string scalar" => format!("expected a string, got {shown}"),
        m if m.starts_with("invalid ") && ["u8", "u16", "u32", "u64"].contains(&&m[8..]) => {
            format!("expected a non-negative integer, got {shown}")
        }
        m if m.starts_with("invalid ") && ["i8", "i16", "i32", "i64"].contains(&&m[8..]) => {
            format!("expected an integer, got {shown}")
        }
        m if m.starts_with("invalid ") && ["f32", "f64"].contains(&&m[8..]) => {
            format!("expected a number, got {shown}")
        }
        m => m.to_string(),
    }
}

/// The parser's message without the location and snippet it may add.
fn error_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    // Drop a leading "line N column M: ": the location is kept separately.
    let text = match text
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((position, message))
            if position.split(" column ").all(|n| n.parse::<u64>().is_ok()) =>
        {
            message
        }
        _ => text,
    };
    // ... and a trailing " at line N, column M".
    let text = match text.rsplit_once(" at line ") {
        Some((message, position))
            if position
                .split(", column ")
                .all(|n| n.trim().parse::<u64>().is_ok()) =>
        {
            message
        }
        _ => text,
    };
    text.trim_end().to_string()
}
