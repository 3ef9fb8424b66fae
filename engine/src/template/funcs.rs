//! Template functions: Go's builtins (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print`, `printf`, `println`, `html`, `js`, `urlquery`, `eq`,
//! `ne`, `lt`, `le`, `gt`, `ge`, `call`) and Alertmanager's (`toUpper`,
//! `join`, `reReplaceAll`, `safeHtml`, `date`, `humanizeDuration`, `toJson`,
//! `dict`, ...).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use super::data::{self, Kv};
use super::format::{self, float_g};
use super::gotime::{self, GoTime};
use super::value::{AlertListKind, GoKind, StrListKind, Value};

/// Per-execution context functions may read.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// Route labels for `routeLabels` (already rendered).
    pub route_labels: Option<Arc<Kv>>,
}

type Impl = fn(&Env, &[Value]) -> Result<Value, String>;

/// A function's signature (Go type names) and implementation.
#[derive(Clone, Copy)]
pub(crate) struct Func {
    pub params: &'static [&'static str],
    pub variadic: Option<&'static str>,
    pub call: Impl,
}

const fn f(params: &'static [&'static str], variadic: Option<&'static str>, call: Impl) -> Func {
    Func {
        params,
        variadic,
        call,
    }
}

/// Whether a function of that name exists.
pub(crate) fn exists(name: &str) -> bool {
    lookup(name).is_some()
}

const S: &[&str] = &["string"];
const A: &[&str] = &["any"];
const ANY: Option<&str> = Some("any");

