//! Declarative silences (Larum's extension): `--silences.file` lists silences with
//! stable IDs. Each load creates or updates them and expires the file's silences that
//! are no longer listed; the API cannot edit them.
//!
//! ```yaml
//! - id: db-maintenance            # stable ID: letters, digits, '-', '_', '.', ':'
//!   matchers:
//!     - 'service="db"'            # matcher syntax, as in the config file...
//!     - name: env                 # ...or API v2's shape
//!       value: prod|staging
//!       isRegex: true
//!   startsAt: 2026-03-01T22:00:00Z  # optional: the first load's time
//!   endsAt: 2026-03-02T02:00:00Z
//!   createdBy: platform-team
//!   comment: Planned failover
//!   annotations: {ticket: OPS-1234}
//! ```
//!
//! A file with any error changes nothing: the error is reported like a config error
//! (file, entry path, message) and the silences already in force stay.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::config::matcher::{ParseMode, parse_matcher_in};
use crate::config::{ConfigError, deserialize_yaml};

use super::SilenceError;
use super::model::{Origin, Silence, SilenceMatcher, ZERO_TIME};
use super::store::{Declared, FileApplied, Silences};
use super::validate::validate;

/// One silence as written in the file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileSilence {
    id: String,
    matchers: Vec<FileMatcher>,
    #[serde(default)]
    starts_at: Option<Timestamp>,
    ends_at: Timestamp,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A matcher: a string in matcher syntax, or API v2's `{name, value, isRegex, isEqual}`.
enum FileMatcher {
    Text(String),
    Fields(SilenceMatcher),
}

impl<'de> Deserialize<'de> for FileMatcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FileMatcher;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a matcher string or a mapping with name, value, isRegex and isEqual")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileMatcher, E> {
                Ok(FileMatcher::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileMatcher, A::Error> {
                SilenceMatcher::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(FileMatcher::Fields)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Whether an ID is usable in `/api/v2/silence/{id}` without escaping.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Whether a YAML text holds nothing but blank lines and comments.
fn is_blank(yaml: &str) -> bool {
    yaml.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---")
}

/// Parses and validates a silences file's text (without applying it).
pub(crate) fn parse(yaml: &str, mode: ParseMode) -> Result<Vec<Declared>, ConfigError> {
    let raw: Vec<FileSilence> = if is_blank(yaml) {
        Vec::new()
    } else {
        deserialize_yaml(yaml)?
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, f) in raw.into_iter().enumerate() {
        let at = |field: &str, msg: String| ConfigError::at(format!("[{i}]{field}"), msg);
        if !valid_id(&f.id) {
            return Err(at(
                ".id",
                format!(
                    "invalid silence ID {:?}: use 1 to 128 letters, digits, '-', '_', '.' or ':'",
                    f.id
                ),
            ));
        }
        if !seen.insert(f.id.clone()) {
            return Err(at(".id", format!("duplicate silence ID {:?}", f.id)));
        }
        let mut matchers = Vec::with_capacity(f.matchers.len());
        for (j, m) in f.matchers.into_iter().enumerate() {
            matchers.push(match m {
                FileMatcher::Fields(m) => m,
                FileMatcher::Text(t) => parse_matcher_in(mode, &t)
                    .map(|m| SilenceMatcher::from(&m))
                    .map_err(|e| at(&format!(".matchers[{j}]"), e.to_string()))?,
            });
        }
        let silence = Silence {
            id: f.id,
            matchers,
            starts_at: f.starts_at.unwrap_or(ZERO_TIME),
            ends_at: f.ends_at,
            updated_at: ZERO_TIME,
            created_by: f.created_by,
            comment: f.comment,
            annotations: f.annotations,
            origin: Origin::Api,
        };
        // A missing start is filled in when applied; validate with a stand-in.
        let mut check = silence.clone();
        if f.starts_at.is_none() {
            check.starts_at = check.ends_at;
        }
        let compiled = validate(&check, mode).map_err(|e| at("", e))?;
        out.push(Declared {
            silence,
            matchers: compiled,
            position: i,
        });
    }
    Ok(out)
}

/// Loads a silences file into the store: creates or updates its silences and expires
/// the file's silences that it no longer lists. On any error nothing changes.
pub fn load_file(
    store: &Silences,
    path: &Path,
    mode: ParseMode,
) -> Result<FileApplied, SilenceError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SilenceError::File(
            ConfigError::at("", format!("cannot read the silences file: {e}")).in_file(path),
        )
    })?;
    let declared = parse(&text, mode).map_err(|e| SilenceError::File(e.in_file(path)))?;
    let applied = store
        .apply_declared(&path.display().to_string(), declared)
        .map_err(|e| match e {
            SilenceError::File(c) => SilenceError::File(c.in_file(path)),
            other => other,
        })?;
    tracing::info!(
        file = %path.display(),
        created = applied.created.len(),
        updated = applied.updated.len(),
        expired = applied.expired.len(),
        unchanged = applied.unchanged,
        "Loaded the silences file"
    );
    Ok(applied)
}
