//! The `tracing` section (OpenTelemetry export settings, newer than 0.25).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::http_config::{HeaderValues, TlsConfig};

/// OpenTelemetry tracing export settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingConfig {
    /// `grpc` or `http`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_type: String,
    /// Collector endpoint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    /// Fraction of traces sampled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sampling_fraction: f64,
    /// Whether to skip TLS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Extra headers, in Prometheus' format (`Name: {values: [...], secrets: [...], files: [...]}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, HeaderValues>,
    /// Compression (`gzip`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// Export timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl TracingConfig {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &TracingConfig::default()
    }
}
