//! Secrets and URLs in the config: values that are masked when the config is shown.
//!
//! Serializing a config writes every secret as `<secret>`, like Alertmanager does in
//! `/api/v2/status`; [`with_secrets_revealed`] writes the real values instead (for the
//! operator's rendering and for round-trip tests). Reading `<secret>` back is accepted,
//! as Alertmanager accepts it, so a shown config parses again.

use std::cell::Cell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a masked secret is written as.
pub const MASK: &str = "<secret>";

thread_local! {
    static REVEAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with secrets serialized as their real values instead of `<secret>`.
pub fn with_secrets_revealed<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REVEAL.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REVEAL.with(|r| r.replace(true)));
    f()
}

/// Whether secrets are currently serialized with their real values (inside [`with_secrets_revealed`]).
pub fn secrets_revealed() -> bool {
    REVEAL.with(Cell::get)
}

fn revealing() -> bool {
    secrets_revealed()
}

/// A secret string (password, token, API key). Never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for sending it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if revealing() || self.0.is_empty() {
            serializer.serialize_str(&self.0)
        } else {
            serializer.serialize_str(MASK)
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Secret(String::deserialize(deserializer)?))
    }
}

/// Why a string is not a URL the config accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not parseable at all.
    #[error("invalid URL {url:?}: {reason}")]
    Parse {
        /// The text given.
        url: String,
        /// What the parser said.
        reason: String,
    },
    /// Neither http nor https.
    #[error("unsupported scheme {0:?} for URL")]
    Scheme(String),
    /// No host part.
    #[error("missing host for URL")]
    NoHost,
}

impl UrlError {
    /// The same error without the URL text, for URLs that are secrets.
    pub fn hiding_url(self) -> UrlError {
        match self {
            UrlError::Parse { reason, .. } => UrlError::Parse {
                url: MASK.to_string(),
                reason,
            },
            other => other,
        }
    }
}

/// Checks that `s` is an absolute http or https URL with a host, as Alertmanager requires.
pub fn check_http_url(s: &str) -> Result<url::Url, UrlError> {
    let parsed = url::Url::parse(s).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => UrlError::Scheme(String::new()),
        url::ParseError::EmptyHost => UrlError::NoHost,
        other => UrlError::Parse {
            url: s.to_string(),
            reason: other.to_string(),
        },
    })?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(UrlError::Scheme(parsed.scheme().to_string()));
    }
    // The url crate reads `https:///path` or `https:host` leniently (as WHATWG URLs do);
    // Go does not, so look at the authority as written.
    let authority = s
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let host = authority
        .map(|a| a.rsplit_once('@').map_or(a, |(_, h)| h))
        .unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost);
    }
    Ok(parsed)
}

/// A plain http(s) URL, kept as written so it serializes back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Parses and checks a URL.
    pub fn parse(s: &str) -> Result<Self, UrlError> {
        check_http_url(s)?;
        Ok(HttpUrl(s.to_string()))
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        HttpUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A URL that carries a secret (a Slack webhook URL, say): masked when shown.
///
/// `<secret>` reads back as a masked URL, so a shown config still parses.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Parses and checks a URL.
    pub fn parse(s: &str) -> Result<Self, UrlError> {
        if s != MASK {
            check_http_url(s).map_err(UrlError::hiding_url)?;
        }
        Ok(SecretUrl(s.to_string()))
    }

    /// The real URL.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this was read from a masked config (`<secret>`), so the real URL is unknown.
    pub fn is_masked(&self) -> bool {
        self.0 == MASK
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Public endpoints that carry no secret, shown as they are even where a URL is masked:
/// Slack's `chat.postMessage` (used with app tokens) must stay recognizable, or
/// Alertmanager cannot read its own shown config back (the app-token checks compare it).
const PUBLIC_URLS: [&str; 1] = ["https://slack.com/api/chat.postMessage"];

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let public = PUBLIC_URLS.contains(&self.0.as_str());
        serializer.serialize_str(if revealing() || public { &self.0 } else { MASK })
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        SecretUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_unless_revealed() {
        let s = Secret::new("hunter2");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
        assert_eq!(
            with_secrets_revealed(|| serde_json::to_string(&s).unwrap()),
            "\"hunter2\""
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
        assert_eq!(format!("{s:?}"), "<secret>");
    }

    #[test]
    fn urls_must_be_http_with_host() {
        assert!(HttpUrl::parse("https://example.com/hook").is_ok());
        assert_eq!(
            HttpUrl::parse("ftp://example.com"),
            Err(UrlError::Scheme("ftp".into()))
        );
        assert_eq!(
            HttpUrl::parse("example.com"),
            Err(UrlError::Scheme(String::new()))
        );
        assert_eq!(HttpUrl::parse("http://"), Err(UrlError::NoHost));
        assert_eq!(HttpUrl::parse("https:///v2/enqueue"), Err(UrlError::NoHost));
        assert_eq!(HttpUrl::parse("http:example.com/x"), Err(UrlError::NoHost));
        assert_eq!(HttpUrl::parse("http://user:pw@:80/"), Err(UrlError::NoHost));
        assert!(HttpUrl::parse("http://user:pw@host:80/").is_ok());
        assert_eq!(HttpUrl::parse("http://a/b").unwrap().as_str(), "http://a/b");
    }

    #[test]
    fn public_slack_endpoint_is_not_masked() {
        let u = SecretUrl::parse("https://slack.com/api/chat.postMessage").unwrap();
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            "\"https://slack.com/api/chat.postMessage\""
        );
    }

    #[test]
    fn masked_secret_url_reads_back() {
        let u = SecretUrl::parse("https://hooks.example.com/T0/B0/x").unwrap();
        let shown = serde_json::to_string(&u).unwrap();
        assert_eq!(shown, "\"<secret>\"");
        let back: SecretUrl = serde_json::from_str(&shown).unwrap();
        assert!(back.is_masked());
    }
}
