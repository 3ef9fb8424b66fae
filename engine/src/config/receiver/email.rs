//! `email_configs`: send the notification by SMTP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::error::ConfigError;
use crate::config::global::{GlobalConfig, HostPort};
use crate::config::http_config::{TlsConfig, canonical_header_key};
use crate::config::secret::Secret;

/// Upstream's default HTML body.
pub const DEFAULT_HTML: &str = r#"{{ template "email.default.html" . }}"#;
/// Upstream's default `Subject` header, applied when sending if `headers` has none.
pub const DEFAULT_SUBJECT: &str = r#"{{ template "email.default.subject" . }}"#;

fn default_html() -> String {
    DEFAULT_HTML.to_string()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of `email_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Whether to notify about resolved alerts (default false).
    #[serde(default)]
    pub send_resolved: bool,
    /// Recipient addresses (required).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Sender address; `global.smtp_from` when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// Name for HELO/EHLO; `global.smtp_hello` when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hello: String,
    /// SMTP server; `global.smtp_smarthost` when not given.
    #[serde(default, skip_serializing_if = "HostPort::is_empty")]
    pub smarthost: HostPort,
    /// SMTP user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_username: String,
    /// SMTP password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub auth_password: Secret,
    /// File holding the SMTP password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_password_file: String,
    /// CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub auth_secret: Secret,
    /// File holding the CRAM-MD5 secret (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_secret_file: String,
    /// PLAIN identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_identity: String,
    /// Extra headers (templates), keys in canonical form.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// HTML body template.
    #[serde(default = "default_html")]
    pub html: String,
    /// Text body template.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Whether STARTTLS is required; `global.smtp_require_tls` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// TLS settings; `global.smtp_tls_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Implicit TLS: forced on, forced off, or by port when unset (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_implicit_tls: Option<bool>,
    /// Mail threading (newer than 0.25).
    #[serde(default, skip_serializing_if = "ThreadingConfig::is_empty")]
    pub threading: ThreadingConfig,
}

/// `threading`: group the mails of an alert group into one thread.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadingConfig {
    /// Whether threading is on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    /// `none` or `daily`: whether threads restart every day.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thread_by_date: String,
}

impl ThreadingConfig {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == ThreadingConfig::default()
    }
}

impl EmailConfig {
    /// Whether STARTTLS is required (after [`Self::resolve`], the global default applies).
    pub fn require_tls(&self) -> bool {
        self.require_tls.unwrap_or(true)
    }

    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(tls) = &self.tls_config {
            tls.validate().map_err(|e| e.under("tls_config"))?;
        }
        if self.to.is_empty() {
            return Err(ConfigError::at("to", "missing to address in email config"));
        }
        let mut headers = BTreeMap::new();
        for (name, value) in std::mem::take(&mut self.headers) {
            let canonical = canonical_header_key(&name);
            if headers.contains_key(&canonical) {
                return Err(ConfigError::at(
                    format!("headers.{name}"),
                    format!("duplicate header {canonical:?} in email config"),
                ));
            }
            headers.insert(canonical, value);
        }
        self.headers = headers;
        if self.threading.enabled {
            if self.headers.contains_key("References") {
                return Err(ConfigError::at(
                    "threading.enabled",
                    "conflicting configuration: threading.enabled conflicts with custom References header",
                ));
            }
            if self.headers.contains_key("In-Reply-To") {
                return Err(ConfigError::at(
                    "threading.enabled",
                    "conflicting configuration: threading.enabled conflicts with custom In-Reply-To header",
                ));
            }
            if !["none", "daily"].contains(&self.threading.thread_by_date.as_str()) {
                return Err(ConfigError::at(
                    "threading.thread_by_date",
                    "threading.thread_by_date must be either 'none' or 'daily'",
                ));
            }
        }

