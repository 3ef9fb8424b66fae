//! HTTP client settings (`http_config`), in the format of Prometheus' common config.
//! STUB: to be completed (basic_auth, authorization, oauth2, tls_config, proxy, ...).

use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// `http_config` of a receiver or of `global`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {}

impl HttpClientConfig {
    /// Checks the settings; error paths are relative to the `http_config` key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// `tls_config`: CA, client certificate, server name, versions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {}
