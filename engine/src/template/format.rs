//! Go's `fmt` as templates use it: `print`, `println`, `printf` verbs and
//! flags, default value printing (`%v`), and `strconv` quoting.

use std::fmt::Write as _;

use super::data::{self, pairs_string};
use super::gotime;
use super::value::Value;

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        quote_char(&mut out, c, '"', false);
    }
    out.push('"');
    out
}

fn quote_char(out: &mut String, c: char, quote: char, ascii_only: bool) {
    match c {
        c if c == quote || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c.is_ascii() || !ascii_only) && is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// An approximation of Go's `strconv.IsPrint`.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c as u32, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff))
}

/// Go's `%#U` of a rune: `U+0041 'A'`.
pub(crate) fn go_unicode(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Go's `strconv.Unquote` for `"..."`, `` `...` `` and `'...'` literals.
pub(crate) fn go_unquote(s: &str) -> Option<String> {
    let first = s.chars().next()?;
    if s.len() < 2 || !s.ends_with(first) {
        return None;
    }
    let body = &s[1..s.len() - 1];
    match first {
        '`' => {
            if body.contains('`') {
                return None;
            }
            Some(body.replace('\r', ""))
        }
        '"' | '\'' => {
            let mut out = String::with_capacity(body.len());
            let mut it = body.chars().peekable();
            let mut bytes: Vec<u8> = Vec::new();
            while let Some(c) = it.next() {
                if c == first && first == '"' {
                    return None;
                }
                if c == '\n' {
                    return None;
                }
                if c != '\\' {
                    flush_bytes(&mut out, &mut bytes)?;
                    out.push(c);
                    continue;
                }
                let e = it.next()?;
                let hex =
                    |it: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| -> Option<u32> {
                        let mut v = 0u32;
                        for _ in 0..n {
                            v = v * 16 + it.next()?.to_digit(16)?;
                        }
                        Some(v)
                    };
                if e != 'x' && !e.is_digit(8) {
                    flush_bytes(&mut out, &mut bytes)?;
                }
                match e {
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '\'' if first == '\'' => out.push('\''),
                    '"' if first == '"' => out.push('"'),
                    'x' => {
                        bytes.push(u8::try_from(hex(&mut it, 2)?).ok()?);
                        continue;
                    }
                    'u' => out.push(char::from_u32(hex(&mut it, 4)?)?),
                    'U' => out.push(char::from_u32(hex(&mut it, 8)?)?),
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + it.next()?.to_digit(8)?;
                        }
                        bytes.push(u8::try_from(v).ok()?);
                        continue;
                    }
                    _ => return None,
                }
            }
            flush_bytes(&mut out, &mut bytes)?;
            if first == '\'' && out.chars().count() != 1 {
                return None;
            }
            Some(out)
        }
        _ => None,
    }
}

fn flush_bytes(out: &mut String, bytes: &mut Vec<u8>) -> Option<()> {
    if !bytes.is_empty() {
        out.push_str(&String::from_utf8_lossy(bytes));
        bytes.clear();
    }
    Some(())
}

/// Shortest float formatting with Go's `%v`/`%g` rules.
pub(crate) fn float_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let (digits, exp) = match prec {
        None => {
            let s = format!("{:e}", f.abs());
            split_e(&s)
        }
        Some(p) => {
            let p = p.max(1);
            let s = format!("{:.*e}", p - 1, f.abs());
            let (d, e) = split_e(&s);
            (d.trim_end_matches('0').to_string(), e)
        }
    };
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    let eprec = match prec {
        None => {
            if 6 > digits.len() && digits.len() as i64 > exp {
                digits.len() as i64
            } else {
                6
            }
        }
        Some(p) => {
            let p = p.max(1) as i64;
            if p > digits.len() as i64 && digits.len() as i64 > exp {
                digits.len() as i64
            } else {
                p
            }
        }
    };
    let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push(if upper { 'E' } else { 'e' });
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Splits Rust's `1.2345e3` into digits `12345` and exponent 3.
fn split_e(s: &str) -> (String, i64) {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = m.chars().filter(|c| *c != '.').collect();
    (digits, e.parse().unwrap_or(0))
}

fn float_e(f: f64, prec: usize, upper: bool) -> String {
    if !f.is_finite() {
        return float_g(f, None, upper);
    }
    let s = format!("{:.*e}", prec, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i64 = e.parse().unwrap_or(0);
    format!(
        "{m}{}{}{:02}",
        if upper { 'E' } else { 'e' },
        if e < 0 { '-' } else { '+' },
        e.abs()
    )
}

/// A parsed printf directive.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    verb: char,
}

