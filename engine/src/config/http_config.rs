//! HTTP client settings (`http_config`), in the format of Prometheus' common config
//! (`github.com/prometheus/common/config`, the version Alertmanager 0.34 uses).
//!
//! Keys that Alertmanager 0.25's version of that library does not know (inline TLS
//! material, `*_ref`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`,
//! `http_headers`, the JWT grant of `oauth2`, `username_file`) are written only when set.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ConfigError;
use super::secret::Secret;

fn default_true() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether secrets are currently being serialized with their real values.
use super::secret::secrets_revealed;

/// `http_config` of a receiver or of `global`.
///
/// A deprecated `bearer_token`/`bearer_token_file` is turned into `authorization` when
/// read, and an `authorization` without `type` gets `Bearer`, like Prometheus does, so
/// the config shows (and round-trips) in its normalized form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "HttpClientConfigInput")]
pub struct HttpClientConfig {
    /// HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// OAuth 2.0 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    /// Deprecated bearer token; only kept when it conflicts with other settings.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub bearer_token: Secret,
    /// Deprecated bearer token file; only kept when it conflicts with other settings.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "TlsConfig::is_empty")]
    pub tls_config: TlsConfig,
    /// Whether to follow HTTP 3xx redirects.
    pub follow_redirects: bool,
    /// Whether to use HTTP/2.
    pub enable_http2: bool,
    /// Proxy settings.
    #[serde(flatten)]
    pub proxy: ProxyConfig,
    /// Extra headers to send (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<BTreeMap<String, HeaderValues>>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            proxy: ProxyConfig::default(),
            http_headers: None,
        }
    }
}

/// What `http_config` is read as, before normalization.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpClientConfigInput {
    #[serde(default)]
    basic_auth: Option<BasicAuth>,
    #[serde(default)]
    authorization: Option<Authorization>,
    #[serde(default)]
    oauth2: Option<OAuth2>,
    #[serde(default)]
    bearer_token: Secret,
    #[serde(default)]
    bearer_token_file: String,
    #[serde(default)]
    tls_config: TlsConfig,
    #[serde(default = "default_true")]
    follow_redirects: bool,
    #[serde(default = "default_true")]
    enable_http2: bool,
    #[serde(default)]
    proxy_url: Option<ProxyUrl>,
    #[serde(default)]
    no_proxy: String,
    #[serde(default)]
    proxy_from_environment: bool,
    #[serde(default)]
    proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    #[serde(default)]
    http_headers: Option<BTreeMap<String, HeaderValues>>,
}

impl From<HttpClientConfigInput> for HttpClientConfig {
    fn from(i: HttpClientConfigInput) -> Self {
        let mut c = HttpClientConfig {
            basic_auth: i.basic_auth,
            authorization: i.authorization,
            oauth2: i.oauth2,
            bearer_token: i.bearer_token,
            bearer_token_file: i.bearer_token_file,
            tls_config: i.tls_config,
            follow_redirects: i.follow_redirects,
            enable_http2: i.enable_http2,
            proxy: ProxyConfig {
                proxy_url: i.proxy_url,
                no_proxy: i.no_proxy,
                proxy_from_environment: i.proxy_from_environment,
                proxy_connect_header: i.proxy_connect_header,
            },
            http_headers: i.http_headers,
        };
        c.normalize();
        c
    }
}

impl HttpClientConfig {
    /// Prometheus' normalization: default authorization type, bearer token to
    /// authorization. Conflicting settings are left alone for [`Self::validate`] to report.
    fn normalize(&mut self) {
        if let Some(auth) = &mut self.authorization {
            let trimmed = auth.kind.trim();
            auth.kind = if trimmed.is_empty() {
                "Bearer".to_string()
            } else {
                trimmed.to_string()
            };
            return;
        }
        let has_token = !self.bearer_token.is_empty();
        let has_file = !self.bearer_token_file.is_empty();
        if has_token == has_file || self.basic_auth.is_some() || self.oauth2.is_some() {
            return;
        }
        self.authorization = Some(Authorization {
            kind: "Bearer".to_string(),
            credentials: std::mem::take(&mut self.bearer_token),
            credentials_file: std::mem::take(&mut self.bearer_token_file),
            credentials_ref: String::new(),
        });
    }

