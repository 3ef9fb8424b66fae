//! Durations in Prometheus' notation (`30s`, `5m`, `1h30m`, `1d`, `1w`, `1y`, `500ms`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way Prometheus and Alertmanager write them.
///
/// Units are `y` (365 days), `w`, `d`, `h`, `m`, `s` and `ms`, each at most once and in
/// that order; `0` alone is zero. It displays in Prometheus' canonical form, so `90m`
/// reads back as `1h30m`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The empty string.
    #[error("empty duration string")]
    Empty,
    /// Not in the notation.
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// Larger than the engine can represent.
    #[error("duration out of range {0:?}")]
    OutOfRange(String),
}

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// The standard library duration.
    pub const fn std(self) -> std::time::Duration {
        self.0
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        let invalid = || DurationError::Invalid(s.to_string());
        let mut rest = s;
        let mut total: u64 = 0;
        // Index of the next unit allowed: units must come in descending order, once each.
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let value: u64 = rest[..digits]
                .parse()
                .map_err(|_| DurationError::OutOfRange(s.to_string()))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let position = UNITS[next_unit..]
                .iter()
                .position(|(name, _)| *name == unit)
                .ok_or_else(invalid)?;
            let (_, millis) = UNITS[next_unit + position];
            next_unit += position + 1;
            total = value
                .checked_mul(millis)
                .and_then(|v| total.checked_add(v))
                .filter(|v| *v <= i64::MAX as u64 / 1_000_000)
                .ok_or_else(|| DurationError::OutOfRange(s.to_string()))?;
        }
        Ok(Duration::from_millis(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (i, (unit, size)) in UNITS.iter().enumerate() {
            // Years and weeks are only written when they divide the rest exactly.
            let exact_only = i < 2;
            if exact_only && !ms.is_multiple_of(*size) {
                continue;
            }
            let n = ms / size;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                ms -= n * size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Result<Duration, DurationError> {
        s.parse()
    }

    #[test]
    fn parses_every_unit_and_combinations() {
        assert_eq!(d("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(d("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(d("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(d("2w").unwrap(), Duration::from_secs(14 * 86400));
        assert_eq!(d("1y").unwrap(), Duration::from_secs(365 * 86400));
        assert_eq!(d("1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(d("0").unwrap(), Duration::ZERO);
        assert_eq!(d("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in ["5x", "1.5h", "-1m", "m", "1m1h", "1h1h", "1 h", " 1h", "1H"] {
            assert_eq!(
                d(bad),
                Err(DurationError::Invalid(bad.to_string())),
                "{bad}"
            );
        }
        assert_eq!(d(""), Err(DurationError::Empty));
        assert!(matches!(
            d("99999999999y"),
            Err(DurationError::OutOfRange(_))
        ));
    }

    #[test]
    fn displays_canonically() {
        for (input, shown) in [
            ("90m", "1h30m"),
            ("4h", "4h"),
            ("7d", "1w"),
            ("8d", "8d"),
            ("0", "0s"),
            ("1500ms", "1s500ms"),
            ("365d", "1y"),
        ] {
            assert_eq!(d(input).unwrap().to_string(), shown);
            assert_eq!(d(shown).unwrap(), d(input).unwrap());
        }
    }
}
