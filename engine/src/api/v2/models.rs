//! JSON shapes of API v2 (upstream's OpenAPI definitions) and their time format.

use std::cmp::Ordering;
use std::fmt;

use jiff::Timestamp;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::alert::labels::Text;
use crate::alert::marker::AlertStatus;
use crate::alert::{Alert, Fingerprint, LabelSet};

/// A time as upstream's API writes it: RFC 3339 in UTC with milliseconds
/// (`2006-01-02T15:04:05.000Z`); `None` is Go's zero time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiTime(pub Option<Timestamp>);

impl fmt::Display for ApiTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(t) = self.0.filter(|t| *t != Timestamp::MIN) else {
            return f.write_str("0001-01-01T00:00:00.000Z");
        };
        let dt = jiff::tz::Offset::UTC.to_datetime(t);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.subsec_nanosecond() / 1_000_000
        )
    }
}

impl Serialize for ApiTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Go's zero time, which senders use for "not set".
fn is_go_zero(t: Timestamp) -> bool {
    t.as_second() == -62_135_596_800 && t.subsec_nanosecond() == 0
}

/// Parses an API time: RFC 3339 with any offset and precision; `null`, `""` and Go's
/// zero time mean "not set".
fn deserialize_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let Some(Text(text)) = Option::<Text<'de>>::deserialize(d)? else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    let t: Timestamp = text
        .parse()
        .map_err(|e| de::Error::custom(format!("invalid time {text:?}: {e}")))?;
    Ok((!is_go_zero(t)).then_some(t))
}

/// Reads a label set straight into its sorted pairs (no intermediate map); `null` is none.
fn deserialize_labels<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LabelSet>, D::Error> {
    struct Pairs;
    impl<'de> de::Visitor<'de> for Pairs {
        type Value = Option<LabelSet>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of string values")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(Pairs)
        }

        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // Borrowed from the body where the JSON has no escapes: the set is then
            // built with a single allocation.
            let mut pairs: Vec<(Text<'de>, Text<'de>)> =
                Vec::with_capacity(map.size_hint().unwrap_or(8));
            while let Some(pair) = map.next_entry()? {
                pairs.push(pair);
            }
            Ok(Some(LabelSet::from_pairs(pairs)))
        }
    }
    d.deserialize_option(Pairs)
}

/// An alert as senders post it (`postableAlert`).
#[derive(Debug, Deserialize)]
pub struct PostableAlert {
    /// Identifying labels (required).
    #[serde(default, deserialize_with = "deserialize_labels")]
    pub labels: Option<LabelSet>,
    /// Annotations.
    #[serde(default, deserialize_with = "deserialize_labels")]
    pub annotations: Option<LabelSet>,
    /// Start of the firing period.
    #[serde(default, rename = "startsAt", deserialize_with = "deserialize_time")]
    pub starts_at: Option<Timestamp>,
    /// End of the firing period.
    #[serde(default, rename = "endsAt", deserialize_with = "deserialize_time")]
    pub ends_at: Option<Timestamp>,
    /// Link to the source.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
}

impl PostableAlert {
    /// The engine's alert, before defaults (unset start: `Timestamp::MIN`).
    pub fn into_alert(self) -> Alert {
        Alert {
            labels: crate::alert::validate::without_empty_values(self.labels.unwrap_or_default()),
            annotations: self.annotations.unwrap_or_default(),
            starts_at: self.starts_at.unwrap_or(Timestamp::MIN),
            ends_at: self.ends_at,
            generator_url: self.generator_url.unwrap_or_default(),
            updated_at: Timestamp::MIN,
            timeout: false,
        }
    }
}

/// `{"name": ...}` (`receiverReference`).
#[derive(Debug, Serialize)]
pub struct ReceiverReference<'a> {
    /// Receiver name.
    pub name: &'a str,
}

/// Fingerprint as 16 hex digits.
#[derive(Debug)]
pub struct Hex(pub Fingerprint);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// `alertStatus`.
#[derive(Debug, Serialize)]
pub struct StatusOut<'a> {
    /// IDs of inhibiting alerts.
    #[serde(rename = "inhibitedBy")]
    pub inhibited_by: &'a [String],
    /// Time intervals muting the alert's group.
    #[serde(rename = "mutedBy")]
    pub muted_by: &'a [String],
    /// IDs of silences.
    #[serde(rename = "silencedBy")]
    pub silenced_by: &'a [String],
    /// unprocessed, active or suppressed.
    pub state: &'static str,
}

/// An alert as the API shows it (`gettableAlert`).
#[derive(Debug, Serialize)]
pub struct GettableAlert<'a> {
    /// Annotations.
    pub annotations: &'a LabelSet,
    /// End time.
    #[serde(rename = "endsAt")]
    pub ends_at: ApiTime,
    /// Fingerprint of the labels.
    pub fingerprint: Hex,
    /// Receivers the alert is routed to.
    pub receivers: Vec<ReceiverReference<'a>>,
    /// Start time.
    #[serde(rename = "startsAt")]
    pub starts_at: ApiTime,
    /// Status.
    pub status: StatusOut<'a>,
    /// Time of the last update.
    #[serde(rename = "updatedAt")]
    pub updated_at: ApiTime,
    /// Link to the source.
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    pub generator_url: &'a str,
    /// Labels.
    pub labels: &'a LabelSet,
}