impl Spec {
    fn plain(verb: char) -> Spec {
        Spec {
            verb,
            ..Spec::default()
        }
    }
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let n = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Pads a number, putting zero padding after the sign.
fn pad_num(out: &mut String, s: &str, spec: &Spec) {
    if spec.zero && !spec.minus && spec.width.is_some() {
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+' | b'-' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        let w = spec.width.unwrap_or(0);
        let n = s.chars().count();
        out.push_str(sign);
        if n < w {
            out.extend(std::iter::repeat_n('0', w - n));
        }
        out.push_str(rest);
        return;
    }
    let spec = Spec {
        zero: false,
        ..*spec
    };
    pad(out, s, &spec);
}

fn fmt_int(out: &mut String, i: i64, spec: &Spec) -> bool {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match spec.verb {
        'd' | 'v' => u.to_string(),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'o' | 'O' => format!("{u:o}"),
        'b' => format!("{u:b}"),
        'c' => {
            let c = char::from_u32(u32::try_from(i).unwrap_or(0xFFFD)).unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec);
            return true;
        }
        'q' => {
            let c = char::from_u32(u32::try_from(i).unwrap_or(0xFFFD)).unwrap_or('\u{FFFD}');
            let mut s = String::from('\'');
            quote_char(&mut s, c, '\'', spec.plus);
            s.push('\'');
            pad(out, &s, spec);
            return true;
        }
        'U' => {
            let s = format!("U+{u:04X}");
            pad(out, &s, spec);
            return true;
        }
        _ => return false,
    };
    if let Some(p) = spec.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match (spec.sharp, spec.verb) {
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        (true, 'o') if !digits.starts_with('0') => "0",
        (_, 'O') => "0o",
        (true, 'b') => "0b",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    if spec.prec.is_some() {
        pad(
            out,
            &s,
            &Spec {
                zero: false,
                ..*spec
            },
        );
    } else {
        pad_num(out, &s, spec);
    }
    true
}

fn fmt_float(out: &mut String, f: f64, spec: &Spec) -> bool {
    let mut s = match spec.verb {
        'v' | 'g' => float_g(f, spec.prec, false),
        'G' => float_g(f, spec.prec, true),
        'e' | 'E' => float_e(f, spec.prec.unwrap_or(6), spec.verb == 'E'),
        'f' | 'F' => {
            if f.is_finite() {
                format!("{:.*}", spec.prec.unwrap_or(6), f)
            } else {
                float_g(f, None, false)
            }
        }
        _ => return false,
    };
    if spec.plus && !s.starts_with('-') && !s.starts_with('+') {
        s.insert(0, '+');
    } else if spec.space && !s.starts_with('-') && !s.starts_with('+') {
        s.insert(0, ' ');
    } else if !spec.plus && s == "+Inf" {
        s = "+Inf".into();
    }
    if f.is_finite() {
        pad_num(out, &s, spec);
    } else {
        pad(
            out,
            &s,
            &Spec {
                zero: false,
                ..*spec
            },
        );
    }
    true
}

fn fmt_str(out: &mut String, s: &str, spec: &Spec) -> bool {
    let s: std::borrow::Cow<'_, str> = match spec.prec {
        Some(p) if spec.verb != 'x' && spec.verb != 'X' => {
            s.chars().take(p).collect::<String>().into()
        }
        _ => s.into(),
    };
    match spec.verb {
        'v' | 's' => pad(out, &s, spec),
        'q' => {
            if spec.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
                pad(out, &format!("`{s}`"), spec);
            } else {
                let mut q = String::from('"');
                for c in s.chars() {
                    quote_char(&mut q, c, '"', spec.plus);
                }
                q.push('"');
                pad(out, &q, spec);
            }
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let n = spec.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
            let mut h = String::new();
            for (i, b) in bytes[..n].iter().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if spec.verb == 'x' { "0x" } else { "0X" });
                }
                if spec.verb == 'x' {
                    let _ = write!(h, "{b:02x}");
                } else {
                    let _ = write!(h, "{b:02X}");
                }
            }
            pad(out, &h, spec);
        }
        _ => return false,
    }
    true
}

