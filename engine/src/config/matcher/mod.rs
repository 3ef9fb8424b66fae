//! Label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
//!
//! Two syntaxes exist upstream: the classic one ([`classic`], Alertmanager up to 0.26)
//! and the UTF-8 one ([`utf8`], 0.27+). [`ParseMode`] selects which one is used, as
//! Alertmanager's `--enable-feature` flags do; by default the UTF-8 parser is tried
//! first and the classic parser is the fallback. Regular expressions follow Go's RE2
//! semantics ([`GoRegex`]).

pub mod classic;
mod regex;
#[cfg(test)]
mod regex_go_cases;
mod unicode_names;
pub mod utf8;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use self::regex::GoRegex;
pub(crate) use self::regex::on_large_stack;

/// How a matcher compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl MatchType {
    /// The operator as written: `=`, `!=`, `=~` or `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }

    /// Whether the operator is `=~` or `!~`.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regexp | MatchType::NotRegexp)
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a matcher is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MatcherError(pub String);

/// One label matcher.
///
/// Equality compares name, value and type (the compiled regex follows from the value).
/// Build matchers with [`Matcher::new`]: changing `value` of a regex matcher afterwards
/// does not recompile its regex.
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

impl Eq for Matcher {}

impl Matcher {
    /// A matcher; fails on an invalid regular expression.
    pub fn new(name: &str, value: &str, match_type: MatchType) -> Result<Self, MatcherError> {
        let regex = if match_type.is_regex() {
            Some(GoRegex::new_anchored(value)?)
        } else {
            None
        };
        Ok(Matcher {
            name: name.to_string(),
            value: value.to_string(),
            match_type,
            regex,
        })
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

    /// Upstream's sort order for matchers: by name, then value, then type.
    pub fn sort_key(&self) -> (&str, &str, MatchType) {
        (&self.name, &self.value, self.match_type)
    }
}

/// Whether the classic parser reads `name` unquoted: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_classic_parser_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Writes `s` as a Go double-quoted string literal that [`utf8::go_unquote`] reads back.
fn write_go_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\x07' => f.write_str("\\a")?,
            '\x08' => f.write_str("\\b")?,
            '\x0c' => f.write_str("\\f")?,
            '\x0b' => f.write_str("\\v")?,
            c if (c as u32) < 0x20 || c == '\x7f' => write!(f, "\\x{:02x}", c as u32)?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// The text of a matcher, parseable by every [`ParseMode`] that accepts its name.
///
/// When the classic parser reads the name (any classic label name does), the output is
/// what Alertmanager 0.25 writes and reads: `name="value"` with `\\`, `\"` and `\n`
/// escaped. Other names are quoted, with the value, as Go string literals, as
/// Alertmanager 0.27+ does (the empty name too, which upstream would leave unquoted).
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_classic_parser_name(&self.name) {
            f.write_str(&self.name)?;
            f.write_str(self.match_type.as_str())?;
            f.write_char('"')?;
            for c in self.value.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '"' => f.write_str("\\\"")?,
                    c => f.write_char(c)?,
                }
            }
            f.write_char('"')
        } else {
            write_go_quoted(f, &self.name)?;
            f.write_str(self.match_type.as_str())?;
            write_go_quoted(f, &self.value)
        }
    }
}

use std::fmt::Write as _;

/// A list of matchers, written in YAML as a list of strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

    /// Sorts in upstream's order (name, value, type), as upstream does after parsing.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
}

impl fmt::Display for Matchers {
    /// `{a="b",c=~"d"}`, as upstream prints a matcher list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{m}")?;
        }
        f.write_char('}')
    }
}

impl Serialize for Matchers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for Matchers {
    /// Each string may hold several matchers; the result is sorted like upstream's.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Each line is its own element, so an error's path names its index.
        let lines = Vec::<MatcherLine>::deserialize(deserializer)?;
        let mut ms = Matchers(lines.into_iter().flat_map(|l| l.0).collect());
        ms.sort();
        Ok(ms)
    }
}

/// One config string of matchers, parsed on deserialization.
struct MatcherLine(Vec<Matcher>);

impl<'de> Deserialize<'de> for MatcherLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let line = String::deserialize(deserializer)?;
        parse_matchers(&line)
            .map(MatcherLine)
            .map_err(serde::de::Error::custom)
    }
}

/// A `match_re` value: compiled when read, so an error's path names its label.
struct RegexValue(GoRegex);