    /// Checks the settings; error paths are relative to the `http_config` key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let has_bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err(ConfigError::at(
                "bearer_token_file",
                "at most one of bearer_token & bearer_token_file must be configured",
            ));
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return Err(ConfigError::at(
                "bearer_token",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ));
        }
        if let Some(basic) = &self.basic_auth {
            basic.validate().map_err(|e| e.under("basic_auth"))?;
        }
        if let Some(auth) = &self.authorization {
            if has_bearer {
                return Err(ConfigError::at(
                    "authorization",
                    "authorization is not compatible with bearer_token & bearer_token_file",
                ));
            }
            let set = [
                !auth.credentials.is_empty(),
                !auth.credentials_file.is_empty(),
                !auth.credentials_ref.is_empty(),
            ];
            if count(&set) > 1 {
                return Err(ConfigError::at(
                    "authorization",
                    "at most one of authorization credentials & credentials_file must be configured",
                ));
            }
            if auth.kind.trim().eq_ignore_ascii_case("basic") {
                return Err(ConfigError::at(
                    "authorization.type",
                    r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
                ));
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return Err(ConfigError::at(
                    "authorization",
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                ));
            }
        }
        if let Some(oauth2) = &self.oauth2 {
            if self.basic_auth.is_some() {
                return Err(ConfigError::at(
                    "oauth2",
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                ));
            }
            oauth2.validate().map_err(|e| e.under("oauth2"))?;
        }
        self.tls_config
            .validate()
            .map_err(|e| e.under("tls_config"))?;
        self.proxy.validate()?;
        if let Some(headers) = &self.http_headers {
            for name in headers.keys() {
                let canonical = canonical_header_key(name);
                if RESERVED_HEADERS.contains(&canonical.as_str()) {
                    return Err(ConfigError::at(
                        format!("http_headers.{name}"),
                        format!("setting header {canonical:?} is not allowed"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|f| **f).count()
}

/// Headers `http_headers` may not set (Prometheus' list).
const RESERVED_HEADERS: &[&str] = &[
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
];

/// The canonical form of a MIME/HTTP header name (`content-type` -> `Content-Type`), as
/// Go's `CanonicalMIMEHeaderKey` computes it; names with characters outside the token
/// set are returned unchanged.
pub fn canonical_header_key(name: &str) -> String {
    let valid = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.bytes().all(valid) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// `basic_auth`: user name and password for HTTP basic authentication.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// File holding the user name (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    /// Secret-manager reference for the user name (newer than 0.25; unsupported by Alertmanager).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username_ref: String,
    /// Password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_file: String,
    /// Secret-manager reference for the password (newer than 0.25; unsupported by Alertmanager).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_ref: String,
}

impl BasicAuth {
    fn validate(&self) -> Result<(), ConfigError> {
        if count(&[
            !self.username.is_empty(),
            !self.username_file.is_empty(),
            !self.username_ref.is_empty(),
        ]) > 1
        {
            return Err(ConfigError::at(
                "",
                "at most one of basic_auth username, username_file & username_ref must be configured",
            ));
        }
        if count(&[
            !self.password.is_empty(),
            !self.password_file.is_empty(),
            !self.password_ref.is_empty(),
        ]) > 1
        {
            return Err(ConfigError::at(
                "",
                "at most one of basic_auth password, password_file & password_ref must be configured",
            ));
        }
        Ok(())
    }
}

/// `authorization`: a credential sent in the `Authorization` header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme (`Bearer` when not given).
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The credentials.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    /// File holding the credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
    /// Secret-manager reference for the credentials (newer than 0.25; unsupported by Alertmanager).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_ref: String,
}

/// The OAuth 2.0 grant type for JWT client assertions (RFC 7523).
pub const GRANT_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// `oauth2`: client credentials (or JWT bearer) flow used to get a token.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// Client ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    /// File holding the client secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    /// Secret-manager reference for the client secret (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret_ref: String,
    /// Key ID of the client certificate key, for the JWT grant (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_id: String,
    /// Client certificate key signing the JWT (newer than 0.25).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub client_certificate_key: Secret,
    /// File holding the client certificate key (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_file: String,
    /// Secret-manager reference for the client certificate key (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_ref: String,
    /// Grant type: `client_credentials` (default) or [`GRANT_TYPE_JWT_BEARER`] (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grant_type: String,
    /// JWT signature algorithm: RS256 (default), RS384 or RS512 (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature_algorithm: String,
    /// JWT issuer, default the client ID (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// JWT audience, default the token URL (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    /// Extra JWT claims (newer than 0.25).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, serde_json::Value>,
    /// Scopes to request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Token endpoint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_url: String,
    /// Extra parameters for the token request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_params: BTreeMap<String, String>,
    /// TLS settings for the token endpoint.
    #[serde(default, skip_serializing_if = "TlsConfig::is_empty")]
    pub tls_config: TlsConfig,
    /// Proxy for the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<ProxyUrl>,
    /// Hosts not to proxy (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    /// Whether to take the proxy from the environment (newer than 0.25).
    #[serde(default, skip_serializing_if = "is_false")]
    pub proxy_from_environment: bool,
    /// Headers for proxy CONNECT requests (newer than 0.25).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

impl OAuth2 {
    fn proxy(&self) -> ProxyConfig {
        ProxyConfig {
            proxy_url: self.proxy_url.clone(),
            no_proxy: self.no_proxy.clone(),
            proxy_from_environment: self.proxy_from_environment,
            proxy_connect_header: self.proxy_connect_header.clone(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.proxy().validate()?;
        self.tls_config
            .validate()
            .map_err(|e| e.under("tls_config"))?;
        if self.client_id.is_empty() {
            return Err(ConfigError::at(
                "client_id",
                "oauth2 client_id must be configured",
            ));
        }
        if self.token_url.is_empty() {
            return Err(ConfigError::at(
                "token_url",
                "oauth2 token_url must be configured",
            ));
        }
        if self.grant_type == GRANT_TYPE_JWT_BEARER {
            let keys = [
                !self.client_certificate_key.is_empty(),
                !self.client_certificate_key_file.is_empty(),
                !self.client_certificate_key_ref.is_empty(),
            ];
            if count(&keys) > 1 {
                return Err(ConfigError::at(
                    "client_certificate_key",
                    format!(
                        "at most one of oauth2 client_certificate_key, client_certificate_key_file & client_certificate_key_ref must be configured using grant-type={GRANT_TYPE_JWT_BEARER}"
                    ),
                ));
            }
            if !self.signature_algorithm.is_empty()
                && !["RS256", "RS384", "RS512"].contains(&self.signature_algorithm.as_str())
            {
                return Err(ConfigError::at(
                    "signature_algorithm",
                    "valid signature algorithms are RS256, RS384 and RS512",
                ));
            }
        } else if count(&[
            !self.client_secret.is_empty(),
            !self.client_secret_file.is_empty(),
            !self.client_secret_ref.is_empty(),
        ]) > 1
        {
            return Err(ConfigError::at(
                "client_secret",
                "at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials",
            ));
        }
        Ok(())
    }
}

/// Proxy settings of an HTTP client.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProxyConfig {
    /// Proxy URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<ProxyUrl>,
    /// Comma-separated hosts, domains and networks not to proxy (newer than 0.25).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    /// Whether to use the `HTTP(S)_PROXY`/`NO_PROXY` environment variables (newer than 0.25).
    #[serde(skip_serializing_if = "is_false")]
    pub proxy_from_environment: bool,
    /// Headers sent to the proxy in CONNECT requests (newer than 0.25).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

impl ProxyConfig {
    /// Prometheus' checks of the proxy settings; paths name the offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let has_url = self.proxy_url.is_some();
        if !self.proxy_connect_header.is_empty() && !self.proxy_from_environment && !has_url {
            return Err(ConfigError::at(
                "proxy_connect_header",
                "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured",
            ));
        }
        if self.proxy_from_environment && has_url {
            return Err(ConfigError::at(
                "proxy_url",
                "if proxy_from_environment is configured, proxy_url must not be configured",
            ));
        }
        if self.proxy_from_environment && !self.no_proxy.is_empty() {
            return Err(ConfigError::at(
                "no_proxy",
                "if proxy_from_environment is configured, no_proxy must not be configured",
            ));
        }
        if !has_url && !self.no_proxy.is_empty() {
            return Err(ConfigError::at(
                "no_proxy",
                "if no_proxy is configured, proxy_url must also be configured",
            ));
        }
        Ok(())
    }
}

/// A proxy URL; a password in it is shown as `xxxxx` unless secrets are revealed.
#[derive(Clone, Debug)]
pub struct ProxyUrl {
    raw: String,
    parsed: url::Url,
}

impl PartialEq for ProxyUrl {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl ProxyUrl {
    /// Parses a proxy URL, keeping it as written (Go does not normalize it either).
    pub fn parse(s: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(s).map_err(|e| format!("parse {s:?}: {e}"))?;
        Ok(ProxyUrl {
            raw: s.to_string(),
            parsed,
        })
    }

    /// The URL.
    pub fn url(&self) -> &url::Url {
        &self.parsed
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for ProxyUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(password) = self.parsed.password()
            && !secrets_revealed()
        {
            // Replace the password as written, keeping the rest of the URL unchanged.
            let shown = self.raw.replacen(&format!(":{password}@"), ":xxxxx@", 1);
            return serializer.serialize_str(&shown);
        }
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        ProxyUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One entry of `http_headers`: values, secret values and files to send.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValues {
    /// Plain values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Secret values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// Files whose contents are values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.0.
    Tls10,
    /// TLS 1.1.
    Tls11,
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// The name used in the config (`TLS12`).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS10",
            TlsVersion::Tls11 => "TLS11",
            TlsVersion::Tls12 => "TLS12",
            TlsVersion::Tls13 => "TLS13",
        }
    }
}

impl Serialize for TlsVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        [
            TlsVersion::Tls10,
            TlsVersion::Tls11,
            TlsVersion::Tls12,
            TlsVersion::Tls13,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown TLS version: {s}")))
    }
}

/// `tls_config`: CA, client certificate, server name, versions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate, inline PEM (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Client certificate, inline PEM (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client key, inline PEM (newer than 0.25).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    /// CA certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Client key file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Secret-manager reference for the CA (newer than 0.25; unsupported by Alertmanager).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_ref: String,
    /// Secret-manager reference for the certificate (newer than 0.25; unsupported by Alertmanager).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_ref: String,
    /// Secret-manager reference for the key (newer than 0.25; unsupported by Alertmanager).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_ref: String,
    /// Server name to verify (SNI).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Whether to skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// Maximum TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
}

impl TlsConfig {
    /// Whether nothing is set (then it is not shown).
    pub fn is_empty(&self) -> bool {
        *self == TlsConfig::default()
    }

    /// Prometheus' checks: inline and file variants exclusive, certificate and key together.
    /// Error paths are relative to the `tls_config` key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if count(&[
            !self.ca.is_empty(),
            !self.ca_file.is_empty(),
            !self.ca_ref.is_empty(),
        ]) > 1
        {
            return Err(ConfigError::at(
                "ca",
                "at most one of ca, ca_file & ca_ref must be configured",
            ));
        }
        let certs = count(&[
            !self.cert.is_empty(),
            !self.cert_file.is_empty(),
            !self.cert_ref.is_empty(),
        ]);
        if certs > 1 {
            return Err(ConfigError::at(
                "cert",
                "at most one of cert, cert_file & cert_ref must be configured",
            ));
        }
        let keys = count(&[
            !self.key.is_empty(),
            !self.key_file.is_empty(),
            !self.key_ref.is_empty(),
        ]);
        if keys > 1 {
            return Err(ConfigError::at(
                "key",
                "at most one of key and key_file must be configured",
            ));
        }
        if certs > 0 && keys == 0 {
            return Err(ConfigError::at(
                "key",
                "exactly one of key or key_file must be configured when a client certificate is configured",
            ));
        }
        if keys > 0 && certs == 0 {
            return Err(ConfigError::at(
                "cert",
                "exactly one of cert or cert_file must be configured when a client key is configured",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn parse(yaml: &str) -> Result<HttpClientConfig, ConfigError> {
        let c: HttpClientConfig = deserialize_yaml(yaml)?;
        c.validate()?;
        Ok(c)
    }

    fn err(yaml: &str) -> String {
        match parse(yaml) {
            Ok(c) => panic!("expected an error for {yaml:?}, got {c:?}"),
            Err(e) => e.path_and_message(),
        }
    }

    fn round_trip(c: &HttpClientConfig) {
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(c)).unwrap();
        let back: HttpClientConfig = deserialize_yaml(&shown).unwrap();
        assert_eq!(&back, c, "{shown}");
    }

    #[test]
    fn defaults_follow_redirects_and_http2() {
        let c = parse("{}").unwrap();
        assert_eq!(c, HttpClientConfig::default());
        assert!(c.follow_redirects && c.enable_http2);
        assert_eq!(
            serde_saphyr::to_string(&c).unwrap(),
            "follow_redirects: true\nenable_http2: true\n"
        );
        let c = parse("follow_redirects: false\nenable_http2: false").unwrap();
        assert!(!c.follow_redirects && !c.enable_http2);
        round_trip(&c);
    }

    #[test]
    fn bearer_token_becomes_authorization() {
        let c = parse("bearer_token: abc").unwrap();
        let auth = c.authorization.clone().unwrap();
        assert_eq!(
            (auth.kind.as_str(), auth.credentials.expose()),
            ("Bearer", "abc")
        );
        assert!(c.bearer_token.is_empty());
        round_trip(&c);
        let c = parse("bearer_token_file: /t").unwrap();
        assert_eq!(c.authorization.unwrap().credentials_file, "/t");
        let c = parse("authorization: {credentials: x}").unwrap();
        assert_eq!(c.authorization.unwrap().kind, "Bearer");
        let c = parse("authorization: {type: ' Token ', credentials: x}").unwrap();
        assert_eq!(c.authorization.unwrap().kind, "Token");
    }

    #[test]
    fn secrets_are_masked() {
        let c = parse(
            "basic_auth: {username: u, password: p}\ntls_config: {insecure_skip_verify: true}",
        )
        .unwrap();
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(shown.contains("password: <secret>"), "{shown}");
        assert!(shown.contains("insecure_skip_verify: true"), "{shown}");
        let back: HttpClientConfig = deserialize_yaml(&shown).unwrap();
        assert_eq!(back.basic_auth.unwrap().password.expose(), "<secret>");
        round_trip(&c);
    }

    #[test]
    fn auth_conflicts() {
        assert_eq!(
            err("bearer_token: a\nbearer_token_file: b"),
            "bearer_token_file: at most one of bearer_token & bearer_token_file must be configured"
        );
        assert_eq!(
            err("basic_auth: {username: u}\nbearer_token: a"),
            "bearer_token: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
        );
        assert_eq!(
            err("basic_auth: {password: a, password_file: b}"),
            "basic_auth: at most one of basic_auth password, password_file & password_ref must be configured"
        );
        assert_eq!(
            err("basic_auth: {username: a, username_file: b}"),
            "basic_auth: at most one of basic_auth username, username_file & username_ref must be configured"
        );
        assert_eq!(
            err("authorization: {credentials: a}\nbearer_token: b"),
            "authorization: authorization is not compatible with bearer_token & bearer_token_file"
        );
        assert_eq!(
            err("authorization: {credentials: a, credentials_file: b}"),
            "authorization: at most one of authorization credentials & credentials_file must be configured"
        );
        assert_eq!(
            err("authorization: {type: Basic, credentials: a}"),
            r#"authorization.type: authorization type cannot be set to "basic", use "basic_auth" instead"#
        );
        assert_eq!(
            err("authorization: {credentials: a}\nbasic_auth: {username: u}"),
            "authorization: at most one of basic_auth, oauth2 & authorization must be configured"
        );
        assert_eq!(
            err("oauth2: {client_id: a, token_url: 'http://t'}\nbasic_auth: {username: u}"),
            "oauth2: at most one of basic_auth, oauth2 & authorization must be configured"
        );
    }

    #[test]
    fn oauth2_checks() {
        let c = parse("oauth2: {client_id: a, client_secret: s, token_url: 'http://t', scopes: [x], endpoint_params: {k: v}}").unwrap();
        round_trip(&c);
        assert_eq!(
            err("oauth2: {token_url: 'http://t'}"),
            "oauth2.client_id: oauth2 client_id must be configured"
        );
        assert_eq!(
            err("oauth2: {client_id: a}"),
            "oauth2.token_url: oauth2 token_url must be configured"
        );
        assert_eq!(
            err(
                "oauth2: {client_id: a, token_url: 'http://t', client_secret: s, client_secret_file: f}"
            ),
            "oauth2.client_secret: at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials"
        );
        assert_eq!(
            err(
                "oauth2: {client_id: a, token_url: 'http://t', grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', signature_algorithm: HS256}"
            ),
            "oauth2.signature_algorithm: valid signature algorithms are RS256, RS384 and RS512"
        );
        assert_eq!(
            err("oauth2: {client_id: a, token_url: 'http://t', no_proxy: x}"),
            "oauth2.no_proxy: if no_proxy is configured, proxy_url must also be configured"
        );
        let c =
            parse("oauth2: {client_id: a, token_url: 'http://t', claims: {n: 1, l: [a]}}").unwrap();
        round_trip(&c);
    }

    #[test]
    fn proxy_checks() {
        let c = parse("proxy_url: 'http://u:pw@proxy:3128'\nno_proxy: localhost\nproxy_connect_header: {X-A: [s]}").unwrap();
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(
            shown.contains("proxy_url: http://u:xxxxx@proxy:3128\n"),
            "{shown}"
        );
        round_trip(&c);
        assert_eq!(
            err("no_proxy: localhost"),
            "no_proxy: if no_proxy is configured, proxy_url must also be configured"
        );
        assert_eq!(
            err("proxy_from_environment: true\nproxy_url: 'http://p'"),
            "proxy_url: if proxy_from_environment is configured, proxy_url must not be configured"
        );
        assert_eq!(
            err("proxy_from_environment: true\nno_proxy: x"),
            "no_proxy: if proxy_from_environment is configured, no_proxy must not be configured"
        );
        assert_eq!(
            err("proxy_connect_header: {X-A: [s]}"),
            "proxy_connect_header: if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured"
        );
        assert!(err("proxy_url: 'http://[::1'").starts_with("proxy_url: parse"));
    }

    #[test]
    fn tls_checks() {
        let c = parse("tls_config: {ca_file: a, cert_file: b, key_file: c, server_name: s, min_version: TLS12, max_version: TLS13}").unwrap();
        assert_eq!(c.tls_config.min_version, Some(TlsVersion::Tls12));
        round_trip(&c);
        assert_eq!(
            err("tls_config: {cert_file: b}"),
            "tls_config.key: exactly one of key or key_file must be configured when a client certificate is configured"
        );
        assert_eq!(
            err("tls_config: {key_file: b}"),
            "tls_config.cert: exactly one of cert or cert_file must be configured when a client key is configured"
        );
        assert_eq!(
            err("tls_config: {ca: a, ca_file: b}"),
            "tls_config.ca: at most one of ca, ca_file & ca_ref must be configured"
        );
        assert_eq!(
            err("tls_config: {cert: a, cert_file: b, key: k}"),
            "tls_config.cert: at most one of cert, cert_file & cert_ref must be configured"
        );
        assert_eq!(
            err("tls_config: {cert: a, key: k, key_file: b}"),
            "tls_config.key: at most one of key and key_file must be configured"
        );
        assert_eq!(
            err("tls_config: {min_version: TLS14}"),
            "tls_config.min_version: unknown TLS version: TLS14"
        );
        assert!(err("tls_config: {foo: 1}").starts_with("tls_config.foo: field"));
    }

    #[test]
    fn http_headers() {
        let c = parse("http_headers: {X-Team: {values: [a], secrets: [b], files: [c]}}").unwrap();
        round_trip(&c);
        assert_eq!(
            err("http_headers: {user-agent: {values: [a]}}"),
            "http_headers.user-agent: setting header \"User-Agent\" is not allowed"
        );
        assert_eq!(canonical_header_key("x-amz-date"), "X-Amz-Date");
        assert_eq!(canonical_header_key("bad header"), "bad header");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(err("foo: 1").contains("not found"));
        assert!(err("basic_auth: {user: x}").starts_with("basic_auth.user: field"));
    }
}
