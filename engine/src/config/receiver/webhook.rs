//! `webhook_configs`: POST the notification as JSON to a URL.
//!
//! Also home of [`check_template_syntax`], which other integrations share; [`GoDuration`]
//! is re-exported here for the integrations that import it from this module.

use serde::{Deserialize, Serialize};

pub use crate::config::go_duration::GoDuration;

use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, MASK, Secret, check_http_url};

fn default_true() -> bool {
    true
}

/// One entry of `webhook_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The URL to POST to; may be a template. Shown as `scheme://host/<secret>` (see
    /// [`serialize_masked_url`]).
    #[serde(
        default,
        skip_serializing_if = "Secret::is_empty",
        serialize_with = "serialize_masked_url"
    )]
    pub url: Secret,
    /// File holding the URL (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url_file: String,
    /// Most alerts per message; 0 means all.
    #[serde(default)]
    pub max_alerts: u64,
    /// Request timeout, 0 for none (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
    /// Custom payload template (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl WebhookConfig {
    /// The request timeout; zero means none.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout.map(GoDuration::std).unwrap_or_default()
    }

    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        let url = self.url.expose();
        if !url.is_empty() && url != MASK {
            check_template_url(url).map_err(|m| ConfigError::at("url", m))?;
        }
        if self.url.is_empty() && self.url_file.is_empty() {
            return Err(ConfigError::at(
                "url",
                "one of url or url_file must be configured",
            ));
        }
        if !self.url.is_empty() && !self.url_file.is_empty() {
            return Err(ConfigError::at(
                "url_file",
                "at most one of url & url_file must be configured",
            ));
        }
        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        Ok(())
    }
}

/// Writes a webhook URL as `scheme://host[:port]/<secret>` unless secrets are revealed.
///
/// Upstream 0.34 shows webhook URLs as `<secret>`, which is not a URL, so Alertmanager
/// 0.25's amtool (still what Debian ships) cannot read such a config back. Keeping the
/// scheme and host and hiding the rest (path, query and credentials, where tokens live)
/// gives a URL that both versions read and that leaks no secret.
pub fn serialize_masked_url<S: serde::Serializer>(
    url: &Secret,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if crate::config::secret::secrets_revealed() {
        return serializer.serialize_str(url.expose());
    }
    match url::Url::parse(url.expose()) {
        Ok(parsed) if !url.expose().contains("{{") && parsed.host_str().is_some() => {
            let host = parsed.host_str().unwrap_or_default();
            let shown = match parsed.port() {
                Some(port) => format!("{}://{host}:{port}/{MASK}", parsed.scheme()),
                None => format!("{}://{host}/{MASK}", parsed.scheme()),
            };
            serializer.serialize_str(&shown)
        }
        _ => serializer.serialize_str(MASK),
    }
}

/// Checks a URL that may be a template: templates must be well-formed, other values must
/// be http(s) URLs with a host. Returns upstream's message on failure.
pub fn check_template_url(url: &str) -> Result<(), String> {
    let templated =
        check_template_syntax(url).map_err(|e| format!("invalid template syntax: {e}"))?;
    if !templated {
        // The URL may hold a token: the message must not show it.
        check_http_url(url).map_err(|e| format!("invalid URL: {}", e.hiding_url()))?;
    }
    Ok(())
}

/// The URL with a `/` appended to its path unless it ends with one, as upstream does for
/// API base URLs (OpsGenie, VictorOps, WeChat).
pub fn with_trailing_slash(url: HttpUrl) -> HttpUrl {
    let raw = url.as_str();
    let end = raw.find(['?', '#']).unwrap_or(raw.len());
    if raw[..end].ends_with('/') {
        return url;
    }
    let Ok(mut parsed) = url::Url::parse(raw) else {
        return url;
    };
    if !parsed.path().ends_with('/') {
        let path = format!("{}/", parsed.path());
        parsed.set_path(&path);
    }
    HttpUrl::parse(parsed.as_str()).unwrap_or(url)
}

