//! Label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
//! STUB: to be completed (classic and UTF-8 parsers, fallback mode, Go regex semantics).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a matcher compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regexp,
    /// `!~`
    NotRegexp,
}

/// Why a matcher is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MatcherError(pub String);

/// A regular expression with Go's RE2 semantics, anchored at both ends.
#[derive(Clone, Debug)]
pub struct GoRegex {
    source: String,
    compiled: regex::Regex,
}

impl GoRegex {
    /// Compiles `source` as Go would, anchored as `^(?:source)$`.
    pub fn new_anchored(source: &str) -> Result<Self, MatcherError> {
        let compiled = regex::Regex::new(&format!("^(?:{source})$")).map_err(|e| MatcherError(e.to_string()))?;
        Ok(GoRegex { source: source.to_string(), compiled })
    }
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.compiled.is_match(s)
    }
}

impl PartialEq for GoRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// One label matcher.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Value or regular expression, as written.
    pub value: String,
    /// Comparison.
    pub match_type: MatchType,
    regex: Option<GoRegex>,
}

impl Matcher {
    /// A matcher; fails on an invalid regular expression.
    pub fn new(name: &str, value: &str, match_type: MatchType) -> Result<Self, MatcherError> {
        let regex = match match_type {
            MatchType::Regexp | MatchType::NotRegexp => Some(GoRegex::new_anchored(value)?),
            _ => None,
        };
        Ok(Matcher { name: name.to_string(), value: value.to_string(), match_type, regex })
    }

    /// Whether a label value (empty when the label is missing) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.match_type, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regexp, Some(r)) => r.is_match(value),
            (MatchType::NotRegexp, Some(r)) => !r.is_match(value),
            _ => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.match_type {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        };
        write!(f, "{}{}{:?}", self.name, op, self.value)
    }
}

/// A list of matchers, written in YAML as a list of strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matchers(pub Vec<Matcher>);

impl Matchers {
    /// Whether every matcher accepts the labels; `get` returns a label's value.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|m| m.matches(get(&m.name).unwrap_or("")))
    }
    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Matchers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for Matchers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let _lines = Vec::<String>::deserialize(deserializer)?;
        Ok(Matchers(Vec::new()))
    }
}

/// Legacy `match_re`: label name to regular expression.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MatchRegexps(pub BTreeMap<String, GoRegex>);

impl MatchRegexps {
    /// Whether no regex is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for MatchRegexps {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v.as_str())))
    }
}

impl<'de> Deserialize<'de> for MatchRegexps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, String>::deserialize(deserializer)?;
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let r = GoRegex::new_anchored(&v).map_err(serde::de::Error::custom)?;
            out.insert(k, r);
        }
        Ok(MatchRegexps(out))
    }
}

/// Whether `name` is a valid label name in the current parse mode (STUB: classic rule).
pub fn is_valid_label_name(name: &str) -> bool {
    is_classic_label_name(name)
}

/// Whether `name` matches Prometheus' classic label name rule `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_classic_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Which matcher syntax the parser accepts (`--enable-feature`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParseMode {
    /// UTF-8 syntax first, falling back to the classic syntax with a warning (upstream's default).
    #[default]
    Fallback,
    /// Only the UTF-8 syntax (`utf8-strict-mode`).
    Utf8Strict,
    /// Only the classic syntax (`classic-mode`).
    Classic,
}

/// Runs `f` with matchers parsed in `mode` on this thread.
pub fn with_parse_mode<R>(_mode: ParseMode, f: impl FnOnce() -> R) -> R {
    f()
}

/// Parses one or several matchers from a string (STUB: only `name=value`).
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, MatcherError> {
    let (name, value) = s.split_once('=').ok_or_else(|| MatcherError(format!("bad matcher format: {s}")))?;
    Ok(vec![Matcher::new(name, value.trim_matches('"'), MatchType::Equal)?])
}
