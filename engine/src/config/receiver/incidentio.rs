//! `incidentio_configs`: alerts sent to an incident.io HTTP alert source.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{at_most_one, http_has_authorization, inherit_http_config};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// A duration in Go's notation (`30s`, `1m30s`, `1.5h`, `250ms`), as upstream reads the
/// `timeout` of this integration; a bare integer is a number of nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration {
    /// Signed length in nanoseconds.
    pub nanos: i64,
}

impl GoDuration {
    /// The standard library duration, or `None` when zero or negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.nanos)
            .ok()
            .filter(|n| *n > 0)
            .map(std::time::Duration::from_nanos)
    }

    /// Parses Go's `time.ParseDuration` syntax, with its error messages.
    pub fn parse(s: &str) -> Result<Self, String> {
        let invalid = || format!("time: invalid duration {s:?}");
        let (negative, mut rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "0" {
            return Ok(GoDuration::default());
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int_part, after) = rest.split_at(int_len);
            let (frac_part, after) = match after.strip_prefix('.') {
                Some(a) => {
                    let n = a.bytes().take_while(u8::is_ascii_digit).count();
                    a.split_at(n)
                }
                None => ("", after),
            };
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = after
                .find(|c: char| c == '.' || c.is_ascii_digit())
                .unwrap_or(after.len());
            let (unit, after) = after.split_at(unit_len);
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
            let whole: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| invalid())?
            };
            let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
            if !frac_part.is_empty() {
                // Go keeps the fraction's precision only as far as it fits; 18 digits are plenty.
                let digits = &frac_part[..frac_part.len().min(18)];
                let frac: u128 = digits.parse().map_err(|_| invalid())?;
                value += frac * scale / 10u128.pow(digits.len() as u32);
            }
            total = total.checked_add(value).ok_or_else(invalid)?;
            if total > 1u128 << 63 {
                return Err(invalid());
            }
            rest = after;
        }
        let nanos = if negative {
            0i64.checked_sub_unsigned(u64::try_from(total).map_err(|_| invalid())?)
                .ok_or_else(invalid)?
        } else {
            i64::try_from(total).map_err(|_| invalid())?
        };
        Ok(GoDuration { nanos })
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`: `0s`, `1.5µs`, `250ms`, `1m30s`, `1h0m0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn fraction(f: &mut fmt::Formatter<'_>, value: u64, digits: u32) -> fmt::Result {
            let scale = 10u64.pow(digits);
            write!(f, "{}", value / scale)?;
            let frac = value % scale;
            if frac != 0 {
                let text = format!("{frac:0width$}", width = digits as usize);
                write!(f, ".{}", text.trim_end_matches('0'))?;
            }
            Ok(())
        }
        if self.nanos == 0 {
            return f.write_str("0s");
        }
        if self.nanos < 0 {
            f.write_str("-")?;
        }
        let u = self.nanos.unsigned_abs();
        if u < 1_000 {
            return write!(f, "{u}ns");
        }
        if u < 1_000_000 {
            fraction(f, u, 3)?;
            return f.write_str("\u{b5}s");
        }
        if u < 1_000_000_000 {
            fraction(f, u, 6)?;
            return f.write_str("ms");
        }
        let hours = u / 3_600_000_000_000;
        let minutes = u / 60_000_000_000 % 60;
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if u >= 60_000_000_000 {
            write!(f, "{minutes}m")?;
        }
        fraction(f, u % 60_000_000_000, 9)?;
        f.write_str("s")
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 30s or 1m30s")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<GoDuration, E> {
                GoDuration::parse(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<GoDuration, E> {
                Ok(GoDuration { nanos: n })
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<GoDuration, E> {
                i64::try_from(n)
                    .map(|nanos| GoDuration { nanos })
                    .map_err(|_| E::custom("duration out of range"))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// One entry of `incidentio_configs` (newer than 0.25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentioConfig {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The alert source's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<HttpUrl>,
    /// File holding the URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url_file: String,
    /// The alert source's token (sent as a bearer token).
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub alert_source_token: Secret,
    /// File holding the token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub alert_source_token_file: String,
    /// Most alerts sent per message; 0 = no limit.
    pub max_alerts: u64,
    /// Time limit of one request; 0 = none.
    pub timeout: GoDuration,
}

impl Default for IncidentioConfig {
    fn default() -> Self {
        IncidentioConfig {
            send_resolved: true,
            http_config: None,
            url: None,
            url_file: String::new(),
            alert_source_token: Secret::default(),
            alert_source_token_file: String::new(),
            max_alerts: 0,
            timeout: GoDuration::default(),
        }
    }
}

impl IncidentioConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if self.url.is_none() && self.url_file.is_empty() {
            return Err(ConfigError::at(
                "url",
                "one of url or url_file must be configured",
            ));
        }
        at_most_one(
            "url",
            self.url.is_some(),
            "url_file",
            !self.url_file.is_empty(),
        )?;
        let has_token = !self.alert_source_token.is_empty();
        let has_token_file = !self.alert_source_token_file.is_empty();
        at_most_one(
            "alert_source_token",
            has_token,
            "alert_source_token_file",
            has_token_file,
        )?;
        if let Some(http) = &self.http_config {
            let has_authorization = http_has_authorization(http);
            if has_authorization && (has_token || has_token_file) {
                return Err(ConfigError::at(
                    "alert_source_token",
                    "cannot specify alert_source_token or alert_source_token_file when using http_config.authorization",
                ));
            }
            if !has_authorization && !has_token && !has_token_file {
                return Err(ConfigError::at(
                    "alert_source_token",
                    "at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured",
                ));
            }
        }
        inherit_http_config(&mut self.http_config, global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str) -> Result<IncidentioConfig, ConfigError> {
        let mut c = deserialize_yaml::<IncidentioConfig>(yaml)?;
        c.resolve(&GlobalConfig::default())?;
        Ok(c)
    }

    fn err(yaml: &str) -> String {
        resolve(yaml).unwrap_err().path_and_message()
    }

    #[test]
    fn defaults_are_filled() {
        let c = resolve(
            "url: https://api.incident.io/v2/alert_events/http/01ABC\nalert_source_token: t\n",
        )
        .unwrap();
        assert!(c.send_resolved);
        assert_eq!((c.max_alerts, c.timeout), (0, GoDuration::default()));
        assert_eq!(c.timeout.to_std(), None);
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
        // Without an own http_config, upstream does not require a token here.
        assert!(resolve("url_file: /u\n").is_ok());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err("alert_source_token: t\n"),
            "url: one of url or url_file must be configured"
        );
        assert_eq!(
            err("url: http://a\nurl_file: /f\n"),
            "url_file: at most one of url & url_file must be configured"
        );
        assert_eq!(
            err("url: http://a\nalert_source_token: t\nalert_source_token_file: /f\n"),
            "alert_source_token_file: at most one of alert_source_token & alert_source_token_file must be configured"
        );
        assert_eq!(
            err("url: http://a\nhttp_config: {}\n"),
            "alert_source_token: at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured"
        );
        assert!(
            err("url: http://a\ntimeout: 1d\n")
                .contains("time: unknown unit \"d\" in duration \"1d\"")
        );
        assert!(err("url: http://a\nmax_alerts: -1\n").starts_with("max_alerts"));
        assert!(err("url: notaurl\n").starts_with("url: "));
    }

    #[test]
    fn authorization_and_token_exclude_each_other() {
        if deserialize_yaml::<HttpClientConfig>("authorization:\n  credentials: x\n").is_err() {
            return; // HttpClientConfig does not model authorization yet.
        }
        assert!(
            resolve("url: http://a\nhttp_config:\n  authorization:\n    credentials: x\n").is_ok()
        );
        assert_eq!(
            err(
                "url: http://a\nalert_source_token: t\nhttp_config:\n  authorization:\n    credentials: x\n"
            ),
            "alert_source_token: cannot specify alert_source_token or alert_source_token_file when using http_config.authorization"
        );
    }

    #[test]
    fn go_durations_parse_and_show_like_go() {
        for (input, nanos, shown) in [
            ("0", 0, "0s"),
            ("30s", 30_000_000_000, "30s"),
            ("1m30s", 90_000_000_000, "1m30s"),
            ("1.5h", 5_400_000_000_000, "1h30m0s"),
            ("1h", 3_600_000_000_000, "1h0m0s"),
            ("250ms", 250_000_000, "250ms"),
            ("1.5us", 1_500, "1.5\u{b5}s"),
            ("2\u{3bc}s", 2_000, "2\u{b5}s"),
            ("10ns", 10, "10ns"),
            ("-2.5s", -2_500_000_000, "-2.5s"),
            (".5s", 500_000_000, "500ms"),
            ("1h1m1.001s", 3_661_001_000_000, "1h1m1.001s"),
        ] {
            let d = GoDuration::parse(input).unwrap();
            assert_eq!(d.nanos, nanos, "{input}");
            assert_eq!(d.to_string(), shown, "{input}");
            assert_eq!(GoDuration::parse(shown).unwrap(), d, "{shown}");
        }
        assert_eq!(
            GoDuration::parse("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            GoDuration::parse("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
        assert_eq!(
            GoDuration::parse(".s").unwrap_err(),
            "time: invalid duration \".s\""
        );
        assert!(GoDuration::parse("9999999999h").is_err());
        assert!(GoDuration::parse("-").is_err());
        let c = resolve("url: http://a\ntimeout: 1500000000\n").unwrap();
        assert_eq!(
            c.timeout.to_std(),
            Some(std::time::Duration::from_millis(1500))
        );
    }

    #[test]
    fn round_trips() {
        for yaml in [
            "url: http://a/b\nalert_source_token: t\nmax_alerts: 10\ntimeout: 1m30s\nsend_resolved: false\n",
            "url_file: /u\nalert_source_token_file: /t\n",
        ] {
            let c = resolve(yaml).unwrap();
            let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
            assert_eq!(resolve(&shown).unwrap(), c, "{shown}");
        }
        let c = resolve("url: http://a/b\nalert_source_token: t\n").unwrap();
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert_eq!(
            resolve(&masked).unwrap().alert_source_token.expose(),
            "<secret>"
        );
    }
}
