//! Durations in Go's `time.ParseDuration` notation (`1m0s`, `1.5h`, `300ms`), which some
//! integration fields and Alertmanager's flags use instead of Prometheus' notation.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration in Go's notation (`1m0s`, `1.5h`, `300ms`), as `time.ParseDuration` reads it
/// and `time.Duration.String` writes it. Stored in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: i64) -> Self {
        GoDuration(secs * 1_000_000_000)
    }

    /// As a standard duration (negative values are zero).
    pub fn std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(u64::try_from(self.0).unwrap_or(0))
    }

    /// As a standard duration when positive; `None` for zero or negative (a timeout of
    /// zero means "none").
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .filter(|n| *n > 0)
            .map(std::time::Duration::from_nanos)
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    /// Parses Go's duration notation.
    pub fn parse(s: &str) -> Result<Self, String> {
        let invalid = || format!("time: invalid duration {s:?}");
        let (negative, mut rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "0" {
            return Ok(GoDuration(0));
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let int_part = &rest[..int_len];
            rest = &rest[int_len..];
            let mut frac_part = "";
            if let Some(after_dot) = rest.strip_prefix('.') {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                frac_part = &after_dot[..frac_len];
                rest = &after_dot[frac_len..];
            }
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = rest
                .find(|c: char| c == '.' || c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            if unit.is_empty() {
                return Err(format!("time: missing unit in duration {s:?}"));
            }
            let scale: u128 = match unit {
                "ns" => 1,
                "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
            };
            let int_value: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| invalid())?
            };
            let mut value = int_value.checked_mul(scale).ok_or_else(invalid)?;
            // Fraction digits beyond nanosecond precision do not matter.
            let mut divisor: u128 = 1;
            let mut frac_value: u128 = 0;
            for d in frac_part.bytes().take(30) {
                frac_value = frac_value * 10 + u128::from(d - b'0');
                divisor *= 10;
            }
            value += frac_value * scale / divisor;
            total = total.checked_add(value).ok_or_else(invalid)?;
            if total > i64::MAX as u128 {
                return Err(invalid());
            }
        }
        let nanos = i64::try_from(total).map_err(|_| invalid())?;
        Ok(GoDuration(if negative { -nanos } else { nanos }))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn frac(v: u64, digits: u32) -> (u64, String) {
            let scale = 10u64.pow(digits);
            let (int, frac) = (v / scale, v % scale);
            if frac == 0 {
                return (int, String::new());
            }
            let text = format!("{frac:0width$}", width = digits as usize);
            (int, format!(".{}", text.trim_end_matches('0')))
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        let u = self.0.unsigned_abs();
        if u == 0 {
            return f.write_str("0s");
        }
        if u < 1_000 {
            return write!(f, "{sign}{u}ns");
        }
        if u < 1_000_000 {
            let (int, fr) = frac(u, 3);
            return write!(f, "{sign}{int}{fr}\u{b5}s");
        }
        if u < 1_000_000_000 {
            let (int, fr) = frac(u, 6);
            return write!(f, "{sign}{int}{fr}ms");
        }
        let (secs, fr) = frac(u, 9);
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if h > 0 {
            write!(f, "{sign}{h}h{m}m{s}{fr}s")
        } else if secs >= 60 {
            write!(f, "{sign}{m}m{s}{fr}s")
        } else {
            write!(f, "{sign}{s}{fr}s")
        }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads a [`GoDuration`]; `numbers_are_nanos` says whether a bare number counts as
/// nanoseconds (Go's YAML decoder for `time.Duration`) or is parsed as text (types that
/// read themselves from text, where `1` lacks a unit).
struct GoDurationVisitor {
    numbers_are_nanos: bool,
}

impl serde::de::Visitor<'_> for GoDurationVisitor {
    type Value = GoDuration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 30s or 1m30s")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GoDuration, E> {
        GoDuration::parse(v).map_err(E::custom)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GoDuration, E> {
        if self.numbers_are_nanos {
            Ok(GoDuration(v))
        } else {
            self.visit_str(&v.to_string())
        }
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GoDuration, E> {
        match i64::try_from(v) {
            Ok(n) => self.visit_i64(n),
            Err(_) => Err(E::custom(format!("time: invalid duration \"{v}\""))),
        }
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GoDurationVisitor {
            numbers_are_nanos: true,
        })
    }
}

impl GoDuration {
    /// Reads a duration from its text only (a bare number is an error unless `0`), for
    /// `deserialize_with`.
    pub fn deserialize_text<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<GoDuration, D::Error> {
        deserializer.deserialize_any(GoDurationVisitor {
            numbers_are_nanos: false,
        })
    }

    /// [`GoDuration::deserialize_text`] for optional fields.
    pub fn deserialize_text_opt<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<GoDuration>, D::Error> {
        GoDuration::deserialize_text(deserializer).map(Some)
    }
}
