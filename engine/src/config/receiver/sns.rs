//! `sns_configs`: publish to an AWS SNS topic, target or phone number.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::Secret;

fn default_true() -> bool {
    true
}
fn default_subject() -> String {
    r#"{{ template "sns.default.subject" . }}"#.to_string()
}
fn default_message() -> String {
    r#"{{ template "sns.default.message" . }}"#.to_string()
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of `sns_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// SNS API endpoint; the region's default when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_url: String,
    /// AWS authentication.
    #[serde(default)]
    pub sigv4: SigV4Config,
    /// Topic to publish to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic_arn: String,
    /// Phone number to send an SMS to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone_number: String,
    /// Mobile platform endpoint to publish to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_arn: String,
    /// Subject (template).
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Message (template).
    #[serde(default = "default_message")]
    pub message: String,
    /// Message attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Use the AWS SDK's own HTTP client (newer than 0.25).
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_aws_http_client: bool,
}

/// `sigv4`: AWS request signing settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Config {
    /// AWS region.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Access key ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_key: String,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub secret_key: Secret,
    /// Named profile.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// Role to assume.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role_arn: String,
    /// External ID for assuming the role (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub external_id: String,
    /// Whether to use the FIPS STS endpoint (newer than 0.25).
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_fips_sts_endpoint: bool,
    /// Service name to sign for (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
}

impl SigV4Config {
    /// Upstream's checks; error paths are relative to the `sigv4` key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.access_key.is_empty() != self.secret_key.is_empty() {
            return Err(ConfigError::at(
                "",
                "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config",
            ));
        }
        if !self.external_id.is_empty() && self.role_arn.is_empty() {
            return Err(ConfigError::at(
                "external_id",
                "external_id can only be used with role_arn",
            ));
        }
        Ok(())
    }
}

impl SnsConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        self.sigv4.validate().map_err(|e| e.under("sigv4"))?;
        // Upstream's exact condition: the emptiness flags chained with "!=".
        if (self.target_arn.is_empty() != self.topic_arn.is_empty()) != self.phone_number.is_empty()
        {
            return Err(ConfigError::at(
                "topic_arn",
                "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
            ));
        }
        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str) -> Result<SnsConfig, ConfigError> {
        let mut c: SnsConfig = deserialize_yaml(yaml)?;
        c.resolve(&GlobalConfig::default())?;
        Ok(c)
    }

    fn err(yaml: &str) -> String {
        resolve(yaml)
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults() {
        let c = resolve("topic_arn: 'arn:aws:sns:us-east-1:1:t'").unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.subject, r#"{{ template "sns.default.subject" . }}"#);
        assert_eq!(c.message, r#"{{ template "sns.default.message" . }}"#);
        assert_eq!(c.sigv4, SigV4Config::default());
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(shown.contains("sigv4: {}"), "{shown}");
    }

    #[test]
    fn targets() {
        assert!(resolve("phone_number: '+1'").is_ok());
        assert!(resolve("target_arn: t").is_ok());
        let msg = "topic_arn: must provide either a Target ARN, Topic ARN, or Phone Number for SNS config";
        assert_eq!(err("subject: s"), msg);
        assert_eq!(err("topic_arn: a\nphone_number: b"), msg);
        // Upstream's chained comparison lets all three through.
        assert!(resolve("topic_arn: a\nphone_number: b\ntarget_arn: c").is_ok());
    }

    #[test]
    fn sigv4_checks() {
        assert_eq!(
            err("topic_arn: t\nsigv4: {access_key: a}"),
            "sigv4: must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config"
        );
        assert_eq!(
            err("topic_arn: t\nsigv4: {external_id: e}"),
            "sigv4.external_id: external_id can only be used with role_arn"
        );
        assert!(err("topic_arn: t\nsigv4: {key: e}").starts_with("sigv4.key: field"));
    }

    #[test]
    fn round_trip() {
        let c = resolve(
            "topic_arn: t\napi_url: 'https://sns.example.com'\nsigv4: {region: r, access_key: a, secret_key: s, profile: p, role_arn: ra, external_id: e, use_fips_sts_endpoint: true, service_name: sns}\nattributes: {k: v}\nuse_aws_http_client: true",
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve(&shown).unwrap(), c, "{shown}");
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(masked.contains("secret_key: <secret>"), "{masked}");
        assert!(resolve(&masked).is_ok());
    }
}