/// Whether `s` contains template actions (`{{ ... }}`); an error when an action is not closed.
///
/// This is a shallow check: it does not parse the template language.
pub fn check_template_syntax(s: &str) -> Result<bool, String> {
    if !s.contains("{{") {
        return Ok(false);
    }
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => rest = &after[end + 2..],
            None => return Err("template: :1: unclosed action".to_string()),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<WebhookConfig, ConfigError> {
        let mut c: WebhookConfig = deserialize_yaml(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn resolve(yaml: &str) -> Result<WebhookConfig, ConfigError> {
        resolve_with(yaml, &GlobalConfig::default())
    }

    fn err(yaml: &str) -> String {
        resolve(yaml)
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults() {
        let c = resolve("url: 'http://example.com/hook'").unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.max_alerts, 0);
        assert_eq!(c.timeout(), std::time::Duration::ZERO);
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(
            shown.contains("url: http://example.com/<secret>") && shown.contains("max_alerts: 0"),
            "{shown}"
        );
        assert!(
            !shown.contains("url_file") && !shown.contains("timeout"),
            "{shown}"
        );
    }

    #[test]
    fn http_config_comes_from_global() {
        let global: GlobalConfig =
            deserialize_yaml("http_config: {follow_redirects: false}").unwrap();
        let c = resolve_with("url: 'http://a/'", &global).unwrap();
        assert!(!c.http_config.unwrap().follow_redirects);
        let c = resolve_with(
            "url: 'http://a/'\nhttp_config: {basic_auth: {username: u}}",
            &global,
        )
        .unwrap();
        assert!(c.http_config.unwrap().follow_redirects);
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("max_alerts: 1"),
            "url: one of url or url_file must be configured"
        );
        assert_eq!(
            err("url: 'http://a/'\nurl_file: /f"),
            "url_file: at most one of url & url_file must be configured"
        );
        assert_eq!(
            err("url: 'ftp://a/'"),
            "url: invalid URL: unsupported scheme \"ftp\" for URL"
        );
        assert_eq!(
            err("url: 'http://a/{{ .X'"),
            "url: invalid template syntax: template: :1: unclosed action"
        );
        assert_eq!(
            err("url: 'http://a/'\nhttp_config: {no_proxy: x}"),
            "http_config.no_proxy: if no_proxy is configured, proxy_url must also be configured"
        );
        assert!(
            err("url: 'http://a/'\ntimeout: 5x").starts_with("timeout: time: unknown unit \"x\"")
        );
        assert!(err("url: 'http://a/'\nfoo: 1").starts_with("foo: field"));
    }

    #[test]
    fn templates_and_masked_urls_are_accepted() {
        assert!(resolve("url: 'http://a/{{ .GroupLabels.team }}'").is_ok());
        assert!(resolve("url: '{{ template \"x\" . }}'").is_ok());
        assert!(resolve("url: '<secret>'").is_ok());
    }

    #[test]
    fn round_trip() {
        let c = resolve(
            "send_resolved: false\nurl: 'http://a/'\nmax_alerts: 3\ntimeout: 90s\npayload: {a: [1, b]}\nhttp_config: {bearer_token: t}",
        )
        .unwrap();
        assert_eq!(c.timeout(), std::time::Duration::from_secs(90));
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert!(shown.contains("timeout: 1m30s"), "{shown}");
        let back = resolve(&shown).unwrap();
        assert_eq!(back, c);
        let c = resolve("url_file: /f").unwrap();
        assert_eq!(resolve(&serde_saphyr::to_string(&c).unwrap()).unwrap(), c);
    }

    #[test]
    fn trailing_slash() {
        let u = |s: &str| {
            with_trailing_slash(HttpUrl::parse(s).unwrap())
                .as_str()
                .to_string()
        };
        assert_eq!(u("https://a.example.com/"), "https://a.example.com/");
        assert_eq!(u("https://a.example.com/v1"), "https://a.example.com/v1/");
        assert_eq!(
            u("https://a.example.com/v1?x=1"),
            "https://a.example.com/v1/?x=1"
        );
        assert_eq!(u("https://a.example.com"), "https://a.example.com/");
    }

    #[test]
    fn go_durations() {
        for (input, shown) in [
            ("0", "0s"),
            ("1m", "1m0s"),
            ("1h", "1h0m0s"),
            ("1.5s", "1.5s"),
            ("300ms", "300ms"),
            ("1h2m3.5s", "1h2m3.5s"),
            ("1500us", "1.5ms"),
            ("2ns", "2ns"),
            ("-90s", "-1m30s"),
            (".5m", "30s"),
        ] {
            assert_eq!(
                GoDuration::parse(input).unwrap().to_string(),
                shown,
                "{input}"
            );
            assert_eq!(
                GoDuration::parse(shown).unwrap(),
                GoDuration::parse(input).unwrap()
            );
        }
        assert_eq!(
            GoDuration::parse("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            GoDuration::parse("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            GoDuration::parse(".s").unwrap_err(),
            "time: invalid duration \".s\""
        );
        assert!(GoDuration::parse("99999999999h").is_err());
    }
}
