//! Values seen by templates: Go's basic kinds, lists and maps, times, and
//! Alertmanager's typed data (`Data`, `Alert`, `KV`, ...) whose methods
//! templates call.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::data::{Alert, Data, Kv};
use super::gotime::GoTime;

/// Whether a string list is Go's `[]string` or Alertmanager's
/// `template.Strings` (which has a `Join` method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrListKind {
    /// `[]string` (from `stringSlice`).
    Plain,
    /// `template.Strings` (from `.Names` / `.Values`).
    Strings,
}

/// Whether an alert list is `template.Alerts` (with `Firing`/`Resolved`) or
/// a plain `[]template.Alert` (what those methods return).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertListKind {
    /// `template.Alerts`.
    Alerts,
    /// `[]template.Alert`.
    Plain,
}

/// A value a template works with.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Go's untyped nil / "no value".
    #[default]
    Nil,
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float64.
    Float(f64),
    /// A string.
    Str(Arc<str>),
    /// `html/template.HTML`: trusted HTML (from `safeHtml`).
    Html(Arc<str>),
    /// `html/template.URL`: trusted URL (from `safeUrl`).
    Url(Arc<str>),
    /// A `time.Time`.
    Time(Arc<GoTime>),
    /// A `time.Duration` in nanoseconds.
    Duration(i64),
    /// A `time.Month` (1 to 12).
    Month(u8),
    /// A `time.Weekday` (0 is Sunday).
    Weekday(u8),
    /// `[]interface{}`.
    List(Arc<Vec<Value>>),
    /// `[]string` or `template.Strings`.
    StrList(Arc<Vec<Arc<str>>>, StrListKind),
    /// `map[string]interface{}`; iterated in key order like Go does.
    Map(Arc<BTreeMap<Arc<str>, Value>>),
    /// `template.KV`: a label or annotation set.
    Kv(Arc<Kv>),
    /// `template.Pairs`.
    Pairs(Arc<Vec<(Arc<str>, Arc<str>)>>),
    /// One `template.Pair`: the list and the index in it.
    Pair(Arc<Vec<(Arc<str>, Arc<str>)>>, usize),
    /// `template.Alerts` or `[]template.Alert`.
    Alerts(Arc<Vec<Arc<Alert>>>, AlertListKind),
    /// One `template.Alert`.
    Alert(Arc<Alert>),
    /// `template.Data`, the root of notification templates.
    Data(Arc<Data>),
}

/// Go's reflect kind, as far as templates can tell values apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GoKind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
    Struct,
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub(crate) fn kind(&self) -> GoKind {
        match self {
            Value::Nil => GoKind::Invalid,
            Value::Bool(_) => GoKind::Bool,
            Value::Int(_) | Value::Duration(_) | Value::Month(_) | Value::Weekday(_) => GoKind::Int,
            Value::Float(_) => GoKind::Float,
            Value::Str(_) | Value::Html(_) | Value::Url(_) => GoKind::String,
            Value::List(_) | Value::StrList(..) | Value::Pairs(_) | Value::Alerts(..) => {
                GoKind::Slice
            }
            Value::Map(_) | Value::Kv(_) => GoKind::Map,
            Value::Time(_) | Value::Pair(..) | Value::Alert(_) | Value::Data(_) => GoKind::Struct,
        }
    }

    /// Go's type name, as error messages and `%T` print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::Url(_) => "template.URL",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
            Value::Month(_) => "time.Month",
            Value::Weekday(_) => "time.Weekday",
            Value::List(_) => "[]interface {}",
            Value::StrList(_, StrListKind::Plain) => "[]string",
            Value::StrList(_, StrListKind::Strings) => "template.Strings",
            Value::Map(_) => "map[string]interface {}",
            Value::Kv(_) => "template.KV",
            Value::Pairs(_) => "template.Pairs",
            Value::Pair(..) => "template.Pair",
            Value::Alerts(_, AlertListKind::Alerts) => "template.Alerts",
            Value::Alerts(_, AlertListKind::Plain) => "[]template.Alert",
            Value::Alert(_) => "template.Alert",
            Value::Data(_) => "template.Data",
        }
    }

    /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Duration(i) => *i != 0,
            Value::Month(i) | Value::Weekday(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Html(s) | Value::Url(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::StrList(l, _) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Kv(m) => !m.is_empty(),
            Value::Pairs(p) => !p.is_empty(),
            Value::Alerts(a, _) => !a.is_empty(),
            Value::Time(_) | Value::Pair(..) | Value::Alert(_) | Value::Data(_) => true,
        }
    }

    /// The string of a string-kind value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Html(s) | Value::Url(s) => Some(s),
            _ => None,
        }
    }

    /// The integer of an int-kind value.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Duration(i) => Some(*i),
            Value::Month(i) | Value::Weekday(i) => Some(i64::from(*i)),
            _ => None,
        }
    }

    /// Number of elements of a list or map, or bytes of a string.
    pub(crate) fn len(&self) -> Option<usize> {
        Some(match self {
            Value::Str(s) | Value::Html(s) | Value::Url(s) => s.len(),
            Value::List(l) => l.len(),
            Value::StrList(l, _) => l.len(),
            Value::Map(m) => m.len(),
            Value::Kv(m) => m.len(),
            Value::Pairs(p) => p.len(),
            Value::Alerts(a, _) => a.len(),
            _ => return None,
        })
    }

    /// Element `i` of a list (not strings), if in range.
    pub(crate) fn elem(&self, i: usize) -> Option<Value> {
        Some(match self {
            Value::List(l) => l.get(i)?.clone(),
            Value::StrList(l, _) => Value::Str(l.get(i)?.clone()),
            Value::Pairs(p) => {
                if i >= p.len() {
                    return None;
                }
                Value::Pair(p.clone(), i)
            }
            Value::Alerts(a, _) => Value::Alert(a.get(i)?.clone()),
            _ => return None,
        })
    }

    /// Looks up `key` in a map. `None` means the key is missing; the zero
    /// value of the map's element type is then `zero_elem`.
    pub(crate) fn map_get(&self, key: &str) -> Option<Value> {
        match self {
            Value::Map(m) => m.get(key).cloned(),
            Value::Kv(m) => m.get(key).map(|v| Value::Str(v.clone())),
            _ => None,
        }
    }

    /// Zero value of a map's element type (what a missing key yields).
    pub(crate) fn zero_elem(&self) -> Value {
        match self {
            Value::Kv(_) => Value::Str(Arc::from("")),
            _ => Value::Nil,
        }
    }

    /// Keys of a map, sorted.
    pub(crate) fn map_entries(&self) -> Vec<(Value, Value)> {
        match self {
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (Value::Str(k.clone()), v.clone()))
                .collect(),
            Value::Kv(m) => m
                .iter()
                .map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<Data> for Value {
    fn from(d: Data) -> Value {
        Value::Data(Arc::new(d))
    }
}

impl Value {
    /// Converts JSON into template values (objects become maps, numbers
    /// float64 as Go's `encoding/json` does).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => {
                Value::List(Arc::new(a.iter().map(Value::from_json).collect()))
            }
            serde_json::Value::Object(o) => Value::Map(Arc::new(
                o.iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), Value::from_json(v)))
                    .collect(),
            )),
        }
    }
}