/// The function named `name`.
pub(crate) fn lookup(name: &str) -> Option<Func> {
    Some(match name {
        // Go builtins.
        "and" | "or" => f(A, ANY, |_, a| Ok(a.first().cloned().unwrap_or_default())),
        "not" => f(A, None, |_, a| Ok(Value::Bool(!a[0].truthy()))),
        "len" => f(A, None, |_, a| builtin_len(&a[0])),
        "index" => f(A, ANY, |_, a| index(&a[0], &a[1..])),
        "slice" => f(A, ANY, |_, a| slice(&a[0], &a[1..])),
        "print" => f(&[], ANY, |_, a| Ok(Value::from(format::sprint(a)))),
        "println" => f(&[], ANY, |_, a| Ok(Value::from(format::sprintln(a)))),
        "printf" => f(S, ANY, |_, a| {
            Ok(Value::from(format::sprintf(
                a[0].as_str().unwrap_or(""),
                &a[1..],
            )))
        }),
        "html" => f(&[], ANY, |_, a| {
            Ok(Value::from(html_escape_text(&eval_args(a))))
        }),
        "js" => f(&[], ANY, |_, a| Ok(Value::from(js_escape(&eval_args(a))))),
        "urlquery" => f(&[], ANY, |_, a| {
            Ok(Value::from(query_escape(&eval_args(a))))
        }),
        "eq" => f(A, ANY, |_, a| eq(&a[0], &a[1..]).map(Value::Bool)),
        "ne" => f(&["any", "any"], None, |_, a| {
            eq(&a[0], &a[1..]).map(|b| Value::Bool(!b))
        }),
        "lt" => f(&["any", "any"], None, |_, a| {
            lt(&a[0], &a[1]).map(Value::Bool)
        }),
        "le" => f(&["any", "any"], None, |_, a| {
            Ok(Value::Bool(lt(&a[0], &a[1])? || eq(&a[0], &a[1..])?))
        }),
        "gt" => f(&["any", "any"], None, |_, a| {
            Ok(Value::Bool(!(lt(&a[0], &a[1])? || eq(&a[0], &a[1..])?)))
        }),
        "ge" => f(&["any", "any"], None, |_, a| {
            Ok(Value::Bool(!lt(&a[0], &a[1])?))
        }),
        "call" => f(A, ANY, |_, a| match &a[0] {
            Value::Nil => Err("call of nil".into()),
            v => Err(format!("non-function of type {}", v.type_name())),
        }),
        // Alertmanager's functions.
        "toUpper" => f(S, None, |_, a| Ok(Value::from(s(a, 0).to_uppercase()))),
        "toLower" => f(S, None, |_, a| Ok(Value::from(s(a, 0).to_lowercase()))),
        "title" => f(S, None, |_, a| Ok(Value::from(title(s(a, 0))))),
        "trimSpace" => f(S, None, |_, a| {
            Ok(Value::str(s(a, 0).trim_matches(is_go_space)))
        }),
        "join" => f(&["string", "[]string"], None, |_, a| {
            let sep = s(a, 0);
            match &a[1] {
                Value::StrList(l, _) => Ok(Value::from(
                    l.iter().map(|x| x.as_ref()).collect::<Vec<_>>().join(sep),
                )),
                _ => Ok(Value::str("")),
            }
        }),
        "match" => f(&["string", "string"], None, |_, a| {
            with_regex(s(a, 0), |re| Value::Bool(re.is_match(s(a, 1))))
        }),
        "reReplaceAll" => f(&["string", "string", "string"], None, |_, a| {
            with_regex(s(a, 0), |re| {
                Value::from(re.replace_all(s(a, 2), s(a, 1)).into_owned())
            })
        }),
        "safeHtml" => f(S, None, |_, a| Ok(Value::Html(Arc::from(s(a, 0))))),
        "safeUrl" => f(S, None, |_, a| Ok(Value::Url(Arc::from(s(a, 0))))),
        "urlUnescape" => f(S, None, |_, a| query_unescape(s(a, 0)).map(Value::from)),
        "stringSlice" => f(&[], Some("string"), |_, a| {
            Ok(Value::StrList(
                Arc::new(
                    a.iter()
                        .map(|v| Arc::from(v.as_str().unwrap_or("")))
                        .collect(),
                ),
                StrListKind::Plain,
            ))
        }),
        "routeLabels" => f(S, None, |env, a| {
            let v = env
                .route_labels
                .as_ref()
                .and_then(|kv| kv.get(s(a, 0)).cloned());
            Ok(Value::Str(v.unwrap_or_else(|| Arc::from(""))))
        }),
        "date" => f(&["string", "time.Time"], None, |_, a| {
            Ok(Value::from(time(a, 1).format(s(a, 0))))
        }),
        "tz" => f(&["string", "time.Time"], None, |_, a| {
            let name = s(a, 0);
            let zone = match name {
                "" | "UTC" => jiff::tz::TimeZone::UTC,
                "Local" => jiff::tz::TimeZone::system(),
                _ => jiff::tz::TimeZone::get(name)
                    .map_err(|_| format!("unknown time zone {name}"))?,
            };
            Ok(Value::Time(Arc::new(time(a, 1).in_zone(zone))))
        }),
        "now" => f(&[], None, |_, _| Ok(Value::Time(Arc::new(GoTime::now())))),
        "since" => f(&["time.Time"], None, |_, a| {
            let now = GoTime::now();
            Ok(Value::Duration(
                now.unix_nano().saturating_sub(time(a, 0).unix_nano()),
            ))
        }),
        "humanizeDuration" => f(A, None, |_, a| humanize_duration(&a[0]).map(Value::from)),
        "toDate" => f(&["string", "string"], None, |_, a| {
            Ok(Value::Time(Arc::new(
                gotime::parse(s(a, 0), s(a, 1)).unwrap_or_else(|_| GoTime::zero()),
            )))
        }),
        "mustToDate" => f(&["string", "string"], None, |_, a| {
            Ok(Value::Time(Arc::new(gotime::parse(s(a, 0), s(a, 1))?)))
        }),
        "toJson" => f(A, None, |_, a| {
            let mut out = String::new();
            to_json(&mut out, &a[0])?;
            Ok(Value::from(out))
        }),
        "base64encode" => f(S, None, |_, a| {
            Ok(Value::from(base64_encode(s(a, 0).as_bytes())))
        }),
        "base64decode" => f(S, None, |_, a| {
            let b = base64_decode(s(a, 0))?;
            Ok(Value::from(String::from_utf8_lossy(&b).into_owned()))
        }),
        "list" => f(&[], ANY, |_, a| Ok(Value::List(Arc::new(a.to_vec())))),
        "append" => f(&["[]any"], ANY, |_, a| {
            let mut l = match &a[0] {
                Value::List(l) => l.as_ref().clone(),
                _ => Vec::new(),
            };
            l.extend_from_slice(&a[1..]);
            Ok(Value::List(Arc::new(l)))
        }),
        "dict" => f(&[], ANY, |_, a| {
            if a.len() % 2 != 0 {
                return Err("dict requires an even number of arguments".into());
            }
            let mut m = BTreeMap::new();
            for kv in a.chunks(2) {
                let Value::Str(k) = &kv[0] else {
                    return Err("dict keys must be strings".into());
                };
                m.insert(k.clone(), kv[1].clone());
            }
            Ok(Value::Map(Arc::new(m)))
        }),
        _ => return None,
    })
}