/// The `String()` of types that have one.
fn stringer(v: &Value) -> Option<String> {
    Some(match v {
        Value::Kv(kv) => pairs_string(&kv.sorted_pairs()),
        Value::Pairs(p) => pairs_string(p),
        Value::Time(t) => t.to_string(),
        Value::Duration(d) => gotime::duration_string(*d),
        Value::Month(m) => gotime::month_name(*m),
        Value::Weekday(d) => gotime::weekday_name(*d),
        _ => return None,
    })
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    let _ = write!(out, "%!{verb}(");
    match v {
        Value::Nil => out.push_str("<nil>"),
        _ => {
            out.push_str(v.type_name());
            out.push('=');
            fmt_value(out, v, &Spec::plain('v'));
        }
    }
    out.push(')');
}

/// Formats one value with a verb, as Go's `fmt` does.
pub(crate) fn fmt_value(out: &mut String, v: &Value, spec: &Spec) {
    if spec.verb == 'T' {
        pad(out, v.type_name(), spec);
        return;
    }
    if let Value::Nil = v {
        if spec.verb == 'v' {
            pad(out, "<nil>", spec);
        } else {
            bad_verb(out, v, spec.verb);
        }
        return;
    }
    if matches!(spec.verb, 'v' | 's' | 'x' | 'X' | 'q')
        && let Some(s) = stringer(v)
    {
        fmt_str(out, &s, spec);
        return;
    }
    let ok = match v {
        Value::Nil => true,
        Value::Bool(b) => {
            if matches!(spec.verb, 't' | 'v') {
                pad(out, if *b { "true" } else { "false" }, spec);
                true
            } else {
                false
            }
        }
        Value::Int(i) | Value::Duration(i) => fmt_int(out, *i, spec),
        Value::Month(i) | Value::Weekday(i) => fmt_int(out, i64::from(*i), spec),
        Value::Float(f) => fmt_float(out, *f, spec),
        Value::Str(s) | Value::Html(s) | Value::Url(s) => fmt_str(out, s, spec),
        Value::List(_) | Value::StrList(..) | Value::Pairs(_) | Value::Alerts(..) => {
            out.push('[');
            let n = v.len().unwrap_or(0);
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                if let Some(e) = v.elem(i) {
                    fmt_value(out, &e, spec);
                }
            }
            out.push(']');
            true
        }
        Value::Map(_) | Value::Kv(_) => {
            out.push_str("map[");
            for (i, (k, val)) in v.map_entries().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_value(out, k, spec);
                out.push(':');
                fmt_value(out, val, spec);
            }
            out.push(']');
            true
        }
        Value::Time(_) | Value::Pair(..) | Value::Alert(_) | Value::Data(_) => {
            out.push('{');
            for (i, name) in data::struct_fields(v).iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if spec.plus {
                    out.push_str(name);
                    out.push(':');
                }
                let f = data::field(v, name).unwrap_or(Value::Nil);
                fmt_value(out, &f, spec);
            }
            out.push('}');
            true
        }
    };
    if !ok {
        bad_verb(out, v, spec.verb);
    }
}

/// Appends `v` as `fmt.Print` would.
pub(crate) fn print_value(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) | Value::Html(s) | Value::Url(s) => out.push_str(s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        _ => fmt_value(out, v, &Spec::plain('v')),
    }
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = a.as_str().is_some();
        if i > 0 && !is_str && args[i - 1].as_str().is_none() {
            out.push(' ');
        }
        print_value(&mut out, a);
    }
    out
}

/// `fmt.Sprintln`: spaces between all operands and a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_value(&mut out, a);
    }
    out.push('\n');
    out
}

