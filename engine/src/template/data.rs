//! Alertmanager's notification data (`template.Data` and friends) and the
//! methods templates call on it: `.Alerts.Firing`, `.Labels.SortedPairs`,
//! `.CommonLabels.Remove`, `.Names`, `.Values`, `.Join`, and the methods of
//! times and durations.
//!
//! The types are plain Rust data with public constructors, independent of the
//! engine's alert store, so the notifier (or a JSON file) can build them.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use serde::Deserialize;

use super::gotime::{self, GoTime};
use super::value::{AlertListKind, StrListKind, Value};

/// A label or annotation set (`template.KV`), ordered by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kv(pub BTreeMap<Arc<str>, Arc<str>>);

impl Deref for Kv {
    type Target = BTreeMap<Arc<str>, Arc<str>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Kv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Kv(iter
            .into_iter()
            .map(|(k, v)| (Arc::from(k.as_ref()), Arc::from(v.as_ref())))
            .collect())
    }
}

type PairList = Vec<(Arc<str>, Arc<str>)>;

impl Kv {
    /// Pairs sorted by name, with `alertname` first (upstream's order).
    pub fn sorted_pairs(&self) -> PairList {
        let mut out = Vec::with_capacity(self.len());
        if let Some((k, v)) = self.0.get_key_value("alertname") {
            out.push((k.clone(), v.clone()));
        }
        out.extend(
            self.0
                .iter()
                .filter(|(k, _)| k.as_ref() != "alertname")
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        out
    }

    /// A copy without the given names.
    pub fn remove(&self, names: &[Arc<str>]) -> Kv {
        Kv(self
            .0
            .iter()
            .filter(|(k, _)| !names.iter().any(|n| n == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// Go's `String()` of pairs: `a=1, b=2`.
pub(crate) fn pairs_string(p: &[(Arc<str>, Arc<str>)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in p.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

/// One alert as templates see it (`template.Alert`).
#[derive(Debug, Clone)]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: Arc<str>,
    /// The alert's labels.
    pub labels: Arc<Kv>,
    /// The alert's annotations.
    pub annotations: Arc<Kv>,
    /// When the alert started.
    pub starts_at: Arc<GoTime>,
    /// When it ended (Go's zero time while firing without an end).
    pub ends_at: Arc<GoTime>,
    /// Link to the alert's source.
    pub generator_url: Arc<str>,
    /// The label-set fingerprint as 16 hex digits.
    pub fingerprint: Arc<str>,
}

/// The data a notification template runs on (`template.Data`).
#[derive(Debug, Clone)]
pub struct Data {
    /// Receiver name (regexp-quoted by upstream).
    pub receiver: Arc<str>,
    /// `firing` if any alert fires, else `resolved`.
    pub status: Arc<str>,
    /// The alerts.
    pub alerts: Arc<Vec<Arc<Alert>>>,
    /// Why the notification is sent (upstream 0.34).
    pub notification_reason: Arc<str>,
    /// The group's labels.
    pub group_labels: Arc<Kv>,
    /// Labels every alert shares.
    pub common_labels: Arc<Kv>,
    /// Annotations every alert shares.
    pub common_annotations: Arc<Kv>,
    /// Route labels (upstream 0.34).
    pub route_labels: Arc<Kv>,
    /// Alertmanager's external URL.
    pub external_url: Arc<str>,
}

impl Data {
    /// Builds the data like upstream's `Template.Data`: status from the
    /// alerts, common labels and annotations computed from them.
    pub fn new(
        receiver: &str,
        group_labels: Kv,
        alerts: Vec<Alert>,
        external_url: &str,
        notification_reason: &str,
    ) -> Data {
        let firing = alerts.iter().any(|a| a.status.as_ref() == "firing");
        let mut common_labels = alerts
            .first()
            .map(|a| (*a.labels).clone())
            .unwrap_or_default();
        let mut common_annotations = alerts
            .first()
            .map(|a| (*a.annotations).clone())
            .unwrap_or_default();
        for a in alerts.iter().skip(1) {
            common_labels.0.retain(|k, v| a.labels.get(k) == Some(v));
            common_annotations
                .0
                .retain(|k, v| a.annotations.get(k) == Some(v));
        }
        Data {
            receiver: Arc::from(regex::escape(receiver)),
            status: Arc::from(if firing { "firing" } else { "resolved" }),
            alerts: Arc::new(alerts.into_iter().map(Arc::new).collect()),
            notification_reason: Arc::from(notification_reason),
            group_labels: Arc::new(group_labels),
            common_labels: Arc::new(common_labels),
            common_annotations: Arc::new(common_annotations),
            route_labels: Arc::new(Kv::default()),
            external_url: Arc::from(external_url),
        }
    }

    /// Parses Data from JSON in upstream's webhook/amtool layout
    /// (`receiver`, `status`, `alerts`, `groupLabels`, ...).
    pub fn from_json(text: &str) -> Result<Data, String> {
        let raw: RawData = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let kv = |m: Option<BTreeMap<String, String>>| {
            Arc::new(m.unwrap_or_default().into_iter().collect::<Kv>())
        };
        let time = |s: Option<String>| -> Result<Arc<GoTime>, String> {
            match s {
                Some(s) => gotime::parse_rfc3339(&s).map(Arc::new),
                None => Ok(Arc::new(GoTime::zero())),
            }
        };
        let mut alerts = Vec::new();
        for a in raw.alerts.unwrap_or_default() {
            alerts.push(Arc::new(Alert {
                status: Arc::from(a.status.unwrap_or_default()),
                labels: kv(a.labels),
                annotations: kv(a.annotations),
                starts_at: time(a.starts_at)?,
                ends_at: time(a.ends_at)?,
                generator_url: Arc::from(a.generator_url.unwrap_or_default()),
                fingerprint: Arc::from(a.fingerprint.unwrap_or_default()),
            }));
        }
        Ok(Data {
            receiver: Arc::from(raw.receiver.unwrap_or_default()),
            status: Arc::from(raw.status.unwrap_or_default()),
            alerts: Arc::new(alerts),
            notification_reason: Arc::from(raw.notification_reason.unwrap_or_default()),
            group_labels: kv(raw.group_labels),
            common_labels: kv(raw.common_labels),
            common_annotations: kv(raw.common_annotations),
            route_labels: kv(raw.route_labels),
            external_url: Arc::from(raw.external_url.unwrap_or_default()),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    status: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawData {
    receiver: Option<String>,
    status: Option<String>,
    alerts: Option<Vec<RawAlert>>,
    #[serde(rename = "notification_reason")]
    notification_reason: Option<String>,
    group_labels: Option<BTreeMap<String, String>>,
    common_labels: Option<BTreeMap<String, String>>,
    common_annotations: Option<BTreeMap<String, String>>,
    route_labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "externalURL")]
    external_url: Option<String>,
}

/// Field names of each struct type, in declaration order (for printing).
pub(crate) fn struct_fields(v: &Value) -> &'static [&'static str] {
    match v {
        Value::Data(_) => &[
            "Receiver",
            "Status",
            "Alerts",
            "NotificationReason",
            "GroupLabels",
            "CommonLabels",
            "CommonAnnotations",
            "RouteLabels",
            "ExternalURL",
        ],
        Value::Alert(_) => &[
            "Status",
            "Labels",
            "Annotations",
            "StartsAt",
            "EndsAt",
            "GeneratorURL",
            "Fingerprint",
        ],
        Value::Pair(..) => &["Name", "Value"],
        _ => &[],
    }
}

/// A struct field of `v`, if `v` is a struct with that field.
pub(crate) fn field(v: &Value, name: &str) -> Option<Value> {
    Some(match v {
        Value::Data(d) => match name {
            "Receiver" => Value::Str(d.receiver.clone()),
            "Status" => Value::Str(d.status.clone()),
            "Alerts" => Value::Alerts(d.alerts.clone(), AlertListKind::Alerts),
            "NotificationReason" => Value::Str(d.notification_reason.clone()),
            "GroupLabels" => Value::Kv(d.group_labels.clone()),
            "CommonLabels" => Value::Kv(d.common_labels.clone()),
            "CommonAnnotations" => Value::Kv(d.common_annotations.clone()),
            "RouteLabels" => Value::Kv(d.route_labels.clone()),
            "ExternalURL" => Value::Str(d.external_url.clone()),
            _ => return None,
        },
        Value::Alert(a) => match name {
            "Status" => Value::Str(a.status.clone()),
            "Labels" => Value::Kv(a.labels.clone()),
            "Annotations" => Value::Kv(a.annotations.clone()),
            "StartsAt" => Value::Time(a.starts_at.clone()),
            "EndsAt" => Value::Time(a.ends_at.clone()),
            "GeneratorURL" => Value::Str(a.generator_url.clone()),
            "Fingerprint" => Value::Str(a.fingerprint.clone()),
            _ => return None,
        },
        Value::Pair(p, i) => {
            let (k, val) = p.get(*i)?;
            match name {
                "Name" => Value::Str(k.clone()),
                "Value" => Value::Str(val.clone()),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Number of parameters of a method (variadic methods are not used here).
pub(crate) fn method_arity(v: &Value, name: &str) -> Option<usize> {
    Some(match (v, name) {
        (Value::Alerts(_, AlertListKind::Alerts), "Firing" | "Resolved") => 0,
        (Value::Kv(_), "SortedPairs" | "Names" | "Values" | "String") => 0,
        (Value::Kv(_), "Remove") => 1,
        (Value::Pairs(_), "Names" | "Values" | "String") => 0,
        (Value::StrList(_, StrListKind::Strings), "Join") => 1,
        (
            Value::Time(_),
            "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "UTC" | "Local" | "String" | "IsZero"
            | "Year" | "Month" | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "Weekday"
            | "YearDay",
        ) => 0,
        (Value::Time(_), "Format" | "Add" | "Sub" | "Before" | "After" | "Equal") => 1,
        (
            Value::Duration(_),
            "String" | "Hours" | "Minutes" | "Seconds" | "Milliseconds" | "Microseconds"
            | "Nanoseconds",
        ) => 0,
        (Value::Duration(_), "Round" | "Truncate") => 1,
        (Value::Month(_) | Value::Weekday(_), "String") => 0,
        _ => return None,
    })
}

/// Go type names of a method's parameters, for argument checks.
pub(crate) fn method_params(v: &Value, name: &str) -> &'static [&'static str] {
    match (v, name) {
        (Value::Kv(_), "Remove") => &["[]string"],
        (Value::StrList(..), "Join") | (Value::Time(_), "Format") => &["string"],
        (Value::Time(_), "Add") | (Value::Duration(_), _) => &["time.Duration"],
        (Value::Time(_), _) => &["time.Time"],
        _ => &[],
    }
}

fn strings(v: Vec<Arc<str>>) -> Value {
    Value::StrList(Arc::new(v), StrListKind::Strings)
}

/// Calls a method whose arguments have already been checked against
/// [`method_params`].
pub(crate) fn call_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    let arg_str = || {
        args.first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let arg_int = || args.first().and_then(Value::as_int).unwrap_or(0);
    let arg_time = || match args.first() {
        Some(Value::Time(t)) => Ok(t.clone()),
        _ => Err("expected time.Time".to_string()),
    };
    Ok(match (v, name) {
        (Value::Alerts(a, _), "Firing" | "Resolved") => {
            let want = if name == "Firing" {
                "firing"
            } else {
                "resolved"
            };
            Value::Alerts(
                Arc::new(
                    a.iter()
                        .filter(|x| x.status.as_ref() == want)
                        .cloned()
                        .collect(),
                ),
                AlertListKind::Plain,
            )
        }
        (Value::Kv(kv), "SortedPairs") => Value::Pairs(Arc::new(kv.sorted_pairs())),
        (Value::Kv(kv), "Names") => strings(kv.sorted_pairs().into_iter().map(|p| p.0).collect()),
        (Value::Kv(kv), "Values") => strings(kv.sorted_pairs().into_iter().map(|p| p.1).collect()),
        (Value::Kv(kv), "String") => Value::from(pairs_string(&kv.sorted_pairs())),
        (Value::Kv(kv), "Remove") => {
            let names: Vec<Arc<str>> = match args.first() {
                Some(Value::StrList(l, _)) => l.to_vec(),
                _ => Vec::new(),
            };
            Value::Kv(Arc::new(kv.remove(&names)))
        }
        (Value::Pairs(p), "Names") => strings(p.iter().map(|x| x.0.clone()).collect()),
        (Value::Pairs(p), "Values") => strings(p.iter().map(|x| x.1.clone()).collect()),
        (Value::Pairs(p), "String") => Value::from(pairs_string(p)),
        (Value::StrList(l, _), "Join") => {
            let sep = arg_str();
            Value::from(l.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(&sep))
        }
        (Value::Time(t), _) => time_method(t, name, args, arg_str, arg_int, arg_time)?,
        (Value::Duration(d), _) => {
            let d = *d;
            match name {
                "String" => Value::from(gotime::duration_string(d)),
                "Hours" => Value::Float(d as f64 / 3.6e12),
                "Minutes" => Value::Float(d as f64 / 6e10),
                "Seconds" => Value::Float(d as f64 / 1e9),
                "Milliseconds" => Value::Int(d / 1_000_000),
                "Microseconds" => Value::Int(d / 1_000),
                "Nanoseconds" => Value::Int(d),
                "Round" | "Truncate" => {
                    let m = arg_int();
                    if m <= 0 {
                        Value::Duration(d)
                    } else if name == "Truncate" {
                        Value::Duration(d - d % m)
                    } else {
                        let r = d % m;
                        let half = if r.abs() + r.abs() < m {
                            d - r
                        } else if d < 0 {
                            d - r - m
                        } else {
                            d - r + m
                        };
                        Value::Duration(half)
                    }
                }
                _ => return Err(format!("no method {name}")),
            }
        }
        (Value::Month(m), "String") => Value::from(gotime::month_name(*m)),
        (Value::Weekday(d), "String") => Value::from(gotime::weekday_name(*d)),
        _ => return Err(format!("no method {name}")),
    })
}

fn time_method(
    t: &Arc<GoTime>,
    name: &str,
    args: &[Value],
    arg_str: impl Fn() -> String,
    arg_int: impl Fn() -> i64,
    arg_time: impl Fn() -> Result<Arc<GoTime>, String>,
) -> Result<Value, String> {
    let _ = args;
    let z = t.civil();
    Ok(match name {
        "Format" => Value::from(t.format(&arg_str())),
        "Unix" => Value::Int(t.unix()),
        "UnixMilli" => Value::Int(t.unix_nano().div_euclid(1_000_000)),
        "UnixMicro" => Value::Int(t.unix_nano().div_euclid(1_000)),
        "UnixNano" => Value::Int(t.unix_nano()),
        "UTC" => Value::Time(Arc::new(t.to_utc())),
        "Local" => Value::Time(Arc::new(t.to_local())),
        "String" => Value::from(t.to_string()),
        "IsZero" => Value::Bool(t.is_zero()),
        "Year" => Value::Int(i64::from(z.year())),
        "Month" => Value::Month(u8::try_from(z.month()).unwrap_or(1)),
        "Day" => Value::Int(i64::from(z.day())),
        "Hour" => Value::Int(i64::from(z.hour())),
        "Minute" => Value::Int(i64::from(z.minute())),
        "Second" => Value::Int(i64::from(z.second())),
        "Nanosecond" => Value::Int(i64::from(z.subsec_nanosecond())),
        "Weekday" => Value::Weekday(z.weekday().to_sunday_zero_offset() as u8),
        "YearDay" => Value::Int(i64::from(z.day_of_year())),
        "Add" => Value::Time(Arc::new(t.add_nanos(arg_int()))),
        "Sub" => {
            let o = arg_time()?;
            Value::Duration(t.unix_nano().saturating_sub(o.unix_nano()))
        }
        "Before" => Value::Bool(t.timestamp() < arg_time()?.timestamp()),
        "After" => Value::Bool(t.timestamp() > arg_time()?.timestamp()),
        "Equal" => Value::Bool(t.timestamp() == arg_time()?.timestamp()),
        _ => return Err(format!("no method {name}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(p: &[(&str, &str)]) -> Kv {
        p.iter().copied().collect()
    }

    #[test]
    fn sorted_pairs_put_alertname_first() {
        let k = kv(&[("b", "2"), ("alertname", "X"), ("a", "1")]);
        let names: Vec<_> = k
            .sorted_pairs()
            .into_iter()
            .map(|p| p.0.to_string())
            .collect();
        assert_eq!(names, ["alertname", "a", "b"]);
        assert_eq!(pairs_string(&k.sorted_pairs()), "alertname=X, a=1, b=2");
        assert_eq!(k.remove(&[Arc::from("a")]).len(), 2);
    }

    #[test]
    fn data_new_computes_status_and_common_sets() {
        let t = Arc::new(GoTime::zero());
        let mk = |status: &str, labels: Kv| Alert {
            status: Arc::from(status),
            labels: Arc::new(labels),
            annotations: Arc::new(Kv::default()),
            starts_at: t.clone(),
            ends_at: t.clone(),
            generator_url: Arc::from(""),
            fingerprint: Arc::from(""),
        };
        let d = Data::new(
            "team.x",
            kv(&[("a", "1")]),
            vec![
                mk("resolved", kv(&[("a", "1"), ("b", "2")])),
                mk("firing", kv(&[("a", "1"), ("b", "3")])),
            ],
            "http://am",
            "",
        );
        assert_eq!(d.status.as_ref(), "firing");
        assert_eq!(d.receiver.as_ref(), "team\\.x");
        assert_eq!(*d.common_labels, kv(&[("a", "1")]));
    }
}
