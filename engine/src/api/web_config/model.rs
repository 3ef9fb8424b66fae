//! The web configuration file's fields and their checks.

use std::collections::BTreeMap;
use std::path::Path;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::WebConfigError;
use crate::config::secret::Secret;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    /// TLS settings; TLS is on when a certificate is given.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// HTTP server settings.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// User name to bcrypt hash; when not empty every request needs basic auth.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, Secret>,
    /// Request rate limiting (refused: not supported).
    #[serde(default)]
    pub rate_limit: Option<serde::de::IgnoredAny>,
}

/// `tls_server_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// PEM certificate chain file.
    #[serde(default)]
    pub cert_file: String,
    /// PEM private key file.
    #[serde(default)]
    pub key_file: String,
    /// Inline PEM certificate chain (instead of `cert_file`).
    #[serde(default)]
    pub cert: String,
    /// Inline PEM private key (instead of `key_file`).
    #[serde(default)]
    pub key: Secret,
    /// Policy for client certificates.
    #[serde(default)]
    pub client_auth_type: ClientAuthType,
    /// PEM file of the CAs that sign client certificates.
    #[serde(default)]
    pub client_ca_file: String,
    /// Inline PEM CAs (instead of `client_ca_file`).
    #[serde(default)]
    pub client_ca: String,
    /// Subject alternative names a client certificate must carry (not supported).
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
    /// Lowest TLS version: TLS10, TLS11, TLS12 (default), TLS13.
    #[serde(default)]
    pub min_version: Option<String>,
    /// Highest TLS version (default TLS13).
    #[serde(default)]
    pub max_version: Option<String>,
    /// TLS 1.2 cipher suites, by their IANA names (TLS 1.3 suites are always on).
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Whether the server's suite order wins over the client's.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    /// Key exchange groups: CurveP256, CurveP384, X25519.
    #[serde(default)]
    pub curve_preferences: Vec<String>,
}

impl TlsServerConfig {
    /// Whether the section turns TLS on (a certificate is given).
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty() || !self.cert.is_empty()
    }
}

/// `client_auth_type`: Go's `tls.ClientAuthType` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientAuthType {
    /// No client certificate is asked for.
    #[default]
    NoClientCert,
    /// A certificate is asked for, not required, not verified.
    RequestClientCert,
    /// A certificate is required, not verified.
    RequireAnyClientCert,
    /// A certificate is verified against the client CA when the client sends one.
    VerifyClientCertIfGiven,
    /// A certificate signed by the client CA is required.
    RequireAndVerifyClientCert,
}

/// `http_server_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// HTTP/2 over TLS (accepted; the engine serves HTTP/1.1).
    #[serde(default)]
    pub http2: Option<bool>,
    /// Headers added to every response.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The response headers the format lets a user set, with the values each accepts.
const SETTABLE_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Content-Security-Policy", None),
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
];

impl HttpServerConfig {
    /// The headers, checked against the ones the format allows.
    pub fn checked_headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            let field = format!("http_server_config.headers.{name}");
            let Some((canonical, allowed)) = SETTABLE_HEADERS
                .iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(name))
            else {
                let names: Vec<&str> = SETTABLE_HEADERS.iter().map(|(h, _)| *h).collect();
                return Err(WebConfigError::invalid(
                    field,
                    format!("this header cannot be set (settable: {})", names.join(", ")),
                ));
            };
            if let Some(allowed) = allowed
                && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value))
            {
                return Err(WebConfigError::invalid(
                    field,
                    format!(
                        "invalid value {value:?} (expected one of: {})",
                        allowed.join(", ")
                    ),
                ));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                WebConfigError::invalid(&field, "the value is not a valid header value")
            })?;
            let name = HeaderName::from_bytes(canonical.as_bytes())
                .map_err(|_| WebConfigError::invalid(&field, "invalid header name"))?;
            out.push((name, value));
        }
        Ok(out)
    }
}

/// Parses the YAML strictly; errors name the field.
pub fn parse(text: &str) -> Result<WebConfigFile, WebConfigError> {
    if text.trim().is_empty() {
        return Ok(WebConfigFile::default());
    }
    crate::config::deserialize_yaml::<Option<WebConfigFile>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|e| WebConfigError::Parse {
            path: Default::default(),
            message: e.to_string(),
        })
}

impl WebConfigFile {
    /// Joins relative file names to `dir` (the directory of the web config file).
    pub fn resolve_paths(&mut self, dir: &Path) {
        if let Some(t) = &mut self.tls_server_config {
            for f in [&mut t.cert_file, &mut t.key_file, &mut t.client_ca_file] {
                if !f.is_empty() && Path::new(f.as_str()).is_relative() {
                    *f = dir.join(f.as_str()).display().to_string();
                }
            }
        }
    }