/// `fmt.Sprintf` with Go's verbs, flags, width, precision and `*`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        let num = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
                   argi: &mut usize,
                   out: &mut String|
         -> Option<usize> {
            if chars.peek().map(|x| x.1) == Some('*') {
                chars.next();
                let v = args.get(*argi).and_then(Value::as_int);
                *argi += 1;
                match v {
                    Some(n) if (0..=1_000_000).contains(&n) => return Some(n as usize),
                    Some(n) if n < 0 => {
                        return Some(usize::MAX - (n.unsigned_abs() as usize).min(1_000_000));
                    }
                    _ => {
                        out.push_str("%!(BADWIDTH)");
                        return None;
                    }
                }
            }
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(dv) = d.to_digit(10) else { break };
                n = Some(
                    n.unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(dv as usize)
                        .min(1_000_000),
                );
                chars.next();
            }
            n
        };
        spec.width = num(&mut chars, &mut argi, &mut out);
        if let Some(w) = spec.width
            && w > 1_000_000
        {
            // Negative width from `*` means left-justify.
            spec.minus = true;
            spec.width = Some(usize::MAX - w);
        }
        if chars.peek().map(|x| x.1) == Some('.') {
            chars.next();
            spec.prec = Some(num(&mut chars, &mut argi, &mut out).unwrap_or(0));
        }
        if spec.minus {
            spec.zero = false;
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        fmt_value(&mut out, arg, &spec);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if let Value::Nil = a {
                out.push_str("<nil>");
            } else {
                out.push_str(a.type_name());
                out.push('=');
                fmt_value(&mut out, a, &Spec::plain('v'));
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn floats_like_go() {
        let cases = [
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (3.0, "3"),
            (2.5, "2.5"),
            (1.0 / 3.0, "0.3333333333333333"),
            (-1.5, "-1.5"),
            (0.0, "0"),
        ];
        for (f, want) in cases {
            assert_eq!(float_g(f, None, false), want, "{f}");
        }
        assert_eq!(float_g(12345.678, Some(4), false), "1.235e+04");
        assert_eq!(float_g(1.5, Some(4), false), "1.5");
        assert_eq!(float_g(100.0, Some(4), false), "100");
    }

    #[test]
    fn printf_verbs_like_go() {
        let list = Value::List(Arc::new(vec![Value::Int(1), s("a"), Value::Nil]));
        assert_eq!(
            sprintf(
                "%5s|%-5s|%05d|%+d|%x|%X|%q|%q|%c|%v|%s|%t",
                &[
                    s("ab"),
                    s("ab"),
                    Value::Int(42),
                    Value::Int(5),
                    s("hi"),
                    Value::Int(255),
                    s("a\"b\n"),
                    Value::Int(65),
                    Value::Int(65),
                    list,
                    Value::Int(5),
                    Value::Bool(true)
                ]
            ),
            "   ab|ab   |00042|+5|6869|FF|\"a\\\"b\\n\"|'A'|A|[1 a <nil>]|%!s(int=5)|true"
        );
        assert_eq!(sprintf("%d %s", &[Value::Int(1)]), "1 %!s(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::Int(1), Value::Int(2)]),
            "1%!(EXTRA int=2)"
        );
        assert_eq!(
            sprintf(
                "%6.2f|%-8.3s|%x|% x|%#x|%08.3f|%+.1e|%3c|%-4d|%%",
                &[
                    Value::Float(3.14158),
                    s("abcdef"),
                    Value::Int(-255),
                    s("hi"),
                    Value::Int(255),
                    Value::Float(-3.14158),
                    Value::Float(12345.678),
                    Value::Int('x' as i64),
                    Value::Int(7)
                ]
            ),
            "  3.14|abc     |-ff|68 69|0xff|-003.142|+1.2e+04|  x|7   |%"
        );
        assert_eq!(
            sprintf("%v|%s|%d", &[Value::Nil, Value::Nil, Value::Nil]),
            "<nil>|%!s(<nil>)|%!d(<nil>)"
        );
        assert_eq!(
            sprintf("%.2f %d", &[Value::Float(2.0 / 3.0), Value::Float(1.5)]),
            "0.67 %!d(float64=1.5)"
        );
        assert_eq!(
            sprintf(
                "%s %v",
                &[Value::Duration(5_401_500_000_000), Value::Duration(1500)]
            ),
            "1h30m1.5s 1.5µs"
        );
    }

    #[test]
    fn print_and_println() {
        let args = [
            s("a"),
            Value::Int(1),
            Value::Int(2),
            s("b"),
            s("c"),
            Value::Float(3.5),
            Value::Bool(true),
            Value::Bool(false),
        ];
        assert_eq!(sprint(&args), "a1 2bc3.5 true false");
        assert_eq!(sprintln(&[s("a"), Value::Int(1), Value::Int(2)]), "a 1 2\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\tb\u{1}é"), "\"a\\tb\\x01é\"");
        assert_eq!(go_unquote("\"a\\n\\x41\\u00e9\\101\"").unwrap(), "a\nAéA");
        assert_eq!(go_unquote("`a\\n`").unwrap(), "a\\n");
        assert_eq!(go_unquote("'x'").unwrap(), "x");
        assert!(go_unquote("\"a\\q\"").is_none());
        assert_eq!(go_unicode('A'), "U+0041 'A'");
    }
}