impl<'a> GettableAlert<'a> {
    /// The API view of a stored alert.
    pub fn new(alert: &'a Alert, status: &'a AlertStatus, receivers: &[&'a str]) -> Self {
        GettableAlert {
            annotations: &alert.annotations,
            ends_at: ApiTime(alert.ends_at),
            fingerprint: Hex(alert.fingerprint()),
            receivers: receivers
                .iter()
                .map(|name| ReceiverReference { name })
                .collect(),
            starts_at: ApiTime(Some(alert.starts_at)),
            status: StatusOut {
                inhibited_by: &status.inhibited_by,
                muted_by: &[],
                silenced_by: &status.silenced_by,
                state: status.state.as_str(),
            },
            updated_at: ApiTime(Some(alert.updated_at)),
            generator_url: &alert.generator_url,
            labels: &alert.labels,
        }
    }
}

/// Prometheus' label set order (`model.LabelSet.Before`): smaller sets first, then the
/// first differing label in name order decides (a set missing that name comes first).
pub fn label_set_order(a: &LabelSet, b: &LabelSet) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
    loop {
        match (x.peek(), y.peek()) {
            (Some((na, va)), Some((nb, vb))) => match na.cmp(nb) {
                Ordering::Equal => match va.cmp(vb) {
                    Ordering::Equal => {
                        x.next();
                        y.next();
                    }
                    other => return other,
                },
                // `na` is missing from `b`: `b` comes first.
                Ordering::Less => return Ordering::Greater,
                Ordering::Greater => return Ordering::Less,
            },
            _ => return Ordering::Equal,
        }
    }
}

/// Upstream's order of alerts in a group: by `job`, then `instance` (alerts without the
/// label last), then by label set.
pub fn alert_order(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    label_set_order(&a.labels, &b.labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_like_upstream() {
        let t: Timestamp = "2026-11-23T23:47:31.542987Z".parse().unwrap();
        assert_eq!(ApiTime(Some(t)).to_string(), "2026-11-23T23:47:31.542Z");
        let t: Timestamp = "2026-11-23T23:00:00+01:00".parse().unwrap();
        assert_eq!(ApiTime(Some(t)).to_string(), "2026-11-23T22:00:00.000Z");
        assert_eq!(ApiTime(None).to_string(), "0001-01-01T00:00:00.000Z");
    }

    #[test]
    fn posted_times_accept_rfc3339_and_zero_values() {
        let parse = |json: &str| {
            serde_json::from_str::<PostableAlert>(json)
                .map(|a| a.starts_at)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse(r#"{"startsAt":null}"#), Ok(None));
        assert_eq!(parse(r#"{"startsAt":""}"#), Ok(None));
        assert_eq!(parse(r#"{"startsAt":"0001-01-01T00:00:00Z"}"#), Ok(None));
        assert_eq!(
            parse(r#"{"startsAt":"2026-01-02T03:04:05.123456789+02:00"}"#),
            Ok(Some("2026-01-02T01:04:05.123456789Z".parse().unwrap()))
        );
        assert!(
            parse(r#"{"startsAt":"yesterday"}"#)
                .unwrap_err()
                .contains("yesterday")
        );
    }

    #[test]
    fn posted_label_sets_are_read_sorted_and_null_is_none() {
        let a: PostableAlert =
            serde_json::from_str(r#"{"labels":{"b":"2","a":"1\u00e9"},"annotations":null}"#)
                .unwrap();
        assert_eq!(a.labels.unwrap().to_string(), "{a=\"1é\", b=\"2\"}");
        assert!(a.annotations.is_none());
        assert!(serde_json::from_str::<PostableAlert>(r#"{"labels":{"a":1}}"#).is_err());
        assert!(serde_json::from_str::<PostableAlert>(r#"{"labels":["a"]}"#).is_err());
    }

    #[test]
    fn label_sets_sort_like_prometheus() {
        let ls = |pairs: &[(&str, &str)]| LabelSet::from_pairs(pairs.iter().copied());
        assert_eq!(
            label_set_order(&ls(&[("a", "1")]), &ls(&[("a", "0"), ("b", "0")])),
            Ordering::Less
        );
        assert_eq!(
            label_set_order(&ls(&[("a", "1")]), &ls(&[("a", "2")])),
            Ordering::Less
        );
        // {b} vs {a}: `a` is missing from the first, so it comes first.
        assert_eq!(
            label_set_order(&ls(&[("b", "1")]), &ls(&[("a", "1")])),
            Ordering::Less
        );
    }
}
