//! The silence model: upstream's fields (API v2 shape), its states and where it came from.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::matcher::{MatchType, Matcher, MatcherError};

/// Go's zero time (`0001-01-01T00:00:00Z`): what upstream reads as "not set".
pub const ZERO_TIME: Timestamp = Timestamp::constant(-62_135_596_800, 0);

/// Whether a timestamp is unset: Go's zero time (or anything before it).
pub fn is_zero_time(t: Timestamp) -> bool {
    t <= ZERO_TIME
}

/// A silence's matcher, in API v2's shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SilenceMatcher {
    /// Label name.
    pub name: String,
    /// Value, or regular expression when `is_regex`.
    pub value: String,
    /// Whether `value` is a regular expression.
    #[serde(default)]
    pub is_regex: bool,
    /// Whether the matcher is positive (`=`, `=~`) rather than negated (`!=`, `!~`).
    #[serde(default = "default_true")]
    pub is_equal: bool,
}

fn default_true() -> bool {
    true
}

impl SilenceMatcher {
    /// A matcher from its parts.
    pub fn new(name: &str, value: &str, match_type: MatchType) -> Self {
        SilenceMatcher {
            name: name.to_string(),
            value: value.to_string(),
            is_regex: match_type.is_regex(),
            is_equal: matches!(match_type, MatchType::Equal | MatchType::Regexp),
        }
    }

    /// The comparison the flags describe.
    pub fn match_type(&self) -> MatchType {
        match (self.is_equal, self.is_regex) {
            (true, false) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regexp,
            (false, true) => MatchType::NotRegexp,
        }
    }

    /// The compiled matcher; fails on an invalid regular expression.
    pub fn compile(&self) -> Result<Matcher, MatcherError> {
        Matcher::new(&self.name, &self.value, self.match_type())
    }
}

impl From<&Matcher> for SilenceMatcher {
    fn from(m: &Matcher) -> Self {
        SilenceMatcher::new(&m.name, &m.value, m.match_type)
    }
}

impl fmt::Display for SilenceMatcher {
    /// `name="value"`, `name!~"regex"`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.match_type(), self.value)
    }
}

/// A silence's state at a point in time, derived from its start and end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// Ended (`now >= endsAt`).
    Expired,
    /// Muting alerts (`startsAt <= now < endsAt`).
    Active,
    /// Not started yet (`now < startsAt`).
    Pending,
}

impl SilenceState {
    /// Upstream's name: `expired`, `active` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Expired => "expired",
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
        }
    }

    /// Every state, in the order upstream's metrics list them.
    pub const ALL: [SilenceState; 3] = [
        SilenceState::Active,
        SilenceState::Pending,
        SilenceState::Expired,
    ];
}

impl fmt::Display for SilenceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a silence running from `starts_at` to `ends_at` at `now`.
///
/// The end is exclusive, as upstream's API reports it: a silence expired "now" is
/// expired at once.
pub fn state_at(starts_at: Timestamp, ends_at: Timestamp, now: Timestamp) -> SilenceState {
    if now < starts_at {
        SilenceState::Pending
    } else if now < ends_at {
        SilenceState::Active
    } else {
        SilenceState::Expired
    }
}

/// Who manages a silence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Created through the API (or a peer): editable through the API.
    #[default]
    Api,
    /// Declared in a `--silences.file`: only that file changes it.
    File(String),
}

impl Origin {
    /// Whether the silence came through the API.
    pub fn is_api(&self) -> bool {
        matches!(self, Origin::Api)
    }
}

/// A silence: which alerts it mutes (all matchers must match), and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    /// Unique ID (a UUID v4 for silences made through the API); empty for a new one.
    #[serde(default)]
    pub id: String,
    /// The matchers, all of which must match an alert's labels.
    pub matchers: Vec<SilenceMatcher>,
    /// When it starts muting.
    pub starts_at: Timestamp,
    /// When it stops muting.
    pub ends_at: Timestamp,
    /// When it was last changed.
    #[serde(default = "zero_time")]
    pub updated_at: Timestamp,
    /// Who made it.
    #[serde(default)]
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Free-form key/value annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Who manages it: the API, or a silences file.
    #[serde(default, skip_serializing_if = "Origin::is_api")]
    pub origin: Origin,
}

fn zero_time() -> Timestamp {
    ZERO_TIME
}

impl Silence {
    /// A new silence (empty ID, unset `updated_at`) made through the API.
    pub fn new(matchers: Vec<SilenceMatcher>, starts_at: Timestamp, ends_at: Timestamp) -> Self {
        Silence {
            id: String::new(),
            matchers,
            starts_at,
            ends_at,
            updated_at: ZERO_TIME,
            created_by: String::new(),
            comment: String::new(),
            annotations: BTreeMap::new(),
            origin: Origin::Api,
        }
    }

    /// The state at `now`.
    pub fn state_at(&self, now: Timestamp) -> SilenceState {
        state_at(self.starts_at, self.ends_at, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn state_follows_time_with_an_exclusive_end() {
        assert_eq!(state_at(ts(10), ts(20), ts(9)), SilenceState::Pending);
        assert_eq!(state_at(ts(10), ts(20), ts(10)), SilenceState::Active);
        assert_eq!(state_at(ts(10), ts(20), ts(19)), SilenceState::Active);
        assert_eq!(state_at(ts(10), ts(20), ts(20)), SilenceState::Expired);
        // Expired at once when start equals end.
        assert_eq!(state_at(ts(10), ts(10), ts(10)), SilenceState::Expired);
    }

    #[test]
    fn matcher_flags_map_to_operators() {
        for mt in [
            MatchType::Equal,
            MatchType::NotEqual,
            MatchType::Regexp,
            MatchType::NotRegexp,
        ] {
            assert_eq!(SilenceMatcher::new("a", "b", mt).match_type(), mt);
        }
        let m: SilenceMatcher =
            serde_json::from_str(r#"{"name":"a","value":"b","isRegex":false}"#).unwrap();
        assert!(
            m.is_equal,
            "isEqual defaults to true as in the OpenAPI spec"
        );
        assert_eq!(m.to_string(), "a=\"b\"");
    }

    #[test]
    fn json_uses_api_field_names() {
        let mut s = Silence::new(
            vec![SilenceMatcher::new("job", "node", MatchType::Equal)],
            ts(0),
            ts(60),
        );
        s.id = "x".into();
        s.annotations.insert("ticket".into(), "OPS-1".into());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["startsAt"], "2023-11-14T22:13:20Z");
        assert_eq!(json["matchers"][0]["isEqual"], true);
        assert_eq!(json["annotations"]["ticket"], "OPS-1");
        assert!(json.get("origin").is_none());
        let back: Silence = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        assert!(is_zero_time(back.updated_at));
    }
}