fn s(a: &[Value], i: usize) -> &str {
    a.get(i).and_then(Value::as_str).unwrap_or("")
}

fn time(a: &[Value], i: usize) -> GoTime {
    match a.get(i) {
        Some(Value::Time(t)) => (**t).clone(),
        _ => GoTime::zero(),
    }
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Whether `v` can be passed where Go expects type `ty`.
pub(crate) fn assignable(v: &Value, ty: &str) -> bool {
    match ty {
        "any" => true,
        "string" => matches!(v, Value::Str(_)),
        "[]string" => matches!(v, Value::StrList(..)),
        "[]any" => matches!(v, Value::List(_)),
        "time.Time" => matches!(v, Value::Time(_)),
        "time.Duration" => matches!(v, Value::Duration(_) | Value::Int(_)),
        "int" => matches!(v, Value::Int(_)),
        "bool" => matches!(v, Value::Bool(_)),
        _ => false,
    }
}

/// Whether Go's untyped nil can be passed as `ty`.
pub(crate) fn can_be_nil(ty: &str) -> bool {
    matches!(ty, "any" | "[]string" | "[]any")
}

/// Go's message for an argument of the wrong type.
pub(crate) fn wrong_type(v: &Value, ty: &str) -> String {
    if let Value::Nil = v {
        return format!("invalid value; expected {ty}");
    }
    format!("wrong type for value; expected {ty}; got {}", v.type_name())
}

fn builtin_len(v: &Value) -> Result<Value, String> {
    match v {
        Value::Nil => Err("len of nil pointer".into()),
        v => match v.len() {
            Some(n) => Ok(Value::Int(n as i64)),
            None => Err(format!("len of type {}", v.type_name())),
        },
    }
}

fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x = match i {
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        v => match v.as_int() {
            Some(x) => x,
            None => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    v.type_name()
                ));
            }
        },
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if let Value::Nil = item {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for idx in indexes {
        item = match item.kind() {
            GoKind::Slice | GoKind::String => {
                let len = item.len().unwrap_or(0);
                let x = index_arg(idx, len)?;
                if x == len {
                    return Err(if item.kind() == GoKind::String {
                        "reflect: string index out of range".into()
                    } else {
                        "reflect: slice index out of range".into()
                    });
                }
                match item.as_str() {
                    Some(s) => Value::Int(i64::from(s.as_bytes()[x])),
                    None => item.elem(x).unwrap_or_default(),
                }
            }
            GoKind::Map => {
                let key = match idx {
                    Value::Str(k) => k.clone(),
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    v => {
                        return Err(format!(
                            "value has type {}; should be string",
                            v.type_name()
                        ));
                    }
                };
                item.map_get(&key).unwrap_or_else(|| item.zero_elem())
            }
            GoKind::Invalid => return Err("index of untyped nil".into()),
            _ => return Err(format!("can't index item of type {}", item.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if let Value::Nil = item {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item.kind() {
        GoKind::String => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            item.len().unwrap_or(0)
        }
        GoKind::Slice => item.len().unwrap_or(0),
        _ => return Err(format!("can't slice item of type {}", item.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, x) in indexes.iter().enumerate() {
        idx[i] = index_arg(x, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (a, b) = (idx[0], idx[1]);
    Ok(match item {
        Value::Str(s) | Value::Html(s) | Value::Url(s) => {
            let bytes = &s.as_bytes()[a..b];
            let sub = Value::from(String::from_utf8_lossy(bytes).into_owned());
            match item {
                Value::Html(_) => Value::Html(Arc::from(sub.as_str().unwrap_or(""))),
                Value::Url(_) => Value::Url(Arc::from(sub.as_str().unwrap_or(""))),
                _ => sub,
            }
        }
        Value::List(l) => Value::List(Arc::new(l[a..b].to_vec())),
        Value::StrList(l, k) => Value::StrList(Arc::new(l[a..b].to_vec()), *k),
        Value::Pairs(p) => Value::Pairs(Arc::new(p[a..b].to_vec())),
        Value::Alerts(al, k) => Value::Alerts(Arc::new(al[a..b].to_vec()), *k),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Basic {
    Bool,
    Int,
    Float,
    Str,
    Invalid,
}

fn basic(v: &Value) -> Basic {
    match v.kind() {
        GoKind::Bool => Basic::Bool,
        GoKind::Int => Basic::Int,
        GoKind::Float => Basic::Float,
        GoKind::String => Basic::Str,
        _ => Basic::Invalid,
    }
}

fn comparable(v: &Value) -> bool {
    matches!(v, Value::Time(_) | Value::Pair(..))
}

fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic(a);
    for b in rest {
        let k2 = basic(b);
        let truth = if k1 != k2 {
            if !matches!(a, Value::Nil) && !matches!(b, Value::Nil) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                ));
            }
            false
        } else {
            match k1 {
                Basic::Bool => a.truthy() == b.truthy(),
                Basic::Int => a.as_int() == b.as_int(),
                Basic::Float => matches!((a, b), (Value::Float(x), Value::Float(y)) if x == y),
                Basic::Str => a.as_str() == b.as_str(),
                Basic::Invalid => {
                    let (an, bn) = (matches!(a, Value::Nil), matches!(b, Value::Nil));
                    if !an && !bn && a.kind() != b.kind() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            show(a),
                            a.type_name(),
                            b.type_name(),
                            show(b)
                        ));
                    }
                    if an || bn {
                        an == bn
                    } else if !comparable(b) || !comparable(a) {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            show(b),
                            b.type_name()
                        ));
                    } else {
                        match (a, b) {
                            (Value::Time(x), Value::Time(y)) => x == y,
                            (Value::Pair(p, i), Value::Pair(q, j)) => p.get(*i) == q.get(*j),
                            _ => false,
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn show(v: &Value) -> String {
    let mut s = String::new();
    format::print_value(&mut s, v);
    s
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (basic(a), basic(b));
    if k1 == Basic::Invalid || k2 == Basic::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match k1 {
        Basic::Int => a.as_int() < b.as_int(),
        Basic::Float => match (a, b) {
            (Value::Float(x), Value::Float(y)) => x < y,
            _ => false,
        },
        Basic::Str => a.as_str() < b.as_str(),
        _ => return Err("invalid type for comparison".into()),
    })
}

/// Go's `evalArgs`: one string as is, anything else through `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    let mapped: Vec<Value> = a
        .iter()
        .map(|v| match v {
            Value::Nil => Value::str("<no value>"),
            v => v.clone(),
        })
        .collect();
    format::sprint(&mapped)
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if !c.is_ascii() && (c.is_control() || c == '\u{2028}' || c == '\u{2029}') => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's `url.QueryUnescape`.
fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) if b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                        out.push(v)
                    }
                    _ => {
                        let bad: String = s[i..].chars().take(3).collect();
                        return Err(format!("invalid URL escape {}", format::go_quote(&bad)));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `cases.Title`: the first cased letter of each word upper case, the rest
/// lower case. Words follow Unicode word boundaries closely enough for
/// labels: letters, digits and `_` join, `'` `.` `:` join between letters.
fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    let mut seen_cased = false;
    for (i, &c) in chars.iter().enumerate() {
        let word_char = c.is_alphanumeric() || c == '_';
        let joiner = matches!(c, '\'' | '.' | ':' | '\u{2019}' | '\u{b7}')
            && in_word
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        let num_joiner = matches!(c, ',' | '.' | ';')
            && in_word
            && i > 0
            && chars[i - 1].is_numeric()
            && chars.get(i + 1).is_some_and(|n| n.is_numeric());
        if word_char || joiner || num_joiner {
            if !in_word {
                in_word = true;
                seen_cased = false;
            }
            if c.is_alphabetic() && (c.is_uppercase() || c.is_lowercase()) {
                if seen_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                    seen_cased = true;
                }
            } else {
                out.push(c);
            }
        } else {
            in_word = false;
            out.push(c);
        }
    }
    out
}

fn humanize_duration(v: &Value) -> Result<String, String> {
    let v = match v {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::Duration(d) => *d as f64 / 1e9,
        Value::Str(s) => s.trim().parse::<f64>().map_err(|_| {
            format!(
                "strconv.ParseFloat: parsing {}: invalid syntax",
                format::go_quote(s)
            )
        })?,
        other => return Err(format!("can't convert {} to float", other.type_name())),
    };
    if !v.is_finite() {
        return Ok(float_g(v, Some(4), false));
    }
    if v == 0.0 {
        return Ok(format!("{}s", float_g(v, Some(4), false)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return Ok(format!("{sign}{days}d {hours}h {mins}m {secs}s"));
        }
        if hours != 0 {
            return Ok(format!("{sign}{hours}h {mins}m {secs}s"));
        }
        if mins != 0 {
            return Ok(format!("{sign}{mins}m {secs}s"));
        }
        return Ok(format!("{sign}{}s", float_g(v, Some(4), false)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    Ok(format!("{}{prefix}s", float_g(v, Some(4), false)))
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Result<regex::Regex, String>>> = RefCell::new(HashMap::new());
}

/// Runs `f` with the compiled Go regular expression `pattern` (cached per
/// thread, so templates that run for every notification compile once).
fn with_regex(pattern: &str, f: impl FnOnce(&regex::Regex) -> Value) -> Result<Value, String> {
    REGEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if !c.contains_key(pattern) {
            if c.len() > 256 {
                c.clear();
            }
            let re = compile_regex(pattern);
            c.insert(pattern.to_string(), re);
        }
        match c.get(pattern) {
            Some(Ok(re)) => Ok(f(re)),
            Some(Err(e)) => Err(e.clone()),
            None => Err("regexp cache".into()),
        }
    })
}

/// Compiles a template's Go pattern (with its capture groups) on a thread with a large
/// stack, so deep nesting is an error or a regex, never a stack overflow.
fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    let translated = translate_go_regex(pattern);
    crate::config::matcher::on_large_stack(|| regex::RegexBuilder::new(&translated).build())
        .map_err(|e| format!("error parsing regexp: {e}"))?
        .map_err(|e| {
            format!(
                "error parsing regexp: {}",
                e.to_string().lines().last().unwrap_or("invalid")
            )
        })
}

/// Go's RE2 classes `\d \w \s \b` are ASCII; Rust's are Unicode.
fn translate_go_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                Some('D') => out.push_str(if in_class { "\\D" } else { "[^0-9]" }),
                Some('w') => out.push_str(if in_class {
                    "0-9A-Za-z_"
                } else {
                    "[0-9A-Za-z_]"
                }),
                Some('W') => out.push_str(if in_class { "\\W" } else { "[^0-9A-Za-z_]" }),
                Some('s') => out.push_str(if in_class {
                    "\\t\\n\\f\\r "
                } else {
                    "[\\t\\n\\f\\r ]"
                }),
                Some('S') => out.push_str(if in_class { "\\S" } else { "[^\\t\\n\\f\\r ]" }),
                Some('b') if !in_class => out.push_str("(?-u:\\b)"),
                Some('B') if !in_class => out.push_str("(?-u:\\B)"),
                Some('z') => out.push_str("\\z"),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `]` or `^]` is literal.
                let rest = chars.as_str();
                if let Some(r) = rest.strip_prefix("^]") {
                    out.push_str("^\\]");
                    chars = r.chars();
                } else if let Some(r) = rest.strip_prefix(']') {
                    out.push_str("\\]");
                    chars = r.chars();
                } else if let Some(r) = rest.strip_prefix('^') {
                    out.push('^');
                    chars = r.chars();
                }
            }
            '[' if in_class => {
                if chars.as_str().starts_with(':') {
                    out.push('[');
                    let rest = chars.as_str();
                    if let Some(end) = rest.find(":]") {
                        out.push_str(&rest[..end + 2]);
                        chars = rest[end + 2..].chars();
                    }
                } else {
                    out.push_str("\\[");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `encoding/json` string escaping (HTML-safe).
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_float(out: &mut String, f: f64) -> Result<(), String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            float_g(f, None, false)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go writes exponents without leading zeros: 1e-07 is "1e-7".
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i64 = e.parse().unwrap_or(0);
        let _ = write!(out, "{m}e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    } else {
        let _ = write!(out, "{f}");
    }
    Ok(())
}

fn json_kv(out: &mut String, kv: &Kv) {
    out.push('{');
    for (i, (k, v)) in kv.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, k);
        out.push(':');
        json_string(out, v);
    }
    out.push('}');
}

/// Go's `json.Marshal` of a template value.
pub(crate) fn to_json(out: &mut String, v: &Value) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Duration(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Month(i) | Value::Weekday(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => json_float(out, *f)?,
        Value::Str(s) | Value::Html(s) | Value::Url(s) => json_string(out, s),
        Value::Time(t) => json_string(out, &t.format("2006-01-02T15:04:05.999999999Z07:00")),
        Value::Kv(kv) => json_kv(out, kv),
        Value::List(_) | Value::StrList(..) | Value::Pairs(_) | Value::Alerts(..) => {
            out.push('[');
            for i in 0..v.len().unwrap_or(0) {
                if i > 0 {
                    out.push(',');
                }
                to_json(out, &v.elem(i).unwrap_or_default())?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                to_json(out, val)?;
            }
            out.push('}');
        }
        Value::Pair(..) => {
            out.push_str("{\"Name\":");
            to_json(out, &data::field(v, "Name").unwrap_or_default())?;
            out.push_str(",\"Value\":");
            to_json(out, &data::field(v, "Value").unwrap_or_default())?;
            out.push('}');
        }
        Value::Alert(a) => {
            out.push_str("{\"status\":");
            json_string(out, &a.status);
            out.push_str(",\"labels\":");
            json_kv(out, &a.labels);
            out.push_str(",\"annotations\":");
            json_kv(out, &a.annotations);
            out.push_str(",\"startsAt\":");
            to_json(out, &Value::Time(a.starts_at.clone()))?;
            out.push_str(",\"endsAt\":");
            to_json(out, &Value::Time(a.ends_at.clone()))?;
            out.push_str(",\"generatorURL\":");
            json_string(out, &a.generator_url);
            out.push_str(",\"fingerprint\":");
            json_string(out, &a.fingerprint);
            out.push('}');
        }
        Value::Data(d) => {
            out.push_str("{\"receiver\":");
            json_string(out, &d.receiver);
            out.push_str(",\"status\":");
            json_string(out, &d.status);
            out.push_str(",\"alerts\":");
            to_json(out, &Value::Alerts(d.alerts.clone(), AlertListKind::Alerts))?;
            out.push_str(",\"notification_reason\":");
            json_string(out, &d.notification_reason);
            out.push_str(",\"groupLabels\":");
            json_kv(out, &d.group_labels);
            out.push_str(",\"commonLabels\":");
            json_kv(out, &d.common_labels);
            out.push_str(",\"commonAnnotations\":");
            json_kv(out, &d.common_annotations);
            out.push_str(",\"routeLabels\":");
            if d.route_labels.is_empty() {
                out.push_str("null");
            } else {
                json_kv(out, &d.route_labels);
            }
            out.push_str(",\"externalURL\":");
            json_string(out, &d.external_url);
            out.push('}');
        }
    }
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet and padding (Go's `base64.URLEncoding`).
fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim_end_matches(['\r', '\n']);
    let b: Vec<u8> = s.bytes().filter(|c| *c != b'\r' && *c != b'\n').collect();
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let bad = |i: usize| format!("illegal base64 data at input byte {i}");
    if !b.len().is_multiple_of(4) {
        return Err(bad(b.len() / 4 * 4));
    }
    for (ci, chunk) in b.chunks(4).enumerate() {
        let mut v = 0u32;
        let mut pad = 0;
        for (j, &c) in chunk.iter().enumerate() {
            let d = if c == b'=' {
                if j < 2 {
                    return Err(bad(ci * 4 + j));
                }
                pad += 1;
                0
            } else {
                if pad > 0 {
                    return Err(bad(ci * 4 + j));
                }
                B64.iter()
                    .position(|x| *x == c)
                    .ok_or_else(|| bad(ci * 4 + j))? as u32
            };
            v = (v << 6) | d;
        }
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_like_x_text() {
        assert_eq!(
            title("hELLO wORLD foo-bar baz_qux o'neil 3rd x.y émile"),
            "Hello World Foo-Bar Baz_qux O'neil 3Rd X.y Émile"
        );
    }

    #[test]
    fn json_numbers_like_go() {
        let mut out = String::from("\"e-0\",");
        to_json(
            &mut out,
            &Value::List(Arc::new(vec![
                Value::Float(1e-7),
                Value::Float(1e22),
                Value::Float(2.5),
                Value::Int(3),
            ])),
        )
        .unwrap();
        assert_eq!(out, "\"e-0\",[1e-7,1e+22,2.5,3]");
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_encode(b"hi?>"), "aGk_Pg==");
        assert_eq!(base64_decode("aGk_Pg==").unwrap(), b"hi?>");
        assert_eq!(
            base64_decode("a").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
    }

    #[test]
    fn humanize_like_prometheus() {
        assert_eq!(humanize_duration(&Value::Float(0.0)).unwrap(), "0s");
        assert_eq!(humanize_duration(&Value::Float(1.5)).unwrap(), "1.5s");
        assert_eq!(humanize_duration(&Value::Int(3723)).unwrap(), "1h 2m 3s");
        assert_eq!(
            humanize_duration(&Value::Int(90061)).unwrap(),
            "1d 1h 1m 1s"
        );
        assert_eq!(humanize_duration(&Value::Float(0.0012)).unwrap(), "1.2ms");
        assert_eq!(humanize_duration(&Value::str("65")).unwrap(), "1m 5s");
    }

    #[test]
    fn go_regex_classes_are_ascii() {
        let re = regex::Regex::new(&translate_go_regex(r"^\w+\d$")).unwrap();
        assert!(re.is_match("ab1"));
        assert!(!re.is_match("é1"));
        let re = regex::Regex::new(&translate_go_regex(r"[\d.]+")).unwrap();
        assert!(re.is_match("1.5"));
    }

    #[test]
    fn deeply_nested_regexes_are_compiled_without_overflowing_the_stack() {
        // 120 nested repeated groups (240 levels, under the regex crate's limit of 250),
        // like the input the template fuzzer grew: compiled on the helper thread with a
        // large stack, not on the caller's (2 MiB in tests); deeper is an error.
        let deep = format!("{}a{}", "(?:".repeat(120), ")*".repeat(120));
        assert!(compile_regex(&deep).unwrap().is_match("aaa"));
        let deeper = format!("{}a{}", "(".repeat(400), ")".repeat(400));
        let e = compile_regex(&deeper).unwrap_err();
        assert!(e.starts_with("error parsing regexp:"), "{e}");
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape_text("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
        );
        assert_eq!(
            js_escape("a'b\"<=>\n"),
            "a\\'b\\\"\\u003C\\u003D\\u003E\\u000A"
        );
        assert_eq!(query_escape("a b&c/é"), "a+b%26c%2F%C3%A9");
        assert_eq!(query_unescape("a+b%26").unwrap(), "a b&");
        assert!(query_unescape("%zz").is_err());
    }
}
