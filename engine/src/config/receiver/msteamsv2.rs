//! `msteamsv2_configs`: messages to a Microsoft Teams Workflows (Power Automate) webhook.

use serde::{Deserialize, Serialize};

use super::{check_webhook_url, inherit_proxy_url};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::SecretUrl;

/// One entry of `msteamsv2_configs` (newer than 0.25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MsTeamsV2Config {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset, and when set without a
    /// `proxy_url`, the global `proxy_url` is added to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Workflow webhook URL (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding the webhook URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Card title template.
    pub title: String,
    /// Card text template.
    pub text: String,
}

impl Default for MsTeamsV2Config {
    fn default() -> Self {
        MsTeamsV2Config {
            send_resolved: true,
            http_config: None,
            webhook_url: None,
            webhook_url_file: String::new(),
            title: r#"{{ template "msteamsv2.default.title" . }}"#.to_string(),
            text: r#"{{ template "msteamsv2.default.text" . }}"#.to_string(),
        }
    }
}

impl MsTeamsV2Config {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        check_webhook_url(self.webhook_url.is_some(), &self.webhook_url_file)?;
        match &mut self.http_config {
            None => self.http_config = Some(global.http_config.clone()),
            Some(own) => {
                own.validate().map_err(|e| e.under("http_config"))?;
                inherit_proxy_url(own, &global.http_config);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str, global: &GlobalConfig) -> Result<MsTeamsV2Config, ConfigError> {
        let mut c = deserialize_yaml::<MsTeamsV2Config>(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    #[test]
    fn defaults_are_filled() {
        let c = resolve(
            "webhook_url: https://prod.example.logic.azure.com/workflows/x\n",
            &GlobalConfig::default(),
        )
        .unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.title, r#"{{ template "msteamsv2.default.title" . }}"#);
        assert_eq!(c.text, r#"{{ template "msteamsv2.default.text" . }}"#);
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
        assert!(resolve("webhook_url_file: /f\n", &GlobalConfig::default()).is_ok());
    }

    #[test]
    fn errors_name_the_field() {
        let e = |y: &str| {
            resolve(y, &GlobalConfig::default())
                .unwrap_err()
                .path_and_message()
        };
        assert_eq!(
            e("text: x\n"),
            "webhook_url: one of webhook_url or webhook_url_file must be configured"
        );
        assert_eq!(
            e("webhook_url: http://a\nwebhook_url_file: /f\n"),
            "webhook_url_file: at most one of webhook_url & webhook_url_file must be configured"
        );
        assert!(e("webhook_url: http://a\nsummary: x\n").contains("not found"));
    }

    /// Only meaningful once `HttpClientConfig` models `proxy_url` (completed elsewhere).
    #[test]
    fn own_http_config_inherits_the_global_proxy_url() {
        let (Ok(global_http), Ok(own_http)) = (
            deserialize_yaml::<HttpClientConfig>("proxy_url: http://proxy.example.com:3128\n"),
            deserialize_yaml::<HttpClientConfig>("follow_redirects: false\n"),
        ) else {
            return;
        };
        let mut global = GlobalConfig::default();
        global.http_config = global_http;
        let c = resolve(
            "webhook_url: http://a\nhttp_config:\n  follow_redirects: false\n",
            &global,
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_json::to_value(c.http_config.as_ref().unwrap()))
            .unwrap();
        assert_eq!(
            shown["proxy_url"], "http://proxy.example.com:3128",
            "{shown}"
        );
        assert_ne!(c.http_config.as_ref(), Some(&own_http));
        // An own proxy_url stays.
        let c = resolve(
            "webhook_url: http://a\nhttp_config:\n  proxy_url: http://own:1\n",
            &global,
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_json::to_value(c.http_config.as_ref().unwrap()))
            .unwrap();
        assert_eq!(shown["proxy_url"], "http://own:1", "{shown}");
    }

    #[test]
    fn round_trips() {
        let c = resolve(
            "webhook_url: http://a/b\nsend_resolved: false\ntitle: ''\ntext: t\n",
            &GlobalConfig::default(),
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(
            resolve(&shown, &GlobalConfig::default()).unwrap(),
            c,
            "{shown}"
        );
    }
}
