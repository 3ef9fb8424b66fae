//! HTTP clients for integrations, built from `http_config`: one client per integration
//! config (connections are reused), credentials read at send time (files may rotate),
//! and a bound on the requests in flight.

use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Semaphore;

use super::NotifyError;
use crate::config::http_config::{HttpClientConfig, TlsVersion};
use crate::notify::stages::FailureReason;

/// Most requests one integration has in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// Why a client could not be built from its config.
#[derive(Debug, thiserror::Error)]
pub enum HttpConfigError {
    /// A file named in the config could not be read.
    #[error("reading {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS material or a proxy is unusable, or the client failed to build.
    #[error("{0}")]
    Client(String),
}

static CRYPTO: Once = Once::new();

/// Installs rustls' ring provider as the process default (once); reqwest is built without
/// a provider of its own.
pub fn install_crypto_provider() {
    CRYPTO.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn read(path: &str) -> Result<Vec<u8>, HttpConfigError> {
    std::fs::read(path).map_err(|source| HttpConfigError::File {
        path: path.to_string(),
        source,
    })
}

fn tls_version(v: TlsVersion) -> reqwest::tls::Version {
    match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    }
}

/// A client with its config and in-flight bound.
pub struct HttpClient {
    /// The reqwest client (a connection pool).
    pub client: reqwest::Client,
    config: HttpClientConfig,
    in_flight: Arc<Semaphore>,
}