    /// Checks what does not need the files: combinations of fields and bcrypt hashes.
    pub fn check(&self) -> Result<(), WebConfigError> {
        if self.rate_limit.is_some() {
            return Err(WebConfigError::invalid(
                "rate_limit",
                "not supported by larum-engine; remove it (limit requests in a proxy)",
            ));
        }
        for (user, hash) in &self.basic_auth_users {
            if user.contains(':') {
                return Err(WebConfigError::invalid(
                    format!("basic_auth_users.{user}"),
                    "a user name cannot contain ':'",
                ));
            }
            if hash.expose().parse::<bcrypt::HashParts>().is_err() {
                return Err(WebConfigError::invalid(
                    format!("basic_auth_users.{user}"),
                    "the password is not a bcrypt hash ($2a$, $2b$ or $2y$)",
                ));
            }
        }
        if let Some(t) = &self.tls_server_config {
            t.check()?;
        }
        Ok(())
    }
}

impl TlsServerConfig {
    fn check(&self) -> Result<(), WebConfigError> {
        let f = |name: &str| format!("tls_server_config.{name}");
        if !self.cert_file.is_empty() && !self.cert.is_empty() {
            return Err(WebConfigError::invalid(
                f("cert"),
                "cert and cert_file are both set; use one",
            ));
        }
        if !self.key_file.is_empty() && !self.key.is_empty() {
            return Err(WebConfigError::invalid(
                f("key"),
                "key and key_file are both set; use one",
            ));
        }
        if !self.client_ca_file.is_empty() && !self.client_ca.is_empty() {
            return Err(WebConfigError::invalid(
                f("client_ca"),
                "client_ca and client_ca_file are both set; use one",
            ));
        }
        let has_key = !self.key_file.is_empty() || !self.key.is_empty();
        if self.enabled() && !has_key {
            return Err(WebConfigError::invalid(
                f("key_file"),
                "a certificate is set but no key (key_file or key)",
            ));
        }
        if !self.enabled() && has_key {
            return Err(WebConfigError::invalid(
                f("cert_file"),
                "a key is set but no certificate (cert_file or cert)",
            ));
        }
        let has_ca = !self.client_ca_file.is_empty() || !self.client_ca.is_empty();
        if has_ca && self.client_auth_type == ClientAuthType::NoClientCert {
            return Err(WebConfigError::invalid(
                f("client_ca_file"),
                "a client CA is set but client_auth_type is NoClientCert",
            ));
        }
        if !has_ca
            && matches!(
                self.client_auth_type,
                ClientAuthType::VerifyClientCertIfGiven
                    | ClientAuthType::RequireAndVerifyClientCert
            )
        {
            return Err(WebConfigError::invalid(
                f("client_ca_file"),
                format!(
                    "client_auth_type {:?} needs a client CA (client_ca_file or client_ca)",
                    self.client_auth_type
                ),
            ));
        }
        if !self.client_allowed_sans.is_empty() {
            return Err(WebConfigError::invalid(
                f("client_allowed_sans"),
                "not supported by larum-engine yet",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        let mut file = match parse(text) {
            Ok(f) => f,
            Err(e) => return e.to_string(),
        };
        file.resolve_paths(Path::new("/etc"));
        file.check()
            .and_then(|_| file.http_server_config.checked_headers().map(|_| ()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn errors_name_the_field() {
        assert!(
            err("tls_server_config:\n  cert_file: a.pem\n").contains("tls_server_config.key_file")
        );
        assert!(
            err("tls_server_config:\n  client_auth_type: Sometimes\n").contains("client_auth_type")
        );
        assert!(err("basic_auth_users:\n  alice: plain\n").contains("basic_auth_users.alice"));
        assert!(err("http_server_config:\n  headers:\n    Server: x\n").contains("headers.Server"));
        assert!(
            err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
                .contains("X-Frame-Options")
        );
        assert!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n")
                .contains("NoClientCert")
        );
        assert!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n")
                .contains("needs a client CA")
        );
    }

    #[test]
    fn relative_files_are_beside_the_web_config() {
        let mut file =
            parse("tls_server_config:\n  cert_file: a.pem\n  key_file: /k.pem\n").unwrap();
        file.resolve_paths(Path::new("/etc/am"));
        let t = file.tls_server_config.unwrap();
        assert_eq!(t.cert_file, "/etc/am/a.pem");
        assert_eq!(t.key_file, "/k.pem");
    }

    #[test]
    fn settable_headers_are_accepted_in_any_case() {
        let file = parse("http_server_config:\n  headers:\n    x-frame-options: DENY\n    Strict-Transport-Security: max-age=3600\n").unwrap();
        let headers = file.http_server_config.checked_headers().unwrap();
        assert_eq!(headers.len(), 2);
    }

    #[test]
    fn hashes_do_not_show_in_debug() {
        let file = parse("basic_auth_users:\n  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n").unwrap();
        assert!(!format!("{file:?}").contains("mDwo"));
    }
}