impl<'de> Deserialize<'de> for RegexValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        GoRegex::new_anchored(&source)
            .map(RegexValue)
            .map_err(serde::de::Error::custom)
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
        let raw = BTreeMap::<String, RegexValue>::deserialize(deserializer)?;
        Ok(MatchRegexps(
            raw.into_iter().map(|(k, v)| (k, v.0)).collect(),
        ))
    }
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

thread_local! {
    static PARSE_MODE: Cell<ParseMode> = const { Cell::new(ParseMode::Fallback) };
}

/// Restores the previous mode when dropped (also on unwinding).
struct ModeGuard(ParseMode);

impl Drop for ModeGuard {
    fn drop(&mut self) {
        PARSE_MODE.with(|m| m.set(self.0));
    }
}

/// Runs `f` with matchers parsed in `mode` on this thread.
pub fn with_parse_mode<R>(mode: ParseMode, f: impl FnOnce() -> R) -> R {
    let _guard = ModeGuard(PARSE_MODE.with(|m| m.replace(mode)));
    f()
}

/// The parse mode in force on this thread.
pub fn parse_mode() -> ParseMode {
    PARSE_MODE.with(Cell::get)
}

/// Parses zero or more matchers (`{a="b", c=~"d"}`, braces optional) in the current mode.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    parse_matchers_in(parse_mode(), input)
}

/// Parses zero or more matchers in `mode`.
pub fn parse_matchers_in(mode: ParseMode, input: &str) -> Result<Vec<Matcher>, MatcherError> {
    match mode {
        ParseMode::Classic => classic::parse_matchers(input),
        ParseMode::Utf8Strict => utf8::parse_matchers(input),
        ParseMode::Fallback => {
            let new = utf8::parse_matchers(input);
            let old = classic::parse_matchers(input);
            fallback(input, new, old, |ms| {
                ms.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
        }
    }
}

/// Parses exactly one matcher (no braces) in the current mode, as the API's and
/// amtool's `filter` parameters do.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    parse_matcher_in(parse_mode(), input)
}

/// Parses exactly one matcher in `mode`.
pub fn parse_matcher_in(mode: ParseMode, input: &str) -> Result<Matcher, MatcherError> {
    let no_braces = || {
        if input.starts_with('{') || input.ends_with('}') {
            Err(MatcherError(format!(
                "unexpected open or close brace: {input}"
            )))
        } else {
            Ok(())
        }
    };
    match mode {
        ParseMode::Classic => classic::parse_matcher(input),
        ParseMode::Utf8Strict => {
            no_braces()?;
            utf8::parse_matcher(input)
        }
        ParseMode::Fallback => {
            no_braces()?;
            let new = utf8::parse_matcher(input);
            let old = classic::parse_matcher(input);
            fallback(input, new, old, ToString::to_string)
        }
    }
}

/// Upstream's fallback policy: the UTF-8 result unless only the classic parser
/// succeeds or both succeed with different results; then the classic one, with a warning.
fn fallback<T: PartialEq>(
    input: &str,
    new: Result<T, MatcherError>,
    old: Result<T, MatcherError>,
    suggest: impl Fn(&T) -> String,
) -> Result<T, MatcherError> {
    match (new, old) {
        (Ok(n), Err(_)) => Ok(n),
        (Err(_), Err(e)) => Err(e),
        (Err(e), Ok(o)) => {
            tracing::warn!(
                input,
                err = %e,
                suggestion = %suggest(&o),
                "Alertmanager is moving to a new parser for labels and matchers, and this input is incompatible. \
                 Alertmanager has instead parsed the input using the classic matchers parser as a fallback. \
                 To make this input compatible with the UTF-8 matchers parser please make sure all regular \
                 expressions and values are double-quoted and backslashes are escaped."
            );
            Ok(o)
        }
        (Ok(n), Ok(o)) => {
            if n != o {
                tracing::warn!(input, "Matchers input has disagreement");
                return Ok(o);
            }
            Ok(n)
        }
    }
}

/// Whether `name` is a valid label name in the current parse mode: the classic rule in
/// classic mode, any non-empty UTF-8 string otherwise (upstream's `compat.IsValidLabelName`).
pub fn is_valid_label_name(name: &str) -> bool {
    match parse_mode() {
        ParseMode::Classic => is_classic_label_name(name),
        ParseMode::Fallback | ParseMode::Utf8Strict => !name.is_empty(),
    }
}

/// Whether `name` matches Prometheus' classic label name rule `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_classic_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