        if self.tls_config.is_none() {
            self.tls_config = global.smtp_tls_config.clone();
        }
        if self.smarthost.is_empty() {
            self.smarthost = global.smtp_smarthost.clone();
        }
        if self.smarthost.is_empty() {
            return Err(ConfigError::at("smarthost", "no global SMTP smarthost set"));
        }
        if self.from.is_empty() {
            self.from = global.smtp_from.clone();
        }
        if self.from.is_empty() {
            return Err(ConfigError::at("from", "no global SMTP from set"));
        }
        if self.hello.is_empty() {
            self.hello = global.smtp_hello.clone();
        }
        if self.auth_username.is_empty() {
            self.auth_username = global.smtp_auth_username.clone();
        }
        if self.auth_password.is_empty() && self.auth_password_file.is_empty() {
            self.auth_password = global.smtp_auth_password.clone();
            self.auth_password_file = global.smtp_auth_password_file.clone();
        }
        if self.auth_secret.is_empty() {
            self.auth_secret = global.smtp_auth_secret.clone();
        }
        if self.auth_secret_file.is_empty() {
            self.auth_secret_file = global.smtp_auth_secret_file.clone();
        }
        if self.auth_identity.is_empty() {
            self.auth_identity = global.smtp_auth_identity.clone();
        }
        if self.require_tls.is_none() {
            self.require_tls = Some(global.smtp_require_tls);
        }
        if self.force_implicit_tls.is_none() {
            self.force_implicit_tls = global.smtp_force_implicit_tls;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    const GLOBAL: &str = "smtp_smarthost: 'smtp.example.org:587'\nsmtp_from: am@example.org";

    fn global(yaml: &str) -> GlobalConfig {
        deserialize_yaml(yaml).unwrap()
    }

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<EmailConfig, ConfigError> {
        let mut c: EmailConfig = deserialize_yaml(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn err_with(yaml: &str, g: &str) -> String {
        resolve_with(yaml, &global(g))
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults_and_inheritance() {
        let g = global(
            "smtp_smarthost: 'smtp.example.org:587'\nsmtp_from: am@example.org\nsmtp_auth_username: u\nsmtp_auth_password: p\nsmtp_auth_identity: i\nsmtp_auth_secret: s\nsmtp_require_tls: false\nsmtp_hello: me",
        );
        let c = resolve_with("to: a@example.org", &g).unwrap();
        assert!(!c.send_resolved);
        assert_eq!(c.html, DEFAULT_HTML);
        assert_eq!(c.text, "");
        assert_eq!(c.smarthost.to_string(), "smtp.example.org:587");
        assert_eq!(c.from, "am@example.org");
        assert_eq!(c.hello, "me");
        assert_eq!(
            (
                c.auth_username.as_str(),
                c.auth_password.expose(),
                c.auth_identity.as_str()
            ),
            ("u", "p", "i")
        );
        assert_eq!(c.auth_secret.expose(), "s");
        assert_eq!(c.require_tls, Some(false));
        assert_eq!(c.tls_config, None);
        assert_eq!(c.force_implicit_tls, None);

        let c = resolve_with("to: a\nfrom: x@y\nsmarthost: 'h:25'\nauth_password_file: /pw\nrequire_tls: true\nhello: h", &g).unwrap();
        assert_eq!(
            (
                c.from.as_str(),
                c.smarthost.to_string().as_str(),
                c.hello.as_str()
            ),
            ("x@y", "h:25", "h")
        );
        assert!(c.auth_password.is_empty());
        assert_eq!(c.auth_password_file, "/pw");
        assert_eq!(c.require_tls, Some(true));

        let c = resolve_with("to: a", &global(GLOBAL)).unwrap();
        assert_eq!(c.hello, "localhost");
        assert_eq!(c.require_tls, Some(true));
    }

    #[test]
    fn tls_and_implicit_tls_from_global() {
        let g = global(&format!(
            "{GLOBAL}\nsmtp_tls_config: {{insecure_skip_verify: true}}\nsmtp_force_implicit_tls: true"
        ));
        let c = resolve_with("to: a", &g).unwrap();
        assert!(c.tls_config.unwrap().insecure_skip_verify);
        assert_eq!(c.force_implicit_tls, Some(true));
        let c = resolve_with(
            "to: a\ntls_config: {server_name: s}\nforce_implicit_tls: false",
            &g,
        )
        .unwrap();
        assert_eq!(c.tls_config.unwrap().server_name, "s");
        assert_eq!(c.force_implicit_tls, Some(false));
    }

    #[test]
    fn headers_are_canonical_and_unique() {
        let c = resolve_with(
            "to: a\nheaders: {subject: hi, x-custom-thing: v}",
            &global(GLOBAL),
        )
        .unwrap();
        assert_eq!(c.headers.get("Subject").map(String::as_str), Some("hi"));
        assert!(c.headers.contains_key("X-Custom-Thing"));
        let e = err_with("to: a\nheaders: {Subject: a, subject: b}", GLOBAL);
        assert!(
            e.ends_with("duplicate header \"Subject\" in email config"),
            "{e}"
        );
        assert!(e.starts_with("headers."), "{e}");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err_with("from: a", GLOBAL),
            "to: missing to address in email config"
        );
        assert_eq!(
            err_with("to: a", "smtp_from: x@y"),
            "smarthost: no global SMTP smarthost set"
        );
        assert_eq!(
            err_with("to: a", "smtp_smarthost: 'h:25'"),
            "from: no global SMTP from set"
        );
        assert_eq!(
            err_with("to: a\ntls_config: {cert_file: c}", GLOBAL),
            "tls_config.key: exactly one of key or key_file must be configured when a client certificate is configured"
        );
        assert_eq!(
            err_with(
                "to: a\nthreading: {enabled: true, thread_by_date: weekly}",
                GLOBAL
            ),
            "threading.thread_by_date: threading.thread_by_date must be either 'none' or 'daily'"
        );
        assert_eq!(
            err_with(
                "to: a\nheaders: {references: x}\nthreading: {enabled: true, thread_by_date: none}",
                GLOBAL
            ),
            "threading.enabled: conflicting configuration: threading.enabled conflicts with custom References header"
        );
        assert_eq!(
            err_with(
                "to: a\nheaders: {in-reply-to: x}\nthreading: {enabled: true, thread_by_date: daily}",
                GLOBAL
            ),
            "threading.enabled: conflicting configuration: threading.enabled conflicts with custom In-Reply-To header"
        );
        assert!(err_with("to: a\nsmarthost: nohost", GLOBAL).contains("missing port"));
        assert!(err_with("to: a\nfoo: 1", GLOBAL).starts_with("foo: field"));
    }

    #[test]
    fn round_trip() {
        let g = global(GLOBAL);
        let c = resolve_with(
            "to: a\nsend_resolved: true\nauth_password: p\nauth_secret_file: /s\nheaders: {X-A: b}\ntext: t\ntls_config: {ca_file: c}\nthreading: {enabled: true, thread_by_date: daily}",
            &g,
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve_with(&shown, &g).unwrap(), c, "{shown}");
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(masked.contains("auth_password: <secret>"), "{masked}");
        let plain = resolve_with("to: a", &g).unwrap();
        let shown = serde_saphyr::to_string(&plain).unwrap();
        assert!(
            !shown.contains("threading")
                && !shown.contains("force_implicit_tls")
                && !shown.contains("tls_config"),
            "{shown}"
        );
        assert_eq!(resolve_with(&shown, &g).unwrap(), plain);
    }
}
