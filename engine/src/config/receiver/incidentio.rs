//! `incidentio_configs`: alerts sent to an incident.io HTTP alert source.

use serde::{Deserialize, Serialize};

use super::{at_most_one, http_has_authorization, inherit_http_config};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
pub use crate::config::go_duration::GoDuration;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

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
            assert_eq!(d.0, nanos, "{input}");
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