impl HttpClient {
    /// Builds the client for `config`.
    pub fn new(config: &HttpClientConfig) -> Result<HttpClient, HttpConfigError> {
        install_crypto_provider();
        let tls = &config.tls_config;
        let mut b = reqwest::Client::builder()
            .pool_max_idle_per_host(MAX_IN_FLIGHT)
            .pool_idle_timeout(Duration::from_secs(90));
        let ca = if !tls.ca.is_empty() {
            Some(tls.ca.as_bytes().to_vec())
        } else if !tls.ca_file.is_empty() {
            Some(read(&tls.ca_file)?)
        } else {
            None
        };
        if let Some(pem) = ca {
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| HttpConfigError::Client(format!("CA certificate: {e}")))?;
            b = b.tls_certs_only(certs);
        }
        let cert = if !tls.cert.is_empty() {
            Some(tls.cert.as_bytes().to_vec())
        } else if !tls.cert_file.is_empty() {
            Some(read(&tls.cert_file)?)
        } else {
            None
        };
        let key = if !tls.key.is_empty() {
            Some(tls.key.expose().as_bytes().to_vec())
        } else if !tls.key_file.is_empty() {
            Some(read(&tls.key_file)?)
        } else {
            None
        };
        if let (Some(mut cert), Some(key)) = (cert, key) {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert)
                .map_err(|e| HttpConfigError::Client(format!("client certificate: {e}")))?;
            b = b.identity(id);
        }
        if tls.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if let Some(v) = tls.min_version {
            b = b.tls_version_min(tls_version(v));
        }
        if let Some(v) = tls.max_version {
            b = b.tls_version_max(tls_version(v));
        }
        if !config.follow_redirects {
            b = b.redirect(reqwest::redirect::Policy::none());
        }
        if !config.enable_http2 {
            b = b.http1_only();
        }
        match &config.proxy.proxy_url {
            Some(url) => {
                let mut proxy = reqwest::Proxy::all(url.url().as_str())
                    .map_err(|e| HttpConfigError::Client(format!("proxy_url: {e}")))?;
                if !config.proxy.no_proxy.is_empty() {
                    proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&config.proxy.no_proxy));
                }
                b = b.proxy(proxy);
            }
            None if !config.proxy.proxy_from_environment => b = b.no_proxy(),
            None => {}
        }
        let mut headers = HeaderMap::new();
        if let Some(extra) = &config.http_headers {
            for (name, values) in extra {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| HttpConfigError::Client(format!("header {name:?}: {e}")))?;
                let mut all: Vec<String> = values.values.clone();
                all.extend(values.secrets.iter().map(|s| s.expose().to_string()));
                for f in &values.files {
                    all.push(String::from_utf8_lossy(&read(f)?).trim().to_string());
                }
                for v in all {
                    let v = HeaderValue::from_str(&v)
                        .map_err(|e| HttpConfigError::Client(format!("header {name}: {e}")))?;
                    headers.append(name.clone(), v);
                }
            }
        }
        b = b.default_headers(headers);
        if config.oauth2.is_some() {
            tracing::warn!(
                "oauth2 in http_config is not supported yet; requests are sent without it"
            );
        }
        let client = b
            .build()
            .map_err(|e| HttpConfigError::Client(e.to_string()))?;
        Ok(HttpClient {
            client,
            config: config.clone(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// Waits for a place among the requests in flight.
    pub async fn permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.in_flight.clone().acquire_owned().await.ok()
    }

    /// Adds the configured credentials (files read now) to a request.
    pub fn authorize(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, HttpConfigError> {
        let c = &self.config;
        if let Some(basic) = &c.basic_auth {
            let user = if basic.username_file.is_empty() {
                basic.username.clone()
            } else {
                String::from_utf8_lossy(&read(&basic.username_file)?)
                    .trim()
                    .to_string()
            };
            let pass = if basic.password_file.is_empty() {
                basic.password.expose().to_string()
            } else {
                String::from_utf8_lossy(&read(&basic.password_file)?)
                    .trim()
                    .to_string()
            };
            return Ok(req.basic_auth(user, Some(pass)));
        }
        if let Some(auth) = &c.authorization {
            let credentials = if auth.credentials_file.is_empty() {
                auth.credentials.expose().to_string()
            } else {
                String::from_utf8_lossy(&read(&auth.credentials_file)?)
                    .trim()
                    .to_string()
            };
            let kind = if auth.kind.is_empty() {
                "Bearer"
            } else {
                &auth.kind
            };
            let value = HeaderValue::from_str(&format!("{kind} {credentials}"))
                .map_err(|e| HttpConfigError::Client(format!("authorization: {e}")))?;
            return Ok(req.header(AUTHORIZATION, value));
        }
        Ok(req)
    }
}

/// The `User-Agent` of notification requests (upstream sends `Alertmanager/<version>`).
pub const USER_AGENT: &str = concat!("Alertmanager/", env!("CARGO_PKG_VERSION"));

/// A secret given inline or in a file (`*_file` fields): the file is read at each
/// send, so a rotated file takes effect without a reload; surrounding whitespace is
/// trimmed. `field` names the config field in the error.
pub fn read_secret(inline: &str, file: &str, field: &str) -> Result<String, NotifyError> {
    if file.is_empty() {
        return Ok(inline.to_string());
    }
    std::fs::read_to_string(file)
        .map(|s| s.trim().to_string())
        .map_err(|e| NotifyError::permanent(format!("reading {field}_file {file}: {e}")))
}

/// A transport error without the URL (it may hold a token), like upstream's
/// `RedactURL`, with its causes.
pub fn redact(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    if let Some(url) = e.url() {
        msg = msg.replace(url.as_str(), "<redacted>");
    }
    msg
}

/// A request that did not get an answer: retried, like upstream.
pub fn transport_error(e: &reqwest::Error) -> NotifyError {
    NotifyError {
        retry: true,
        reason: FailureReason::Other,
        retry_after: None,
        message: redact(e),
    }
}

/// Upstream's `notify.Retrier.Check`: a 2xx answer succeeds (its body is drained so
/// the connection is reused); otherwise the error says `unexpected status code N`
/// with the body (at most 1 KiB), and is retried for 5xx, for the `retry_codes` the
/// provider documents as temporary, and for a 429 with `Retry-After`.
pub async fn check_response(
    resp: reqwest::Response,
    now: jiff::Timestamp,
    retry_codes: &[u16],
) -> Result<(), NotifyError> {
    check_response_with(resp, now, retry_codes, |_, body| body.trim().to_string()).await
}

/// [`check_response`] with the provider's own reading of an error body (upstream's
/// `Retrier.CustomDetailsFunc`): `details(status, body)` gives what the error shows.
pub async fn check_response_with(
    resp: reqwest::Response,
    now: jiff::Timestamp,
    retry_codes: &[u16],
    details: impl FnOnce(u16, &str) -> String,
) -> Result<(), NotifyError> {
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        let _ = resp.bytes().await;
        return Ok(());
    }
    let retry_after = retry_after(&resp, now);
    let text = resp.text().await.unwrap_or_default();
    Err(status_error(
        status,
        &details(status, &text),
        retry_after,
        retry_codes,
    ))
}

/// The response's `Retry-After`, relative to `now`.
pub fn retry_after(resp: &reqwest::Response, now: jiff::Timestamp) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// The error for a non-2xx `status` with response `body` (see [`check_response`]).
pub fn status_error(
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
    retry_codes: &[u16],
) -> NotifyError {
    let mut message = format!("unexpected status code {status}");
    if !body.is_empty() {
        let shown: String = body.chars().take(1024).collect();
        message = format!("{message}: {shown}");
    }
    let retry = (500..600).contains(&status)
        || retry_codes.contains(&status)
        || (status == 429 && retry_after.is_some());
    NotifyError {
        retry,
        reason: FailureReason::from_status(status),
        retry_after,
        message,
    }
}

/// Parses a `Retry-After` value: seconds, or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = jiff::Timestamp::from_second(784_111_777).unwrap(); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn builds_from_config() {
        let c: HttpClientConfig = crate::config::deserialize_yaml(
            "basic_auth: {username: u, password: p}\nfollow_redirects: false\nenable_http2: false\nproxy_url: http://127.0.0.1:3128\nno_proxy: localhost\n",
        )
        .unwrap();
        assert!(HttpClient::new(&c).is_ok());
        let c: HttpClientConfig =
            crate::config::deserialize_yaml("tls_config: {ca_file: /nonexistent/ca.pem}\n")
                .unwrap();
        let err = HttpClient::new(&c).err().unwrap().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
